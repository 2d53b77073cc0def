//! The objective (spec §1.6, §4.0): class scores from the readout membrane over time, their
//! cross-entropy, and L2 activity regularizers on the hidden layers' spike counts per sample; the
//! loss of a forward pass and the gradient seeds of the backward pass.

use crate::engine::Workspace;
use crate::network::Network;

/// How the network output over time becomes class logits (spec §1.6). In configs:
/// `"max-over-time"`, `"sum-over-time"`, `"last-step"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossKind {
    /// Max of the readout over time, then cross-entropy (every paper example).
    #[default]
    MaxOverTime,
    /// Sum of the readout over time, then cross-entropy.
    SumOverTime,
    /// Readout at the last step, then cross-entropy.
    LastStep,
}

/// Which side of an activity bound is penalized (spec §4.0). In configs: `"upper"`, `"lower"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bound {
    /// `s·mean(relu(cnt − θ)²)`.
    Upper,
    /// `s·mean(relu(θ − cnt)²)`.
    Lower,
}

/// Over what a spike count is taken before the bound. In configs: `"neuron"`, `"population"`,
/// `"channel"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegScope {
    /// Per neuron and sample (stork `dims=False`).
    Neuron,
    /// Mean over the layer's neurons, per sample (stork `dims=1` on a dense layer, `dims=[−2,−1]`
    /// on a convolutional one).
    Population,
    /// Mean over positions, per channel and sample (stork `dims=−1` on a convolutional layer; the
    /// same as `Neuron` on a dense layer).
    Channel,
}

/// An L2 activity regularizer on a hidden layer's spike counts per sample (a config's
/// `[[train.regularizer]]`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regularizer {
    /// Upper or lower bound.
    pub bound: Bound,
    /// Strength s.
    pub strength: f32,
    /// Threshold θ_r in spikes per sample.
    pub threshold: f32,
    /// Per neuron or population mean.
    pub scope: RegScope,
}

/// What a pass minimizes: the cross-entropy of the class scores taken by `loss`, plus `regularizers`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Objective {
    /// How the readout over time becomes class scores.
    pub loss: LossKind,
    /// Regularizers applied to every hidden layer.
    pub regularizers: Vec<Regularizer>,
}

/// Cross-entropy (and regularizer) loss of the last forward pass, added to `ws.stats`, and its
/// gradient seeds for [`crate::engine::backward()`]: `∂L/∂V` of the readout membrane and `∂L/∂cnt` of
/// every hidden layer's spike counts. `batch_total` is the size of the whole mini-batch the loss is
/// averaged over.
pub fn compute(net: &Network, opts: &Objective, ws: &mut Workspace, batch_total: usize) {
    let spec = &net.spec;
    let (t_steps, b, c) = (ws.t, ws.b, spec.n_out);
    let bc = b * c;
    let inv_b = 1.0 / batch_total as f64;
    ws.rgv[..t_steps * bc].fill(0.0);
    let mut z = vec![0.0f64; c];
    let mut at = vec![0usize; c];
    for bi in 0..b {
        for k in 0..c {
            let col = |t: usize| ws.rv[t * bc + bi * c + k] as f64;
            match opts.loss {
                LossKind::MaxOverTime => {
                    let (mut best, mut bt) = (f64::NEG_INFINITY, 0);
                    for t in 0..t_steps {
                        let v = col(t);
                        if v > best {
                            best = v;
                            bt = t;
                        }
                    }
                    z[k] = best;
                    at[k] = bt;
                }
                LossKind::SumOverTime => z[k] = (0..t_steps).map(col).sum(),
                LossKind::LastStep => z[k] = col(t_steps - 1),
            }
        }
        if z.iter().any(|v| !v.is_finite()) {
            ws.stats.nonfinite_outputs += 1;
        }
        let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = m + z.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
        let y = ws.labels[bi];
        ws.stats.ce_sum += lse - z[y];
        let mut pred = 0;
        for k in 1..c {
            if z[k] > z[pred] {
                pred = k;
            }
        }
        if pred == y {
            ws.stats.correct += 1;
        }
        for k in 0..c {
            let p = (z[k] - lse).exp();
            let g = ((p - if k == y { 1.0 } else { 0.0 }) * inv_b) as f32;
            match opts.loss {
                LossKind::MaxOverTime => ws.rgv[at[k] * bc + bi * c + k] = g,
                LossKind::SumOverTime => {
                    for t in 0..t_steps {
                        ws.rgv[t * bc + bi * c + k] = g;
                    }
                }
                LossKind::LastStep => ws.rgv[(t_steps - 1) * bc + bi * c + k] = g,
            }
        }
    }
    // regularizers: counts per sample and neuron
    for (l, g) in net.plan.geoms.iter().enumerate() {
        let n = g.n();
        let (nc, np) = (g.group.channels, g.group.positions());
        let bn = b * n;
        let lb = &mut ws.layers[l];
        // spike counts per sample and neuron were summed during the forward pass
        let (cnt, dcnt) = (&lb.cnt[..bn], &mut lb.dcnt[..bn]);
        dcnt.fill(0.0);
        for r in &opts.regularizers {
            let sign = match r.bound {
                Bound::Upper => 1.0f64,
                Bound::Lower => -1.0,
            };
            let excess = |x: f64| (sign * (x - r.threshold as f64)).max(0.0);
            // groups of neurons whose counts are averaged before the bound; neurons are
            // position-major (p·channels + c), so a channel's neurons are `channels` apart. A Dale
            // layer's E and I populations are regularized separately, as stork's two groups are.
            let pops: Vec<(usize, usize)> = match g.dale {
                Some(ne) => vec![(0, ne), (ne, n - ne)],
                None => vec![(0, n)],
            };
            for &(p0, pn) in &pops {
                let (size, stride, groups) = match (r.scope, g.dale) {
                    (RegScope::Neuron, _) | (RegScope::Channel, Some(_)) => (1, 1, pn),
                    (RegScope::Population, _) => (pn, 1, 1),
                    (RegScope::Channel, None) => (np, nc, nc),
                };
                let norm = inv_b / groups as f64;
                for (cs, ds) in cnt.chunks_exact(n).zip(dcnt.chunks_exact_mut(n)) {
                    for gi in 0..groups {
                        // group gi starts at gi·size (Neuron/Population) or at channel gi (Channel)
                        let start = p0 + if stride == 1 { gi * size } else { gi };
                        let mean = (0..size).map(|j| cs[start + j * stride] as f64).sum::<f64>() / size as f64;
                        let e = excess(mean);
                        ws.stats.reg_loss += r.strength as f64 * e * e * norm;
                        let gr = (2.0 * r.strength as f64 * e * sign * norm / size as f64) as f32;
                        if gr != 0.0 {
                            for j in 0..size {
                                ds[start + j * stride] += gr;
                            }
                        }
                    }
                }
            }
        }
    }
}

