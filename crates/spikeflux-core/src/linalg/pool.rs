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

/// [`maxpool_forward`] of non-negative rows given as events: rows `row0..` of `ev` (position-major
/// units in ascending order, as the forward pass records spikes; the rest zeros) into
/// `out`/`idx` rows `[h/k_h, w/k_w, c]`. The same outputs and indices — a window's first maximum
/// in scan order, its first position if all are zero — from one fill per row and one comparison
/// per event instead of a scan of every input. The non-zero outputs are appended to `pooled` as
/// one event row per output row (ascending units), for products that take events.
#[allow(clippy::too_many_arguments)]
pub fn maxpool_forward_events(c: usize, size: [usize; 2], k: [usize; 2], ev: &Csr, row0: usize, out: &mut [f32], idx: &mut [u32], pooled: &mut Csr) {
    let ([h, w], [kh, kw]) = (size, k);
    let (hp, wp) = (h / kh, w / kw);
    let n_out = c * hp * wp;
    if n_out == 0 {
        return;
    }
    for (r, (or, ir)) in out.chunks_exact_mut(n_out).zip(idx.chunks_exact_mut(n_out)).enumerate() {
        or.fill(0.0);
        for (o, ib) in ir.chunks_exact_mut(c).enumerate() {
            let (i, j) = (o / wp, o % wp);
            ib.fill((i * kh * w + j * kw) as u32);
        }
        // ascending units are ascending positions: within a window, scan order
        for (u, v) in ev.row(row0 + r) {
            let (pos, ch) = (u / c, u % c);
            let (i, j) = ((pos / w) / kh, (pos % w) / kw);
            if i < hp && j < wp {
                let o = (i * wp + j) * c + ch;
                if v > or[o] {
                    or[o] = v;
                    ir[o] = pos as u32;
                }
            }
        }
        for_each_nonzero(or, |o, v| {
            pooled.idx.push(o as u32);
            pooled.val.push(v);
        });
        pooled.ptr.push(pooled.idx.len() as u32);
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

    /// The event-driven pooling gives what the scan gives, ties (equal spikes in a window, all-zero
    /// windows) and the floor's cut-off rows and columns included.
    #[test]
    fn events_pool_like_the_scan() {
        let mut rng = rng_for(5, 0);
        for (c, size, k) in [(3, [7, 5], [2, 2]), (2, [6, 9], [3, 2]), (4, [1, 10], [1, 3])] {
            let (n_in, n_out) = (c * size[0] * size[1], c * (size[0] / k[0]) * (size[1] / k[1]));
            let rows = 6;
            let x: Vec<f32> = (0..rows * n_in).map(|_| match uniform(&mut rng) { u if u < 0.15 => 1.0, u if u < 0.3 => 2.5, _ => 0.0 }).collect();
            let mut ev = Csr { ptr: vec![0], ..Default::default() };
            for row in x.chunks_exact(n_in) {
                for (u, &v) in row.iter().enumerate().filter(|(_, &v)| v != 0.0) {
                    ev.idx.push(u as u32);
                    ev.val.push(v);
                }
                ev.ptr.push(ev.idx.len() as u32);
            }
            let (mut out, mut idx) = (vec![0.0; rows * n_out], vec![0; rows * n_out]);
            maxpool_forward(c, size, k, &x, &mut out, &mut idx);
            let (mut out_e, mut idx_e) = (vec![9.0; rows * n_out], vec![9; rows * n_out]);
            let mut pooled = Csr { ptr: vec![0], ..Default::default() };
            maxpool_forward_events(c, size, k, &ev, 0, &mut out_e, &mut idx_e, &mut pooled);
            assert_eq!(out, out_e, "{c} {size:?} {k:?}");
            assert_eq!(idx, idx_e, "{c} {size:?} {k:?}");
            // the pooled events are the non-zero outputs, row by row
            let mut dense = vec![0.0; rows * n_out];
            assert_eq!(pooled.ptr.len(), rows + 1);
            for r in 0..rows {
                for (o, v) in pooled.row(r) {
                    dense[r * n_out + o] = v;
                }
            }
            assert_eq!(dense, out, "{c} {size:?} {k:?} (pooled events)");
            assert!(out.contains(&2.5) && out.contains(&0.0));
        }
    }
}
