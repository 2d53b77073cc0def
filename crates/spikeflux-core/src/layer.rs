//! Layer geometry: shapes of groups and the connections between them (spec §3.1, §3.2).
//!
//! Hidden groups are stored **position-major**, neuron `p·channels + c`, so that one presynaptic
//! event updates a contiguous run of output channels. Input data keep the channel-major convention
//! of the data sets (`c·positions + p`). A dense connection from a convolutional group therefore sees
//! its inputs in position-major order; checkpoints permute those weights to PyTorch's channel-major
//! `reshape(B, −1)` order ([`crate::network::TensorInfo::torch_rest`]).
//!
//! Weights are stored "output-minor": `[rest…, n_out]` row-major, where `rest` is the source unit for a
//! dense connection and `(c_in, k)` for a 1-D convolution. One presynaptic event therefore touches
//! contiguous rows of weights. Checkpoints transpose to PyTorch's output-major layout
//! (`[out, in]`, `[c_out, c_in, k]`).

use crate::error::{ensure, Result};

/// Shape of a group's output: channels × positions (positions = 1 for dense groups).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Channels (filters).
    pub channels: usize,
    /// Positions along the 1-D axis.
    pub positions: usize,
}

impl Shape {
    /// A flat shape of `n` units.
    pub fn flat(n: usize) -> Self {
        Shape { channels: n, positions: 1 }
    }
    /// Number of units.
    pub fn n(&self) -> usize {
        self.channels * self.positions
    }
    /// The channel-major index (`c·positions + p`, PyTorch's flattening) of unit `k` of a hidden
    /// group, whose units are position-major (`k = p·channels + c`).
    pub fn channel_major(&self, k: usize) -> usize {
        (k % self.channels) * self.positions + k / self.channels
    }
}

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
    /// 1-D convolution; weights `[c_in, kernel, c_out]`.
    Conv {
        /// Source channels.
        c_in: usize,
        /// Source positions.
        l_in: usize,
        /// Destination channels (filters).
        c_out: usize,
        /// Destination positions, `(l_in + 2·padding − kernel)/stride + 1`.
        l_out: usize,
        /// Kernel size.
        kernel: usize,
        /// Stride.
        stride: usize,
        /// Zero padding on both sides.
        padding: usize,
    },
}

impl ConnGeom {
    /// A convolution from `src` with `c_out` filters.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) (naming `field`) when the kernel does not fit the padded input or the stride is 0.
    pub fn conv(src: Shape, c_out: usize, kernel: usize, stride: usize, padding: usize, field: &str) -> Result<Self> {
        ensure!(kernel > 0 && stride > 0, field, "kernel and stride must be at least 1");
        let padded = src.positions + 2 * padding;
        ensure!(
            kernel <= padded,
            field,
            format!("kernel {kernel} is longer than the padded input ({} positions + 2×{padding} padding)", src.positions)
        );
        Ok(ConnGeom::Conv {
            c_in: src.channels,
            l_in: src.positions,
            c_out,
            l_out: (padded - kernel) / stride + 1,
            kernel,
            stride,
            padding,
        })
    }
    /// Source units.
    pub fn n_src(&self) -> usize {
        match *self {
            ConnGeom::Dense { n_src, .. } => n_src,
            ConnGeom::Conv { c_in, l_in, .. } => c_in * l_in,
        }
    }
    /// Destination units.
    pub fn n_dst(&self) -> usize {
        match *self {
            ConnGeom::Dense { n_dst, .. } => n_dst,
            ConnGeom::Conv { c_out, l_out, .. } => c_out * l_out,
        }
    }
    /// Output shape.
    pub fn out_shape(&self) -> Shape {
        match *self {
            ConnGeom::Dense { n_dst, .. } => Shape::flat(n_dst),
            ConnGeom::Conv { c_out, l_out, .. } => Shape { channels: c_out, positions: l_out },
        }
    }
    /// Fan-in as PyTorch computes it from the weight tensor: in_features, or c_in × kernel.
    pub fn fan_in(&self) -> usize {
        match *self {
            ConnGeom::Dense { n_src, .. } => n_src,
            ConnGeom::Conv { c_in, kernel, .. } => c_in * kernel,
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
            ConnGeom::Conv { c_in, c_out, kernel, .. } => vec![c_out, c_in, kernel],
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
    /// Max-pooling kernel (= stride) over positions on the output; 1 = none.
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
            None => Shape { channels: self.group.channels, positions: self.group.positions / self.pool },
        }
    }

    /// Whether the layer passes on a dense copy of part of its spikes (pooled, or the E neurons).
    pub fn dense_output(&self) -> bool {
        self.pool > 1 || self.dale.is_some()
    }
}
