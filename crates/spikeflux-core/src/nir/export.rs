//! A network as a NIR graph (the mapping table with its equations is `docs/nir.md`).
//!
//! Nodes: `input` → per hidden layer `l`: `fc{l}` (`Linear`, or `Conv1d` for a convolutional
//! layer) and `lif{l}` (a `CubaLIF`; a `LIF` where τ_syn = 0; for a recurrent layer the subgraph
//! `input → lif ⇄ w_rec, lif → output`; for a Dale layer two populations with their currents, see
//! `docs/nir.md`), `flatten{l}` where a convolutional layer feeds a dense one → `fc_out`
//! (`Linear`) → `readout` (`CubaLI`, or `LI` where τ_syn = 0) → `output`.
//!
//! What NIR cannot say goes into the graph's metadata (step order and delays, the multiplicative
//! reset, the surrogate, the readout's initial membrane, spikeflux's exact time constants); what
//! would change the computation silently (max pooling, adaptation) is refused with an
//! [`Error::Nir`] naming the layer.

use super::tree::{Array, ArrayData, Tree, Value};
use super::graph::{Graph, Node};
use crate::error::{Error, Result};
use crate::layer::{ConnGeom, Shape};
use crate::network::Network;

/// How the reader of an exported graph steps NIR's differential equations; the exported
/// parameters are chosen so that this reader reproduces spikeflux's decays and gains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Discretization {
    /// Exact integration over a step of the network's dt with the input held for the step
    /// (`β = exp(−dt/τ)`; Rockpool, Lava, the NIR paper's exact reference): τ are spikeflux's own,
    /// `r = 1`, `v_threshold = 1`, `w_in = 1/(1 − β_syn)`.
    #[default]
    Exact,
    /// Forward Euler over a step of `reader_dt` (`β = 1 − dt/τ`; snnTorch, which assumes 1e-4 s,
    /// and Norse): `τ = reader_dt/(1 − β)` with spikeflux's β, `w_in = τ_syn/reader_dt`, and for
    /// spiking layers `r = v_threshold = τ_mem/reader_dt` (snnTorch's importer requires that `r`).
    Euler,
}

impl Discretization {
    /// The name used in metadata and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Discretization::Exact => "exact",
            Discretization::Euler => "euler",
        }
    }
    /// Parses [`Discretization::name`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "exact" => Some(Discretization::Exact),
            "euler" => Some(Discretization::Euler),
            _ => None,
        }
    }
}

/// Options of [`to_graph`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ExportOptions {
    /// The reader's discretization.
    pub discretization: Discretization,
    /// The reader's step in seconds under [`Discretization::Euler`] (default: the network's dt);
    /// ignored by [`Discretization::Exact`], whose time constants are physical.
    pub reader_dt: Option<f64>,
}

/// NIR parameters of one neuron population (all entries equal; NIR wants one per unit).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Cuba {
    pub tau_syn: f64,
    pub tau_mem: f64,
    pub r: f64,
    pub v_threshold: f64,
    pub w_in: f64,
}

/// The NIR parameters that make a `disc` reader reproduce a spikeflux population with time
/// constants `tau_syn`, `tau_mem` at step `dt` (engine decays in f32, as the engine has them).
/// `spiking`: a LIF layer (else the readout, whose membrane must come out unscaled).
/// `tau_syn = 0` (no synaptic filter) gives `tau_syn = 0`, `w_in = 1`: a NIR `LIF` or `LI`.
pub(crate) fn cuba_params(disc: Discretization, dt: f64, reader_dt: f64, tau_syn: f64, tau_mem: f64, spiking: bool) -> Cuba {
    let c = match disc {
        Discretization::Exact => Cuba { tau_syn, tau_mem, r: 1.0, v_threshold: 1.0, w_in: 1.0 / (1.0 - (-dt / tau_syn).exp()) },
        Discretization::Euler => {
            let b_syn = f64::from((-dt / tau_syn).exp() as f32);
            let b_mem = f64::from((-dt / tau_mem).exp() as f32);
            let ts = reader_dt / (1.0 - b_syn);
            let tm = reader_dt / (1.0 - b_mem);
            let r = if spiking { tm / reader_dt } else { 1.0 };
            Cuba { tau_syn: ts, tau_mem: tm, r, v_threshold: r, w_in: ts / reader_dt }
        }
    };
    if tau_syn == 0.0 {
        Cuba { tau_syn: 0.0, w_in: 1.0, ..c }
    } else {
        c
    }
}

fn filled(shape: &[usize], v: f64) -> Array {
    let n = shape.iter().product();
    Array { shape: shape.to_vec(), data: ArrayData::F64(vec![v; n]) }
}

fn weights(shape: Vec<usize>, v: Vec<f32>) -> Array {
    Array { shape, data: ArrayData::F32(v) }
}

fn shape_of(s: Shape) -> Vec<usize> {
    s.dims()
}

fn shape_array(s: &[usize]) -> Array {
    Array::ints(&s.iter().map(|&d| d as i64).collect::<Vec<_>>())
}

fn io_node(kind: &str, s: &[usize]) -> Node {
    Node::leaf(kind, [("shape", shape_array(s))])
}

fn weight_node(geom: &ConnGeom, w: Vec<f32>) -> Node {
    match *geom {
        ConnGeom::Dense { .. } => Node::leaf("Linear", [("weight", weights(geom.torch_shape(), w))]),
        ConnGeom::Conv { c_out, in_size, stride, padding, image: false, .. } => Node::leaf(
            "Conv1d",
            [
                ("weight", weights(geom.torch_shape(), w)),
                ("bias", weights(vec![c_out], vec![0.0; c_out])),
                ("stride", Array::int(stride[1] as i64)),
                ("padding", Array::int(padding[1] as i64)),
                ("dilation", Array::int(1)),
                ("groups", Array::int(1)),
                ("input_shape", Array::int(in_size[1] as i64)),
            ],
        ),
        ConnGeom::Conv { c_out, in_size, stride, padding, image: true, .. } => {
            let pair = |v: [usize; 2]| Array::ints(&[v[0] as i64, v[1] as i64]);
            Node::leaf(
                "Conv2d",
                [
                    ("weight", weights(geom.torch_shape(), w)),
                    ("bias", weights(vec![c_out], vec![0.0; c_out])),
                    ("stride", pair(stride)),
                    ("padding", pair(padding)),
                    ("dilation", pair([1, 1])),
                    ("groups", Array::int(1)),
                    ("input_shape", pair(in_size)),
                ],
            )
        }
    }
}

/// A `CubaLIF` (`spiking`) or `CubaLI`, or without synaptic filter (`tau_syn = 0`) a `LIF` or `LI`.
fn population(spiking: bool, shape: &[usize], c: Cuba, tau_syn: f64, tau_mem: f64) -> Node {
    let cuba = tau_syn > 0.0;
    let mut fields = if cuba {
        vec![("tau_syn", filled(shape, c.tau_syn)), ("tau_mem", filled(shape, c.tau_mem)), ("w_in", filled(shape, c.w_in))]
    } else {
        vec![("tau", filled(shape, c.tau_mem))]
    };
    fields.push(("r", filled(shape, c.r)));
    fields.push(("v_leak", filled(shape, 0.0)));
    if spiking {
        fields.push(("v_threshold", filled(shape, c.v_threshold)));
        fields.push(("v_reset", filled(shape, 0.0)));
    }
    let kind = match (cuba, spiking) {
        (true, true) => "CubaLIF",
        (true, false) => "CubaLI",
        (false, true) => "LIF",
        (false, false) => "LI",
    };
    Node::leaf(kind, fields).with_metadata([("spikeflux_tau_syn", Array::f64(tau_syn)), ("spikeflux_tau_mem", Array::f64(tau_mem))])
}

/// A Dale layer as NIR (docs/nir.md): stork's two populations and six connections, each neuron's
/// two currents as `LI` nodes (unit input gain; the inhibitory one fed with negated weights, so
/// that the `LIF` membrane sums `E + (−J)`), the membranes as `LIF` nodes. Names for layer `l`:
/// `lif{l}` (E, feeds the next layer) and `lif{l}i` (I); their currents `exc{l}`, `inh{l}`,
/// `exc{l}i`, `inh{l}i`; weights `fc{l}` (XE), `fc{l}i` (XI), `w{l}_ie`, `w{l}_ii` and, if
/// recurrent, `w{l}_ee`, `w{l}_ei`.
struct DaleExport {
    l: usize,
    n: usize,
    ne: usize,
    n_in: usize,
    recurrent: bool,
    tau_exc: f64,
    tau_inh: f64,
    tau_mem: f64,
}

impl DaleExport {
    /// Rows `rows`, columns `cols` of a PyTorch-layout matrix with `width` columns, times `sign`.
    fn block(m: &[f32], width: usize, rows: std::ops::Range<usize>, cols: std::ops::Range<usize>, sign: f32) -> Array {
        let v: Vec<f32> = rows.clone().flat_map(|r| m[r * width + cols.start..r * width + cols.end].iter().map(move |&w| if sign < 0.0 { -w } else { w })).collect();
        weights(vec![rows.len(), cols.len()], v)
    }

    /// Adds the layer's nodes and edges after `prev`; `ff` `[2n, n_in]` and `rec` `[2n, n]` are the
    /// layer's tensors in PyTorch's layout; `params(τ_syn, τ_mem, spiking)` the export's mapping.
    fn add(&self, g: &mut Graph, prev: &str, ff: &[f32], rec: &[f32], params: impl Fn(f64, f64, bool) -> Cuba) {
        let (l, n, ne) = (self.l, self.n, self.ne);
        let ni = n - ne;
        // an LI node as a unit-gain synaptic filter: a CubaLIF's current, its w_in as the LI's r
        let current = |size: usize, tau: f64| {
            let c = params(tau, self.tau_mem, false);
            Node::leaf("LI", [("tau", filled(&[size], c.tau_syn)), ("r", filled(&[size], c.w_in)), ("v_leak", filled(&[size], 0.0))])
                .with_metadata([("spikeflux_tau_syn", Array::f64(tau))])
        };
        let membrane = |size: usize| population(true, &[size], params(0.0, self.tau_mem, true), 0.0, self.tau_mem);
        let (e, i) = (format!("lif{l}"), format!("lif{l}i"));
        let (exc_e, inh_e, exc_i, inh_i) = (format!("exc{l}"), format!("inh{l}"), format!("exc{l}i"), format!("inh{l}i"));
        g.nodes.insert(e.clone(), membrane(ne));
        g.nodes.insert(i.clone(), membrane(ni));
        for (name, size, tau) in [(&exc_e, ne, self.tau_exc), (&inh_e, ne, self.tau_inh), (&exc_i, ni, self.tau_exc), (&inh_i, ni, self.tau_inh)] {
            g.nodes.insert(name.clone(), current(size, tau));
        }
        let nin = self.n_in;
        let mut conns = vec![
            (format!("fc{l}"), prev.to_string(), exc_e.clone(), Self::block(ff, nin, 0..ne, 0..nin, 1.0)),
            (format!("fc{l}i"), prev.to_string(), exc_i.clone(), Self::block(ff, nin, ne..n, 0..nin, 1.0)),
            (format!("w{l}_ie"), i.clone(), inh_e.clone(), Self::block(rec, n, n..n + ne, ne..n, -1.0)),
            (format!("w{l}_ii"), i.clone(), inh_i.clone(), Self::block(rec, n, n + ne..2 * n, ne..n, -1.0)),
        ];
        if self.recurrent {
            conns.push((format!("w{l}_ee"), e.clone(), exc_e.clone(), Self::block(rec, n, 0..ne, 0..ne, 1.0)));
            conns.push((format!("w{l}_ei"), e.clone(), exc_i.clone(), Self::block(rec, n, ne..n, 0..ne, 1.0)));
        }
        for (name, from, to, w) in conns {
            g.nodes.insert(name.clone(), Node::leaf("Linear", [("weight", w)]));
            g.edge(&from, &name);
            g.edge(&name, &to);
        }
        for (cur, pop) in [(&exc_e, &e), (&inh_e, &e), (&exc_i, &i), (&inh_i, &i)] {
            g.edge(cur, pop);
        }
    }
}

/// What the graph's metadata says about the semantics NIR has no field for.
pub const STEP_ORDER: &str = "spikeflux (stork) steps each LIF layer as S_t = H(U_{t-1} - 1), I_t = b_syn I_{t-1} + X_{t-1}, \
U_t = (b_mem U_{t-1} + (1 - b_mem) I_{t-1}) (1 - S_t): the membrane uses the previous step's current, the spike the \
previous step's membrane, so each hidden layer adds 3 steps of latency and the readout 2; a recurrent spike reaches the \
current one step later";
/// [`STEP_ORDER`] of a network in [`StepOrder::Nir`](crate::neuron::StepOrder::Nir).
pub const STEP_ORDER_NIR: &str = "nir (Norse's and snnTorch's order): A_t = W x_t + V S_{t-1}, I_t = b_syn I_{t-1} + A_t, \
U~_t = b_mem U_{t-1} + (1 - b_mem) I_t, S_t = H(U~_t - 1), U_t = U~_t (1 - S_t): current, membrane and spike from this step's \
input, no added latency; a recurrent spike reaches the current in the next step";
/// [`STEP_ORDER`] of a network in [`StepOrder::Snntorch`](crate::neuron::StepOrder::Snntorch).
pub const STEP_ORDER_SNNTORCH: &str = "snntorch (snnTorch's default, reset_delay = True): A_t = W x_t + V S_{t-1}, I_t = b_syn I_{t-1} + A_t, \
U_t = (b_mem U_{t-1} + (1 - b_mem) I_t) (1 - S_{t-1}), S_t = H(U_t - 1): current, membrane and spike from this step's input, \
no added latency; a recurrent spike reaches the current in the next step";
/// [`RESET`] of a network in [`StepOrder::Nir`](crate::neuron::StepOrder::Nir).
pub const RESET_NIR: &str = "to zero in the step of the threshold crossing (U > 1, strict); no refractory period";
/// [`RESET`] of a network in [`StepOrder::Snntorch`](crate::neuron::StepOrder::Snntorch).
pub const RESET_SNNTORCH: &str = "to zero one step after the threshold crossing (U > 1, strict): the step after a spike sets U to 0 \
and discards that step's leak and input";
/// The reset, in words (metadata).
pub const RESET: &str = "multiplicative to zero one step after the threshold crossing: the step after a spike sets U to 0 \
and discards that step's leak and input; no refractory period; threshold crossing is strict (U > 1)";
/// The spike convention, in words (metadata).
pub const SPIKE: &str = "a spike is the value 1 held for one step of dt (not a Dirac delta); w_in scales it so that one \
unit of weight adds one unit of synaptic current";

/// Exports `net` as a NIR graph.
///
/// # Errors
/// [`Error::Nir`] naming the layer (`lif{l}`) when it has max pooling or adaptation, which NIR 1.0
/// cannot express, or is a Dale layer without synaptic filter; [`Error::Config`] for a
/// non-positive `reader_dt`.
pub fn to_graph(net: &Network, opts: &ExportOptions) -> Result<Graph> {
    let spec = &net.spec;
    let dt = spec.dt;
    let reader_dt = opts.reader_dt.unwrap_or(dt);
    if !(reader_dt.is_finite() && reader_dt > 0.0) {
        return Err(Error::config_found("reader_dt", "must be a positive step in seconds", reader_dt));
    }
    for (l, h) in spec.hidden.iter().enumerate() {
        let name = format!("lif{l}");
        if h.pool > 1 {
            return Err(Error::nir(name, format!("hidden layer {l} max-pools its spikes by {}; NIR 1.0 has no max pooling (only SumPool2d and AvgPool2d), so the export would compute something else. Remove `pool` to export", h.pool)));
        }
        if h.lif.adaptation.is_some() {
            return Err(Error::nir(name, format!("hidden layer {l} is adaptive; NIR 1.0 has no neuron with an adaptation current. Remove `adaptation` to export")));
        }
        if let Some(d) = h.dale {
            if h.lif.tau_syn == 0.0 || d.tau_inh == 0.0 {
                return Err(Error::nir(name, format!("hidden layer {l} is a Dale layer without synaptic filter; its currents are exported as NIR LI nodes, which need a time constant")));
            }
        }
    }
    let tensors = net.tensors();
    let tensor = |name: &str| -> Result<Vec<f32>> {
        let t = tensors.iter().find(|t| t.name == name).ok_or_else(|| Error::nir(name, "missing tensor"))?;
        Ok(t.to_torch(&net.params))
    };
    let disc = opts.discretization;
    let mut g = Graph::default();
    let in_shape = shape_of(spec.input);
    g.nodes.insert("input".into(), io_node("Input", &in_shape));
    let mut prev = "input".to_string();
    let mut prev_shape = in_shape;
    for (l, (h, geom)) in spec.hidden.iter().zip(&net.plan.geoms).enumerate() {
        if matches!(geom.ff, ConnGeom::Dense { .. }) && prev_shape.len() > 1 {
            let f = format!("flatten{l}");
            g.nodes.insert(
                f.clone(),
                Node::leaf("Flatten", [("start_dim", Array::int(0)), ("end_dim", Array::int(-1)), ("input_type", shape_array(&prev_shape))]),
            );
            g.edge(&prev, &f);
            prev = f;
        }
        if let (Some(ne), Some(d)) = (geom.dale, h.dale) {
            let ff = tensor(&format!("hidden.{l}.ff.weight"))?;
            let rec = tensor(&format!("hidden.{l}.rec.weight"))?;
            let dale = DaleExport { l, n: geom.n(), ne, n_in: geom.input.n(), recurrent: h.recurrent, tau_exc: h.lif.tau_syn, tau_inh: d.tau_inh, tau_mem: h.lif.tau_mem };
            dale.add(&mut g, &prev, &ff, &rec, |tau_syn, tau_mem, spiking| cuba_params(disc, dt, reader_dt, tau_syn, tau_mem, spiking));
            prev = format!("lif{l}");
            prev_shape = vec![ne];
            continue;
        }
        let fc = format!("fc{l}");
        g.nodes.insert(fc.clone(), weight_node(&geom.ff, tensor(&format!("hidden.{l}.ff.weight"))?));
        g.edge(&prev, &fc);
        let shape = match geom.ff {
            ConnGeom::Dense { n_dst, .. } => vec![n_dst],
            ConnGeom::Conv { .. } => geom.ff.out_shape().dims(),
        };
        let c = cuba_params(disc, dt, reader_dt, h.lif.tau_syn, h.lif.tau_mem, true);
        let lif = population(true, &shape, c, h.lif.tau_syn, h.lif.tau_mem);
        let name = format!("lif{l}");
        let node = match &geom.rec {
            None => lif,
            Some(rg) => {
                let mut sub = Graph::default();
                sub.nodes.insert("input".into(), io_node("Input", &shape));
                sub.nodes.insert("lif".into(), lif);
                sub.nodes.insert("w_rec".into(), weight_node(rg, tensor(&format!("hidden.{l}.rec.weight"))?));
                sub.nodes.insert("output".into(), io_node("Output", &shape));
                for (a, b) in [("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")] {
                    sub.edge(a, b);
                }
                Node::Graph(sub)
            }
        };
        g.nodes.insert(name.clone(), node);
        g.edge(&fc, &name);
        prev = name;
        prev_shape = shape;
    }
    if prev_shape.len() > 1 {
        g.nodes.insert(
            "flatten_out".into(),
            Node::leaf("Flatten", [("start_dim", Array::int(0)), ("end_dim", Array::int(-1)), ("input_type", shape_array(&prev_shape))]),
        );
        g.edge(&prev, "flatten_out");
        prev = "flatten_out".into();
    }
    g.nodes.insert("fc_out".into(), weight_node(&net.plan.readout_conn(), tensor("readout.weight")?));
    g.edge(&prev, "fc_out");
    let ro = &spec.readout;
    let c = cuba_params(disc, dt, reader_dt, ro.tau_syn, ro.tau_mem, false);
    g.nodes.insert("readout".into(), population(false, &[spec.n_out], c, ro.tau_syn, ro.tau_mem));
    g.edge("fc_out", "readout");
    g.nodes.insert("output".into(), io_node("Output", &[spec.n_out]));
    g.edge("readout", "output");

    let mut m = Tree::new();
    let mut put = |k: &str, a: Array| {
        m.insert(k.to_string(), Value::Array(a));
    };
    put("spikeflux_version", Array::str(env!("CARGO_PKG_VERSION")));
    put("dt", Array::f64(dt));
    put("discretization", Array::str(disc.name()));
    if disc == Discretization::Euler {
        put("reader_dt", Array::f64(reader_dt));
    }
    put("spike", Array::str(SPIKE));
    use crate::neuron::StepOrder;
    let (order, reset) = match spec.step_order {
        StepOrder::Reference => (STEP_ORDER, RESET),
        StepOrder::Nir => (STEP_ORDER_NIR, RESET_NIR),
        StepOrder::Snntorch => (STEP_ORDER_SNNTORCH, RESET_SNNTORCH),
    };
    put("step_order", Array::str(order));
    put("spikeflux_step_order", Array::str(spec.step_order.name()));
    put("reset", Array::str(reset));
    put("readout_initial_state", Array::f64(f64::from(ro.initial_state)));
    let crate::neuron::Surrogate::SuperSpike { beta } = spec.surrogate;
    put("surrogate", Array::str(format!("SuperSpike, 1/(beta |U - 1| + 1)^2 with beta = {beta} (training only)")));
    put("surrogate_beta", Array::f64(f64::from(beta)));
    g.metadata = m;
    Ok(g)
}
