//! The initialization policy of a whole network: which method fills which connection, from which
//! seeded stream (spec §2.3–§2.6): fluctuation-driven (per connection or layer-wise with the α split;
//! Dale layers with the exponential or log-normal sign-constrained distributions), Kaiming, PyTorch's
//! default; the readout's own choice. ε̄/ε̂ come from the network's plan.

use std::ops::Range;

use super::theory::{self, Afferent, EpsilonMode, FdTarget};
use crate::error::Result;
use crate::network::{Network, NetworkSpec};
use crate::rng::{rng_for, stream};

/// How hidden-layer weights are initialized.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HiddenInit {
    /// Fluctuation-driven normal (spec §2.3).
    FluctuationDriven {
        /// Target μ_U, ξ and rate ν.
        target: FdTarget,
        /// Share of the variance given to feed-forward afferents when the layer is recurrent.
        alpha: f64,
        /// How ε̄/ε̂ are computed.
        epsilon: EpsilonMode,
        /// Layer-wise (shared N_total and α split) or each connection on its own.
        layerwise: bool,
    },
    /// Kaiming normal N(0, gain²/fan_in).
    KaimingNormal {
        /// Gain.
        gain: f64,
    },
    /// PyTorch's default: U(−1/√fan_in, 1/√fan_in).
    TorchDefault,
}

/// How readout weights are initialized.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReadoutInit {
    /// FD centered normal per connection, with the readout's own time constants (notebooks 01, 02).
    FluctuationDriven {
        /// Target (μ_U, ξ, ν).
        target: FdTarget,
        /// How ε̄/ε̂ are computed.
        epsilon: EpsilonMode,
    },
    /// N(0,1)/√fan_in (notebooks 03–05).
    ScaledNormal,
    /// Kaiming normal with a gain.
    KaimingNormal {
        /// Gain.
        gain: f64,
    },
    /// PyTorch's default uniform.
    TorchDefault,
}

/// Which sign-constrained distribution the fluctuation-driven init uses for Dale layers. In
/// configs: `"exponential"`, `"lognormal"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DaleInit {
    /// Exponential weights (stork's `FluctuationDrivenExponentialInitializer`, notebook 04).
    #[default]
    Exponential,
    /// Log-normal weights with the corrected formulas ([`crate::init::dale`]).
    #[serde(rename = "lognormal")]
    LogNormal,
}

/// Initialization of a whole network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InitSpec {
    /// Hidden layers.
    pub hidden: HiddenInit,
    /// Readout.
    pub readout: ReadoutInit,
    /// The distribution of Dale layers under [`HiddenInit::FluctuationDriven`] (other methods draw
    /// as for any layer, then [`Network::constrain`] clamps, as stork does).
    pub dale: DaleInit,
}

/// One of a Dale layer's six connections (spec §1.4), named source → target population: X the
/// layer's input, E and I its excitatory and inhibitory neurons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaleConn {
    /// Input → E.
    XE,
    /// Input → I.
    XI,
    /// I → I.
    II,
    /// I → E.
    IE,
    /// E → I (recurrent layers).
    EI,
    /// E → E (recurrent layers).
    EE,
}

impl DaleConn {
    /// The name stork gives the connection.
    pub fn name(self) -> &'static str {
        match self {
            DaleConn::XE => "XE",
            DaleConn::XI => "XI",
            DaleConn::II => "II",
            DaleConn::IE => "IE",
            DaleConn::EI => "EI",
            DaleConn::EE => "EE",
        }
    }
}

/// The standard deviation (and mean) chosen for one connection, for reports.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionInit {
    /// Checkpoint name of the connection (a Dale connection: its layer, kind and init parameter).
    pub name: String,
    /// The hidden layer the connection feeds (`None`: the readout).
    pub layer: Option<usize>,
    /// Which of a Dale layer's six connections it is (`None` for other layers).
    pub dale: Option<DaleConn>,
    /// Fan-in.
    pub fan_in: usize,
    /// Weight mean.
    pub mean: f64,
    /// Weight standard deviation.
    pub std: f64,
}

impl Network {
    /// A network initialized by `init` from `seed`; returns it and the moments per connection.
    ///
    /// # Errors
    /// Invalid spec or an impossible FD target.
    pub fn initialized(spec: NetworkSpec, init: &InitSpec, seed: u64) -> Result<(Self, Vec<ConnectionInit>)> {
        let mut net = Network::zeros(spec)?;
        let report = net.initialize(init, seed)?;
        Ok((net, report))
    }

    /// Fluctuation-driven init of Dale layer `l` (spec §2.3, layer-wise, per population): fills the
    /// blocks of the ff and rec tensors and returns the six connections' moments.
    fn init_dale_layer(&mut self, l: usize, init: &InitSpec, target: FdTarget, seed: u64, k: &mut u64) -> Result<Vec<ConnectionInit>> {
        let HiddenInit::FluctuationDriven { alpha, epsilon, .. } = init.hidden else { return Ok(Vec::new()) };
        let kind = init.dale;
        use super::dale::{exponential_rates, fill_exponential, fill_lognormal, lognormal_locations, DaleEpsilon, DaleFanIn};
        let spec = self.spec.clone();
        let h = &spec.hidden[l];
        let g = self.plan.geoms[l].clone();
        let (ne, n, n_in) = (g.dale.unwrap_or(0), g.n(), g.input.n());
        let ni = n - ne;
        let lp = &self.plan.layers[l];
        let eps = DaleEpsilon { exc: lp.psp.get(epsilon), inh: lp.psp_inh.unwrap_or(lp.psp).get(epsilon) };
        // E receives XE (ff), IE (inh), EE (rec); I receives XI, II, EI — same fan-ins for both
        let fan = DaleFanIn { ff: n_in, rec: if h.recurrent { ne } else { 0 }, inh: ni };
        let sigma_u = target.sigma_u();
        let params = match kind {
            DaleInit::Exponential => exponential_rates(fan, eps, sigma_u, target.nu, alpha)?,
            DaleInit::LogNormal => lognormal_locations(fan, eps, sigma_u, target.nu, alpha)?,
        };
        let fill = |w: &mut [f32], p: f64, rng: &mut crate::rng::SfRng| match kind {
            DaleInit::Exponential => fill_exponential(w, p, rng),
            DaleInit::LogNormal => fill_lognormal(w, p, rng),
        };
        let moments = |p: f64| match kind {
            DaleInit::Exponential => (1.0 / p, 1.0 / p),
            DaleInit::LogNormal => ((p + 0.5).exp(), ((2.0 * p + 2.0).exp() - (2.0 * p + 1.0).exp()).sqrt()),
        };
        // the same numbers for both populations (identical time constants and fan-ins)
        let mut rng = rng_for(seed, stream::INIT + *k);
        *k += 1;
        let ff = self.layout.ff[l].clone();
        for row in self.params[ff].chunks_exact_mut(2 * n) {
            fill(&mut row[..n], params.ff, &mut rng);
        }
        let mut rng = rng_for(seed, stream::INIT + *k);
        *k += 1;
        if let Some(r) = self.layout.rec[l].clone() {
            for (i, row) in self.params[r].chunks_exact_mut(2 * n).enumerate() {
                if i < ne {
                    fill(&mut row[..n], params.rec, &mut rng);
                } else {
                    fill(&mut row[n..], params.inh, &mut rng);
                }
            }
        }
        self.constrain();
        let mut report = Vec::new();
        let conns: [(DaleConn, usize, f64, bool); 6] = [
            (DaleConn::XE, n_in, params.ff, true),
            (DaleConn::XI, n_in, params.ff, true),
            (DaleConn::II, ni, params.inh, true),
            (DaleConn::IE, ni, params.inh, true),
            (DaleConn::EI, ne, params.rec, h.recurrent),
            (DaleConn::EE, ne, params.rec, h.recurrent),
        ];
        let what = match kind {
            DaleInit::Exponential => "λ",
            DaleInit::LogNormal => "μ",
        };
        for (conn, fan_in, p, present) in conns {
            if present {
                let (mean, std) = moments(p);
                let name = format!("hidden.{l}.{} ({what} = {p:.6})", conn.name());
                report.push(ConnectionInit { name, layer: Some(l), dale: Some(conn), fan_in, mean, std });
            }
        }
        Ok(report)
    }

    /// (Re)initializes all weights. Each connection draws from its own seeded stream.
    pub fn initialize(&mut self, init: &InitSpec, seed: u64) -> Result<Vec<ConnectionInit>> {
        self.initialize_with_rates(init, seed, None)
    }

    /// Like [`Network::initialize`], but the FD targets of hidden layer `l` use the presynaptic rate
    /// `rates[l]` (Hz) and the readout uses `rates[L]`, instead of one ν for the whole network
    /// (missing entries repeat the last one).
    pub fn initialize_with_rates(&mut self, init: &InitSpec, seed: u64, rates: Option<&[f64]>) -> Result<Vec<ConnectionInit>> {
        let nu_at = |l: usize, t: FdTarget| match rates {
            Some(r) if !r.is_empty() => FdTarget { nu: r[l.min(r.len() - 1)], ..t },
            _ => t,
        };
        let spec = self.spec.clone();
        let mut report = Vec::new();
        let names = self.tensors();
        let name_of = |r: &Range<usize>| names.iter().find(|t| &t.range == r).map(|t| t.name.clone()).unwrap_or_default();
        let mut k = 0u64;
        for (l, h) in spec.hidden.iter().enumerate() {
            if h.dale.is_some() {
                if let HiddenInit::FluctuationDriven { target, .. } = init.hidden {
                    report.extend(self.init_dale_layer(l, init, nu_at(l, target), seed, &mut k)?);
                    continue;
                }
            }
            let g = &self.plan.geoms[l];
            let ff = self.layout.ff[l].clone();
            let rec = self.layout.rec[l].clone();
            let mut conns = vec![(ff, g.ff.fan_in(), false)];
            if let (Some(r), Some(rg)) = (rec, g.rec) {
                conns.push((r, rg.fan_in(), true));
            }
            let moments: Vec<(f64, f64)> = match init.hidden {
                HiddenInit::FluctuationDriven { target, alpha, epsilon, layerwise } => {
                    let target = nu_at(l, target);
                    let eps = self.plan.layers[l].psp.get(epsilon);
                    let aff: Vec<Afferent> =
                        conns.iter().map(|c| Afferent { fan_in: c.1, recurrent: c.2 }).collect();
                    if layerwise {
                        theory::fd_normal_layerwise(target, eps, &aff, alpha)?
                            .into_iter()
                            .map(|m| (m.mean, m.std))
                            .collect()
                    } else {
                        let mut v = Vec::new();
                        for a in &aff {
                            let m = theory::fd_normal_layerwise(target, eps, std::slice::from_ref(a), alpha)?;
                            v.push((m[0].mean, m[0].std));
                        }
                        v
                    }
                }
                HiddenInit::KaimingNormal { gain } => {
                    conns.iter().map(|c| (0.0, gain / (c.1 as f64).sqrt())).collect()
                }
                HiddenInit::TorchDefault => conns.iter().map(|c| (0.0, 1.0 / (3.0 * c.1 as f64).sqrt())).collect(),
            };
            for (c, (mean, std)) in conns.iter().zip(moments) {
                let mut rng = rng_for(seed, stream::INIT + k);
                k += 1;
                let w = &mut self.params[c.0.clone()];
                if let HiddenInit::TorchDefault = init.hidden {
                    theory::fill_torch_default_uniform(w, c.1, &mut rng);
                } else {
                    theory::fill_normal(w, theory::NormalMoments { mean, std }, &mut rng);
                }
                report.push(ConnectionInit { name: name_of(&c.0), layer: Some(l), dale: None, fan_in: c.1, mean, std });
            }
        }
        let n_last = spec.last_hidden();
        let r = self.layout.readout.clone();
        let mut rng = rng_for(seed, stream::INIT + k);
        let (mean, std) = match init.readout {
            ReadoutInit::FluctuationDriven { target, epsilon } => {
                let target = nu_at(spec.hidden.len(), target);
                let eps = self.plan.readout_psp.get(epsilon);
                let m = theory::fd_normal_layerwise(target, eps, &[Afferent { fan_in: n_last, recurrent: false }], 1.0)?;
                (m[0].mean, m[0].std)
            }
            ReadoutInit::ScaledNormal => (0.0, 1.0 / (n_last as f64).sqrt()),
            ReadoutInit::KaimingNormal { gain } => (0.0, gain / (n_last as f64).sqrt()),
            ReadoutInit::TorchDefault => (0.0, 1.0 / (3.0 * n_last as f64).sqrt()),
        };
        if let ReadoutInit::TorchDefault = init.readout {
            theory::fill_torch_default_uniform(&mut self.params[r.clone()], n_last, &mut rng);
        } else {
            theory::fill_normal(&mut self.params[r.clone()], theory::NormalMoments { mean, std }, &mut rng);
        }
        report.push(ConnectionInit { name: name_of(&r), layer: None, dale: None, fan_in: n_last, mean, std });
        self.constrain();
        Ok(report)
    }
}
