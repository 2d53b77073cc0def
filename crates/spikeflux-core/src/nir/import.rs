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
use super::file::Tree;
use super::graph::{meta_str, tree_f64, Fields, Graph, Node};
use crate::error::{Error, Result};
use crate::layer::Shape;
use crate::network::{ConvSpec, LayerSpec, Network, NetworkSpec};
use crate::neuron::{LifParams, ReadoutParams, Surrogate};

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
                super::file::Value::Array(a) => a.as_strs().map(|s| s[0].clone()),
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
        [c, p] => Shape { channels: c, positions: p },
        _ => return Err(Error::nir(&input_name, format!("has shape {in_shape:?}; spikeflux takes [channels] or [channels, positions] inputs"))),
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

    let mut hidden = Vec::new();
    let mut tensors: Vec<(String, Weights)> = Vec::new();
    let mut cur = next(&input_name, None)?;
    let mut src = input;
    let mut readout: Option<(Population, Weights)> = None;
    let mut steps = 0;
    loop {
        steps += 1;
        if steps > 4 * flat.nodes.len() + 4 {
            return Err(Error::nir(&cur, "the chain loops; spikeflux networks are feed-forward apart from recurrent weights"));
        }
        let k = kind(&cur).to_string();
        if k == "Flatten" {
            src = Shape::flat(src.n());
            cur = next(&cur, None)?;
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
        let after = next(&pop_name, rec.as_ref())?;
        let is_last = kind(&after) == "Output";
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
                let l_out = (src.positions + 2 * padding).checked_sub(w.shape[2]).map(|x| x / stride + 1).unwrap_or(0);
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
            cur = after;
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
                let l_out = (src.positions + 2 * padding).checked_sub(k).map(|x| x / stride + 1).unwrap_or(0);
                if pop.shape != [c_out, l_out] {
                    return Err(Error::nir(&pop_name, format!("has shape {:?}; the convolution `{cur}` gives [{c_out}, {l_out}]", pop.shape)));
                }
                let mut s = LayerSpec::conv(c_out, k, stride, padding, false, lif);
                s.conv = Some(ConvSpec { kernel: k, stride, padding, rec_kernel: 5 });
                (s, Shape { channels: c_out, positions: l_out })
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
        cur = after;
    }
    let Some((ro, ro_w)) = readout else {
        return Err(Error::nir(&cur, "the chain reaches the Output without a readout (CubaLI)"));
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
