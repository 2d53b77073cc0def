//! Max-pooling over positions with kernel = stride (stork's `MaxPool1d` and `MaxPool2d` groups),
//! forward and backward.

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
                for ch in 0..c {
                    let first = i * kh * w + j * kw;
                    let (mut best, mut bp) = (xr[first * c + ch], first);
                    for y in i * kh..(i + 1) * kh {
                        for p in y * w + j * kw..y * w + (j + 1) * kw {
                            if xr[p * c + ch] > best {
                                best = xr[p * c + ch];
                                bp = p;
                            }
                        }
                    }
                    or[o + ch] = best;
                    ir[o + ch] = bp as u32;
                }
            }
        }
    }
}

/// Backward of [`maxpool_forward`]: `gx[idx, ch] += g[j, ch]` (gx not cleared here).
pub fn maxpool_backward(c: usize, size: [usize; 2], k: [usize; 2], g: &[f32], idx: &[u32], gx: &mut [f32]) {
    let n_in = c * size[0] * size[1];
    let n_out = c * (size[0] / k[0]) * (size[1] / k[1]);
    for ((gr, ir), xr) in g.chunks_exact(n_out).zip(idx.chunks_exact(n_out)).zip(gx.chunks_exact_mut(n_in)) {
        for (o, (&gv, &p)) in gr.iter().zip(ir).enumerate() {
            xr[p as usize * c + o % c] += gv;
        }
    }
}
