//! Products used by the engine: event-driven (spike) products and a thin wrapper over faer's GEMM.
//!
//! Weights are stored input-major, `w: [n_in, n_out]` row-major, so that one presynaptic spike adds
//! one contiguous row of `w` to the postsynaptic input. All products here run sequentially: the engine
//! parallelizes over batch slices, which keeps results identical for any thread count.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

/// Sparse rows in compressed form: row `r` holds entries `ptr[r]..ptr[r+1]` of `idx`/`val`.
#[derive(Debug, Clone, Default)]
pub struct Csr {
    /// Row pointers, length rows + 1.
    pub ptr: Vec<u32>,
    /// Column (presynaptic unit) indices, ascending within a row.
    pub idx: Vec<u32>,
    /// Values (1.0 for binary spikes).
    pub val: Vec<f32>,
}

impl Csr {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.ptr.len().saturating_sub(1)
    }
    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.idx.len()
    }
}

#[inline(always)]
fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// `out[r, :] += Σ_k val_k · w[idx_k, :]` over the entries of row `r` (event-driven `X·W`).
/// `out: [rows, n_out]`, `w: [n_in, n_out]`.
pub fn csr_project(x: &Csr, w: &[f32], n_out: usize, out: &mut [f32]) {
    for r in 0..x.rows() {
        let o = &mut out[r * n_out..(r + 1) * n_out];
        for k in x.ptr[r] as usize..x.ptr[r + 1] as usize {
            let i = x.idx[k] as usize;
            axpy(o, x.val[k], &w[i * n_out..(i + 1) * n_out]);
        }
    }
}

/// `dw[idx_k, :] += val_k · g[r, :]` over all entries (event-driven `Xᵀ·G`). `g: [rows, n_out]`.
pub fn csr_weight_grad(x: &Csr, g: &[f32], n_out: usize, dw: &mut [f32]) {
    for r in 0..x.rows() {
        let gr = &g[r * n_out..(r + 1) * n_out];
        for k in x.ptr[r] as usize..x.ptr[r + 1] as usize {
            let i = x.idx[k] as usize;
            axpy(&mut dw[i * n_out..(i + 1) * n_out], x.val[k], gr);
        }
    }
}

/// Calls `f(i, x_i)` for every non-zero entry of `row`, in ascending `i`. Blocks of 16 entries are
/// skipped with one vectorizable test, which is what makes scanning sparse spike rows cheap.
#[inline(always)]
fn for_each_nonzero(row: &[f32], mut f: impl FnMut(usize, f32)) {
    const K: usize = 16;
    let mut base = 0;
    let mut chunks = row.chunks_exact(K);
    for c in &mut chunks {
        if c.iter().fold(0u32, |acc, x| acc | (x.to_bits() << 1)) != 0 {
            for (k, &x) in c.iter().enumerate() {
                if x != 0.0 {
                    f(base + k, x);
                }
            }
        }
        base += K;
    }
    for (k, &x) in chunks.remainder().iter().enumerate() {
        if x != 0.0 {
            f(base + k, x);
        }
    }
}

/// Event-driven `out += X·W` for a dense `x: [rows, n_in]` that is mostly zero: each row is scanned
/// and only its non-zero entries touch `w`. Same summation order as [`csr_project`].
pub fn scan_project(x: &[f32], n_in: usize, w: &[f32], n_out: usize, out: &mut [f32]) {
    for (xr, o) in x.chunks_exact(n_in).zip(out.chunks_exact_mut(n_out)) {
        for_each_nonzero(xr, |i, xi| axpy(o, xi, &w[i * n_out..(i + 1) * n_out]));
    }
}

/// Event-driven `dw += Xᵀ·G` for a mostly-zero dense `x: [rows, n_in]`, `g: [rows, n_out]`.
pub fn scan_weight_grad(x: &[f32], n_in: usize, g: &[f32], n_out: usize, dw: &mut [f32]) {
    for (xr, gr) in x.chunks_exact(n_in).zip(g.chunks_exact(n_out)) {
        for_each_nonzero(xr, |i, xi| axpy(&mut dw[i * n_out..(i + 1) * n_out], xi, gr));
    }
}

/// Sum of `x` with 16 independent f32 lanes (vectorizable), then combined in f64. Exact for spike
/// counts below 2^24 per lane.
pub fn lane_sum(x: &[f32]) -> f64 {
    let mut acc = [0.0f32; 16];
    let mut chunks = x.chunks_exact(16);
    for c in &mut chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    acc.iter().map(|&a| a as f64).sum::<f64>() + chunks.remainder().iter().map(|&v| v as f64).sum::<f64>()
}

/// Dense `out (+)= A·B` with row-major `a: [m, k]`, `b: [k, n]`, `out: [m, n]`.
pub fn gemm(out: &mut [f32], accumulate: bool, a: &[f32], b: &[f32], m: usize, k: usize, n: usize) {
    if m == 0 || n == 0 {
        return;
    }
    let dst = MatMut::from_row_major_slice_mut(out, m, n);
    let lhs = MatRef::from_row_major_slice(a, m, k);
    let rhs = MatRef::from_row_major_slice(b, k, n);
    let acc = if accumulate { Accum::Add } else { Accum::Replace };
    matmul(dst, acc, lhs, rhs, 1.0f32, Par::Seq);
}

/// Dense `out (+)= A·Bᵀ` with row-major `a: [m, k]`, `b: [n, k]`, `out: [m, n]`.
pub fn gemm_nt(out: &mut [f32], accumulate: bool, a: &[f32], b: &[f32], m: usize, k: usize, n: usize) {
    if m == 0 || n == 0 {
        return;
    }
    let dst = MatMut::from_row_major_slice_mut(out, m, n);
    let lhs = MatRef::from_row_major_slice(a, m, k);
    let rhs = MatRef::from_row_major_slice(b, n, k).transpose();
    let acc = if accumulate { Accum::Add } else { Accum::Replace };
    matmul(dst, acc, lhs, rhs, 1.0f32, Par::Seq);
}

/// Dense `out (+)= Aᵀ·B` with row-major `a: [m, k]`, `b: [m, n]`, `out: [k, n]`.
pub fn gemm_tn(out: &mut [f32], accumulate: bool, a: &[f32], b: &[f32], m: usize, k: usize, n: usize) {
    if k == 0 || n == 0 {
        return;
    }
    let dst = MatMut::from_row_major_slice_mut(out, k, n);
    let lhs = MatRef::from_row_major_slice(a, m, k).transpose();
    let rhs = MatRef::from_row_major_slice(b, m, n);
    let acc = if accumulate { Accum::Add } else { Accum::Replace };
    matmul(dst, acc, lhs, rhs, 1.0f32, Par::Seq);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_and_dense_products_agree() {
        let (rows, n_in, n_out) = (7, 9, 5);
        let x: Vec<f32> = (0..rows * n_in).map(|i| if i % 4 == 1 { 1.0 } else { 0.0 }).collect();
        let w: Vec<f32> = (0..n_in * n_out).map(|i| (i as f32 * 0.37).sin()).collect();
        let g: Vec<f32> = (0..rows * n_out).map(|i| (i as f32 * 0.11).cos()).collect();
        let mut csr = Csr { ptr: vec![0], ..Default::default() };
        for r in 0..rows {
            for i in 0..n_in {
                if x[r * n_in + i] != 0.0 {
                    csr.idx.push(i as u32);
                    csr.val.push(1.0);
                }
            }
            csr.ptr.push(csr.idx.len() as u32);
        }
        let mut a = vec![0.0; rows * n_out];
        let mut b = vec![0.0; rows * n_out];
        let mut c = vec![0.0; rows * n_out];
        csr_project(&csr, &w, n_out, &mut a);
        scan_project(&x, n_in, &w, n_out, &mut b);
        gemm(&mut c, false, &x, &w, rows, n_in, n_out);
        for i in 0..a.len() {
            assert_eq!(a[i], b[i]);
            assert!((a[i] - c[i]).abs() < 1e-5);
        }
        let mut d1 = vec![0.0; n_in * n_out];
        let mut d2 = vec![0.0; n_in * n_out];
        let mut d3 = vec![0.0; n_in * n_out];
        csr_weight_grad(&csr, &g, n_out, &mut d1);
        scan_weight_grad(&x, n_in, &g, n_out, &mut d2);
        gemm_tn(&mut d3, false, &x, &g, rows, n_in, n_out);
        for i in 0..d1.len() {
            assert_eq!(d1[i], d2[i]);
            assert!((d1[i] - d3[i]).abs() < 1e-5);
        }
        // A·Bᵀ against a hand loop
        let mut e = vec![0.0; rows * n_in];
        gemm_nt(&mut e, false, &g, &w, rows, n_out, n_in);
        for r in 0..rows {
            for i in 0..n_in {
                let s: f32 = (0..n_out).map(|o| g[r * n_out + o] * w[i * n_out + o]).sum();
                assert!((e[r * n_in + i] - s).abs() < 1e-5);
            }
        }
    }
}
