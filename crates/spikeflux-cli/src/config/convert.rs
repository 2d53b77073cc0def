//! The config's sections as core specs: the network, its initialization, the objective, the optimizer.

use anyhow::Result;
use spikeflux_core::init::{FdTarget, HiddenInit, InitSpec, ReadoutInit};
use spikeflux_core::layer::Shape;
use spikeflux_core::network::{ConvSpec, DaleSpec, LayerSpec, NetworkSpec};
use spikeflux_core::neuron::{LifParams, ReadoutParams, Surrogate};
use spikeflux_core::train::loss::Objective;
use spikeflux_core::train::optim::OptimizerKind;

use super::{cfg_err, InitMethod, NuConfig, ReadoutMethod, RunConfig};

impl RunConfig {
    /// The FD target from `init` (centered σ_U, or μ_U with ξ).
    pub fn fd_target(&self) -> Result<FdTarget> {
        let i = &self.init;
        let nu = match &i.nu {
            None => return Err(cfg_err("init.nu", "the fluctuation-driven init needs the presynaptic rate: nu = <Hz> or nu = \"data\"")),
            Some(NuConfig::Hz(v)) => *v,
            Some(NuConfig::Word(w)) if w == "data" => 1.0, // replaced by the measured rates
            Some(NuConfig::Word(w)) => return Err(cfg_err("init.nu", format!("`{w}`: give a rate in Hz or \"data\""))),
        };
        if !(nu.is_finite() && nu > 0.0) {
            return Err(cfg_err("init.nu", format!("must be a positive rate in Hz, got {nu}")));
        }
        // a neuron spikes at most once per step
        let max_rate = 1.0 / self.model.dt;
        if nu > max_rate {
            return Err(cfg_err("init.nu", format!("{nu} Hz is above one spike per step (1/dt = {max_rate} Hz); give the presynaptic rate in Hz")));
        }
        match (i.sigma_u, i.mu_u, i.xi) {
            (Some(s), None, None) => {
                if !(s.is_finite() && s > 0.0) {
                    return Err(cfg_err("init.sigma_u", format!("must be positive, got {s}")));
                }
                Ok(FdTarget::centered(s, nu))
            }
            (None, Some(mu), Some(xi)) => {
                if !(mu.is_finite() && mu < 1.0) {
                    return Err(cfg_err("init.mu_u", "must be below the threshold 1"));
                }
                if !(xi.is_finite() && xi > 0.0) {
                    return Err(cfg_err("init.xi", "must be positive"));
                }
                Ok(FdTarget { mu_u: mu, xi, nu })
            }
            _ => Err(cfg_err("init", "give either sigma_u (centered form) or both mu_u and xi")),
        }
    }

    /// The network for `n_in` inputs and `n_out` classes.
    pub fn network_spec(&self, n_in: usize, n_out: usize) -> NetworkSpec {
        let input = match self.model.input_shape.as_deref() {
            Some(&[c, p]) if c.checked_mul(p) == Some(n_in) => Shape::line(c, p),
            Some(&[c, h, w]) if c.checked_mul(h).and_then(|x| x.checked_mul(w)) == Some(n_in) => Shape::image(c, h, w),
            _ => Shape::flat(n_in),
        };
        // whether each layer's input is an image: the network's input is, and convolutions keep it
        let mut image = input.image;
        let hidden = self
            .model
            .hidden
            .iter()
            .map(|h| {
                let conv = h.kernel.map(|kernel| ConvSpec {
                    kernel: kernel.axes(image, 1),
                    stride: h.stride.axes(image, 1),
                    padding: h.padding.axes(image, 0),
                    rec_kernel: h.rec_kernel,
                });
                image &= conv.is_some() && h.ei_ratio.is_none();
                LayerSpec {
                    size: h.size,
                    recurrent: h.recurrent,
                    lif: LifParams { tau_mem: h.tau_mem, tau_syn: h.tau_syn, adaptation: h.adaptation },
                    conv,
                    pool: h.pool,
                    dale: h.ei_ratio.map(|r| DaleSpec { n_inh: h.size / r.max(1), tau_inh: h.tau_inh.unwrap_or(5e-3) }),
                }
            })
            .collect();
        NetworkSpec {
            input,
            n_out,
            dt: self.model.dt,
            hidden,
            readout: ReadoutParams {
                tau_mem: self.model.readout.tau_mem,
                tau_syn: self.model.readout.tau_syn,
                initial_state: self.model.readout.initial_state,
            },
            surrogate: Surrogate::SuperSpike { beta: self.model.surrogate_beta },
            step_order: self.model.step_order,
        }
    }

    /// The initialization.
    pub fn init_spec(&self) -> Result<InitSpec> {
        let i = &self.init;
        let eps = i.epsilon;
        let hidden = match i.method {
            InitMethod::FluctuationDriven => HiddenInit::FluctuationDriven {
                target: self.fd_target()?,
                alpha: i.alpha,
                epsilon: eps,
                layerwise: i.layerwise,
            },
            InitMethod::Kaiming => HiddenInit::KaimingNormal { gain: i.gain },
            InitMethod::Uniform => HiddenInit::TorchDefault,
        };
        let readout = match i.readout {
            ReadoutMethod::FluctuationDriven => ReadoutInit::FluctuationDriven { target: self.fd_target()?, epsilon: eps },
            ReadoutMethod::ScaledNormal => ReadoutInit::ScaledNormal,
            ReadoutMethod::Kaiming => ReadoutInit::KaimingNormal { gain: i.gain },
            ReadoutMethod::Uniform => ReadoutInit::TorchDefault,
        };
        Ok(InitSpec { hidden, readout, dale: i.dale })
    }

    /// Whether ν is measured from the data (`nu = "data"`).
    pub fn nu_from_data(&self) -> bool {
        matches!(&self.init.nu, Some(NuConfig::Word(w)) if w == "data")
    }

    /// The objective (loss and regularizers).
    pub fn objective(&self) -> Objective {
        Objective { loss: self.train.loss, regularizers: self.train.regularizer.clone() }
    }

    /// The optimizer.
    pub fn optimizer(&self) -> OptimizerKind {
        self.train.optimizer.with_lr(self.train.lr)
    }
}
