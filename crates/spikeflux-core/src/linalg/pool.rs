//! Max-pooling over positions with kernel = stride (stork's `MaxPool1d` and `MaxPool2d` groups),
//! forward and backward.

use super::{for_each_nonzero, Csr};

/// Max-pooling with kernel = stride `k = [k_h, k_w]` (floor) on position-major rows
/// `[h, w, c] → [h/k_h, w/k_w, c]` (`size = [h, w]`; a line is `[1, l]` with `k = [1, k]`);
/// `idx` records the position `y·w + x` of the first maximum in each window, scanned row by row
/// (PyTorch's tie rule).
pub fn maxpool_forward(c: usize, size: [usize; 2], k: [usize; 2], x: &[f32], out: &mut [f32], idx: &mut [u32]) {
    let ([h, w], [kh, kw]) = (size, k);
    let (hp, wp) = (h / kh, w / kw);
    let n_out = c * hp * wp;
    for ((xr, or), ir) in x.chunks_exact(c * h * w).zip(out.chunks_exact_mut(n_out)).zip(idx.chunks_exact_mut(n_out)) {
        for i in 0..hp {
            for j in 0..wp {
                let o = (i * wp + j) * c;
                let (ob, ib) = (&mut or[o..o + c], &mut ir[o..o + c]);
                // all channels of a window at once (contiguous): the first position, then each
                // later one row by row where it is strictly larger
                let first = i * kh * w + j * kw;
                ob.copy_from_slice(&xr[first * c..(first + 1) * c]);
                ib.fill(first as u32);
                for y in i * kh..(i + 1) * kh {
                    for p in y * w + j * kw..y * w + (j + 1) * kw {
                        if p == first {
                            continue;
                        }
                        for ((b, bi), &v) in ob.iter_mut().zip(ib.iter_mut()).zip(&xr[p * c..(p + 1) * c]) {
                            if v > *b {
                                *b = v;
                                *bi = p as u32;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The pooled output `(i·w_p + j)·c + ch` of each input unit `pos·c + ch` of `[h, w, c]` rows
/// (`pos = y·w + x`, `i = y/k_h`, `j = x/k_w`), or `u32::MAX` for the units of the rows and
/// columns the floor cuts off: what [`maxpool_forward_events`] looks up per event instead of
/// dividing four times. Made once per workspace.
pub fn pool_targets(c: usize, size: [usize; 2], k: [usize; 2]) -> Vec<u32> {
    let ([h, w], [kh, kw]) = (size, k);
    let (hp, wp) = (h / kh, w / kw);
    let mut map = Vec::with_capacity(c * h * w);
    for y in 0..h {
        for x in 0..w {
            let (i, j) = (y / kh, x / kw);
            for ch in 0..c {
                map.push(if i < hp && j < wp { ((i * wp + j) * c + ch) as u32 } else { u32::MAX });
            }
        }
    }
    map
}

/// [`maxpool_forward`] of non-negative rows given as events, producing events: rows
/// `row0..row0 + rows` of `ev` (position-major units in ascending order, as the forward pass records
/// spikes; the rest zeros) are pooled into `[h/k_h, w/k_w, c]` rows appended to `pooled` (its
/// non-zero outputs, ascending), with the position `y·w + x` of each one's first maximum in scan
/// order appended to `arg` (parallel to `pooled.idx`). Outputs that pool no event are zero and
/// their first maximum is the window's first position, which [`maxpool_backward_events`] knows
/// without a record. One comparison per event and one scan of `val` per row: no dense output, no
/// per-output index. `targets` is [`pool_targets`] of the same geometry.
///
/// `val` and `at` are the scratch of one output row (`c·(h/k_h)·(w/k_w)` each); `val` must be all
/// zero on entry and is left so.
#[allow(clippy::too_many_arguments)]
pub fn maxpool_forward_events(c: usize, size: [usize; 2], k: [usize; 2], targets: &[u32], ev: &Csr, row0: usize, rows: usize, val: &mut [f32], at: &mut [u32], pooled: &mut Csr, arg: &mut Vec<u32>) {
    let ([h, w], [kh, kw]) = (size, k);
    let n_out = c * (h / kh) * (w / kw);
    let (val, at, targets) = (&mut val[..n_out], &mut at[..n_out], &targets[..c * h * w]);
    for r in 0..rows {
        // ascending units are ascending positions: within a window, scan order
        for (u, v) in ev.row(row0 + r) {
            let o = targets[u] as usize;
            if let Some(vo) = val.get_mut(o) {
                if v > *vo {
                    *vo = v;
                    at[o] = (u / c) as u32;
                }
            }
        }
        let start = pooled.idx.len();
        for_each_nonzero(val, |o, v| {
            pooled.idx.push(o as u32);
            pooled.val.push(v);
            arg.push(at[o]);
        });
        for &o in &pooled.idx[start..] {
            val[o as usize] = 0.0;
        }
        pooled.ptr.push(pooled.idx.len() as u32);
    }
}

/// Backward of [`maxpool_forward_events`]: overwrites the `gx` rows `[h, w, c]` with ∂ of the
/// pooled rows `g` `[h/k_h, w/k_w, c]` at each window's first maximum (rows `row0..` of `pooled`
/// and their `arg`; the window's first position where nothing was pooled) and zeros elsewhere:
/// what [`maxpool_backward`] adds onto zeros with the dense indices, in one writing pass.
#[allow(clippy::too_many_arguments)]
pub fn maxpool_backward_events(c: usize, size: [usize; 2], k: [usize; 2], g: &[f32], pooled: &Csr, arg: &[u32], row0: usize, gx: &mut [f32]) {
    let ([h, w], [kh, kw]) = (size, k);
    let (hp, wp) = (h / kh, w / kw);
    let (n_in, n_out) = (c * h * w, c * hp * wp);
    if n_out == 0 {
        gx.fill(0.0);
        return;
    }
    for (r, (gr, xr)) in g.chunks_exact(n_out).zip(gx.chunks_exact_mut(n_in)).enumerate() {
        // every window's first position takes its output's gradient (all channels at once)
        for (y, xrow) in xr.chunks_exact_mut(w * c).enumerate() {
            if y % kh != 0 || y / kh >= hp {
                xrow.fill(0.0);
                continue;
            }
            let grow = &gr[(y / kh) * wp * c..(y / kh + 1) * wp * c];
            for (xw, gw) in xrow.chunks_exact_mut(kw * c).zip(grow.chunks_exact(c)) {
                xw[..c].copy_from_slice(gw);
                xw[c..].fill(0.0);
            }
            xrow[wp * kw * c..].fill(0.0);
        }
        // windows whose first maximum lies elsewhere: move it there
        let (e0, e1) = (pooled.ptr[row0 + r] as usize, pooled.ptr[row0 + r + 1] as usize);
        for (&o, &a) in pooled.idx[e0..e1].iter().zip(&arg[e0..e1]) {
            let (o, a) = (o as usize, a as usize);
            let (win, ch) = (o / c, o % c);
            let first = (win / wp) * kh * w + (win % wp) * kw;
            if a != first {
                xr[a * c + ch] = xr[first * c + ch];
                xr[first * c + ch] = 0.0;
            }
        }
    }
}

/// Backward of [`maxpool_forward`]: `gx[idx, ch] += g[j, ch]` (gx not cleared here).
pub fn maxpool_backward(c: usize, size: [usize; 2], k: [usize; 2], g: &[f32], idx: &[u32], gx: &mut [f32]) {
    let n_in = c * size[0] * size[1];
    let n_out = c * (size[0] / k[0]) * (size[1] / k[1]);
    for ((gr, ir), xr) in g.chunks_exact(n_out).zip(idx.chunks_exact(n_out)).zip(gx.chunks_exact_mut(n_in)) {
        for (gc, ic) in gr.chunks_exact(c).zip(ir.chunks_exact(c)) {
            for (ch, (&gv, &p)) in gc.iter().zip(ic).enumerate() {
                xr[p as usize * c + ch] += gv;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{rng_for, uniform};

    /// Random rows of spikes and counts as events (ascending units per row) and dense.
    fn rows_of_events(rng: &mut crate::rng::SfRng, rows: usize, n_in: usize) -> (Vec<f32>, Csr) {
        let x: Vec<f32> = (0..rows * n_in).map(|_| match uniform(rng) { u if u < 0.15 => 1.0, u if u < 0.3 => 2.5, _ => 0.0 }).collect();
        let mut ev = Csr { ptr: vec![0], ..Default::default() };
        for row in x.chunks_exact(n_in) {
            for (u, &v) in row.iter().enumerate().filter(|(_, &v)| v != 0.0) {
                ev.idx.push(u as u32);
                ev.val.push(v);
            }
            ev.ptr.push(ev.idx.len() as u32);
        }
        (x, ev)
    }

    const GEOMETRIES: [(usize, [usize; 2], [usize; 2]); 3] = [(3, [7, 5], [2, 2]), (2, [6, 9], [3, 2]), (4, [1, 10], [1, 3])];

    /// The event-driven pooling gives what the scan gives (its non-zero outputs as events, their
    /// first maxima), ties (equal spikes in a window, all-zero windows) and the floor's cut-off
    /// rows and columns included, and leaves its scratch zero.
    #[test]
    fn events_pool_like_the_scan() {
        let mut rng = rng_for(5, 0);
        for (c, size, k) in GEOMETRIES {
            let (n_in, n_out) = (c * size[0] * size[1], c * (size[0] / k[0]) * (size[1] / k[1]));
            let rows = 6;
            let (x, ev) = rows_of_events(&mut rng, rows, n_in);
            let (mut out, mut idx) = (vec![0.0; rows * n_out], vec![0; rows * n_out]);
            maxpool_forward(c, size, k, &x, &mut out, &mut idx);
            let (mut val, mut at) = (vec![0.0; n_out], vec![7; n_out]);
            let mut pooled = Csr { ptr: vec![0], ..Default::default() };
            let mut arg = Vec::new();
            // from row 1 of a source that starts with one more row
            let mut ev1 = Csr { ptr: vec![0, 1], idx: vec![0], val: vec![1.0] };
            ev1.ptr.extend(ev.ptr[1..].iter().map(|p| p + 1));
            ev1.idx.extend(&ev.idx);
            ev1.val.extend(&ev.val);
            maxpool_forward_events(c, size, k, &pool_targets(c, size, k), &ev1, 1, rows, &mut val, &mut at, &mut pooled, &mut arg);
            assert!(val.iter().all(|&v| v == 0.0), "scratch left non-zero: {c} {size:?} {k:?}");
            let (mut dense, mut dense_idx) = (vec![0.0; rows * n_out], Vec::new());
            assert_eq!(pooled.ptr.len(), rows + 1);
            assert_eq!(arg.len(), pooled.nnz());
            for r in 0..rows {
                for ((o, v), &a) in pooled.row(r).zip(&arg[pooled.ptr[r] as usize..]) {
                    dense[r * n_out + o] = v;
                    dense_idx.push((r * n_out + o, a));
                }
            }
            assert_eq!(dense, out, "{c} {size:?} {k:?} (pooled events)");
            for (o, a) in dense_idx {
                assert_eq!(a, idx[o], "{c} {size:?} {k:?}: first maximum of output {o}");
            }
            assert!(out.contains(&2.5) && out.contains(&0.0));
        }
    }

    /// The event-driven backward writes what the dense one adds onto zeros, with the dense
    /// indices of the scan (all-zero windows: their first position; cut-off rows and columns: 0).
    #[test]
    fn events_backward_like_the_scatter() {
        let mut rng = rng_for(6, 0);
        for (c, size, k) in GEOMETRIES {
            let (n_in, n_out) = (c * size[0] * size[1], c * (size[0] / k[0]) * (size[1] / k[1]));
            let rows = 5;
            let (x, ev) = rows_of_events(&mut rng, rows, n_in);
            let (mut out, mut idx) = (vec![0.0; rows * n_out], vec![0; rows * n_out]);
            maxpool_forward(c, size, k, &x, &mut out, &mut idx);
            let (mut val, mut at) = (vec![0.0; n_out], vec![0; n_out]);
            let mut pooled = Csr { ptr: vec![0], ..Default::default() };
            let mut arg = Vec::new();
            maxpool_forward_events(c, size, k, &pool_targets(c, size, k), &ev, 0, rows, &mut val, &mut at, &mut pooled, &mut arg);
            let g: Vec<f32> = (0..rows * n_out).map(|_| uniform(&mut rng) as f32 - 0.5).collect();
            let mut want = vec![0.0; rows * n_in];
            maxpool_backward(c, size, k, &g, &idx, &mut want);
            // rows 1.. of the pooled events against g's rows 1..
            let mut got = vec![f32::NAN; (rows - 1) * n_in];
            maxpool_backward_events(c, size, k, &g[n_out..], &pooled, &arg, 1, &mut got);
            assert_eq!(got, want[n_in..], "{c} {size:?} {k:?}");
            assert!(want.iter().filter(|&&v| v == 0.0).count() > n_in, "{c} {size:?} {k:?}: zeros expected");
        }
    }
}
