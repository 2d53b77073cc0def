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
    /// The entries `(column, value)` of row `r`, in ascending column order.
    #[inline(always)]
    pub fn row(&self, r: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
        let span = self.ptr[r] as usize..self.ptr[r + 1] as usize;
        self.idx[span.clone()].iter().zip(&self.val[span]).map(|(&i, &v)| (i as usize, v))
    }
}

#[inline(always)]
fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
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

/// Geometry of a 1-D convolution as the kernels below use it (see [`crate::layer::ConnGeom::Conv`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv1d {
    /// Source channels.
    pub c_in: usize,
    /// Source positions.
    pub l_in: usize,
    /// Filters.
    pub c_out: usize,
    /// Output positions.
    pub l_out: usize,
    /// Kernel size.
    pub k: usize,
    /// Stride.
    pub stride: usize,
    /// Padding.
    pub pad: usize,
}

impl Conv1d {
    /// Calls `f(kk, o)` for every kernel tap `kk` through which input position `pos` reaches output
    /// position `o` (`o·stride + kk − pad = pos`).
    ///
    /// The valid `o` form a range, `⌈(pos + pad − k + 1)/stride⌉ ..= ⌊(pos + pad)/stride⌋` clipped
    /// to the output; taps come in descending `kk`. Used to build [`ConvTaps`].
    fn taps(&self, pos: usize, mut f: impl FnMut(usize, usize)) {
        let q = pos + self.pad;
        let lo = (q + 1).saturating_sub(self.k).div_ceil(self.stride);
        let hi = (q / self.stride).min(self.l_out.saturating_sub(1));
        if self.l_out == 0 {
            return;
        }
        for o in lo..=hi {
            f(q - o * self.stride, o);
        }
    }

    fn n_src(&self) -> usize {
        self.c_in * self.l_in
    }
    fn n_dst(&self) -> usize {
        self.c_out * self.l_out
    }
}

/// A convolution with, for every source unit, the one contiguous **run** of weights it adds to one
/// contiguous range of output positions (built once per workspace), so an event-driven product is a
/// single vector add per event, with no index arithmetic.
///
/// A unit at input position `pos` reaches outputs `o = lo..=hi` through taps `kk = pos + pad − o·stride`,
/// which share the phase `kk mod stride`. In the *run layout* `wr[ci][phase][j'][co]` the taps of
/// one phase are stored in descending order (`kk = phase + stride·(J − 1 − j')`, `J` taps in the
/// phase), so a unit's taps for ascending `o` are consecutive rows: its run is `(hi − lo + 1)·c_out`
/// floats of `wr`, added to the same number of floats of the position-major output row from
/// `lo·c_out` on. Source units are channel-major for the data (`c·l_in + pos`) or position-major for
/// hidden groups (`pos·c_in + c`).
#[derive(Debug, Clone)]
pub struct ConvTaps {
    /// Geometry.
    pub geom: Conv1d,
    /// Per unit: (offset of its run in `wr`, offset in the output row, run length), in floats.
    runs: Vec<(u32, u32, u32)>,
    /// Per weight `w[ci, kk, co]` in the usual layout (index `(ci·k + kk)·c_out + co`): its row in
    /// the run layout, `(ci·k + kk) ↦ row` (times `c_out` for the offset).
    row_of: Vec<u32>,
}

impl ConvTaps {
    /// The run table of `geom` for position-major (`pos_major`) or channel-major source units.
    pub fn new(geom: Conv1d, pos_major: bool) -> Self {
        let (k, s, c_out) = (geom.k, geom.stride, geom.c_out);
        // each phase's taps and its first row within a channel's k rows
        let taps: Vec<usize> = geom.phases().map(|p| p.taps).collect();
        let start: Vec<usize> = taps.iter().scan(0, |acc, &t| Some(std::mem::replace(acc, *acc + t))).collect();
        let row = |ci: usize, kk: usize| ci * k + start[kk % s] + taps[kk % s] - 1 - kk / s;
        let row_of = (0..geom.c_in * k).map(|r| row(r / k, r % k) as u32).collect();
        let runs = (0..geom.n_src())
            .map(|u| {
                let (ci, pos) = if pos_major { (u % geom.c_in, u / geom.c_in) } else { (u / geom.l_in, u % geom.l_in) };
                let (mut first, mut n) = (None, 0);
                geom.taps(pos, |kk, o| {
                    first.get_or_insert((kk, o));
                    n += 1;
                });
                match first {
                    Some((kk, o)) => ((row(ci, kk) * c_out) as u32, (o * c_out) as u32, (n * c_out) as u32),
                    None => (0, 0, 0),
                }
            })
            .collect();
        ConvTaps { geom, runs, row_of }
    }

    /// Copies weights `w: [c_in, k, c_out]` into the run layout `wr` (same length).
    pub fn to_runs(&self, w: &[f32], wr: &mut [f32]) {
        let c = self.geom.c_out;
        for (r, &to) in self.row_of.iter().enumerate() {
            wr[to as usize * c..(to as usize + 1) * c].copy_from_slice(&w[r * c..(r + 1) * c]);
        }
    }

    /// Adds a gradient `dwr` in the run layout to `dw: [c_in, k, c_out]`.
    pub fn add_runs_to(&self, dwr: &[f32], dw: &mut [f32]) {
        let c = self.geom.c_out;
        for (r, &from) in self.row_of.iter().enumerate() {
            for (d, &g) in dw[r * c..(r + 1) * c].iter_mut().zip(&dwr[from as usize * c..(from as usize + 1) * c]) {
                *d += g;
            }
        }
    }

    /// Adds one event of unit `u` with value `x` to one position-major output row `[l_out, c_out]`.
    #[inline(always)]
    fn scatter(&self, u: usize, x: f32, wr: &[f32], out: &mut [f32]) {
        let (wo, oo, len) = self.runs[u];
        let (w, y) = (&wr[wo as usize..(wo + len) as usize], &mut out[oo as usize..(oo + len) as usize]);
        if x == 1.0 {
            for (y, &wv) in y.iter_mut().zip(w) {
                *y += wv;
            }
        } else {
            axpy(y, x, w);
        }
    }

    /// Accumulates one event's weight gradient (run layout) against one position-major gradient row.
    #[inline(always)]
    fn gather_grad(&self, u: usize, x: f32, g: &[f32], dwr: &mut [f32]) {
        let (wo, oo, len) = self.runs[u];
        axpy(&mut dwr[wo as usize..(wo + len) as usize], x, &g[oo as usize..(oo + len) as usize]);
    }
}

/// Event-driven convolution `out += conv(x)` from events in CSR rows `row0 ..` (units as the table
/// was built for; weights `w` in its run layout); `out` rows are position-major `[l_out, c_out]`.
pub fn conv_project_csr(t: &ConvTaps, x: &Csr, row0: usize, w: &[f32], out: &mut [f32]) {
    for (r, o) in out.chunks_exact_mut(t.geom.n_dst()).enumerate() {
        for (i, v) in x.row(row0 + r) {
            t.scatter(i, v, w, o);
        }
    }
}

/// Event-driven convolution `out += conv(x)` from a mostly-zero dense, **position-major**
/// `x: [rows, l_in, c_in]` (a hidden group; `t` built position-major; `w` in its run layout);
/// `out` rows are position-major `[l_out, c_out]`.
pub fn conv_project_scan(t: &ConvTaps, x: &[f32], w: &[f32], out: &mut [f32]) {
    for (xr, o) in x.chunks_exact(t.geom.n_src()).zip(out.chunks_exact_mut(t.geom.n_dst())) {
        for_each_nonzero(xr, |i, xi| t.scatter(i, xi, w, o));
    }
}

/// Weight gradient of a convolution from events in CSR rows `row0 ..`: `dw[ci, kk, co] += x · g[o, co]`,
/// with `dw` in the table's run layout ([`ConvTaps::add_runs_to`] converts it).
pub fn conv_weight_grad_csr(t: &ConvTaps, x: &Csr, row0: usize, grad: &[f32], dw: &mut [f32]) {
    for (r, gr) in grad.chunks_exact(t.geom.n_dst()).enumerate() {
        for (i, v) in x.row(row0 + r) {
            t.gather_grad(i, v, gr, dw);
        }
    }
}

/// Weight gradient of a convolution from a mostly-zero dense, position-major `x: [rows, l_in, c_in]`
/// (`dw` in the run layout).
pub fn conv_weight_grad_scan(t: &ConvTaps, x: &[f32], grad: &[f32], dw: &mut [f32]) {
    for (xr, gr) in x.chunks_exact(t.geom.n_src()).zip(grad.chunks_exact(t.geom.n_dst())) {
        for_each_nonzero(xr, |i, xi| t.gather_grad(i, xi, gr, dw));
    }
}

/// Rows (samples × steps) processed per block by [`conv_input_grad`].
pub const CONV_BLOCK: usize = 16;

/// One stride phase of a convolution's input gradient: the input positions `pos` with
/// `(pos + pad) mod stride = phi`, written `pos = stride·m + phi − pad` for `m` in `m_lo..m_hi`, are
/// reached by the `taps` kernel taps `kk = phi + stride·j` from output `o = m − j`.
#[derive(Debug, Clone, Copy)]
struct Phase {
    phi: usize,
    taps: usize,
    m_lo: usize,
    m_hi: usize,
}

impl Conv1d {
    /// The stride phases of the input gradient (module doc of [`conv_input_grad`]).
    fn phases(&self) -> impl Iterator<Item = Phase> + '_ {
        (0..self.stride).map(move |phi| {
            let taps = if phi < self.k { (self.k - phi).div_ceil(self.stride) } else { 0 };
            let m_lo = self.pad.saturating_sub(phi).div_ceil(self.stride);
            let m_hi = if self.l_in + self.pad > phi { (self.l_in - 1 + self.pad - phi) / self.stride + 1 } else { 0 };
            Phase { phi, taps, m_lo, m_hi: m_hi.max(m_lo) }
        })
    }

    /// Zero rows before each sample's gradient in the padded copy, and rows per sample. The zero
    /// rows after one sample's gradient and those before the next one's are shared, so a sample
    /// needs `max(m_hi, front + l_out)` rows (the last one is followed by `front` more zero rows).
    fn padded_rows(&self) -> (usize, usize) {
        let front = self.phases().map(|p| p.taps.saturating_sub(1 + p.m_lo)).max().unwrap_or(0);
        let m_hi = self.phases().map(|p| p.m_hi).max().unwrap_or(0);
        (front, m_hi.max(front + self.l_out))
    }
}

/// Floats of the rearranged weights [`conv_input_grad_weights`] writes.
pub fn conv_input_grad_weights_len(g: &Conv1d) -> usize {
    g.k * g.c_out * g.c_in
}

/// Scratch floats [`conv_input_grad`] needs for geometry `g`.
pub fn conv_input_grad_scratch(g: &Conv1d) -> usize {
    let (front, lp) = g.padded_rows();
    (CONV_BLOCK * lp + front) * g.c_out + CONV_BLOCK * lp * g.c_in
}

/// Rearranges `w: [c_in, k, c_out]` for [`conv_input_grad`]: per stride phase, the phase's taps in
/// descending order as one `[taps·c_out, c_in]` matrix. Done once per weight update, not per call.
pub fn conv_input_grad_weights(g: &Conv1d, w: &[f32], wt: &mut [f32]) {
    let (c_in, c_out) = (g.c_in, g.c_out);
    let mut off = 0;
    for ph in g.phases() {
        for jr in 0..ph.taps {
            let kk = ph.phi + g.stride * (ph.taps - 1 - jr);
            for co in 0..c_out {
                let row = &mut wt[off + (jr * c_out + co) * c_in..off + (jr * c_out + co + 1) * c_in];
                for (ci, x) in row.iter_mut().enumerate() {
                    *x = w[(ci * g.k + kk) * c_out + co];
                }
            }
        }
        off += ph.taps * c_out * c_in;
    }
}

/// Input gradient of a convolution (a transposed convolution) for every input unit of a hidden,
/// position-major source: `gx[pos, ci] (+)= Σ_{kk, co} w[ci, kk, co] · g[o, co]` with
/// `o·stride + kk − pad = pos`; `wt` from [`conv_input_grad_weights`].
///
/// Input positions fall into `stride` phases; within a phase, position `m` takes the taps
/// `kk = phi + stride·j` from outputs `o = m − j`, a correlation with stride 1. A block of rows is
/// copied into a zero-padded `[rows, lp, c_out]` buffer, in which the `taps·c_out` gradient values
/// each position needs are contiguous; so each phase is **one GEMM** over a Toeplitz view of that
/// buffer (overlapping rows, no im2col copy) with `K = taps·c_out`, and its rows are then added at
/// their input positions. Rows between two samples' ranges are computed and dropped.
pub fn conv_input_grad(g: &Conv1d, grad: &[f32], wt: &[f32], gx: &mut [f32], accumulate: bool, scratch: &mut [f32]) {
    let (ns, nd, c_in, c_out, l_out) = (g.n_src(), g.n_dst(), g.c_in, g.c_out, g.l_out);
    let rows = grad.len() / nd;
    let (front, lp) = g.padded_rows();
    let (gp, op) = scratch.split_at_mut((CONV_BLOCK * lp + front) * c_out);
    let mut r0 = 0;
    while r0 < rows {
        let nb = CONV_BLOCK.min(rows - r0);
        let gb = &grad[r0 * nd..(r0 + nb) * nd];
        let gxb = &mut gx[r0 * ns..(r0 + nb) * ns];
        r0 += nb;
        if gb.iter().all(|&v| v == 0.0) {
            if !accumulate {
                gxb.fill(0.0);
            }
            continue;
        }
        // padded copy: per sample `front` zero rows, the l_out gradient rows, zeros to lp; then
        // `front` zero rows after the last sample
        for (pr, gr) in gp[..nb * lp * c_out].chunks_exact_mut(lp * c_out).zip(gb.chunks_exact(nd)) {
            pr[..front * c_out].fill(0.0);
            pr[front * c_out..(front + l_out) * c_out].copy_from_slice(gr);
            pr[(front + l_out) * c_out..].fill(0.0);
        }
        gp[nb * lp * c_out..(nb * lp + front) * c_out].fill(0.0);
        if !accumulate {
            // one fill per block, then every phase adds (per-position copies would be many tiny memcpys)
            gxb.fill(0.0);
        }
        let mut w_off = 0;
        for ph in g.phases() {
            let k_len = ph.taps * c_out;
            let span = ph.m_hi - ph.m_lo;
            if ph.taps == 0 || span == 0 {
                // positions of a phase no tap reaches (stride > kernel) get no gradient
                continue;
            }
            // output row r·lp + (m − m_lo) reads padded rows r·lp + m + front − taps + 1 ..= r·lp + m + front
            let m_rows = (nb - 1) * lp + span;
            let a0 = (ph.m_lo + front + 1 - ph.taps) * c_out;
            let a = MatRef::from_row_major_slice_with_stride(&gp[a0..(nb * lp + front) * c_out], m_rows, k_len, c_out);
            let b = MatRef::from_row_major_slice(&wt[w_off..w_off + k_len * c_in], k_len, c_in);
            let dst = MatMut::from_row_major_slice_mut(&mut op[..m_rows * c_in], m_rows, c_in);
            matmul(dst, Accum::Replace, a, b, 1.0f32, Par::Seq);
            w_off += k_len * c_in;
            for (r, xr) in gxb.chunks_exact_mut(ns).enumerate() {
                for m in ph.m_lo..ph.m_hi {
                    let pos = g.stride * m + ph.phi - g.pad;
                    let src = &op[(r * lp + m - ph.m_lo) * c_in..(r * lp + m - ph.m_lo + 1) * c_in];
                    for (x, &v) in xr[pos * c_in..(pos + 1) * c_in].iter_mut().zip(src) {
                        *x += v;
                    }
                }
            }
        }
    }
}

/// Max-pooling over positions with kernel = stride `k` (floor) on position-major rows
/// `[l, c] → [l/k, c]`; `idx` records the position of the first maximum in each window (PyTorch's
/// tie rule).
pub fn maxpool_forward(c: usize, l: usize, k: usize, x: &[f32], out: &mut [f32], idx: &mut [u32]) {
    let lp = l / k;
    for ((xr, or), ir) in x.chunks_exact(c * l).zip(out.chunks_exact_mut(c * lp)).zip(idx.chunks_exact_mut(c * lp)) {
        for j in 0..lp {
            for ch in 0..c {
                let (mut best, mut bp) = (xr[j * k * c + ch], j * k);
                for p in j * k + 1..(j + 1) * k {
                    if xr[p * c + ch] > best {
                        best = xr[p * c + ch];
                        bp = p;
                    }
                }
                or[j * c + ch] = best;
                ir[j * c + ch] = bp as u32;
            }
        }
    }
}

/// Backward of [`maxpool_forward`]: `gx[idx, ch] += g[j, ch]` (gx not cleared here).
pub fn maxpool_backward(c: usize, l: usize, k: usize, g: &[f32], idx: &[u32], gx: &mut [f32]) {
    let lp = l / k;
    for ((gr, ir), xr) in g.chunks_exact(c * lp).zip(idx.chunks_exact(c * lp)).zip(gx.chunks_exact_mut(c * l)) {
        for j in 0..lp {
            for ch in 0..c {
                xr[ir[j * c + ch] as usize * c + ch] += gr[j * c + ch];
            }
        }
    }
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
