//! Products used by the engine: event-driven (spike) products and a thin wrapper over faer's GEMM
//! (here), 1-D convolutions with their tap tables and Toeplitz input gradient ([`conv`]), the
//! Winograd input gradient of 3×3 ones (`winograd`), max-pooling ([`pool`]).
//!
//! Weights are stored input-major, `w: [n_in, n_out]` row-major, so that one presynaptic spike adds
//! one contiguous row of `w` to the postsynaptic input. All products here run sequentially: the engine
//! parallelizes over batch slices, which keeps results identical for any thread count.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

pub mod conv;
pub mod pool;
mod winograd;

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

/// Whether every entry of `x` is zero (`±0.0`; a NaN is not): the sign-cleared bits ORed over
/// blocks of 64 entries, a vectorizable test with one branch per block.
#[inline]
pub(crate) fn all_zero(x: &[f32]) -> bool {
    x.chunks(64).all(|c| c.iter().fold(0u32, |acc, v| acc | (v.to_bits() & 0x7fff_ffff)) == 0)
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
        let cv = Conv::line(cg);
        let xr: Vec<f32> = (0..2 * 11 * 2).map(|i| if i % 3 == 0 { 1.0 } else { 0.0 }).collect();
        let wc: Vec<f32> = (0..2 * 4 * 3).map(|i| (i as f32 * 0.7).cos()).collect();
        let mut oc = vec![0.0; 2 * 3 * cg.l_out];
        let tc = ConvTaps::new(cv, true);
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
            let g = Conv::line(Conv1d { c_in, l_in, c_out, l_out, k, stride, pad });
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

    /// A 2-D geometry `(c_in, [h, w], c_out, kernel, stride, padding)` with its output size.
    fn conv2(c_in: usize, size: [usize; 2], c_out: usize, k: [usize; 2], s: [usize; 2], p: [usize; 2]) -> Conv {
        let out = |a: usize| (size[a] + 2 * p[a] - k[a]) / s[a] + 1;
        Conv {
            row: Conv1d { c_in, l_in: size[1], c_out, l_out: out(1), k: k[1], stride: s[1], pad: p[1] },
            h_in: size[0],
            h_out: out(0),
            kh: k[0],
            sh: s[0],
            ph: p[0],
        }
    }

    /// `out[r, oy, ox, co] = Σ w[ci, ky, kx, co] · x[r, y, x, ci]` by the definition (all position-major).
    fn conv2_naive(g: &Conv, x: &[f32], w: &[f32], rows: usize) -> Vec<f32> {
        let (r1, kw) = (g.row, g.row.k);
        let mut out = vec![0.0f32; rows * g.n_dst()];
        for r in 0..rows {
            for oy in 0..g.h_out {
                for ox in 0..r1.l_out {
                    for ky in 0..g.kh {
                        for kx in 0..kw {
                            let (y, xx) = ((oy * g.sh + ky) as isize - g.ph as isize, (ox * r1.stride + kx) as isize - r1.pad as isize);
                            if y < 0 || xx < 0 || y as usize >= g.h_in || xx as usize >= r1.l_in {
                                continue;
                            }
                            for ci in 0..r1.c_in {
                                let xv = x[r * g.n_src() + (y as usize * r1.l_in + xx as usize) * r1.c_in + ci];
                                for co in 0..r1.c_out {
                                    out[r * g.n_dst() + (oy * r1.l_out + ox) * r1.c_out + co] += w[((ci * g.kh + ky) * kw + kx) * r1.c_out + co] * xv;
                                }
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// 2-D convolutions (square and per-axis kernels, strides, paddings; counts as event values)
    /// against the definition: the event-driven product from CSR (channel-major units) and from a
    /// dense scan, the weight gradient and the input gradient (its adjoint: `⟨g, conv(x)⟩ = ⟨convᵀ(g), x⟩`).
    #[test]
    fn conv2d_kernels_match_definition() {
        let geoms = [
            conv2(2, [9, 8], 3, [3, 3], [1, 1], [2, 2]),
            conv2(3, [7, 10], 4, [3, 5], [2, 1], [1, 0]),
            conv2(1, [6, 6], 2, [2, 2], [3, 3], [0, 1]),
            conv2(2, [5, 4], 3, [5, 1], [1, 2], [2, 0]),
            conv2(16, [12, 12], 8, [3, 3], [1, 1], [2, 2]),
            // stride 1 (the padded-image GEMMs): "same", no, asymmetric and beyond-kernel padding
            conv2(3, [7, 6], 2, [3, 3], [1, 1], [1, 1]),
            conv2(2, [5, 7], 3, [3, 2], [1, 1], [0, 3]),
            conv2(2, [6, 5], 4, [2, 4], [1, 1], [3, 1]),
            // padding k − 1: the gradient image is its own padded image (no copy)
            conv2(2, [5, 6], 3, [2, 4], [1, 1], [1, 3]),
            // an image of more Winograd tiles (17 × 17) than one block holds, odd channel counts
            conv2(1, [68, 66], 3, [3, 3], [1, 1], [1, 1]),
            conv2(11, [9, 7], 9, [3, 3], [1, 1], [2, 2]),
            // a full group of 16 channels (AVX-512) or two of 8, then the rest, both ways
            conv2(17, [6, 9], 18, [3, 3], [1, 1], [1, 1]),
        ];
        for g in geoms {
            let rows = 3;
            // position-major input with counts 0..3
            let x: Vec<f32> = (0..rows * g.n_src()).map(|i| ((i * 7919) % 11) as f32).map(|v| if v < 8.0 { 0.0 } else { v - 7.0 }).collect();
            let w: Vec<f32> = (0..g.n_weights()).map(|i| (i as f32 * 0.61).sin()).collect();
            let want = conv2_naive(&g, &x, &w, rows);
            // channel-major CSR of the same input
            let (c_in, pos) = (g.row.c_in, g.h_in * g.row.l_in);
            let mut csr = Csr { ptr: vec![0], ..Default::default() };
            for r in 0..rows {
                for u in 0..g.n_src() {
                    let (ch, p) = (u / pos, u % pos);
                    let v = x[r * g.n_src() + p * c_in + ch];
                    if v != 0.0 {
                        csr.idx.push(u as u32);
                        csr.val.push(v);
                    }
                }
                csr.ptr.push(csr.idx.len() as u32);
            }
            let (tp, tc) = (ConvTaps::new(g, true), ConvTaps::new(g, false));
            let (mut wrp, mut wrc) = (vec![0.0; w.len()], vec![0.0; w.len()]);
            tp.to_runs(&w, &mut wrp);
            tc.to_runs(&w, &mut wrc);
            let mut a = vec![0.0; want.len()];
            conv_project_scan(&tp, &x, &wrp, &mut a);
            let mut b = vec![0.0; want.len()];
            conv_project_csr(&tc, &csr, 0, &wrc, &mut b);
            for i in 0..want.len() {
                assert!((a[i] - want[i]).abs() < 1e-4 && (b[i] - want[i]).abs() < 1e-4, "{g:?} out {i}: scan {} csr {} want {}", a[i], b[i], want[i]);
            }
            // weight gradient: dw = ∂⟨g, conv(x)⟩/∂w, by the definition applied to unit weights
            // (the middle sample's gradient is zero: the skipped-image path)
            let gr: Vec<f32> = (0..rows * g.n_dst()).map(|i| if i / g.n_dst() == 1 { 0.0 } else { (i as f32 * 0.23).cos() }).collect();
            let mut dwr = vec![0.0; w.len()];
            conv_weight_grad_scan(&tp, &x, &gr, &mut dwr);
            let mut dw = vec![0.0; w.len()];
            tp.add_runs_to(&dwr, &mut dw);
            let mut dwr_c = vec![0.0; w.len()];
            conv_weight_grad_csr(&tc, &csr, 0, &gr, &mut dwr_c);
            let mut dw_c = vec![0.0; w.len()];
            tc.add_runs_to(&dwr_c, &mut dw_c);
            for k in (0..w.len()).step_by(7) {
                let mut e = vec![0.0; w.len()];
                e[k] = 1.0;
                let want: f32 = conv2_naive(&g, &x, &e, rows).iter().zip(&gr).map(|(a, b)| a * b).sum();
                assert!((dw[k] - want).abs() < 1e-3 && (dw_c[k] - want).abs() < 1e-3, "{g:?} dw[{k}]: {} {} vs {want}", dw[k], dw_c[k]);
            }
            // input gradient: ⟨convᵀ(g), e_u⟩ = ⟨g, conv(e_u)⟩
            let mut wt = vec![0.0; conv_input_grad_weights_len(&g)];
            conv_input_grad_weights(&g, &w, &mut wt);
            let mut scratch = vec![0.0; conv_input_grad_scratch(&g)];
            let mut gx = vec![f32::NAN; rows * g.n_src()];
            conv_input_grad(&g, &gr, &wt, &mut gx, false, &mut scratch);
            let mut gx_acc = vec![2.0; rows * g.n_src()];
            conv_input_grad(&g, &gr, &wt, &mut gx_acc, true, &mut scratch);
            for u in (0..rows * g.n_src()).step_by(5) {
                let mut e = vec![0.0; rows * g.n_src()];
                e[u] = 1.0;
                let want: f32 = conv2_naive(&g, &e, &w, rows).iter().zip(&gr).map(|(a, b)| a * b).sum();
                assert!((gx[u] - want).abs() < 1e-3, "{g:?} gx[{u}]: {} vs {want}", gx[u]);
                assert!((gx_acc[u] - 2.0 - want).abs() < 1e-3, "{g:?} gx[{u}] (accumulate)");
            }
        }
    }

    /// 2-D max-pooling picks the first maximum scanning each window row by row, and routes the
    /// gradient there.
    #[test]
    fn maxpool2d_first_maximum_row_by_row() {
        // one channel, 4 × 4, windows 2 × 2: window (0,0) has its maxima at (0,1) and (1,0)
        let x = [0., 1., 0., 0., 1., 0., 0., 2., 0., 0., 3., 3., 0., 0., 3., 0.];
        let (mut out, mut idx) = (vec![0.0; 4], vec![0u32; 4]);
        maxpool_forward(1, [4, 4], [2, 2], &x, &mut out, &mut idx);
        assert_eq!(out, [1., 2., 0., 3.]);
        assert_eq!(idx, [1, 7, 8, 10]);
        let mut gx = vec![0.0; 16];
        maxpool_backward(1, [4, 4], [2, 2], &[1., 2., 3., 4.], &idx, &mut gx);
        assert_eq!((gx[1], gx[7], gx[8], gx[10]), (1., 2., 3., 4.));
        assert_eq!(gx.iter().sum::<f32>(), 10.0);
        // two channels, 5 × 3 floors to 2 × 1
        let x2: Vec<f32> = (0..30).map(|i| ((i * 13) % 7) as f32).collect();
        let (mut o2, mut i2) = (vec![0.0; 4], vec![0u32; 4]);
        maxpool_forward(2, [5, 3], [2, 2], &x2, &mut o2, &mut i2);
        for (j, (&o, &p)) in o2.iter().zip(&i2).enumerate() {
            let (wy, ch) = (j / 2, j % 2);
            let want = [0, 1].iter().flat_map(|dy| [0, 1].map(|dx| x2[((2 * wy + dy) * 3 + dx) * 2 + ch])).fold(f32::MIN, f32::max);
            assert_eq!(o, want);
            assert_eq!(x2[p as usize * 2 + ch], want);
        }
    }
}
