//! The input gradient of 3×3, stride-1 2-D convolutions (notebook 05's kind) by Winograd's
//! minimal filtering F(4×4, 3×3) (Lavin & Gray 2016, "Fast algorithms for convolutional neural
//! networks"): 36 products per 4×4 tile of input positions instead of 144, 4× fewer multiply-adds
//! than the direct products.
//!
//! The input gradient of such a convolution is the correlation
//! `gx[y, x] = Σ_{j, i < 3} gp[y + j, x + i]·f[j][i]` of the zero-padded gradient image `gp` with
//! the flipped kernel `f[j][i] = w[ci, 2 − j, 2 − i, co]ᵀ`. Each 4×4 tile of input positions reads
//! a 6×6 patch `d` of `gp` and is `Aᵀ·[U ⊙ (Bᵀ·d·B)]·A`, the `⊙` summed over `c_out`: per element `ξ`
//! of the 6×6 transform, one GEMM of all tiles of a block (`M = tiles`, `K = c_out`, `N = c_in`)
//! against the transformed kernel `U[ξ] = G·f·Gᵀ` (made once per weight update). The transforms run
//! over 16 or 8 channels at a time.
//!
//! ```text
//! Bᵀ = [4  0 −5  0 1 0]    G = [ 1/4     0    0 ]    Aᵀ = [1 1  1 1  1 0]
//!      [0 −4 −4  1 1 0]        [−1/6 −1/6 −1/6]         [0 1 −1 2 −2 0]
//!      [0  4 −4 −1 1 0]        [−1/6  1/6 −1/6]         [0 1  1 4  4 0]
//!      [0 −2 −1  2 1 0]        [1/24 1/12  1/6]         [0 1 −1 8 −8 1]
//!      [0  2 −1 −2 1 0]        [1/24 −1/12 1/6]
//!      [0  4  0 −5 0 1]        [   0    0    1 ]
//! ```
//!
//! Exact in real arithmetic; in f32 it rounds differently from the direct sum, by about 1e-6 of
//! the gradient's scale (the tests allow 1e-3 absolute on values of order 1).

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

use super::conv::padded_image;
use super::{all_zero, Conv};

/// Input positions per tile side.
const M: usize = 4;
/// Transform size per side (`M + 2`), and transform elements `ξ` per tile.
const A: usize = 6;
const XI: usize = A * A;

/// Channels per group in the transforms: one vector register of f32, 16 with AVX-512 (whose
/// 64-byte stores also halve the store instructions into the transform planes; 4 % faster d5
/// epochs, BENCHMARKS.md), else 8. Each channel's arithmetic is the same in any group.
const LANES: usize = if cfg!(target_feature = "avx512f") { 16 } else { 8 };

/// Tiles a block holds at least (the rows of its GEMMs), in whole images.
const BLOCK_TILES: usize = 128;

/// Whether geometry `g` takes this input gradient: a 3×3 kernel with stride 1 along both axes.
pub(super) fn applies(g: &Conv) -> bool {
    g.kh == 3 && g.row.k == 3 && g.sh == 1 && g.row.stride == 1
}

/// Tiles of the input gradient: `[⌈h_in/4⌉, ⌈w_in/4⌉]` tiles of 4×4 input positions.
fn tiles(g: &Conv) -> (usize, usize) {
    (g.h_in.div_ceil(M), g.row.l_in.div_ceil(M))
}

/// Tiles per block: whole images, as many as make at least [`BLOCK_TILES`], for images of up to
/// twice that; pieces of [`BLOCK_TILES`] tiles of larger ones (so that a block's transforms,
/// `36·tiles·(c_out + c_in)` floats, stay near the L2 cache).
fn block_tiles(g: &Conv) -> usize {
    let (th, tw) = tiles(g);
    let per_image = (th * tw).max(1);
    if per_image <= 2 * BLOCK_TILES {
        per_image * BLOCK_TILES.div_ceil(per_image)
    } else {
        BLOCK_TILES
    }
}

/// Floats between the planes `ξ` of a block's transforms with `c` channels: the block's `cap`
/// tiles and one cache line more, so that the 36 planes do not fall into the same cache sets.
fn plane(cap: usize, c: usize) -> usize {
    cap * c + 16
}

/// Floats of the transformed kernel, `[36, c_out, c_in]`.
pub(super) fn weights_len(g: &Conv) -> usize {
    XI * g.row.c_in * g.row.c_out
}

/// Scratch floats of [`input_grad`].
pub(super) fn scratch_len(g: &Conv) -> usize {
    let (th, tw) = tiles(g);
    let cap = block_tiles(g);
    (M * th + 2) * (M * tw + 2) * g.row.c_out + XI * (plane(cap, g.row.c_out) + plane(cap, g.row.c_in))
}

/// The kernel transform `U[ξ] = G·f·Gᵀ` (`ξ = 6a + b`) of the flipped kernel
/// `f[j][i] = w[ci, 2 − j, 2 − i, co]` for every `(co, ci)`, into `wt[ξ][co][ci]`;
/// `w: [c_in, 3, 3, c_out]`.
pub(super) fn weights(g: &Conv, w: &[f32], wt: &mut [f32]) {
    let (c_in, c_out) = (g.row.c_in, g.row.c_out);
    let gt = |v: [f32; 3]| {
        let (s, d) = (v[0] + v[2], v[1]);
        [v[0] / 4.0, -(s + d) / 6.0, -(s - d) / 6.0, v[0] / 24.0 + v[1] / 12.0 + v[2] / 6.0, v[0] / 24.0 - v[1] / 12.0 + v[2] / 6.0, v[2]]
    };
    for co in 0..c_out {
        for ci in 0..c_in {
            let f = |j: usize, i: usize| w[((ci * 3 + 2 - j) * 3 + 2 - i) * c_out + co];
            // G·f along j (6×3), then (G·f)·Gᵀ along i (6×6)
            let cols: [[f32; A]; 3] = std::array::from_fn(|i| gt([f(0, i), f(1, i), f(2, i)]));
            for a in 0..A {
                for (b, &u) in gt([cols[0][a], cols[1][a], cols[2][a]]).iter().enumerate() {
                    wt[((A * a + b) * c_out + co) * c_in + ci] = u;
                }
            }
        }
    }
}

/// The input gradient `gx (+)=` of `grad: [rows, h_out, w_out, c_out]` into `gx: [rows, h_in,
/// w_in, c_in]` (module doc); `wt` from [`weights`], `scratch` of [`scratch_len`] floats. Images
/// whose gradient is all zero are skipped (zeroed without `accumulate`).
pub(super) fn input_grad(g: &Conv, grad: &[f32], wt: &[f32], gx: &mut [f32], accumulate: bool, scratch: &mut [f32]) {
    let r = &g.row;
    let (ns, nd, c_in, c_out) = (g.n_src(), g.n_dst(), r.c_in, r.c_out);
    let w_out = r.l_out;
    let (th, tw) = tiles(g);
    let (hp, wp) = (M * th + 2, M * tw + 2);
    let per_image = th * tw;
    let cap = block_tiles(g);
    let (gp, rest) = scratch.split_at_mut(hp * wp * c_out);
    let (v, rest) = rest.split_at_mut(XI * plane(cap, c_out));
    let m = &mut rest[..XI * plane(cap, c_in)];
    // 2 − pad zero rows and columns before the gradient (the 3×3 kernel's reach)
    let front = [2 - g.ph as isize, 2 - r.pad as isize];
    // the block's pieces: (image, first tile, end tile), their tiles in rows 0..rows of v and m
    let mut pieces = [(0usize, 0usize, 0usize); BLOCK_TILES];
    let (mut np, mut rows) = (0, 0);
    for (i, gi) in grad.chunks_exact(nd).enumerate() {
        if all_zero(gi) {
            if !accumulate {
                gx[i * ns..(i + 1) * ns].fill(0.0);
            }
            continue;
        }
        let gp = padded_image(gi, [g.h_out, w_out], c_out, front, [hp, wp], gp);
        for k0 in (0..per_image).step_by(cap) {
            let k1 = (k0 + cap).min(per_image);
            if rows + (k1 - k0) > cap {
                block(g, &pieces[..np], rows, wt, v, m, gx, accumulate);
                (np, rows) = (0, 0);
            }
            // v[ξ][row][co]
            for k in k0..k1 {
                let (y0, x0) = (M * (k / tw), M * (k % tw));
                let (at, vt) = ((y0 * wp + x0) * c_out, &mut v[(rows + k - k0) * c_out..]);
                for c0 in (0..c_out - c_out % LANES).step_by(LANES) {
                    input_tile::<LANES>(gp, wp * c_out, at + c0, vt, plane(cap, c_out), c0, c_out);
                }
                for c0 in c_out - c_out % LANES..c_out {
                    input_tile::<1>(gp, wp * c_out, at + c0, vt, plane(cap, c_out), c0, c_out);
                }
            }
            pieces[np] = (i, k0, k1);
            np += 1;
            rows += k1 - k0;
        }
    }
    if rows > 0 {
        block(g, &pieces[..np], rows, wt, v, m, gx, accumulate);
    }
}

/// One block of [`input_grad`]: the 36 GEMMs `m[ξ] = v[ξ]·U[ξ]` over the block's `rows` tiles,
/// then the output transform of each piece's tiles into its image of `gx`.
#[allow(clippy::too_many_arguments)]
fn block(g: &Conv, pieces: &[(usize, usize, usize)], rows: usize, wt: &[f32], v: &[f32], m: &mut [f32], gx: &mut [f32], accumulate: bool) {
    let (ns, c_in, c_out, w_in) = (g.n_src(), g.row.c_in, g.row.c_out, g.row.l_in);
    let tw = tiles(g).1;
    let cap = block_tiles(g);
    let (pv, pm) = (plane(cap, c_out), plane(cap, c_in));
    for xi in 0..XI {
        let a = MatRef::from_row_major_slice(&v[xi * pv..xi * pv + rows * c_out], rows, c_out);
        let b = MatRef::from_row_major_slice(&wt[xi * c_out * c_in..(xi + 1) * c_out * c_in], c_out, c_in);
        let dst = MatMut::from_row_major_slice_mut(&mut m[xi * pm..xi * pm + rows * c_in], rows, c_in);
        matmul(dst, Accum::Replace, a, b, 1.0f32, Par::Seq);
    }
    let mut row = 0;
    for &(i, k0, k1) in pieces {
        let xi = &mut gx[i * ns..(i + 1) * ns];
        for k in k0..k1 {
            let (y0, x0) = (M * (k / tw), M * (k % tw));
            let tile = Tile { pitch: w_in * c_in, ny: (g.h_in - y0).min(M), nx: (w_in - x0).min(M), accumulate };
            let (mt, at) = (&m[row * c_in..], (y0 * w_in + x0) * c_in);
            row += 1;
            for c0 in (0..c_in - c_in % LANES).step_by(LANES) {
                output_tile::<LANES>(mt, pm, c0, c_in, xi, at, tile);
            }
            for c0 in c_in - c_in % LANES..c_in {
                output_tile::<1>(mt, pm, c0, c_in, xi, at, tile);
            }
        }
    }
}

/// `L` floats of `x` from `at` on.
#[inline(always)]
fn lanes<const L: usize>(x: &[f32], at: usize) -> [f32; L] {
    let x = &x[at..at + L];
    std::array::from_fn(|k| x[k])
}

/// `Bᵀ·d` of six lane groups.
#[inline(always)]
fn bt<const L: usize>(d: &[[f32; L]; A]) -> [[f32; L]; A] {
    let mut v = [[0.0f32; L]; A];
    for k in 0..L {
        let [d0, d1, d2, d3, d4, d5] = [d[0][k], d[1][k], d[2][k], d[3][k], d[4][k], d[5][k]];
        v[0][k] = 4.0 * d0 - 5.0 * d2 + d4;
        v[1][k] = (d3 + d4) - 4.0 * (d1 + d2);
        v[2][k] = (d4 - d3) + 4.0 * (d1 - d2);
        v[3][k] = (d4 - d2) + 2.0 * (d3 - d1);
        v[4][k] = (d4 - d2) - 2.0 * (d3 - d1);
        v[5][k] = 4.0 * d1 - 5.0 * d3 + d5;
    }
    v
}

/// `Aᵀ·m` of six lane groups.
#[inline(always)]
fn at<const L: usize>(m: &[[f32; L]; A]) -> [[f32; L]; M] {
    let mut y = [[0.0f32; L]; M];
    for k in 0..L {
        let (p12, m12, p34, m34) = (m[1][k] + m[2][k], m[1][k] - m[2][k], m[3][k] + m[4][k], m[3][k] - m[4][k]);
        y[0][k] = m[0][k] + p12 + p34;
        y[1][k] = m12 + 2.0 * m34;
        y[2][k] = p12 + 4.0 * p34;
        y[3][k] = m12 + 8.0 * m34 + m[5][k];
    }
    y
}

/// The input transform `Bᵀ·d·B` of channels `c0..c0 + L` of the 6×6 patch of the padded gradient
/// `gp` (row pitch `pitch` floats, `c` floats per position) whose first element, channel `c0`, is
/// at `at`; into `vt[ξ·step + c0..][..L]`.
#[inline(always)]
fn input_tile<const L: usize>(gp: &[f32], pitch: usize, at: usize, vt: &mut [f32], step: usize, c0: usize, c: usize) {
    // t[col] = Bᵀ·d[.][col] (along the rows)
    let mut t = [[[0.0f32; L]; A]; A];
    for (col, tc) in t.iter_mut().enumerate() {
        let mut d = [[0.0f32; L]; A];
        for (row, dr) in d.iter_mut().enumerate() {
            *dr = lanes::<L>(gp, at + row * pitch + col * c);
        }
        *tc = bt(&d);
    }
    // v[a][.] = (t[.][a])·B (along the columns)
    for a in 0..A {
        let row: [[f32; L]; A] = std::array::from_fn(|col| t[col][a]);
        for (b, vb) in bt(&row).iter().enumerate() {
            vt[(A * a + b) * step + c0..][..L].copy_from_slice(vb);
        }
    }
}

/// Where [`output_tile`] writes: `ny × nx` of the tile's 4×4 positions (fewer at the image's
/// bottom and right edges), rows `pitch` floats apart, added or copied.
#[derive(Clone, Copy)]
struct Tile {
    pitch: usize,
    ny: usize,
    nx: usize,
    accumulate: bool,
}

/// The output transform `Aᵀ·m·A` of channels `c0..c0 + L` of one tile's products
/// `mt[ξ·step..][..c]`, written (or added) to `gx[at + dy·pitch + dx·c + c0..][..L]`.
#[inline(always)]
fn output_tile<const L: usize>(mt: &[f32], step: usize, c0: usize, c: usize, gx: &mut [f32], at_: usize, tile: Tile) {
    // s[b] = Aᵀ·m[.][b] (along the rows): s[b][dy]
    let mut s = [[[0.0f32; L]; M]; A];
    for (b, sb) in s.iter_mut().enumerate() {
        let mut col = [[0.0f32; L]; A];
        for (a, ca) in col.iter_mut().enumerate() {
            *ca = lanes::<L>(mt, (A * a + b) * step + c0);
        }
        *sb = at(&col);
    }
    // y[dy][.] = s[.][dy]·A (along the columns)
    for dy in 0..tile.ny {
        let row: [[f32; L]; A] = std::array::from_fn(|b| s[b][dy]);
        for (dx, y) in at(&row).iter().enumerate().take(tile.nx) {
            let d = &mut gx[at_ + dy * tile.pitch + dx * c + c0..][..L];
            if tile.accumulate {
                for (d, &v) in d.iter_mut().zip(y) {
                    *d += v;
                }
            } else {
                d.copy_from_slice(y);
            }
        }
    }
}
