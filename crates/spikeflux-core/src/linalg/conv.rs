//! 1-D and 2-D convolutions on spikes: the geometry ([`Conv`], whose rows are 1-D convolutions
//! [`Conv1d`]), per-unit tap tables that turn one presynaptic event into one contiguous add of
//! weights per output row ([`ConvTaps`], weights in a run layout), event-driven and scanning
//! products and weight gradients, and the input gradient as one GEMM per stride phase over a
//! Toeplitz view of a zero-padded gradient copy (per kernel row for 2-D).

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

use super::{all_zero, axpy, for_each_nonzero, winograd, Csr};

/// Geometry of a 1-D convolution along one axis: a line convolution, or the rows (columns) of a
/// 2-D one ([`Conv`]).
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

    pub(crate) fn n_src(&self) -> usize {
        self.c_in * self.l_in
    }
    pub(crate) fn n_dst(&self) -> usize {
        self.c_out * self.l_out
    }
}

/// Geometry of a convolution as the kernels below use it (see [`crate::layer::ConnGeom::Conv`]):
/// images `[h, w]` with per-axis kernel, stride and padding; a 1-D convolution has `h_in = h_out =
/// kh = sh = 1`, `ph = 0`. Units are position-major (`(y·w + x)·c + ch`) for hidden groups and
/// outputs, channel-major (`ch·h·w + y·w + x`) for the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv {
    /// The convolution along each row (x axis): channels, widths, kernel columns, stride, padding.
    pub row: Conv1d,
    /// Source rows.
    pub h_in: usize,
    /// Output rows.
    pub h_out: usize,
    /// Kernel rows.
    pub kh: usize,
    /// Stride along rows.
    pub sh: usize,
    /// Padding along rows.
    pub ph: usize,
}

impl Conv {
    /// A 1-D convolution (one row).
    pub fn line(row: Conv1d) -> Self {
        Conv { row, h_in: 1, h_out: 1, kh: 1, sh: 1, ph: 0 }
    }
    /// The same geometry along the y axis (channels as in `row`).
    fn col(&self) -> Conv1d {
        Conv1d { l_in: self.h_in, l_out: self.h_out, k: self.kh, stride: self.sh, pad: self.ph, ..self.row }
    }
    /// Whether the convolution maps each source row to the output row of the same index only
    /// (one kernel row, stride 1, no padding: every 1-D convolution).
    fn rowwise(&self) -> bool {
        self.kh == 1 && self.sh == 1 && self.ph == 0
    }
    /// Source units.
    pub fn n_src(&self) -> usize {
        self.h_in * self.row.n_src()
    }
    /// Destination units.
    pub fn n_dst(&self) -> usize {
        self.h_out * self.row.n_dst()
    }
    /// Weights `[c_in, kh, kw, c_out]`.
    pub fn n_weights(&self) -> usize {
        self.row.c_in * self.kh * self.row.k * self.row.c_out
    }
}

/// One source unit's contribution in a [`ConvTaps`] table: `ny` runs of `len` floats, the first at
/// `w` in the run-layout weights and `o` in the position-major output row; each further run is
/// one kernel row up in the weights and one output row down.
#[derive(Debug, Clone, Copy, Default)]
struct Run {
    w: u32,
    o: u32,
    len: u32,
    ny: u32,
}

/// A convolution with, for every source unit and every output row it reaches, the one contiguous
/// **run** of weights it adds to one contiguous range of output positions in that row (built once
/// per workspace), so an event-driven product is one vector add per event and output row (one
/// per event for 1-D), with no index arithmetic.
///
/// Along a row, a unit at input column `x` reaches output columns `o = lo..=hi` through taps
/// `kx = x + pad − o·stride`, which share the phase `kx mod stride`. In the *run layout*
/// `wr[ci][ky][phase][j'][co]` the taps of one phase are stored in descending order
/// (`kx = phase + stride·(J − 1 − j')`, `J` taps in the phase), so a unit's taps for ascending `o`
/// are consecutive rows: its run is `(hi − lo + 1)·c_out` floats of `wr`, added to the same number
/// of floats of the position-major output row from `lo·c_out` on. Output row `oy` takes kernel row
/// `ky = y + ph − oy·sh`: ascending output rows step down `sh` kernel rows. Source units are
/// channel-major for the data or position-major for hidden groups.
#[derive(Debug, Clone)]
pub struct ConvTaps {
    /// Geometry.
    pub geom: Conv,
    /// Per source unit.
    runs: Vec<Run>,
    /// Floats between the weight runs of consecutive output rows (`sh·kw·c_out`, backwards).
    w_step: usize,
    /// Floats between consecutive output rows (`w_out·c_out`).
    o_step: usize,
    /// Per weight `w[ci, ky, kx, co]` in the usual layout (index `((ci·kh + ky)·kw + kx)·c_out + co`):
    /// its row in the run layout, `(ci·kh + ky)·kw + kx ↦ row` (times `c_out` for the offset).
    row_of: Vec<u32>,
}

impl ConvTaps {
    /// The run table of `geom` for position-major (`pos_major`) or channel-major source units.
    pub fn new(geom: Conv, pos_major: bool) -> Self {
        let r = geom.row;
        let (k, s, c_out, c_in) = (r.k, r.stride, r.c_out, r.c_in);
        let (w_in, pos) = (r.l_in, geom.h_in * r.l_in);
        // each phase's taps and its first row within one kernel row's k rows
        let taps: Vec<usize> = r.phases().map(|p| p.taps).collect();
        let start: Vec<usize> = taps.iter().scan(0, |acc, &t| Some(std::mem::replace(acc, *acc + t))).collect();
        // kernel row `kr = ci·kh + ky`
        let row = |kr: usize, kx: usize| kr * k + start[kx % s] + taps[kx % s] - 1 - kx / s;
        let row_of = (0..c_in * geom.kh * k).map(|i| row(i / k, i % k) as u32).collect();
        let col = geom.col();
        let runs = (0..geom.n_src())
            .map(|u| {
                let (ci, p) = if pos_major { (u % c_in, u / c_in) } else { (u / pos, u % pos) };
                let (y, x) = (p / w_in, p % w_in);
                let (mut first_x, mut nx) = (None, 0);
                r.taps(x, |kx, o| {
                    first_x.get_or_insert((kx, o));
                    nx += 1;
                });
                let (mut first_y, mut ny) = (None, 0);
                col.taps(y, |ky, oy| {
                    first_y.get_or_insert((ky, oy));
                    ny += 1;
                });
                match (first_x, first_y) {
                    (Some((kx, ox)), Some((ky, oy))) => Run {
                        w: (row(ci * geom.kh + ky, kx) * c_out) as u32,
                        o: ((oy * r.l_out + ox) * c_out) as u32,
                        len: (nx * c_out) as u32,
                        ny: ny as u32,
                    },
                    _ => Run::default(),
                }
            })
            .collect();
        ConvTaps { geom, runs, w_step: geom.sh * k * c_out, o_step: r.l_out * c_out, row_of }
    }

    /// Copies weights `w: [c_in, kh, kw, c_out]` into the run layout `wr` (same length).
    pub fn to_runs(&self, w: &[f32], wr: &mut [f32]) {
        let c = self.geom.row.c_out;
        for (r, &to) in self.row_of.iter().enumerate() {
            wr[to as usize * c..(to as usize + 1) * c].copy_from_slice(&w[r * c..(r + 1) * c]);
        }
    }

    /// Adds a gradient `dwr` in the run layout to `dw: [c_in, kh, kw, c_out]`.
    pub fn add_runs_to(&self, dwr: &[f32], dw: &mut [f32]) {
        let c = self.geom.row.c_out;
        for (r, &from) in self.row_of.iter().enumerate() {
            for (d, &g) in dw[r * c..(r + 1) * c].iter_mut().zip(&dwr[from as usize * c..(from as usize + 1) * c]) {
                *d += g;
            }
        }
    }

    /// Adds one event of unit `u` with value `x` to one position-major output `[h_out, w_out, c_out]`.
    #[inline(always)]
    fn scatter(&self, u: usize, x: f32, wr: &[f32], out: &mut [f32]) {
        let Run { w, o, len, ny } = self.runs[u];
        let (w, o, len) = (w as usize, o as usize, len as usize);
        for j in 0..ny as usize {
            let (wo, oo) = (w - j * self.w_step, o + j * self.o_step);
            let (w, y) = (&wr[wo..wo + len], &mut out[oo..oo + len]);
            if x == 1.0 {
                for (y, &wv) in y.iter_mut().zip(w) {
                    *y += wv;
                }
            } else {
                axpy(y, x, w);
            }
        }
    }

    /// Accumulates one event's weight gradient (run layout) against one position-major gradient row.
    #[inline(always)]
    fn gather_grad(&self, u: usize, x: f32, g: &[f32], dwr: &mut [f32]) {
        let Run { w, o, len, ny } = self.runs[u];
        let (w, o, len) = (w as usize, o as usize, len as usize);
        for j in 0..ny as usize {
            let (wo, oo) = (w - j * self.w_step, o + j * self.o_step);
            axpy(&mut dwr[wo..wo + len], x, &g[oo..oo + len]);
        }
    }
}

/// Event-driven convolution `out += conv(x)` from events in CSR rows `row0 ..` (units as the table
/// was built for; weights `w` in its run layout); `out` rows are position-major `[h_out, w_out, c_out]`.
pub fn conv_project_csr(t: &ConvTaps, x: &Csr, row0: usize, w: &[f32], out: &mut [f32]) {
    for (r, o) in out.chunks_exact_mut(t.geom.n_dst()).enumerate() {
        for (i, v) in x.row(row0 + r) {
            t.scatter(i, v, w, o);
        }
    }
}

/// Event-driven convolution `out += conv(x)` from a mostly-zero dense, **position-major**
/// `x: [rows, h_in, w_in, c_in]` (a hidden group; `t` built position-major; `w` in its run layout);
/// `out` rows are position-major `[h_out, w_out, c_out]`.
pub fn conv_project_scan(t: &ConvTaps, x: &[f32], w: &[f32], out: &mut [f32]) {
    for (xr, o) in x.chunks_exact(t.geom.n_src()).zip(out.chunks_exact_mut(t.geom.n_dst())) {
        for_each_nonzero(xr, |i, xi| t.scatter(i, xi, w, o));
    }
}

/// Weight gradient of a convolution from events in CSR rows `row0 ..`: `dw[ci, ky, kx, co] += x · g[oy, ox, co]`,
/// with `dw` in the table's run layout ([`ConvTaps::add_runs_to`] converts it).
pub fn conv_weight_grad_csr(t: &ConvTaps, x: &Csr, row0: usize, grad: &[f32], dw: &mut [f32]) {
    for (r, gr) in grad.chunks_exact(t.geom.n_dst()).enumerate() {
        for (i, v) in x.row(row0 + r) {
            t.gather_grad(i, v, gr, dw);
        }
    }
}

/// Weight gradient of a convolution from a mostly-zero dense, position-major `x: [rows, h_in, w_in, c_in]`
/// (`dw` in the run layout).
pub fn conv_weight_grad_scan(t: &ConvTaps, x: &[f32], grad: &[f32], dw: &mut [f32]) {
    for (xr, gr) in x.chunks_exact(t.geom.n_src()).zip(grad.chunks_exact(t.geom.n_dst())) {
        for_each_nonzero(xr, |i, xi| t.gather_grad(i, xi, gr, dw));
    }
}

/// Rows processed per block by the 1-D input gradient (samples × steps × output rows).
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
    /// The stride phases of the input gradient ([`row_input_grad`]).
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
pub fn conv_input_grad_weights_len(g: &Conv) -> usize {
    if g.winograd() {
        winograd::weights_len(g)
    } else {
        g.n_weights()
    }
}

/// Samples × steps whose rows one 2-D input-gradient block covers: enough that a block holds at
/// least [`CONV_BLOCK`] output rows.
fn image_block(g: &Conv) -> usize {
    CONV_BLOCK.div_ceil(g.h_out.max(1))
}

impl Conv {
    /// Whether the input gradient goes through [`image_input_grad`] (stride 1 along both axes, a
    /// true 2-D kernel).
    fn unit_stride_2d(&self) -> bool {
        !self.rowwise() && self.sh == 1 && self.row.stride == 1
    }
    /// The zero-padded gradient image of [`image_input_grad`]: `[h_in + kh − 1, w_in + kw − 1]`
    /// positions (`c_out` floats each).
    fn padded_image(&self) -> (usize, usize) {
        (self.h_in + self.kh - 1, self.row.l_in + self.row.k - 1)
    }
    /// Whether the input gradient goes through the Winograd products (module `winograd`: 3×3 kernel, stride 1).
    fn winograd(&self) -> bool {
        winograd::applies(self)
    }
}

/// Scratch floats [`conv_input_grad`] needs for geometry `g`.
pub fn conv_input_grad_scratch(g: &Conv) -> usize {
    let rows = row_grad_scratch(&g.row);
    if g.rowwise() {
        rows
    } else if g.winograd() {
        winograd::scratch_len(g)
    } else if g.unit_stride_2d() {
        let (hp, wp) = g.padded_image();
        hp * wp * (g.row.c_out + g.row.c_in)
    } else {
        rows + image_block(g) * g.h_out * g.row.n_src()
    }
}

/// Rearranges `w: [c_in, kh, kw, c_out]` for [`conv_input_grad`]: per kernel row, per stride phase,
/// the phase's taps in descending order as one `[taps·c_out, c_in]` matrix; for a 3×3 kernel with
/// stride 1, the Winograd transform of the flipped kernel (`[36, c_out, c_in]`, see
/// the module `winograd`). Done once per weight update, not per call.
pub fn conv_input_grad_weights(g: &Conv, w: &[f32], wt: &mut [f32]) {
    let r = &g.row;
    if g.winograd() {
        return winograd::weights(g, w, wt);
    }
    let per_row = r.k * r.c_out * r.c_in;
    for (ky, wt) in wt[..g.kh * per_row].chunks_exact_mut(per_row).enumerate() {
        row_grad_weights(r, |ci, kx, co| w[((ci * g.kh + ky) * r.k + kx) * r.c_out + co], wt);
    }
}

/// Input gradient of a convolution for every input unit of a hidden, position-major source:
/// `gx[y, x, ci] (+)= Σ w[ci, ky, kx, co] · g[oy, ox, co]` over `oy·sh + ky − ph = y`,
/// `ox·sw + kx − pw = x`; `wt` from [`conv_input_grad_weights`], `grad: [rows, h_out, w_out, c_out]`,
/// `gx: [rows, h_in, w_in, c_in]`.
///
/// A 1-D convolution is the Toeplitz-GEMM input gradient below (`row_input_grad`) over all rows. A 2-D one is, per kernel row `ky`, that
/// 1-D input gradient of every output row (into a block buffer), whose row `oy` is then added to
/// input row `oy·sh + ky − ph`.
pub fn conv_input_grad(g: &Conv, grad: &[f32], wt: &[f32], gx: &mut [f32], accumulate: bool, scratch: &mut [f32]) {
    let r = &g.row;
    if g.rowwise() {
        return row_input_grad(r, grad, wt, gx, accumulate, scratch);
    }
    if g.winograd() {
        return winograd::input_grad(g, grad, wt, gx, accumulate, scratch);
    }
    if g.unit_stride_2d() {
        return image_input_grad(g, grad, wt, gx, accumulate, scratch);
    }
    let (ns, nd) = (g.n_src(), g.n_dst());
    let row_in = r.n_src();
    let per_row = r.k * r.c_out * r.c_in;
    let nb_max = image_block(g);
    let (tmp, scratch) = scratch.split_at_mut(nb_max * g.h_out * row_in);
    for (gb, gxb) in grad.chunks(nb_max * nd).zip(gx.chunks_mut(nb_max * ns)) {
        if !accumulate {
            gxb.fill(0.0);
        }
        if all_zero(gb) {
            continue;
        }
        let nb = gb.len() / nd;
        let tmp = &mut tmp[..nb * g.h_out * row_in];
        for ky in 0..g.kh {
            row_input_grad(r, gb, &wt[ky * per_row..(ky + 1) * per_row], tmp, false, scratch);
            for (t, x) in tmp.chunks_exact(g.h_out * row_in).zip(gxb.chunks_exact_mut(ns)) {
                for (oy, tr) in t.chunks_exact(row_in).enumerate() {
                    let Some(y) = (oy * g.sh + ky).checked_sub(g.ph).filter(|&y| y < g.h_in) else { continue };
                    for (d, &v) in x[y * row_in..(y + 1) * row_in].iter_mut().zip(tr) {
                        *d += v;
                    }
                }
            }
        }
    }
}

/// [`conv_input_grad`] of a 2-D convolution with stride 1 along both axes, one image at a time:
/// `gx[y, x] = Σ_{j, i} gp[y + j, x + i] · w[kh − 1 − j, kw − 1 − i]ᵀ` over the gradient image
/// `gp` zero-padded to `[h_in + kh − 1, w_in + kw − 1]` (`kh − 1 − ph` rows before, `kw − 1 − pw`
/// columns; negative pads drop gradient rows and columns that reach no input).
///
/// Flattened with the padded width `wp`, the `kw·c_out` values input position `p = y·wp + x`
/// takes from padded row `y + j` are contiguous from `(p + j·wp)·c_out` on, so kernel row `j` is
/// **one GEMM** over a Toeplitz view of the padded image (`M = (h_in − 1)·wp + w_in`,
/// `K = kw·c_out`, `N = c_in`), the `kh` of them accumulating into one `[M, c_in]` buffer; one
/// pass then adds (or copies) its rows with `x < w_in` to `gx`. The `kw − 1` extra columns per
/// row are computed and dropped.
fn image_input_grad(g: &Conv, grad: &[f32], wt: &[f32], gx: &mut [f32], accumulate: bool, scratch: &mut [f32]) {
    let r = &g.row;
    let (ns, nd, c_in, c_out) = (g.n_src(), g.n_dst(), r.c_in, r.c_out);
    let (hp, wp) = g.padded_image();
    let (w_in, w_out) = (r.l_in, r.l_out);
    let per_row = r.k * c_out * c_in;
    let (gp, op) = scratch.split_at_mut(hp * wp * c_out);
    let op = &mut op[..hp * wp * c_in];
    let front = [(g.kh - 1) as isize - g.ph as isize, (r.k - 1) as isize - r.pad as isize];
    let m_rows = (g.h_in - 1) * wp + w_in;
    for (gi, xi) in grad.chunks_exact(nd).zip(gx.chunks_exact_mut(ns)) {
        if all_zero(gi) {
            if !accumulate {
                xi.fill(0.0);
            }
            continue;
        }
        let gp = padded_image(gi, [g.h_out, w_out], c_out, front, [hp, wp], gp);
        for j in 0..g.kh {
            let a = MatRef::from_row_major_slice_with_stride(&gp[j * wp * c_out..], m_rows, r.k * c_out, c_out);
            let ky = g.kh - 1 - j;
            let b = MatRef::from_row_major_slice(&wt[ky * per_row..(ky + 1) * per_row], r.k * c_out, c_in);
            let dst = MatMut::from_row_major_slice_mut(&mut op[..m_rows * c_in], m_rows, c_in);
            let acc = if j == 0 { Accum::Replace } else { Accum::Add };
            matmul(dst, acc, a, b, 1.0f32, Par::Seq);
        }
        for (y, xr) in xi.chunks_exact_mut(w_in * c_in).enumerate() {
            let src = &op[y * wp * c_in..(y * wp + w_in) * c_in];
            if accumulate {
                for (d, &v) in xr.iter_mut().zip(src) {
                    *d += v;
                }
            } else {
                xr.copy_from_slice(src);
            }
        }
    }
}

/// One image's gradient `gi: [h_out, w_out, c]` zero-padded to `[hp, wp, c]` with `front` rows
/// and columns before it (position-major): `gi` itself where it already has that shape, else a
/// copy into `gp`. A negative `front` (padding beyond the kernel) drops the gradient rows or
/// columns before it, which reach no input; those past `[hp, wp]` are dropped too.
pub(super) fn padded_image<'a>(gi: &'a [f32], out: [usize; 2], c: usize, front: [isize; 2], padded: [usize; 2], gp: &'a mut [f32]) -> &'a [f32] {
    let ([h_out, w_out], [fy, fx], [hp, wp]) = (out, front, padded);
    if fy == 0 && fx == 0 && hp == h_out && wp == w_out {
        return gi;
    }
    let gp = &mut gp[..hp * wp * c];
    // output columns kept in each padded row, and where they land
    let ox0 = (-fx).max(0) as usize;
    let ox1 = (w_out as isize).min(wp as isize - fx).max(ox0 as isize) as usize;
    let qx0 = (ox0 as isize + fx) as usize;
    // each padded row written once: its copied columns, zeros around them
    for (qy, row) in gp.chunks_exact_mut(wp * c).enumerate() {
        let oy = qy as isize - fy;
        if oy < 0 || oy >= h_out as isize {
            row.fill(0.0);
            continue;
        }
        let src = &gi[(oy as usize * w_out + ox0) * c..(oy as usize * w_out + ox1) * c];
        let (left, rest) = row.split_at_mut(qx0 * c);
        let (mid, right) = rest.split_at_mut(src.len());
        left.fill(0.0);
        mid.copy_from_slice(src);
        right.fill(0.0);
    }
    gp
}

/// Scratch floats [`row_input_grad`] needs for geometry `g`.
fn row_grad_scratch(g: &Conv1d) -> usize {
    let (front, lp) = g.padded_rows();
    (CONV_BLOCK * lp + front) * g.c_out + CONV_BLOCK * lp * g.c_in
}

/// Rearranges the weights `w(ci, kk, co)` of a 1-D convolution for [`row_input_grad`]: per stride
/// phase, the phase's taps in descending order as one `[taps·c_out, c_in]` matrix.
fn row_grad_weights(g: &Conv1d, w: impl Fn(usize, usize, usize) -> f32, wt: &mut [f32]) {
    let (c_in, c_out) = (g.c_in, g.c_out);
    let mut off = 0;
    for ph in g.phases() {
        for jr in 0..ph.taps {
            let kk = ph.phi + g.stride * (ph.taps - 1 - jr);
            for co in 0..c_out {
                let row = &mut wt[off + (jr * c_out + co) * c_in..off + (jr * c_out + co + 1) * c_in];
                for (ci, x) in row.iter_mut().enumerate() {
                    *x = w(ci, kk, co);
                }
            }
        }
        off += ph.taps * c_out * c_in;
    }
}

/// Input gradient of a 1-D convolution (a transposed convolution) for every input unit of
/// position-major rows: `gx[pos, ci] (+)= Σ_{kk, co} w[ci, kk, co] · g[o, co]` with
/// `o·stride + kk − pad = pos`; `wt` from [`row_grad_weights`].
///
/// Input positions fall into `stride` phases; within a phase, position `m` takes the taps
/// `kk = phi + stride·j` from outputs `o = m − j`, a correlation with stride 1. A block of rows is
/// copied into a zero-padded `[rows, lp, c_out]` buffer, in which the `taps·c_out` gradient values
/// each position needs are contiguous; so each phase is **one GEMM** over a Toeplitz view of that
/// buffer (overlapping rows, no im2col copy) with `K = taps·c_out`, and its rows are then added at
/// their input positions. Rows between two samples' ranges are computed and dropped.
fn row_input_grad(g: &Conv1d, grad: &[f32], wt: &[f32], gx: &mut [f32], accumulate: bool, scratch: &mut [f32]) {
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
        if all_zero(gb) {
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
