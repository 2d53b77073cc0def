//! Initialization report (issue #4): for every hidden layer, the membrane statistics the FD theory
//! predicts against those measured on data, with and without reset, and the firing rates.
//!
//! Theory (spec §2.1), per layer with afferent connections c (fan-in N_c, weight moments μ_c, σ_c,
//! presynaptic rate ν_c): `μ_U = Σ_c N_c ν_c μ_c ε̄` and `σ_U² = Σ_c N_c ν_c (μ_c² + σ_c²) ε̂`. It is
//! evaluated twice: with the rates the initializer assumed, and with the presynaptic rates measured
//! on the data. The network runs with the reference dynamics; the *free* membrane of a layer is its
//! actual input current `A_t` passed through the two LIF filters without threshold or reset
//! (`I_t = β_s I_{t−1} + A_{t−1}`, `U_t = β_m U_{t−1} + (1−β_m) I_{t−1}`; adaptation ignored), which is
//! the linear membrane the theory describes, driven by the real activity of the layers below.
//!
//! A Dale layer is reported for its E population (the layer's output): the free membrane uses both
//! currents (`U_t = β_m U_{t−1} + (1−β_m)(E_{t−1} − J_{t−1})`) and the theory sums the excitatory
//! afferents XE (input rate) and EE (E rate) with ε_exc and subtracts the inhibitory IE (I rate) with
//! ε_inh for the mean, adding all three for the variance.

use crate::data::SpikeDataset;
use super::network::{ConnectionInit, DaleConn};
use super::theory::EpsilonMode;
use crate::engine::{self, EngineOptions, Workspace};
use crate::network::Network;

/// Statistics of one hidden layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerReport {
    /// 1-based layer number.
    pub layer: usize,
    /// Theory with the initializer's rates: (mean, s.d.) of U.
    pub predicted: (f64, f64),
    /// Theory with the measured presynaptic rates: (mean, s.d.) of U.
    pub predicted_measured_nu: (f64, f64),
    /// Measured rate of the feed-forward input (data, or the layer below), Hz.
    pub presynaptic_rate_hz: f64,
    /// Measured free membrane (actual input, no threshold or reset): (mean, s.d.), pooled over
    /// neurons, steps and samples.
    pub free: (f64, f64),
    /// Measured membrane with reset: (mean, s.d.).
    pub reset: (f64, f64),
    /// Firing rate with reset, Hz.
    pub rate_hz: f64,
    /// Fraction of neurons that never spike on the samples (with reset).
    pub silent_fraction: f64,
    /// Up to 100 000 free-membrane values, for histograms.
    pub free_sample: Vec<f32>,
}

struct Acc {
    sum: f64,
    sq: f64,
    n: f64,
    /// Spikes of the reported neurons (a Dale layer: E), and of a Dale layer's I population.
    spikes: f64,
    spikes_inh: f64,
    per_neuron: Vec<f64>,
    sample: Vec<f32>,
}

/// Runs the reference dynamics; returns (free-membrane, reset-membrane) accumulators per layer.
fn run(net: &Network, ds: &SpikeDataset, idx: &[usize]) -> (Vec<Acc>, Vec<Acc>) {
    let geoms = &net.plan.geoms;
    let new = || -> Vec<Acc> {
        geoms
            .iter()
            .map(|g| Acc { sum: 0.0, sq: 0.0, n: 0.0, spikes: 0.0, spikes_inh: 0.0, per_neuron: vec![0.0; g.n_output_neurons()], sample: Vec::new() })
            .collect()
    };
    let (mut free, mut reset) = (new(), new());
    let slice = net.plan.slice_size(ds.t_steps);
    let mut ws = Workspace::new(net, ds.t_steps, slice);
    let opts = EngineOptions { keep_input: true, ..Default::default() };
    for sl in idx.chunks(slice) {
        ws.load(ds, sl);
        engine::forward(net, &opts, &mut ws);
        for l in 0..geoms.len() {
            let n = geoms[l].n();
            // reported neurons per row: all, or a Dale layer's E population; input row width
            let ne = geoms[l].n_output_neurons();
            let w = geoms[l].n_input();
            let b = sl.len();
            // a Dale layer's inhibitory current decays with the adaptation slot's factor (plan)
            let d = net.plan.layers[l].decays;
            let d_inh = if geoms[l].dale.is_some() { d.ada } else { 0.0 };
            let a = ws.input_current(l);
            let (mut i, mut j_inh, mut u) = (vec![0.0f32; b * ne], vec![0.0f32; b * ne], vec![0.0f32; b * ne]);
            let fa = &mut free[l];
            for t in 0..a.len() / (b * w) {
                // U_t and the currents from the state and input of step t − 1
                for r in 0..b {
                    for k in 0..ne {
                        let x = r * ne + k;
                        let un = d.mem * u[x] + (1.0 - d.mem) * (i[x] - j_inh[x]);
                        let (ae, ai) = if t > 0 {
                            let row = (t - 1) * b * w + r * w;
                            (a[row + k], if w > n { a[row + n + k] } else { 0.0 })
                        } else {
                            (0.0, 0.0)
                        };
                        i[x] = d.syn * i[x] + ae;
                        j_inh[x] = d_inh * j_inh[x] + ai;
                        u[x] = un;
                    }
                }
                for &x in &u {
                    fa.sum += x as f64;
                    fa.sq += (x as f64) * (x as f64);
                    if fa.sample.len() < 100_000 {
                        fa.sample.push(x);
                    }
                }
                fa.n += (b * ne) as f64;
            }
            let ra = &mut reset[l];
            for row in ws.membrane(l).chunks_exact(n) {
                for &x in &row[..ne] {
                    ra.sum += x as f64;
                    ra.sq += (x as f64) * (x as f64);
                }
                ra.n += ne as f64;
            }
            for row in ws.spikes(l).chunks_exact(n) {
                for (k, &s) in row.iter().enumerate() {
                    if k < ne {
                        ra.per_neuron[k] += s as f64;
                        ra.spikes += s as f64;
                    } else {
                        ra.spikes_inh += s as f64;
                    }
                }
            }
        }
    }
    (free, reset)
}

fn moments(a: &Acc) -> (f64, f64) {
    let m = a.sum / a.n;
    (m, (a.sq / a.n - m * m).max(0.0).sqrt())
}

/// The report for `net` on the first `samples` samples of `ds`. `inits` are the moments per
/// connection (as returned by the initializer, hidden connections in layer order) and
/// `assumed_nu[l]` the presynaptic rate the initializer used for layer `l`.
pub fn init_report(
    net: &Network,
    ds: &SpikeDataset,
    samples: usize,
    inits: &[ConnectionInit],
    assumed_nu: &[f64],
    eps_mode: EpsilonMode,
) -> Vec<LayerReport> {
    let idx: Vec<usize> = (0..samples.min(ds.len())).collect();
    let (free, reset) = run(net, ds, &idx);
    let dur = idx.len() as f64 * ds.t_steps as f64 * net.spec.dt;
    let mut out = Vec::new();
    let mut k = 0;
    let input_rate = ds.subset(&idx).mean_rate_hz();
    for (l, g) in net.plan.geoms.iter().enumerate() {
        let lp = &net.plan.layers[l];
        let (e, e_inh) = (lp.psp.get(eps_mode), lp.psp_inh.unwrap_or(lp.psp).get(eps_mode));
        let rate = |a: &Acc, n: usize| a.spikes / (n as f64 * dur);
        let pre = if l == 0 { input_rate } else { rate(&reset[l - 1], net.plan.geoms[l - 1].n_output_neurons()) };
        let own = rate(&reset[l], g.n_output_neurons());
        let inh_rate = reset[l].spikes_inh / ((g.n() - g.n_output_neurons()).max(1) as f64 * dur);
        // afferents of the reported population with their rate and sign: (init entry, which rate, ε, sign)
        let n_conns = inits[k..].iter().take_while(|c| c.layer == Some(l)).count();
        let conns: Vec<&ConnectionInit> = inits[k..k + n_conns].iter().collect();
        k += n_conns;
        let terms: Vec<(&ConnectionInit, usize, f64, f64)> = match g.dale {
            Some(_) => conns
                .iter()
                .filter_map(|c| match c.dale {
                    Some(DaleConn::XE) => Some((*c, 0, e.bar, 1.0)),
                    Some(DaleConn::EE) => Some((*c, 1, e.bar, 1.0)),
                    Some(DaleConn::IE) => Some((*c, 2, e_inh.bar, -1.0)),
                    _ => None,
                })
                .collect(),
            None => conns.iter().enumerate().map(|(i, c)| (*c, i.min(1), e.bar, 1.0)).collect(),
        };
        let theory = |nus: &[f64; 3]| {
            let (mut m, mut v) = (0.0, 0.0);
            for &(c, which, bar, sign) in &terms {
                let nu = nus[which];
                let hat = if sign < 0.0 { e_inh.hat } else { e.hat };
                m += sign * c.fan_in as f64 * nu * c.mean * bar;
                v += c.fan_in as f64 * nu * (c.mean * c.mean + c.std * c.std) * hat;
            }
            (m, v.sqrt())
        };
        let nu_l = assumed_nu.get(l).copied().unwrap_or(assumed_nu[assumed_nu.len() - 1]);
        let silent = reset[l].per_neuron.iter().filter(|&&c| c == 0.0).count() as f64 / g.n_output_neurons() as f64;
        out.push(LayerReport {
            layer: l + 1,
            predicted: theory(&[nu_l, nu_l, nu_l]),
            predicted_measured_nu: theory(&[pre, own, inh_rate]),
            presynaptic_rate_hz: pre,
            free: moments(&free[l]),
            reset: moments(&reset[l]),
            rate_hz: own,
            silent_fraction: silent,
            free_sample: free[l].sample.clone(),
        });
    }
    out
}
