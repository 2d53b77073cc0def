//! A NIR graph as a spikeflux network (the mapping table with its equations is `docs/nir.md`).
//!
//! Accepted: a chain `Input → [Flatten] → Linear | Affine (zero bias) | Conv1d (zero bias) →
//! CubaLIF | LIF (optionally recurrent: a weight node from and to it, flat or as a subgraph) → … →
//! Linear | Affine → CubaLI | LI → Output` (`LIF` and `LI` have no synaptic current: τ_syn = 0). Per-neuron `r`, `w_in` and `v_threshold` are folded into
//! the weights onto the neuron (exact, since spikes are 0/1 and `v_leak = v_reset = 0`); time
//! constants must be one per layer. Anything else is an [`Error::Nir`] naming the node and why.
//!
//! A graph spikeflux exported comes back bit for bit: when a population's metadata holds
//! spikeflux's time constants and its parameters are exactly those [`super::export`] writes for
//! them, those time constants are used and no weight is scaled.

use std::collections::BTreeMap;

use super::export::{cuba_params, Discretization};
use super::tree::Tree;
use super::graph::{meta_str, tree_f64, Fields, Graph, Node};
use crate::error::{Error, Result};
use crate::layer::Shape;
use crate::network::{ConvSpec, LayerSpec, Network, NetworkSpec};
use crate::neuron::{LifParams, ReadoutParams, StepOrder, Surrogate};

/// Options of [`from_graph`]; `None` takes the value from the graph's metadata.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ImportOptions {
    /// The simulation step in seconds (required when the graph's metadata has no `dt`: snnTorch
    /// exports assume 1e-4 s, Norse's importer 1e-3 s).
    pub dt: Option<f64>,
    /// How the graph's time constants are to be read (default: the metadata's, else Euler, the
    /// discretization of snnTorch and Norse).
    pub discretization: Option<Discretization>,
    /// Read a final spiking `CubaLIF` (what snnTorch classifiers end in) as the readout: its
    /// membrane becomes the output, its threshold and reset are dropped.
    pub last_as_readout: bool,
    /// The step order of the imported network (default: the metadata's `spikeflux_step_order`,
    /// else [`StepOrder::Reference`]; [`StepOrder::Nir`] steps a foreign graph as its library did).
    pub step_order: Option<StepOrder>,
}

/// A graph with subgraphs inlined: node names dotted (`lif0.lif`), edges between primitives.
struct Flat {
    nodes: BTreeMap<String, (String, Tree)>,
    edges: Vec<(String, String)>,
}

fn inline(g: &Graph, prefix: &str, flat: &mut Flat) -> Result<()> {
    let full = |n: &str| if prefix.is_empty() { n.to_string() } else { format!("{prefix}.{n}") };
    // each subgraph's entry and exit primitives
    let mut ends: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for (name, node) in &g.nodes {
        match node {
            Node::Leaf { kind, fields } => {
                flat.nodes.insert(full(name), (kind.clone(), fields.clone()));
            }
            Node::Graph(sub) => {
                let sub_name = full(name);
                let ins: Vec<&String> = sub.nodes.iter().filter(|(_, n)| n.kind() == "Input").map(|(k, _)| k).collect();
                let outs: Vec<&String> = sub.nodes.iter().filter(|(_, n)| n.kind() == "Output").map(|(k, _)| k).collect();
                if ins.len() != 1 || outs.len() != 1 {
                    return Err(Error::nir(&sub_name, format!("a subgraph needs exactly one Input and one Output node, found {} and {}", ins.len(), outs.len())));
                }
                let entry: Vec<String> = sub.edges.iter().filter(|(a, _)| a == ins[0]).map(|(_, b)| format!("{sub_name}.{b}")).collect();
                let exit: Vec<String> = sub.edges.iter().filter(|(_, b)| b == outs[0]).map(|(a, _)| format!("{sub_name}.{a}")).collect();
                let mut inner = Flat { nodes: BTreeMap::new(), edges: vec![] };
                inline(sub, &sub_name, &mut inner)?;
                let (i, o) = (format!("{sub_name}.{}", ins[0]), format!("{sub_name}.{}", outs[0]));
                inner.nodes.remove(&i);
                inner.nodes.remove(&o);
                flat.nodes.extend(inner.nodes);
                flat.edges.extend(inner.edges.into_iter().filter(|(a, b)| *a != i && *b != o));
                ends.insert(name.clone(), (entry, exit));
            }
        }
    }
    for (a, b) in &g.edges {
        let from = match ends.get(a) {
            Some((_, exit)) => exit.clone(),
            None => vec![full(a)],
        };
        let to = match ends.get(b) {
            Some((entry, _)) => entry.clone(),
            None => vec![full(b)],
        };
        for x in &from {
            for y in &to {
                flat.edges.push((x.clone(), y.clone()));
            }
        }
    }
    Ok(())
}

const WEIGHT_KINDS: [&str; 3] = ["Linear", "Affine", "Conv1d"];

/// How one population's parameters are read.
struct Reading {
    disc: Discretization,
    /// The step the graph's parameters refer to (the reader's step).
    param_dt: f64,
    /// The network's step.
    dt: f64,
    /// Whether the graph says it was written by spikeflux (then exact metadata may be used).
    spikeflux: bool,
}

/// A population read from a CubaLIF or CubaLI: its spikeflux time constants and the per-unit gain
/// to fold into the weights onto it (row-major over the node's shape).
struct Population {
    tau_syn: f64,
    tau_mem: f64,
    gain: Vec<f64>,
    shape: Vec<usize>,
}

fn uniform(f: &Fields, key: &str, v: &[f64]) -> Result<f64> {
    let first = v[0];
    if v.iter().any(|&x| x != first) {
        return Err(Error::nir(f.name, format!("`{key}` differs between neurons; spikeflux has one time constant per layer")));
    }
    Ok(first)
}

/// Reads a `CubaLIF` / `CubaLI`, or a `LIF` / `LI` (no synaptic current: τ_syn = 0, `w_in` = 1).
/// `fed`: the shape the weights onto the population give it; parameters given once (a scalar, or
/// one entry: what snnTorch's exporter writes for scalar α, β) are broadcast to it.
fn population(f: &Fields, rd: &Reading, spiking: bool, cuba: bool, fed: &[usize]) -> Result<Population> {
    let tau_key = if cuba { "tau_mem" } else { "tau" };
    let (mut shape, tau_mem) = f.floats(tau_key)?;
    if tau_mem.is_empty() {
        return Err(Error::nir(f.name, "has no neurons"));
    }
    if tau_mem.len() == 1 {
        shape = fed.to_vec();
    }
    let n: usize = shape.iter().product();
    let get = |key: &str, default: f64| -> Result<Vec<f64>> {
        if !f.has(key) {
            return Ok(vec![default; n]);
        }
        let (_, v) = f.floats(key)?;
        match v.len() {
            1 => Ok(vec![v[0]; n]),
            m if m == n => Ok(v),
            m => Err(Error::nir(f.name, format!("`{key}` has {m} entries for {n} neurons"))),
        }
    };
    let tau_syn = if cuba {
        if !f.has("tau_syn") {
            return Err(Error::nir(f.name, "has no `tau_syn`"));
        }
        get("tau_syn", f64::NAN)?
    } else {
        vec![0.0; n]
    };
    let r = get("r", 1.0)?;
    let v_leak = get("v_leak", 0.0)?;
    let w_in = if cuba { get("w_in", 1.0)? } else { vec![1.0; n] };
    let thr = if spiking { get("v_threshold", f64::NAN)? } else { vec![1.0; n] };
    let v_reset = get("v_reset", 0.0)?;
    if spiking && !f.has("v_threshold") {
        return Err(Error::nir(f.name, "has no `v_threshold`"));
    }
    if v_leak.iter().any(|&x| x != 0.0) {
        return Err(Error::nir(f.name, "has a nonzero `v_leak`; spikeflux's membranes rest at 0"));
    }
    if spiking && v_reset.iter().any(|&x| x != 0.0) {
        return Err(Error::nir(f.name, "has a nonzero `v_reset`; spikeflux resets to 0"));
    }
    if let Some(x) = thr.iter().find(|&&x| x <= 0.0) {
        return Err(Error::nir(f.name, format!("has `v_threshold` = {x}; spikeflux needs a positive threshold (it scales the weights by 1/v_threshold)")));
    }
    let ts = uniform(f, "tau_syn", &tau_syn)?;
    let tm = uniform(f, "tau_mem", &tau_mem)?;
    for (k, t, lowest) in [("tau_syn", ts, if cuba { f64::MIN_POSITIVE } else { 0.0 }), (tau_key, tm, f64::MIN_POSITIVE)] {
        if !(t >= lowest) {
            return Err(Error::nir(f.name, format!("has `{k}` = {t}; time constants must be positive")));
        }
    }
    // exported by spikeflux and unchanged since: its own time constants, unit gains
    if rd.spikeflux {
        if let (Some(ms), Some(mm)) = (f.meta_f64("spikeflux_tau_syn"), f.meta_f64("spikeflux_tau_mem")) {
            let c = cuba_params(rd.disc, rd.dt, rd.param_dt, ms, mm, spiking);
            let same = |v: &[f64], x: f64| v.iter().all(|&y| y == x);
            if same(&tau_syn, c.tau_syn) && same(&tau_mem, c.tau_mem) && same(&r, c.r) && same(&w_in, c.w_in) && (!spiking || same(&thr, c.v_threshold)) {
                return Ok(Population { tau_syn: ms, tau_mem: mm, gain: vec![1.0; n], shape });
            }
        }
    }
    let (tau_s, tau_m, unit) = match rd.disc {
        _ if !cuba && rd.disc == Discretization::Exact => (0.0, tm, 1.0),
        Discretization::Exact => {
            if rd.param_dt != rd.dt {
                return Err(Error::nir(f.name, "exact discretization reads time constants at the network's own step"));
            }
            (ts, tm, 1.0 - (-rd.dt / ts).exp())
        }
        Discretization::Euler => {
            let per_step = |k: &str, t: f64| -> Result<f64> {
                let b = 1.0 - rd.param_dt / t;
                if !(b > 0.0 && b < 1.0) {
                    return Err(Error::nir(f.name, format!("`{k}` = {t} s is not longer than the step {} s: forward Euler leaves no decay in (0, 1)", rd.param_dt)));
                }
                Ok(-rd.dt / b.ln())
            };
            if cuba {
                (per_step("tau_syn", ts)?, per_step(tau_key, tm)?, rd.param_dt / ts)
            } else {
                (0.0, per_step(tau_key, tm)?, 1.0)
            }
        }
    };
    // the NIR membrane v = θ U, fed by r w_in × (unit) per input spike: spikeflux's unit-gain
    // current then needs the weights onto neuron i scaled by r_i w_in_i unit / θ_i
    let gain: Vec<f64> = (0..n).map(|i| r[i] * w_in[i] * unit / thr[i]).collect();
    if let Some(x) = gain.iter().find(|x| !(x.is_finite() && **x != 0.0)) {
        return Err(Error::nir(f.name, format!("gives an input gain r·w_in/v_threshold of {x}; it must be finite and nonzero")));
    }
    Ok(Population { tau_syn: tau_s, tau_mem: tau_m, gain, shape })
}

/// A weight node: its PyTorch-layout weights and, for a convolution, its geometry.
struct Weights {
    name: String,
    shape: Vec<usize>,
    w: Vec<f32>,
    conv: Option<(usize, usize)>, // stride, padding
}

fn weight_node(name: &str, kind: &str, fields: &Tree) -> Result<Weights> {
    let f = Fields { name, fields };
    let (shape, w) = f.weights("weight")?;
    let zero_bias = |f: &Fields| -> Result<()> {
        if f.has("bias") {
            let (_, b) = f.floats("bias")?;
            if b.iter().any(|&x| x != 0.0) {
                return Err(Error::nir(f.name, "has a nonzero bias; spikeflux's connections have none (a constant input current is not part of its model)"));
            }
        }
        Ok(())
    };
    match kind {
        "Linear" | "Affine" => {
            if shape.len() != 2 {
                return Err(Error::nir(name, format!("weight has shape {shape:?}; expected [out, in]")));
            }
            zero_bias(&f)?;
            Ok(Weights { name: name.into(), shape, w, conv: None })
        }
        "Conv1d" => {
            if shape.len() != 3 {
                return Err(Error::nir(name, format!("weight has shape {shape:?}; expected [c_out, c_in, kernel]")));
            }
            zero_bias(&f)?;
            if f.int("dilation")? != 1 || f.int("groups")? != 1 {
                return Err(Error::nir(name, "has dilation or groups other than 1; spikeflux's convolutions have neither"));
            }
            let stride = f.int("stride")?;
            let padding = match f.fields.get("padding").and_then(|v| match v {
                super::tree::Value::Array(a) => a.as_strs().map(|s| s[0].clone()),
                _ => None,
            }) {
                Some(s) if s == "valid" => 0,
                Some(s) if s == "same" && stride == 1 && shape[2] % 2 == 1 => (shape[2] as i64 - 1) / 2,
                Some(s) => return Err(Error::nir(name, format!("padding `{s}` is not one spikeflux can express (give an integer)"))),
                None => f.int("padding")?,
            };
            if stride < 1 || padding < 0 {
                return Err(Error::nir(name, format!("stride {stride} / padding {padding} out of range")));
            }
            Ok(Weights { name: name.into(), shape, w, conv: Some((stride as usize, padding as usize)) })
        }
        _ => Err(Error::nir(name, format!("is a `{kind}`; expected a weight node (Linear, Affine, Conv1d)"))),
    }
}

/// Scales output unit `o` of `w` (PyTorch layout, output first) by `gain[o]`: per output feature
/// (dense) or per channel (conv, whose gains must then agree across positions).
fn scale(w: &mut Weights, gain: &[f64], pop_shape: &[usize], pop: &str) -> Result<()> {
    if gain.iter().all(|&g| g == 1.0) {
        return Ok(());
    }
    let per = match w.conv {
        None => gain.to_vec(),
        Some(_) => {
            let c = pop_shape[0];
            let l = gain.len() / c.max(1);
            let mut per = Vec::with_capacity(c);
            for ch in 0..c {
                let row = &gain[ch * l..(ch + 1) * l];
                if row.iter().any(|&g| g != row[0]) {
                    return Err(Error::nir(pop, "has gains r·w_in/v_threshold that differ along positions; a convolution shares its weights across positions"));
                }
                per.push(row[0]);
            }
            per
        }
    };
    let rest = w.w.len() / per.len().max(1);
    for (o, g) in per.iter().enumerate() {
        for x in &mut w.w[o * rest..(o + 1) * rest] {
            *x = (f64::from(*x) * g) as f32;
        }
    }
    Ok(())
}

/// Where the walk along the chain is: at one node, or at the two weight nodes that open a Dale block.
enum At {
    Node(String),
    Dale([String; 2]),
}

/// A Dale layer read from its NIR form (the export's, docs/nir.md): two LIF populations, each fed by
/// two LI currents; the population that feeds on is E, the other I.
struct DaleBlock {
    spec: LayerSpec,
    tensors: Vec<(String, Weights)>,
    /// The E population's node, and its size.
    exc: String,
    n_exc: usize,
    /// The block's nodes the E population feeds (its recurrent weights), skipped by the walk.
    internal: Vec<String>,
}

fn dale_block(flat: &Flat, entry: &[String; 2], rd: &Reading, src: Shape, l: usize) -> Result<DaleBlock> {
    let succ = |n: &str| -> Vec<String> { flat.edges.iter().filter(|(a, _)| a == n).map(|(_, b)| b.clone()).collect() };
    let pred = |n: &str| -> Vec<String> { flat.edges.iter().filter(|(_, b)| b == n).map(|(a, _)| a.clone()).collect() };
    let kind = |n: &str| flat.nodes.get(n).map(|(k, _)| k.as_str()).unwrap_or("");
    let one = |v: Vec<String>, at: &str, what: &str| -> Result<String> {
        match &v[..] {
            [x] => Ok(x.clone()),
            _ => Err(Error::nir(at, format!("a Dale block needs exactly one {what} here, found {}", v.len()))),
        }
    };
    // entry weight → its current → its population
    let mut sides = Vec::new();
    for w in entry {
        let cur = one(succ(w), w, "current")?;
        let pop = one(succ(&cur), &cur, "membrane fed by this current")?;
        if kind(&pop) != "LIF" {
            return Err(Error::nir(&pop, format!("is a `{}`; a Dale block's currents (LI) feed LIF membranes", kind(&pop))));
        }
        sides.push((w.clone(), cur, pop));
    }
    if sides[0].2 == sides[1].2 {
        return Err(Error::nir(&sides[0].2, "both input connections reach the same population; a Dale block has an E and an I population"));
    }
    let currents_of = |pop: &str| -> Result<(String, String)> {
        let p = pred(pop);
        if p.len() != 2 || p.iter().any(|c| kind(c) != "LI") {
            return Err(Error::nir(pop, "a Dale population has exactly two LI currents (excitatory and inhibitory)"));
        }
        Ok((p[0].clone(), p[1].clone()))
    };
    // E feeds on (outside the block); I only feeds the block's currents
    let feeds_out = |pop: &str| succ(pop).iter().any(|w| !(WEIGHT_KINDS.contains(&kind(w)) && matches!(&succ(w)[..], [c] if kind(c) == "LI" && { let q = succ(c); q.len() == 1 && (q[0] == sides[0].2 || q[0] == sides[1].2) })));
    let (e_side, i_side) = match (feeds_out(&sides[0].2), feeds_out(&sides[1].2)) {
        (true, false) => (sides[0].clone(), sides[1].clone()),
        (false, true) => (sides[1].clone(), sides[0].clone()),
        _ => return Err(Error::nir(&sides[0].2, "cannot tell the E population (which feeds the next layer) from the I one")),
    };
    let (xe, exc_e, e) = e_side;
    let (xi, exc_i, i) = i_side;
    let other = |pop: &str, exc: &str| -> Result<String> {
        let (a, b) = currents_of(pop)?;
        Ok(if a == exc { b } else { a })
    };
    let (inh_e, inh_i) = (other(&e, &exc_e)?, other(&i, &exc_i)?);
    // the weights onto each current: (node, from)
    let onto = |c: &str| -> Vec<(String, String)> { pred(c).into_iter().map(|w| (w.clone(), one(pred(&w), &w, "source").unwrap_or_default())).collect() };
    let find = |c: &str, from: &str| onto(c).into_iter().find(|(_, f)| f == from).map(|(w, _)| w);
    let (ee, ei) = (find(&exc_e, &e), find(&exc_i, &e));
    let (ie, ii) = (find(&inh_e, &i), find(&inh_i, &i));
    let (Some(ie), Some(ii)) = (ie, ii) else {
        return Err(Error::nir(&i, "a Dale block's I population inhibits both populations (weights onto both inhibitory currents)"));
    };
    let recurrent = match (ee, ei) {
        (Some(a), Some(b)) => Some((a, b)),
        (None, None) => None,
        _ => return Err(Error::nir(&e, "a recurrent Dale layer has both E→E and E→I weights")),
    };
    for (c, want) in [(&exc_e, 1 + usize::from(recurrent.is_some())), (&exc_i, 1 + usize::from(recurrent.is_some())), (&inh_e, 1), (&inh_i, 1)] {
        if pred(c).len() != want {
            return Err(Error::nir(c, format!("has {} inputs; in a Dale block this current has {want}", pred(c).len())));
        }
    }
    // membranes and currents
    let fields = |n: &str| Fields { name: flat.nodes.get_key_value(n).map(|(k, _)| k.as_str()).unwrap_or(""), fields: &flat.nodes[n].1 };
    let (pe, pi) = (population(&fields(&e), rd, true, false, &[1])?, population(&fields(&i), rd, true, false, &[1])?);
    if pe.tau_mem != pi.tau_mem {
        return Err(Error::nir(&i, "has another tau than the E population; a spikeflux Dale layer has one membrane time constant"));
    }
    let cur = |c: &str| current(&fields(c), rd);
    let (ce, ci, je, ji) = (cur(&exc_e)?, cur(&exc_i)?, cur(&inh_e)?, cur(&inh_i)?);
    if ce.0 != ci.0 || je.0 != ji.0 {
        return Err(Error::nir(&exc_i, "the two populations' currents have different time constants; a spikeflux Dale layer has one excitatory and one inhibitory tau"));
    }
    let (ne, ni) = (pe.gain.len(), pi.gain.len());
    let n = ne + ni;
    let n_in = src.n();
    let weights_of = |w: &str, rows: usize, cols: usize| -> Result<Vec<f32>> {
        let (k, f) = &flat.nodes[w];
        let wt = weight_node(w, k, f)?;
        if wt.conv.is_some() || wt.shape != [rows, cols] {
            return Err(Error::nir(w, format!("has weights {:?}; this connection of the Dale block needs [{rows}, {cols}]", wt.shape)));
        }
        Ok(wt.w)
    };
    // into the torch-layout tensors: ff [2n, n_in] (rows: E then I neurons' excitatory currents),
    // rec [2n, n] (rows n.. the inhibitory currents; columns the source neuron, E then I)
    let mut ff = vec![0f32; 2 * n * n_in];
    let mut rec = vec![0f32; 2 * n * n];
    // weight w[r, c] of node `name` onto current row `row0 + r` (gain `g[r]`), source column `col0 + c`
    let put = |dst: &mut Vec<f32>, width: usize, name: &str, rows: usize, cols: usize, row0: usize, col0: usize, g: &[f64], sign: f64| -> Result<()> {
        let w = weights_of(name, rows, cols)?;
        for r in 0..rows {
            for c in 0..cols {
                let v = sign * f64::from(w[r * cols + c]);
                if v < 0.0 {
                    return Err(Error::nir(name, format!("has a weight of sign {} where Dale's law allows only {} ones", if sign > 0.0 { "-" } else { "+" }, if sign > 0.0 { "positive" } else { "negative" })));
                }
                dst[(row0 + r) * width + col0 + c] = if g[r] == 1.0 { v as f32 } else { (v * g[r]) as f32 };
            }
        }
        Ok(())
    };
    let gains = |pop: &Population, c: &(f64, Vec<f64>)| -> Vec<f64> { pop.gain.iter().zip(&c.1).map(|(a, b)| if *a == 1.0 && *b == 1.0 { 1.0 } else { a * b }).collect() };
    let (ge, gi, gje, gji) = (gains(&pe, &ce), gains(&pi, &ci), gains(&pe, &je), gains(&pi, &ji));
    put(&mut ff, n_in, &xe, ne, n_in, 0, 0, &ge, 1.0)?;
    put(&mut ff, n_in, &xi, ni, n_in, ne, 0, &gi, 1.0)?;
    put(&mut rec, n, &ie, ne, ni, n, ne, &gje, -1.0)?;
    put(&mut rec, n, &ii, ni, ni, n + ne, ne, &gji, -1.0)?;
    if let Some((ee, ei)) = &recurrent {
        put(&mut rec, n, ee, ne, ne, 0, 0, &ge, 1.0)?;
        put(&mut rec, n, ei, ni, ne, ne, 0, &gi, 1.0)?;
    }
    let lif = LifParams { tau_mem: pe.tau_mem, tau_syn: ce.0, adaptation: None };
    let spec = LayerSpec::dale(ne, ni, je.0, recurrent.is_some(), lif);
    let w = |name: String, shape: Vec<usize>, w: Vec<f32>| (name.clone(), Weights { name, shape, w, conv: None });
    let tensors = vec![w(format!("hidden.{l}.ff.weight"), vec![2 * n, n_in], ff), w(format!("hidden.{l}.rec.weight"), vec![2 * n, n], rec)];
    let internal = recurrent.map(|(a, b)| vec![a, b]).unwrap_or_default();
    Ok(DaleBlock { spec, tensors, exc: e, n_exc: ne, internal })
}

/// An LI node read as a synaptic current: spikeflux's τ and the per-unit gain of its input
/// (`r × (1 − e^{−dt/τ})` exact, `r × dt/τ` Euler; exactly 1 for spikeflux's own export).
fn current(f: &Fields, rd: &Reading) -> Result<(f64, Vec<f64>)> {
    let (_, tau) = f.floats("tau")?;
    let t = uniform(f, "tau", &tau)?;
    if !(t > 0.0) {
        return Err(Error::nir(f.name, format!("has `tau` = {t}; a current's time constant must be positive")));
    }
    let (_, r) = f.floats("r")?;
    if f.has("v_leak") && f.floats("v_leak")?.1.iter().any(|&x| x != 0.0) {
        return Err(Error::nir(f.name, "has a nonzero `v_leak`; spikeflux's currents decay to 0"));
    }
    if rd.spikeflux {
        if let Some(ts) = f.meta_f64("spikeflux_tau_syn") {
            let c = cuba_params(rd.disc, rd.dt, rd.param_dt, ts, 1.0, false);
            if tau.iter().all(|&x| x == c.tau_syn) && r.iter().all(|&x| x == c.w_in) {
                return Ok((ts, vec![1.0; r.len()]));
            }
        }
    }
    let (tau_s, unit) = match rd.disc {
        Discretization::Exact => (t, 1.0 - (-rd.dt / t).exp()),
        Discretization::Euler => {
            let b = 1.0 - rd.param_dt / t;
            if !(b > 0.0 && b < 1.0) {
                return Err(Error::nir(f.name, format!("`tau` = {t} s is not longer than the step {} s", rd.param_dt)));
            }
            (-rd.dt / b.ln(), rd.param_dt / t)
        }
    };
    Ok((tau_s, r.iter().map(|x| x * unit).collect()))
}

/// Builds the network a graph describes.
///
/// # Errors
/// [`Error::Nir`] naming the node that spikeflux cannot express, and why; [`Error::Config`] when
/// the resulting network is invalid (e.g. a time constant out of range).
pub fn from_graph(g: &Graph, opts: &ImportOptions) -> Result<Network> {
    let mut flat = Flat { nodes: BTreeMap::new(), edges: vec![] };
    inline(g, "", &mut flat)?;
    let m = &g.metadata;
    let spikeflux = meta_str(m, "spikeflux_version").is_some();
    let meta = |k: &str| tree_f64(m, k);
    let disc = match opts.discretization {
        Some(d) => d,
        None => match meta_str(m, "discretization") {
            Some(s) => Discretization::parse(s).ok_or_else(|| Error::nir("(graph)", format!("metadata names an unknown discretization `{s}`")))?,
            None => Discretization::Euler,
        },
    };
    let (dt, param_dt) = match opts.dt {
        Some(d) => (d, d),
        None => {
            let d = meta("dt").ok_or_else(|| {
                Error::nir("(graph)", "the graph does not say its time step; give it (--dt; snnTorch's exports assume 1e-4 s, Norse's importer 1e-3 s)")
            })?;
            let pd = if disc == Discretization::Euler { meta("reader_dt").unwrap_or(d) } else { d };
            (d, pd)
        }
    };
    for (k, v) in [("dt", dt), ("reader_dt", param_dt)] {
        if !(v.is_finite() && v > 0.0) {
            return Err(Error::config_found(k, "must be a positive step in seconds", v));
        }
    }
    let rd = Reading { disc, param_dt, dt, spikeflux };

    let succ = |n: &str| -> Vec<&String> { flat.edges.iter().filter(|(a, _)| a == n).map(|(_, b)| b).collect() };
    let pred = |n: &str| -> Vec<&String> { flat.edges.iter().filter(|(_, b)| b == n).map(|(a, _)| a).collect() };
    let kind = |n: &str| flat.nodes.get(n).map(|(k, _)| k.as_str()).unwrap_or("");
    let inputs: Vec<&String> = flat.nodes.iter().filter(|(_, (k, _))| k == "Input").map(|(n, _)| n).collect();
    if inputs.len() != 1 {
        return Err(Error::nir("(graph)", format!("needs exactly one Input node, found {}", inputs.len())));
    }
    let input_name = inputs[0].clone();
    let in_fields = Fields { name: &input_name, fields: &flat.nodes[&input_name].1 };
    let in_shape = in_fields.shape("shape")?;
    let input = match in_shape[..] {
        [n] => Shape::flat(n),
        [c, p] => Shape::line(c, p),
        _ => return Err(Error::nir(&input_name, format!("has shape {in_shape:?}; spikeflux imports [channels] or [channels, positions] inputs (2-D convolutional graphs export but do not import yet)"))),
    };
    // the recurrent weight of population p: a weight node fed only by p and feeding only p
    let rec_of = |p: &str| -> Option<String> {
        succ(p).into_iter().find(|w| WEIGHT_KINDS.contains(&kind(w)) && succ(w) == [p] && pred(w) == [p]).cloned()
    };
    let next = |n: &str, rec: Option<&String>| -> Result<String> {
        let s: Vec<&String> = succ(n).into_iter().filter(|x| Some(*x) != rec).collect();
        match s[..] {
            [one] => Ok(one.clone()),
            [] => Err(Error::nir(n, "leads nowhere; the chain must end in an Output node")),
            _ => Err(Error::nir(n, format!("feeds {} nodes ({}); spikeflux networks are chains", s.len(), s.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ")))),
        }
    };
    // what follows `n` (skipping `skip`): one node, or the two weight nodes that open a Dale block
    // (each feeding an LI current)
    let dale_entry = |w: &str| WEIGHT_KINDS.contains(&kind(w)) && matches!(succ(w)[..], [c] if kind(c) == "LI");
    let advance = |n: &str, skip: &[String]| -> Result<At> {
        let s: Vec<&String> = succ(n).into_iter().filter(|x| !skip.contains(x)).collect();
        match s[..] {
            [one] => Ok(At::Node(one.clone())),
            [a, b] if dale_entry(a) && dale_entry(b) => Ok(At::Dale([a.clone(), b.clone()])),
            [] => Err(Error::nir(n, "leads nowhere; the chain must end in an Output node")),
            _ => Err(Error::nir(n, format!("feeds {} nodes ({}); spikeflux networks are chains", s.len(), s.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ")))),
        }
    };

    let mut hidden = Vec::new();
    let mut tensors: Vec<(String, Weights)> = Vec::new();
    let mut at = advance(&input_name, &[])?;
    let mut src = input;
    let mut readout: Option<(Population, Weights)> = None;
    let mut steps = 0;
    loop {
        steps += 1;
        let cur = match at {
            At::Node(c) => c,
            At::Dale(entry) => {
                let l = hidden.len();
                let block = dale_block(&flat, &entry, &rd, src, l)?;
                hidden.push(block.spec);
                tensors.extend(block.tensors);
                src = Shape::flat(block.n_exc);
                at = advance(&block.exc, &block.internal)?;
                continue;
            }
        };
        if steps > 4 * flat.nodes.len() + 4 {
            return Err(Error::nir(&cur, "the chain loops; spikeflux networks are feed-forward apart from recurrent weights"));
        }
        let k = kind(&cur).to_string();
        if k == "Flatten" {
            src = Shape::flat(src.n());
            at = advance(&cur, &[])?;
            continue;
        }
        if k == "Output" {
            break;
        }
        let (wk, wf) = &flat.nodes[&cur];
        let mut w = weight_node(&cur, wk, wf)?;
        let pop_name = next(&cur, None)?;
        let pk = kind(&pop_name).to_string();
        let pf = Fields { name: &pop_name, fields: &flat.nodes[&pop_name].1 };
        let rec = if matches!(pk.as_str(), "CubaLIF" | "LIF") { rec_of(&pop_name) } else { None };
        let after = advance(&pop_name, rec.as_slice())?;
        let is_last = matches!(&after, At::Node(a) if kind(a) == "Output");
        let spiking_kind = matches!(pk.as_str(), "CubaLIF" | "LIF");
        let as_readout = matches!(pk.as_str(), "CubaLI" | "LI") || (spiking_kind && is_last && opts.last_as_readout);
        match pk.as_str() {
            "CubaLIF" | "CubaLI" | "LIF" | "LI" => {}
            "IF" | "I" => {
                return Err(Error::nir(&pop_name, format!("is a `{pk}`, a neuron without leak; spikeflux's membranes leak (use a LIF with a long tau)")))
            }
            other => return Err(Error::nir(&pop_name, format!("is a `{other}` after the weights `{cur}`; expected a CubaLIF or LIF (hidden layer), or a CubaLI or LI (readout)"))),
        }
        if spiking_kind && is_last && !as_readout {
            return Err(Error::nir(&pop_name, format!("is a spiking {pk} feeding the Output; spikeflux's networks end in a non-spiking readout (CubaLI). To read this layer's membrane as the output, import with last_as_readout (--last-as-readout)")));
        }
        let fed = match w.conv {
            None => vec![w.shape[0]],
            Some((stride, padding)) => {
                let l_out = (src.width + 2 * padding).checked_sub(w.shape[2]).map(|x| x / stride + 1).unwrap_or(0);
                vec![w.shape[0], l_out]
            }
        };
        let pop = population(&pf, &rd, !as_readout, pk.starts_with("Cuba"), &fed)?;
        let n_units: usize = pop.shape.iter().product();
        if as_readout {
            if w.conv.is_some() || w.shape[1] != src.n() || w.shape[0] != n_units {
                return Err(Error::nir(&cur, format!("has weights {:?} between {} inputs and a readout of {n_units}", w.shape, src.n())));
            }
            if !is_last {
                return Err(Error::nir(&pop_name, "the readout must feed the Output directly"));
            }
            scale(&mut w, &pop.gain, &pop.shape, &pop_name)?;
            readout = Some((pop, w));
            at = after;
            continue;
        }
        let l = hidden.len();
        let lif = LifParams { tau_mem: pop.tau_mem, tau_syn: pop.tau_syn, adaptation: None };
        let (mut spec, group) = match w.conv {
            None => {
                if w.shape[1] != src.n() || w.shape[0] != n_units {
                    return Err(Error::nir(&cur, format!("has weights {:?} from {} units to the {n_units} of `{pop_name}`", w.shape, src.n())));
                }
                (LayerSpec::dense(n_units, false, lif), Shape::flat(n_units))
            }
            Some((stride, padding)) => {
                let (c_out, c_in, k) = (w.shape[0], w.shape[1], w.shape[2]);
                if c_in != src.channels {
                    return Err(Error::nir(&cur, format!("convolves {c_in} channels but receives {}", src.channels)));
                }
                let l_out = (src.width + 2 * padding).checked_sub(k).map(|x| x / stride + 1).unwrap_or(0);
                if pop.shape != [c_out, l_out] {
                    return Err(Error::nir(&pop_name, format!("has shape {:?}; the convolution `{cur}` gives [{c_out}, {l_out}]", pop.shape)));
                }
                (LayerSpec::conv_with(c_out, ConvSpec::line(k, stride, padding), false, lif), Shape::line(c_out, l_out))
            }
        };
        scale(&mut w, &pop.gain, &pop.shape, &pop_name)?;
        tensors.push((format!("hidden.{l}.ff.weight"), w));
        if let Some(rname) = rec {
            let (rk, rf) = &flat.nodes[&rname];
            let mut rw = weight_node(&rname, rk, rf)?;
            match (rw.conv, spec.conv.as_mut()) {
                (None, None) if rw.shape == [n_units, n_units] => {}
                (Some((1, p)), Some(c)) if rw.shape[0] == group.channels && rw.shape[1] == group.channels && rw.shape[2] % 2 == 1 && p == (rw.shape[2] - 1) / 2 => {
                    c.rec_kernel = rw.shape[2];
                }
                _ => return Err(Error::nir(&rname, format!("recurrent weights {:?} do not map onto `{pop_name}` (dense: [n, n]; conv: [C, C, k] with k odd, stride 1, padding (k-1)/2)", rw.shape))),
            }
            scale(&mut rw, &pop.gain, &pop.shape, &pop_name)?;
            spec.recurrent = true;
            tensors.push((format!("hidden.{l}.rec.weight"), rw));
        }
        hidden.push(spec);
        src = group;
        at = after;
    }
    let Some((ro, ro_w)) = readout else {
        return Err(Error::nir("output", "the chain reaches the Output without a readout (CubaLI)"));
    };
    tensors.push(("readout.weight".into(), ro_w));
    let initial_state = meta("readout_initial_state").map(|x| x as f32).unwrap_or(0.0);
    let Surrogate::SuperSpike { beta: default_beta } = Surrogate::default();
    let beta = meta("surrogate_beta").map(|x| x as f32).unwrap_or(default_beta);
    let spec = NetworkSpec {
        input,
        n_out: ro.shape.iter().product(),
        dt,
        hidden,
        readout: ReadoutParams { tau_mem: ro.tau_mem, tau_syn: ro.tau_syn, initial_state },
        surrogate: Surrogate::SuperSpike { beta },
        step_order: match opts.step_order {
            Some(o) => o,
            None => match meta_str(m, "spikeflux_step_order") {
                None => StepOrder::Reference,
                Some(s) => StepOrder::parse(s).ok_or_else(|| Error::nir("(graph)", format!("metadata names an unknown spikeflux_step_order `{s}`")))?,
            },
        },
    };
    spec.validate()?;
    let mut net = Network::zeros(spec)?;
    for t in net.tensors() {
        let (_, w) = tensors.iter().find(|(n, _)| *n == t.name).ok_or_else(|| Error::nir(&t.name, "no weights in the graph for this tensor"))?;
        if w.w.len() != t.range.len() || w.shape != t.torch_shape {
            return Err(Error::nir(&w.name, format!("weights of shape {:?} do not fit the network's {:?}", w.shape, t.torch_shape)));
        }
        let vals = w.w.clone();
        let mut params = std::mem::take(&mut net.params);
        t.from_torch(|k| vals[k], &mut params);
        net.params = params;
    }
    Ok(net)
}
