//! Products used by the engine: event-driven (spike) products and a thin wrapper over faer's GEMM
//! (here), 1-D convolutions with their tap tables and Toeplitz input gradient ([`conv`]), max-pooling
//! ([`pool`]).
//!
//! Weights are stored input-major, `w: [n_in, n_out]` row-major, so that one presynaptic spike adds
//! one contiguous row of `w` to the postsynaptic input. All products here run sequentially: the engine
//! parallelizes over batch slices, which keeps results identical for any thread count.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

pub mod conv;
pub mod pool;

pub use conv::*;
pub use pool::*;

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
    /// The entries `(column, value)` of row `r`, in ascending column order.
    #[inline(always)]
    pub fn row(&self, r: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
        let span = self.ptr[r] as usize..self.ptr[r + 1] as usize;
        self.idx[span.clone()].iter().zip(&self.val[span]).map(|(&i, &v)| (i as usize, v))
    }
}

#[inline(always)]
pub(crate) fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// `out[r, :] += Σ_k val_k · w[idx_k, :]` over the entries of CSR row `row0 + r`, for the
/// `out.len() / n_out` rows of `out` (event-driven `X·W`). `w: [n_in, n_out]`.
pub fn csr_project(x: &Csr, row0: usize, w: &[f32], n_out: usize, out: &mut [f32]) {
    for (r, o) in out.chunks_exact_mut(n_out).enumerate() {
        for (i, v) in x.row(row0 + r) {
            axpy(o, v, &w[i * n_out..(i + 1) * n_out]);
        }
    }
}

/// `dw[idx_k, :] += val_k · g[r, :]` over the entries of CSR rows `row0 ..` (event-driven `Xᵀ·G`),
/// `g: [rows, n_out]`.
pub fn csr_weight_grad(x: &Csr, row0: usize, g: &[f32], n_out: usize, dw: &mut [f32]) {
    for (r, gr) in g.chunks_exact(n_out).enumerate() {
        for (i, v) in x.row(row0 + r) {
            axpy(&mut dw[i * n_out..(i + 1) * n_out], v, gr);
        }
    }
}

/// Calls `f(i, x_i)` for every non-zero entry of `row`, in ascending `i`. Blocks of 16 entries are
/// skipped with one vectorizable test, which is what makes scanning sparse spike rows cheap.
#[inline(always)]
pub(crate) fn for_each_nonzero(row: &[f32], mut f: impl FnMut(usize, f32)) {
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
        csr_project(&csr, 0, &w, n_out, &mut a);
        scan_project(&x, n_in, &w, n_out, &mut b);
        gemm(&mut c, false, &x, &w, rows, n_in, n_out);
        for i in 0..a.len() {
            assert_eq!(a[i], b[i]);
            assert!((a[i] - c[i]).abs() < 1e-5);
        }
        let mut d1 = vec![0.0; n_in * n_out];
        let mut d2 = vec![0.0; n_in * n_out];
        let mut d3 = vec![0.0; n_in * n_out];
        csr_weight_grad(&csr, 0, &g, n_out, &mut d1);
        scan_weight_grad(&x, n_in, &g, n_out, &mut d2);
        gemm_tn(&mut d3, false, &x, &g, rows, n_in, n_out);
        for i in 0..d1.len() {
            assert_eq!(d1[i], d2[i]);
            assert!((d1[i] - d3[i]).abs() < 1e-5);
        }
        // convolution kernels against a naive definition (hidden sources and outputs position-major)
        let cg = Conv1d { c_in: 2, l_in: 11, c_out: 3, l_out: (11 + 2 * 2 - 4) / 3 + 1, k: 4, stride: 3, pad: 2 };
        let xr: Vec<f32> = (0..2 * 11 * 2).map(|i| if i % 3 == 0 { 1.0 } else { 0.0 }).collect();
        let wc: Vec<f32> = (0..2 * 4 * 3).map(|i| (i as f32 * 0.7).cos()).collect();
        let mut oc = vec![0.0; 2 * 3 * cg.l_out];
        let tc = ConvTaps::new(cg, true);
        let mut wr = vec![0.0; wc.len()];
        tc.to_runs(&wc, &mut wr);
        conv_project_scan(&tc, &xr, &wr, &mut oc);
        for r in 0..2 {
            for co in 0..3 {
                for o in 0..cg.l_out {
                    let mut acc = 0.0;
                    for ci in 0..2 {
                        for kk in 0..4 {
                            let p = (o * 3 + kk) as isize - 2;
                            if (0..11).contains(&p) {
                                acc += wc[(ci * 4 + kk) * 3 + co] * xr[r * 22 + p as usize * 2 + ci];
                            }
                        }
                    }
                    assert!((oc[r * 3 * cg.l_out + o * 3 + co] - acc).abs() < 1e-5);
                }
            }
        }
        // the weight gradient, summed in the run layout and added back, against the definition
        let gc: Vec<f32> = (0..2 * 3 * cg.l_out).map(|i| (i as f32 * 0.29).sin()).collect();
        let mut dwr = vec![0.0; wc.len()];
        conv_weight_grad_scan(&tc, &xr, &gc, &mut dwr);
        let mut dw = vec![0.5; wc.len()];
        tc.add_runs_to(&dwr, &mut dw);
        for ci in 0..2 {
            for kk in 0..4 {
                for co in 0..3 {
                    let mut acc = 0.5;
                    for r in 0..2 {
                        for o in 0..cg.l_out {
                            let p = (o * 3 + kk) as isize - 2;
                            if (0..11).contains(&p) {
                                acc += xr[r * 22 + p as usize * 2 + ci] * gc[r * 3 * cg.l_out + o * 3 + co];
                            }
                        }
                    }
                    assert!((dw[(ci * 4 + kk) * 3 + co] - acc).abs() < 1e-5, "dw[{ci},{kk},{co}]");
                }
            }
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

    /// The phase/Toeplitz input gradient against the definition, for strides below, equal to and
    /// above the kernel, with padding, both write modes, several row blocks and an all-zero block.
    #[test]
    fn conv_input_grad_matches_definition() {
        let geoms = [(3, 13, 4, 5, 1, 2), (2, 68, 3, 7, 3, 0), (4, 21, 5, 7, 3, 1), (2, 11, 3, 2, 3, 1), (1, 9, 2, 9, 1, 4), (3, 5, 2, 5, 1, 2)];
        for &(c_in, l_in, c_out, k, stride, pad) in &geoms {
            let l_out = (l_in + 2 * pad - k) / stride + 1;
            let g = Conv1d { c_in, l_in, c_out, l_out, k, stride, pad };
            let rows = CONV_BLOCK * 2 + 5;
            let grad: Vec<f32> = (0..rows * g.n_dst())
                .map(|i| if (CONV_BLOCK..2 * CONV_BLOCK).contains(&(i / g.n_dst())) { 0.0 } else { (i as f32 * 0.37).sin() })
                .collect();
            let w: Vec<f32> = (0..c_in * k * c_out).map(|i| (i as f32 * 0.73).cos()).collect();
            let mut want = vec![0.0f32; rows * g.n_src()];
            for r in 0..rows {
                for o in 0..l_out {
                    for kk in 0..k {
                        let q = o * stride + kk;
                        if q < pad || q - pad >= l_in {
                            continue;
                        }
                        for ci in 0..c_in {
                            for co in 0..c_out {
                                want[r * g.n_src() + (q - pad) * c_in + ci] += w[(ci * k + kk) * c_out + co] * grad[r * g.n_dst() + o * c_out + co];
                            }
                        }
                    }
                }
            }
            let mut wt = vec![0.0; conv_input_grad_weights_len(&g)];
            conv_input_grad_weights(&g, &w, &mut wt);
            let mut scratch = vec![0.0; conv_input_grad_scratch(&g)];
            let mut got = vec![f32::NAN; rows * g.n_src()];
            conv_input_grad(&g, &grad, &wt, &mut got, false, &mut scratch);
            let mut acc = vec![1.0f32; rows * g.n_src()];
            conv_input_grad(&g, &grad, &wt, &mut acc, true, &mut scratch);
            for i in 0..want.len() {
                assert!((got[i] - want[i]).abs() < 1e-4, "{:?} unit {i}: {} vs {}", g, got[i], want[i]);
                assert!((acc[i] - 1.0 - want[i]).abs() < 1e-4, "{:?} unit {i} (accumulate)", g);
            }
        }
    }
}
