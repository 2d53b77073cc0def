//! Layer geometry: shapes of groups and the connections between them (spec §3.1, §3.2).
//!
//! Hidden groups are stored **position-major**, neuron `p·channels + c`, so that one presynaptic
//! event updates a contiguous run of output channels. Input data keep the channel-major convention
//! of the data sets (`c·positions + p`). A dense connection from a convolutional group therefore sees
//! its inputs in position-major order; checkpoints permute those weights to PyTorch's channel-major
//! `reshape(B, −1)` order ([`crate::network::TensorInfo::torch_rest`]).
//!
//! Positions are a line (`[C, L]`, 1-D convolutions) or an image (`[C, H, W]`, position
//! `p = y·W + x`, 2-D convolutions); a 1-D convolution is the one-row case of the 2-D geometry.
//!
//! Weights are stored "output-minor": `[rest…, n_out]` row-major, where `rest` is the source unit for a
//! dense connection and `(c_in, k_h, k_w)` for a convolution (`k_h = 1` for 1-D). One presynaptic
//! event therefore touches contiguous rows of weights. Checkpoints transpose to PyTorch's
//! output-major layout (`[out, in]`, `[c_out, c_in, k]`, `[c_out, c_in, k_h, k_w]`).

use crate::error::{ensure, Result};

/// Shape of a group's output: channels × positions, the positions a line (`[C, L]`) or an image
/// (`[C, H, W]`, positions `p = y·W + x`). Flat groups are `[n]` (one position).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Channels (filters).
    pub channels: usize,
    /// Rows of an image (1 for lines and flat shapes).
    pub height: usize,
    /// Positions along the last spatial axis (1 for flat shapes).
    pub width: usize,
    /// Whether the positions are an image (two spatial axes, PyTorch `[C, H, W]`) rather than a
    /// line (`[C, L]`).
    pub image: bool,
}

impl Shape {
    /// A flat shape of `n` units.
    pub fn flat(n: usize) -> Self {
        Shape { channels: n, height: 1, width: 1, image: false }
    }
    /// `channels` over a line of `positions` (1-D convolutions: SHD as `[1, 700]`).
    pub fn line(channels: usize, positions: usize) -> Self {
        Shape { channels, height: 1, width: positions, image: false }
    }
    /// `channels` over an image of `height × width` pixels (2-D convolutions: DVS frames `[2, 32, 32]`).
    pub fn image(channels: usize, height: usize, width: usize) -> Self {
        Shape { channels, height, width, image: true }
    }
    /// Positions: `height · width`.
    pub fn positions(&self) -> usize {
        self.height * self.width
    }
    /// Number of units.
    pub fn n(&self) -> usize {
        self.channels * self.positions()
    }
    /// The shape as PyTorch and NIR write it: `[C, H, W]`, `[C, L]` (more than one position) or `[C]`.
    pub fn dims(&self) -> Vec<usize> {
        if self.image {
            vec![self.channels, self.height, self.width]
        } else if self.positions() > 1 {
            vec![self.channels, self.width]
        } else {
            vec![self.channels]
        }
    }
    /// The channel-major index (`c·positions + p`, PyTorch's flattening) of unit `k` of a hidden
    /// group, whose units are position-major (`k = p·channels + c`).
    pub fn channel_major(&self, k: usize) -> usize {
        (k % self.channels) * self.positions() + k / self.channels
    }
}

/// Per-axis sizes of a convolution, `[rows, columns]`; a 1-D convolution is one row (`[1, k]`
/// kernel, `[1, s]` stride, `[0, p]` padding).
pub type Axes = [usize; 2];

/// Geometry of one connection (feed-forward or recurrent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnGeom {
    /// All-to-all from the flattened source; weights `[n_src, n_dst]`.
    Dense {
        /// Source units.
        n_src: usize,
        /// Destination units.
        n_dst: usize,
    },
    /// 1-D or 2-D convolution; weights `[c_in, k_h, k_w, c_out]` (`k_h = 1` for 1-D).
    Conv {
        /// Source channels.
        c_in: usize,
        /// Source positions `[H, W]` (`[1, L]` for a line).
        in_size: Axes,
        /// Destination channels (filters).
        c_out: usize,
        /// Destination positions, per axis `(in + 2·padding − kernel)/stride + 1`.
        out_size: Axes,
        /// Kernel size per axis.
        kernel: Axes,
        /// Stride per axis.
        stride: Axes,
        /// Zero padding on both sides, per axis.
        padding: Axes,
        /// Whether it is a 2-D convolution (PyTorch `Conv2d`, weights `[c_out, c_in, k_h, k_w]`)
        /// rather than a 1-D one (`Conv1d`, `[c_out, c_in, k]`).
        image: bool,
    },
}

impl ConnGeom {
    /// A convolution from `src` with `c_out` filters. On a line (`src.image` false) the row
    /// entries of `kernel`, `stride` and `padding` must be 1, 1 and 0.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) (naming `field`) when the kernel does not fit the padded input, a stride is 0,
    /// or a line is given a 2-D kernel.
    pub fn conv(src: Shape, c_out: usize, kernel: Axes, stride: Axes, padding: Axes, field: &str) -> Result<Self> {
        ensure!(kernel.iter().chain(&stride).all(|&v| v > 0), field, "kernel and stride must be at least 1");
        if !src.image {
            ensure!(
                kernel[0] == 1 && stride[0] == 1 && padding[0] == 0,
                field,
                format!("the input {:?} is a line, so the kernel, stride and padding are one number each (got kernel {kernel:?}, stride {stride:?}, padding {padding:?}); give `input_shape` as [channels, height, width] for a 2-D convolution", src.dims())
            );
        }
        let in_size = [src.height, src.width];
        let mut out_size = [0; 2];
        for ax in 0..2 {
            let padded = in_size[ax] + 2 * padding[ax];
            ensure!(
                kernel[ax] <= padded,
                field,
                format!(
                    "kernel {} is longer than the padded input along {} ({} positions + 2×{} padding)",
                    kernel[ax],
                    ["rows", "columns"][ax],
                    in_size[ax],
                    padding[ax]
                )
            );
            out_size[ax] = (padded - kernel[ax]) / stride[ax] + 1;
        }
        Ok(ConnGeom::Conv { c_in: src.channels, in_size, c_out, out_size, kernel, stride, padding, image: src.image })
    }
    /// Source units.
    pub fn n_src(&self) -> usize {
        match *self {
            ConnGeom::Dense { n_src, .. } => n_src,
            ConnGeom::Conv { c_in, in_size, .. } => c_in * in_size[0] * in_size[1],
        }
    }
    /// Destination units.
    pub fn n_dst(&self) -> usize {
        self.out_shape().n()
    }
    /// Output shape.
    pub fn out_shape(&self) -> Shape {
        match *self {
            ConnGeom::Dense { n_dst, .. } => Shape::flat(n_dst),
            ConnGeom::Conv { c_out, out_size: [h, w], image, .. } => Shape { channels: c_out, height: h, width: w, image },
        }
    }
    /// Fan-in as PyTorch computes it from the weight tensor: in_features, or c_in × k_h × k_w.
    pub fn fan_in(&self) -> usize {
        match *self {
            ConnGeom::Dense { n_src, .. } => n_src,
            ConnGeom::Conv { c_in, kernel, .. } => c_in * kernel[0] * kernel[1],
        }
    }
    /// Number of weights.
    pub fn n_weights(&self) -> usize {
        self.fan_in() * self.n_out_features()
    }
    /// Output features of the weight tensor: n_dst (dense) or c_out (conv).
    pub fn n_out_features(&self) -> usize {
        match *self {
            ConnGeom::Dense { n_dst, .. } => n_dst,
            ConnGeom::Conv { c_out, .. } => c_out,
        }
    }
    /// The weight tensor's shape in PyTorch's layout.
    pub fn torch_shape(&self) -> Vec<usize> {
        match *self {
            ConnGeom::Dense { n_src, n_dst } => vec![n_dst, n_src],
            ConnGeom::Conv { c_in, c_out, kernel, image: true, .. } => vec![c_out, c_in, kernel[0], kernel[1]],
            ConnGeom::Conv { c_in, c_out, kernel, image: false, .. } => vec![c_out, c_in, kernel[1]],
        }
    }
}

/// Geometry of one hidden layer, derived from the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerGeom {
    /// Shape of the layer's input (the previous layer's pooled output, or the data).
    pub input: Shape,
    /// Shape of the LIF group.
    pub group: Shape,
    /// Max-pooling kernel (= stride) on the output, along every spatial axis (`pool × pool` windows
    /// on an image); 1 = none.
    pub pool: usize,
    /// Feed-forward connection.
    pub ff: ConnGeom,
    /// Recurrent connection, if any.
    pub rec: Option<ConnGeom>,
    /// For a Dale layer (spec §1.4, §3.2): the number of excitatory neurons. The group then holds
    /// E neurons `0..n_e` and I neurons `n_e..n`; every connection into it has `2n` outputs, the
    /// first `n` into the excitatory current and the last `n` into the inhibitory one, and only the
    /// E neurons are passed on.
    pub dale: Option<usize>,
}

impl LayerGeom {
    /// Width of the accumulated input per sample: `n`, or `2n` for a Dale layer (exc | inh).
    pub fn n_input(&self) -> usize {
        self.ff.n_dst()
    }
    /// Neurons in the group.
    pub fn n(&self) -> usize {
        self.group.n()
    }
    /// Neurons whose spikes the layer passes on, before any pooling: all, or a Dale layer's E
    /// population (the first `dale` neurons of each row).
    pub fn n_output_neurons(&self) -> usize {
        self.dale.unwrap_or(self.n())
    }
    /// Shape of the output seen by the next layer (after pooling).
    pub fn output(&self) -> Shape {
        match self.dale {
            Some(ne) => Shape::flat(ne),
            None => {
                let g = self.group;
                let height = if g.image { g.height / self.pool } else { 1 };
                Shape { width: g.width / self.pool, height, ..g }
            }
        }
    }

    /// The pooling window `[rows, columns]`: `pool × pool` on an image, `1 × pool` on a line.
    pub fn pool_window(&self) -> Axes {
        if self.group.image {
            [self.pool, self.pool]
        } else {
            [1, self.pool]
        }
    }

    /// Whether the layer passes on a dense copy of part of its spikes (pooled, or the E neurons).
    pub fn dense_output(&self) -> bool {
        self.pool > 1 || self.dale.is_some()
    }
}
