//! Max-pooling over positions with kernel = stride (stork's `MaxPool1d` group), forward and backward.

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
