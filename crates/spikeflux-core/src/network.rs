//! Network description and parameters: any number of LIF layers, dense or convolutional (1-D over a
//! line, 2-D over an image), each optionally recurrent (all-to-all, or a same-size convolution
//! within the layer) and optionally max-pooled, followed by a non-spiking readout on the flattened
//! last layer (spec §3).
//!
//! Parameters live in one flat `Vec<f32>` so that optimizers, gradient reduction and checkpoints see
//! a single buffer; [`ParamLayout`] says where each connection's weights are, in the output-minor
//! layout of [`crate::layer`].

use std::ops::Range;

use crate::engine::NetworkPlan;
use crate::error::{ensure, Result};
use crate::layer::{Axes, ConnGeom, LayerGeom, Shape};
use crate::neuron::{check_positive, LifParams, ReadoutParams, StepOrder, Surrogate};
use crate::init::DaleConn;

/// One hidden layer of LIF neurons.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerSpec {
    /// Number of neurons (dense) or of filters (convolutional).
    pub size: usize,
    /// Whether the layer has a recurrent connection onto itself: all-to-all for a dense layer, a
    /// same-size convolution (kernel `conv.rec_kernel`, stride 1) for a convolutional one.
    pub recurrent: bool,
    /// Neuron parameters.
    pub lif: LifParams,
    /// `Some` for a convolutional layer (1-D on a line, 2-D on an image).
    pub conv: Option<ConvSpec>,
    /// Max-pooling kernel (= stride) along every spatial axis, applied to the layer's spikes before
    /// the next layer, with no added delay (stork's `MaxPool1d` / `MaxPool2d` groups); 1 = none.
    pub pool: usize,
    /// `Some` for a Dale's-law layer (stork's `DalianLayer`): `size` excitatory neurons plus
    /// `n_inh` inhibitory ones, all non-negative weights.
    pub dale: Option<DaleSpec>,
}

/// The inhibitory population of a Dale layer (spec §1.4, §3.2). Both populations are Dale LIF groups
/// with the layer's τ_mem, an excitatory current with τ_exc = `lif.tau_syn` and an inhibitory current
/// with `tau_inh`: `U_t = (β_m U_{t−1} + (1−β_m)(E_{t−1} − J_{t−1}))(1 − S_t)`. Connections (stork's
/// names; the layer is recurrent if `recurrent`): XE, XI (input → E, I; excitatory), IE, II
/// (I → E, I; inhibitory), EE, EI (E → E, I; excitatory; recurrent only).
///
/// Internally and in checkpoints the six are blocks of two tensors: `hidden.l.ff.weight`
/// (PyTorch shape `[2n, n_in]`: rows `0..n_e` XE, `n_e..n` XI, `n..2n` zero) and
/// `hidden.l.rec.weight` (`[2n, n]`, columns = source neuron: E columns hold EE (rows `0..n_e`) and EI
/// (rows `n_e..n`), I columns hold IE (rows `n..n+n_e`) and II (rows `n+n_e..2n`); all other entries
/// are structurally zero and kept so by [`Network::constrain`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DaleSpec {
    /// Inhibitory neurons (stork: `int(size / ei_ratio)`).
    pub n_inh: usize,
    /// Inhibitory synaptic time constant in seconds.
    pub tau_inh: f64,
}

/// The feed-forward convolution of a convolutional layer (spec §2.5, §4.4, §4.6), per axis
/// `[rows, columns]`: on a line (1-D) the row entries are kernel 1, stride 1, padding 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvSpec {
    /// Kernel size per axis.
    pub kernel: Axes,
    /// Stride per axis.
    pub stride: Axes,
    /// Zero padding on both sides, per axis.
    pub padding: Axes,
    /// Kernel of the recurrent convolution (odd; padding (k−1)/2 keeps the size; `k × k` on an
    /// image). The reference uses 5.
    pub rec_kernel: usize,
}

impl ConvSpec {
    /// A 1-D convolution (kernel `[1, kernel]` and so on).
    pub fn line(kernel: usize, stride: usize, padding: usize) -> Self {
        ConvSpec { kernel: [1, kernel], stride: [1, stride], padding: [0, padding], rec_kernel: 5 }
    }
    /// A 2-D convolution with the same kernel, stride and padding along both axes.
    pub fn square(kernel: usize, stride: usize, padding: usize) -> Self {
        ConvSpec { kernel: [kernel; 2], stride: [stride; 2], padding: [padding; 2], rec_kernel: 5 }
    }
}

impl LayerSpec {
    /// A dense layer of `size` neurons.
    pub fn dense(size: usize, recurrent: bool, lif: LifParams) -> Self {
        LayerSpec { size, recurrent, lif, conv: None, pool: 1, dale: None }
    }
    /// A Dale layer of `size` excitatory and `n_inh` inhibitory neurons (τ_exc = `lif.tau_syn`).
    pub fn dale(size: usize, n_inh: usize, tau_inh: f64, recurrent: bool, lif: LifParams) -> Self {
        LayerSpec { size, recurrent, lif, conv: None, pool: 1, dale: Some(DaleSpec { n_inh, tau_inh }) }
    }
    /// A 1-D convolutional layer of `filters` filters.
    pub fn conv(filters: usize, kernel: usize, stride: usize, padding: usize, recurrent: bool, lif: LifParams) -> Self {
        Self::conv_with(filters, ConvSpec::line(kernel, stride, padding), recurrent, lif)
    }
    /// A convolutional layer of `filters` filters with the convolution `conv` (1-D or 2-D).
    pub fn conv_with(filters: usize, conv: ConvSpec, recurrent: bool, lif: LifParams) -> Self {
        LayerSpec { size: filters, recurrent, lif, conv: Some(conv), pool: 1, dale: None }
    }
}

/// A network: input → hidden layers → readout.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkSpec {
    /// Shape of the input: channels × positions (`Shape::flat(n)` for n plain input channels; SHD
    /// as one channel over a line of 700 positions, `Shape::line(1, 700)`, for a 1-D convolutional
    /// network; DVS frames as `Shape::image(2, 32, 32)`). The data's units are channel-major.
    pub input: Shape,
    /// Number of classes (readout units).
    pub n_out: usize,
    /// Simulation step in seconds.
    pub dt: f64,
    /// Hidden layers, input side first.
    pub hidden: Vec<LayerSpec>,
    /// Readout parameters.
    pub readout: ReadoutParams,
    /// Surrogate derivative of the spike.
    pub surrogate: Surrogate,
    /// The order of the operations within a step ([`StepOrder::Reference`]: stork's).
    pub step_order: StepOrder,
}

/// The smallest simulation step, in seconds (1 µs: below it no neuron model here means anything,
/// and the PSP kernels would need billions of steps).
pub const MIN_DT: f64 = 1e-6;

/// The most steps a time constant may span (`τ ≤ MAX_TAU_STEPS · dt`): a longer one cannot be
/// resolved by any run (the data layer holds at most 65 536 steps) and its PSP kernel, 10 τ / dt
/// steps, would not fit in memory.
pub const MAX_TAU_STEPS: f64 = 1e6;

/// The most units of any one kind (input channels, neurons or filters per layer, classes, kernel
/// taps), so that every size computed from them fits the address space.
pub const MAX_UNITS: usize = 1 << 24;

/// Checks that the time constant `tau` (seconds, already positive) spans at most [`MAX_TAU_STEPS`]
/// steps of `dt`.
fn check_resolvable(field: &str, tau: f64, dt: f64) -> Result<()> {
    ensure!(
        tau <= MAX_TAU_STEPS * dt,
        field,
        format!("must be at most {MAX_TAU_STEPS:e} steps of dt = {dt} s ({} s); no run can resolve a longer time constant", MAX_TAU_STEPS * dt),
        tau
    );
    Ok(())
}

impl NetworkSpec {
    /// Validates sizes and time constants; errors name the field by its path in the spec
    /// (`dt`, `hidden[0].lif.tau_mem`, `hidden[1].dale.n_inh`, `readout.tau_syn`, `surrogate.beta`).
    pub fn validate(&self) -> Result<()> {
        check_positive("dt", self.dt)?;
        ensure!(self.dt >= MIN_DT, "dt", "must be at least 1 µs (1e-6 s)", self.dt);
        ensure!(self.input.n() <= MAX_UNITS, "input", format!("at most {MAX_UNITS} input units"), self.input.n());
        ensure!(self.n_out <= MAX_UNITS, "n_out", format!("at most {MAX_UNITS} classes"), self.n_out);
        ensure!(self.input.n() > 0, "input", "the network needs at least one input channel");
        ensure!(self.n_out >= 2, "n_out", "a classifier needs at least 2 classes", self.n_out);
        ensure!(!self.hidden.is_empty(), "hidden", "add at least one hidden layer");
        for (l, h) in self.hidden.iter().enumerate() {
            self.validate_layer(h).map_err(|e| e.within(&format!("[{l}]")).within("hidden"))?;
        }
        let geoms = self.geometry()?;
        for (l, g) in geoms.iter().enumerate() {
            ensure!(
                g.output().n() > 0,
                format!("hidden[{l}].pool"),
                format!("pooling {:?} by {} leaves nothing", g.group.dims(), g.pool)
            );
        }
        self.readout.validate().map_err(|e| e.within("readout"))?;
        check_resolvable("readout.tau_mem", self.readout.tau_mem, self.dt)?;
        check_resolvable("readout.tau_syn", self.readout.tau_syn, self.dt)?;
        let Surrogate::SuperSpike { beta } = self.surrogate;
        ensure!(beta.is_finite() && beta > 0.0, "surrogate.beta", "must be positive", beta);
        if self.step_order.same_step() {
            for (l, h) in self.hidden.iter().enumerate() {
                ensure!(
                    h.lif.adaptation.is_none() && h.dale.is_none(),
                    format!("hidden[{l}]"),
                    format!("step_order = \"{}\" runs LIF layers without adaptation and without Dale's law (drop adaptation / ei_ratio, or use step_order = \"reference\")", self.step_order.name())
                );
            }
        }
        Ok(())
    }

    /// One hidden layer's own fields (paths relative to the layer).
    fn validate_layer(&self, h: &LayerSpec) -> Result<()> {
        ensure!(h.size > 0, "size", "must be at least 1");
        ensure!(h.size <= MAX_UNITS, "size", format!("at most {MAX_UNITS} neurons or filters per layer"), h.size);
        h.lif.validate().map_err(|e| e.within("lif"))?;
        check_resolvable("lif.tau_mem", h.lif.tau_mem, self.dt)?;
        check_resolvable("lif.tau_syn", h.lif.tau_syn, self.dt)?;
        if let Some(a) = h.lif.adaptation {
            check_resolvable("lif.adaptation.tau_ada", a.tau_ada, self.dt)?;
        }
        ensure!(h.pool <= MAX_UNITS, "pool", format!("at most {MAX_UNITS}"), h.pool);
        ensure!(h.pool > 0, "pool", "must be at least 1 (1 = no pooling)");
        if let Some(d) = h.dale {
            ensure!(
                h.conv.is_none() && h.pool == 1 && h.lif.adaptation.is_none(),
                "",
                "a Dale layer is dense, unpooled and non-adaptive here (drop kernel, pool, adaptation)"
            );
            ensure!(d.n_inh > 0, "dale.n_inh", format!("leaves no inhibitory neurons for {} excitatory ones", h.size));
            check_positive("dale.tau_inh", d.tau_inh)?;
            check_resolvable("dale.tau_inh", d.tau_inh, self.dt)?;
            ensure!(d.n_inh <= MAX_UNITS, "dale.n_inh", format!("at most {MAX_UNITS}"), d.n_inh);
        }
        if let Some(c) = h.conv {
            for (f, v) in [("conv.kernel", c.kernel), ("conv.stride", c.stride), ("conv.padding", c.padding), ("conv.rec_kernel", [c.rec_kernel; 2])] {
                for v in v {
                    ensure!(v <= MAX_UNITS, f, format!("at most {MAX_UNITS}"), v);
                }
            }
            ensure!(c.rec_kernel % 2 == 1, "conv.rec_kernel", "must be odd so that the recurrent convolution keeps the size", c.rec_kernel);
        }
        Ok(())
    }

    /// The geometry of every hidden layer.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) when a convolution does not fit its input.
    pub fn geometry(&self) -> Result<Vec<LayerGeom>> {
        let mut input = self.input;
        let mut out = Vec::with_capacity(self.hidden.len());
        for (l, h) in self.hidden.iter().enumerate() {
            let field = format!("hidden[{l}].conv.kernel");
            let ff = match h.conv {
                None => ConnGeom::Dense { n_src: input.n(), n_dst: h.size },
                Some(c) => ConnGeom::conv(input, h.size, c.kernel, c.stride, c.padding, &field)?,
            };
            if let ConnGeom::Conv { c_in, in_size, c_out, out_size, kernel, .. } = ff {
                // every index of a tap table and of the weights fits 32 bits
                let prod = |v: [usize; 4]| v.iter().map(|&x| x as u128).product::<u128>();
                let big = prod([c_in, kernel[0], kernel[1], c_out])
                    .max(prod([c_out, out_size[0], out_size[1], 1]))
                    .max(prod([c_in, in_size[0], in_size[1], 1]));
                ensure!(big < 1 << 31, field, format!("this convolution has {big} weights or units; at most 2^31 fit the event kernels"));
            }
            if let Some(d) = h.dale {
                let n = h.size + d.n_inh;
                let g = LayerGeom {
                    input,
                    group: Shape::flat(n),
                    pool: 1,
                    ff: ConnGeom::Dense { n_src: input.n(), n_dst: 2 * n },
                    rec: Some(ConnGeom::Dense { n_src: n, n_dst: 2 * n }),
                    dale: Some(h.size),
                };
                input = g.output();
                out.push(g);
                continue;
            }
            let group = ff.out_shape();
            let rec = if !h.recurrent {
                None
            } else {
                Some(match h.conv {
                    None => ConnGeom::Dense { n_src: group.n(), n_dst: group.n() },
                    Some(c) => {
                        let (k, p) = (c.rec_kernel, c.rec_kernel / 2);
                        let (kernel, padding) = if group.image { ([k, k], [p, p]) } else { ([1, k], [0, p]) };
                        ConnGeom::conv(group, h.size, kernel, [1, 1], padding, &format!("hidden[{l}].conv.rec_kernel"))?
                    }
                })
            };
            let g = LayerGeom { input, group, pool: h.pool.max(1), ff, rec, dale: None };
            input = g.output();
            out.push(g);
        }
        Ok(out)
    }

    /// Units of the last hidden layer's (pooled) output: the readout's fan-in.
    pub fn last_hidden(&self) -> usize {
        self.geometry().ok().and_then(|g| g.last().map(|g| g.output().n())).unwrap_or(0)
    }
}

/// Where each connection's weights sit in the flat parameter vector.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamLayout {
    /// Feed-forward weights of hidden layer l.
    pub ff: Vec<Range<usize>>,
    /// Recurrent weights of hidden layer l, if recurrent.
    pub rec: Vec<Option<Range<usize>>>,
    /// Readout weights, `[n_last, n_out]`.
    pub readout: Range<usize>,
    /// Total number of parameters.
    pub total: usize,
}

/// One weight tensor as checkpoints and initializers see it.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    /// Checkpoint name, e.g. `hidden.0.ff.weight`.
    pub name: String,
    /// Range in the flat parameter vector.
    pub range: Range<usize>,
    /// Internal layout `[rest, n_out]` (rest = fan-in): `range` holds `rest · n_out` values.
    pub rest_out: [usize; 2],
    /// Shape in PyTorch's layout (output first).
    pub torch_shape: Vec<usize>,
    /// For a dense connection from a hidden group with several positions: that group's shape, whose
    /// position-major order differs from PyTorch's channel-major flattening.
    pub src_position_major: Option<Shape>,
}

impl TensorInfo {
    /// The index along PyTorch's input dimensions (flattened) of internal input index `i`.
    pub fn torch_rest(&self, i: usize) -> usize {
        match self.src_position_major {
            Some(sh) => sh.channel_major(i),
            None => i,
        }
    }

    /// This tensor's values of the flat parameters `params` in PyTorch's layout (row-major
    /// `torch_shape`).
    pub fn to_torch(&self, params: &[f32]) -> Vec<f32> {
        let [n_in, n_out] = self.rest_out;
        let w = &params[self.range.clone()];
        let mut torch = vec![0.0f32; w.len()];
        for i in 0..n_in {
            let ti = self.torch_rest(i);
            for o in 0..n_out {
                torch[o * n_in + ti] = w[i * n_out + o];
            }
        }
        torch
    }

    /// Writes `torch` (this tensor in PyTorch's layout, `rest_out[0] · rest_out[1]` values) into
    /// the flat parameters `params`; `value(k)` reads entry k of the row-major tensor.
    pub fn from_torch(&self, value: impl Fn(usize) -> f32, params: &mut [f32]) {
        let [n_in, n_out] = self.rest_out;
        let w = &mut params[self.range.clone()];
        for i in 0..n_in {
            let ti = self.torch_rest(i);
            for o in 0..n_out {
                w[i * n_out + o] = value(o * n_in + ti);
            }
        }
    }
}

impl ParamLayout {
    /// Lays out the parameters of the network planned by `plan`.
    pub fn new(plan: &NetworkPlan) -> Self {
        let geoms = &plan.geoms;
        let mut off = 0;
        let mut take = |n: usize| {
            let r = off..off + n;
            off += n;
            r
        };
        let mut ff = Vec::new();
        let mut rec = Vec::new();
        for g in geoms {
            ff.push(take(g.ff.n_weights()));
            rec.push(g.rec.map(|r| take(r.n_weights())));
        }
        let readout = take(plan.n_last * plan.n_out);
        ParamLayout { ff, rec, readout, total: off }
    }

    /// Every tensor in a fixed order; names are the checkpoint keys.
    pub fn tensors(&self, plan: &NetworkPlan) -> Vec<TensorInfo> {
        let info = |name: String, range: Range<usize>, g: &ConnGeom, src: Option<Shape>| TensorInfo {
            name,
            range,
            rest_out: [g.fan_in(), g.n_out_features()],
            torch_shape: g.torch_shape(),
            src_position_major: match g {
                ConnGeom::Dense { .. } => src.filter(|s| s.positions() > 1 && s.channels > 1),
                ConnGeom::Conv { .. } => None,
            },
        };
        let mut v = Vec::new();
        for (l, g) in plan.geoms.iter().enumerate() {
            // a hidden source is position-major; the data (layer 0's source) is channel-major
            let src = (l > 0).then_some(g.input);
            v.push(info(format!("hidden.{l}.ff.weight"), self.ff[l].clone(), &g.ff, src));
            if let (Some(r), Some(rg)) = (&self.rec[l], &g.rec) {
                v.push(info(format!("hidden.{l}.rec.weight"), r.clone(), rg, Some(g.group)));
            }
        }
        let ro = plan.readout_conn();
        let last = plan.geoms.last().map(|g| g.output());
        v.push(info("readout.weight".into(), self.readout.clone(), &ro, last));
        v
    }
}

/// A network with its parameters.
#[derive(Debug, Clone)]
pub struct Network {
    /// The architecture.
    pub spec: NetworkSpec,
    /// What follows from the architecture (geometry, decays, ε̄/ε̂), computed once.
    pub plan: NetworkPlan,
    /// Where each tensor is in `params`.
    pub layout: ParamLayout,
    /// All weights, flat.
    pub params: Vec<f32>,
}

impl Network {
    /// A network with all weights zero.
    pub fn zeros(spec: NetworkSpec) -> Result<Self> {
        let plan = NetworkPlan::new(&spec)?;
        let layout = ParamLayout::new(&plan);
        let params = vec![0.0; layout.total];
        Ok(Network { spec, plan, layout, params })
    }

    /// Every weight tensor in a fixed order (checkpoint names, ranges, layouts).
    pub fn tensors(&self) -> Vec<TensorInfo> {
        self.layout.tensors(&self.plan)
    }

    /// Keeps every Dale layer valid: structurally absent entries at 0, all others ≥ 0 (stork's
    /// `MinMaxConstraint(0)`, applied after init and after every optimizer step). Other layers are
    /// untouched.
    pub fn constrain(&mut self) {
        for (l, g) in self.plan.geoms.iter().enumerate() {
            let Some(ne) = g.dale else { continue };
            let n = g.n();
            let recurrent = self.spec.hidden[l].recurrent;
            for row in self.params[self.layout.ff[l].clone()].chunks_exact_mut(2 * n) {
                row[..n].iter_mut().for_each(|w| *w = w.max(0.0));
                row[n..].fill(0.0);
            }
            if let Some(r) = self.layout.rec[l].clone() {
                for (i, row) in self.params[r].chunks_exact_mut(2 * n).enumerate() {
                    let (exc, inh) = row.split_at_mut(n);
                    if i < ne && recurrent {
                        exc.iter_mut().for_each(|w| *w = w.max(0.0));
                    } else {
                        exc.fill(0.0);
                    }
                    if i < ne {
                        inh.fill(0.0);
                    } else {
                        inh.iter_mut().for_each(|w| *w = w.max(0.0));
                    }
                }
            }
        }
    }

    /// The weights of Dale layer `l`'s six connections, `(connection, values)` in stork's order XE,
    /// XI, II, IE, EI, EE (EI, EE only if recurrent); `None` for other layers.
    pub fn dale_blocks(&self, l: usize) -> Option<Vec<(DaleConn, Vec<f32>)>> {
        let g = &self.plan.geoms[l];
        let ne = g.dale?;
        let n = g.n();
        let ff = &self.params[self.layout.ff[l].clone()];
        let rec = &self.params[self.layout.rec[l].clone()?];
        let cols = |m: &[f32], rows: std::ops::Range<usize>, c: std::ops::Range<usize>| -> Vec<f32> {
            m.chunks_exact(2 * n).skip(rows.start).take(rows.len()).flat_map(|r| r[c.clone()].to_vec()).collect()
        };
        let n_in = ff.len() / (2 * n);
        let mut v = vec![
            (DaleConn::XE, cols(ff, 0..n_in, 0..ne)),
            (DaleConn::XI, cols(ff, 0..n_in, ne..n)),
            (DaleConn::II, cols(rec, ne..n, n + ne..2 * n)),
            (DaleConn::IE, cols(rec, ne..n, n..n + ne)),
        ];
        if self.spec.hidden[l].recurrent {
            v.push((DaleConn::EI, cols(rec, 0..ne, ne..n)));
            v.push((DaleConn::EE, cols(rec, 0..ne, 0..ne)));
        }
        Some(v)
    }

}
