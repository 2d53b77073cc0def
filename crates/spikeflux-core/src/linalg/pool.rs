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
