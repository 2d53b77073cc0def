//! The TOML run configuration: parsed once, validated with field names, turned into core types.
//!
//! Every field is documented in the README's config reference. Unknown fields are rejected by serde
//! (`deny_unknown_fields`); ranges are checked in [`RunConfig::validate`].

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use spikeflux_core::data::images::{self, LatencyCode};
use spikeflux_core::data::randman::{self, RandmanParams};
use spikeflux_core::data::shd::ShdFile;
use spikeflux_core::data::SpikeDataset;
use spikeflux_core::train::loss::{LossKind, Objective, Regularizer};
use spikeflux_core::layer::Shape;
use spikeflux_core::init::{DaleInit, EpsilonMode, FdTarget, HiddenInit, InitSpec, ReadoutInit};
use spikeflux_core::network::{ConvSpec, DaleSpec, LayerSpec, NetworkSpec};
use spikeflux_core::neuron::{Adaptation, LifParams, ReadoutParams, Surrogate};
use spikeflux_core::train::optim::{OptimizerKind, OptimizerMethod};
use spikeflux_core::Error;

/// The embedded default experiment (`configs/randman-shallow.toml`).
pub const DEFAULT_CONFIG: &str = include_str!("../../../configs/randman-shallow.toml");

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    #[serde(default = "default_name")]
    pub name: String,
    pub data: DataConfig,
    pub model: ModelConfig,
    pub init: InitConfig,
    pub train: TrainConfig,
}

fn default_name() -> String {
    "run".into()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    pub randman: Option<RandmanParams>,
    pub hdf5: Option<Hdf5Config>,
    pub fashion_mnist: Option<FashionMnistConfig>,
    pub digits: Option<DigitsConfig>,
}

/// Fashion-MNIST (IDX files), latency coded.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FashionMnistConfig {
    #[serde(default = "default_fmnist_dir")]
    pub dir: PathBuf,
    #[serde(default = "default_img_steps")]
    pub n_steps: usize,
    #[serde(default = "default_thr")]
    pub threshold: f64,
    #[serde(default = "default_tau_eff")]
    pub tau_eff: f64,
    #[serde(default = "default_valid")]
    pub valid_fraction: f64,
}

/// The 8×8 digits CSV, latency coded, split at random (seeded) into train/valid/test.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DigitsConfig {
    /// The CSV; `None`: the copy embedded in spikeflux.
    pub file: Option<PathBuf>,
    #[serde(default = "default_img_steps")]
    pub n_steps: usize,
    #[serde(default = "default_thr")]
    pub threshold: f64,
    #[serde(default = "default_tau_eff")]
    pub tau_eff: f64,
    #[serde(default = "default_digits_frac")]
    pub valid_fraction: f64,
    #[serde(default = "default_digits_frac")]
    pub test_fraction: f64,
}

fn default_fmnist_dir() -> PathBuf {
    PathBuf::from("/usr/share/datasets/fashion-mnist")
}
fn default_img_steps() -> usize {
    100
}
fn default_thr() -> f64 {
    0.2
}
fn default_tau_eff() -> f64 {
    20e-3
}
fn default_digits_frac() -> f64 {
    0.15
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Hdf5Config {
    pub train_file: PathBuf,
    pub test_file: PathBuf,
    /// A separate validation file (SSC has one); otherwise a share of the training file.
    pub valid_file: Option<PathBuf>,
    /// How the validation share is drawn from the training file: "random" or "speaker".
    #[serde(default = "default_split")]
    pub valid_split: SplitName,
    pub n_steps: usize,
    pub n_in: usize,
    pub n_classes: Option<usize>,
    #[serde(default = "default_valid")]
    pub valid_fraction: f64,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum SplitName {
    Random,
    Speaker,
}

fn default_split() -> SplitName {
    SplitName::Random
}

fn default_valid() -> f64 {
    0.1
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub dt: f64,
    /// Input as [channels, positions] (e.g. [1, 700] for SHD into a convolution); default [n_in, 1].
    pub input_shape: Option<[usize; 2]>,
    #[serde(default = "default_beta")]
    pub surrogate_beta: f32,
    pub hidden: Vec<HiddenConfig>,
    pub readout: ReadoutConfig,
}

fn default_beta() -> f32 {
    20.0
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HiddenConfig {
    pub size: usize,
    #[serde(default)]
    pub recurrent: bool,
    #[serde(default = "default_tau_mem")]
    pub tau_mem: f64,
    #[serde(default = "default_tau_syn")]
    pub tau_syn: f64,
    pub adaptation: Option<Adaptation>,
    /// Set for a convolutional layer (then `size` is the number of filters).
    pub kernel: Option<usize>,
    #[serde(default = "one")]
    pub stride: usize,
    #[serde(default)]
    pub padding: usize,
    #[serde(default = "five")]
    pub rec_kernel: usize,
    #[serde(default = "one")]
    pub pool: usize,
    /// Set for a Dale's-law layer: `size` excitatory neurons and `size / ei_ratio` inhibitory ones
    /// (stork's `DalianLayer`); `tau_syn` is then the excitatory synaptic time constant.
    pub ei_ratio: Option<usize>,
    /// Inhibitory synaptic time constant of a Dale layer (seconds; stork's default 5 ms).
    pub tau_inh: Option<f64>,
}

fn one() -> usize {
    1
}
fn five() -> usize {
    5
}

fn default_tau_mem() -> f64 {
    20e-3
}
fn default_tau_syn() -> f64 {
    10e-3
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReadoutConfig {
    pub tau_mem: f64,
    #[serde(default = "default_tau_syn")]
    pub tau_syn: f64,
    #[serde(default = "default_initial")]
    pub initial_state: f32,
}

fn default_initial() -> f32 {
    ReadoutParams::DEFAULT_INITIAL_STATE
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum InitMethod {
    FluctuationDriven,
    Kaiming,
    Uniform,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ReadoutMethod {
    FluctuationDriven,
    ScaledNormal,
    Kaiming,
    Uniform,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InitConfig {
    pub method: InitMethod,
    /// Centered form: σ_U (μ_U = 0, ξ = 1/σ_U). Exclusive with mu_u/xi.
    pub sigma_u: Option<f64>,
    pub mu_u: Option<f64>,
    pub xi: Option<f64>,
    pub nu: Option<NuConfig>,
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    #[serde(default = "default_eps")]
    pub epsilon: EpsilonMode,
    #[serde(default)]
    pub layerwise: bool,
    #[serde(default = "default_gain")]
    pub gain: f64,
    pub readout: ReadoutMethod,
    /// Distribution of Dale layers under the fluctuation-driven init: "exponential" (stork,
    /// notebook 04) or "lognormal" (corrected formulas).
    #[serde(default)]
    pub dale: DaleInit,
}

fn default_alpha() -> f64 {
    0.9
}
fn default_eps() -> EpsilonMode {
    EpsilonMode::Numerical
}
fn default_gain() -> f64 {
    1.0
}

/// `nu = 15.8` (Hz, one rate for the whole network, stork's way) or `nu = "data"` (measured
/// layer by layer).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum NuConfig {
    Hz(f64),
    Word(String),
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    #[serde(default = "default_opt")]
    pub optimizer: OptimizerMethod,
    pub lr: f32,
    #[serde(default = "default_loss")]
    pub loss: LossKind,
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub threads: usize,
    #[serde(default)]
    pub regularizer: Vec<Regularizer>,
    /// Refuse runs whose activation memory exceeds this many GiB (default: 90 % of available RAM).
    pub max_memory_gib: Option<f64>,
}

fn default_opt() -> OptimizerMethod {
    OptimizerMethod::Smorms3
}
fn default_loss() -> LossKind {
    LossKind::MaxOverTime
}

/// Train / validation / test sets.
pub struct Splits {
    pub train: SpikeDataset,
    pub valid: Option<SpikeDataset>,
    pub test: SpikeDataset,
}

/// The TOML key of a field named by the core (its path in `NetworkSpec`, the FD target and
/// initializers, or the training options), or `None` if `field` is already a TOML key or unknown.
/// The one place where the core's names meet the config file's.
fn toml_key(field: &str) -> Option<String> {
    const SECTIONS: [&str; 4] = ["data", "model", "init", "train"];
    if SECTIONS.iter().any(|s| field == *s || field.starts_with(&format!("{s}."))) {
        return None;
    }
    let model = |f: &str| {
        let f = f.replace(".lif.adaptation.", ".adaptation.").replace(".lif.", ".").replace(".conv.", ".");
        format!("model.{}", f.replace(".dale.n_inh", ".ei_ratio").replace(".dale.", "."))
    };
    Some(match field {
        "n_out" => "data.n_classes".into(),
        "input" => "data.n_in".into(),
        "surrogate.beta" => "model.surrogate_beta".into(),
        "" => "init".into(),
        "nu" | "xi" | "mu_u" | "sigma_u" | "alpha" => format!("init.{field}"),
        "batch_size" | "lr" => format!("train.{field}"),
        f if f == "dt" || f.starts_with("hidden") || f.starts_with("readout") => model(f),
        _ => return None,
    })
}

/// Renames the field of a core config error to its TOML key (see `toml_key`), so that every
/// message names what the user writes.
pub fn with_toml_keys(mut e: anyhow::Error) -> anyhow::Error {
    if let Some(Error::Config { field, .. }) = e.downcast_mut::<Error>() {
        if let Some(k) = toml_key(field) {
            *field = k;
        }
    }
    e
}

fn cfg_err(field: &str, msg: impl Into<String>) -> anyhow::Error {
    Error::config(field, msg).into()
}

impl RunConfig {
    /// Parses TOML text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let cfg: RunConfig = toml::from_str(text)
            .map_err(|e| Error::config(origin, e.to_string().trim_end().to_string()))
            .with_context(|| format!("reading config {origin}"))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The config without the settings that do not change results (epochs, threads), for comparing
    /// a checkpoint's config with the current one.
    pub fn train_independent(&self) -> RunConfig {
        let mut c = self.clone();
        c.train.epochs = 1;
        c.train.threads = 0;
        c
    }

    /// Range checks that serde cannot express; errors name the field.
    pub fn validate(&self) -> Result<()> {
        let d = &self.data;
        let n_sources = [d.randman.is_some(), d.hdf5.is_some(), d.fashion_mnist.is_some(), d.digits.is_some()]
            .iter()
            .filter(|&&x| x)
            .count();
        if n_sources != 1 {
            return Err(cfg_err("data", "give exactly one of [data.randman], [data.hdf5], [data.fashion_mnist], [data.digits]"));
        }
        let check_code = |sec: &str, n_steps: usize, thr: f64, tau: f64| -> Result<()> {
            if n_steps == 0 {
                return Err(cfg_err(&format!("data.{sec}.n_steps"), "must be at least 1"));
            }
            if !(0.0..1.0).contains(&thr) {
                return Err(cfg_err(&format!("data.{sec}.threshold"), "must be in [0, 1)"));
            }
            if !(tau.is_finite() && tau > 0.0) {
                return Err(cfg_err(&format!("data.{sec}.tau_eff"), "must be a positive number of seconds"));
            }
            Ok(())
        };
        if let Some(f) = &d.fashion_mnist {
            check_code("fashion_mnist", f.n_steps, f.threshold, f.tau_eff)?;
            if !(0.0..1.0).contains(&f.valid_fraction) {
                return Err(cfg_err("data.fashion_mnist.valid_fraction", "must be in [0, 1)"));
            }
        }
        if let Some(f) = &d.digits {
            check_code("digits", f.n_steps, f.threshold, f.tau_eff)?;
            if !(f.valid_fraction >= 0.0 && f.test_fraction > 0.0 && f.valid_fraction + f.test_fraction < 1.0) {
                return Err(cfg_err("data.digits.test_fraction", "valid_fraction ≥ 0, test_fraction > 0, and their sum < 1"));
            }
        }
        match (&self.data.randman, &self.data.hdf5) {
            (None, None) => {}
            (Some(r), None) => {
                r.validate().map_err(|e| e.within("data.randman"))?;
            }
            (None, Some(h)) => {
                if h.n_steps == 0 {
                    return Err(cfg_err("data.hdf5.n_steps", "must be at least 1"));
                }
                if h.n_in == 0 {
                    return Err(cfg_err("data.hdf5.n_in", "must be at least 1"));
                }
                if !(0.0..1.0).contains(&h.valid_fraction) {
                    return Err(cfg_err("data.hdf5.valid_fraction", "must be in [0, 1)"));
                }
            }
            _ => return Err(cfg_err("data", "give exactly one of [data.randman] or [data.hdf5]")),
        }
        if !(self.model.dt.is_finite() && self.model.dt > 0.0) {
            return Err(cfg_err("model.dt", format!("must be a positive number of seconds, got {}", self.model.dt)));
        }
        let i = &self.init;
        if i.method == InitMethod::FluctuationDriven || i.readout == ReadoutMethod::FluctuationDriven {
            self.fd_target()?;
        }
        if !(0.0..=1.0).contains(&i.alpha) {
            return Err(cfg_err("init.alpha", format!("must be in [0, 1], got {}", i.alpha)));
        }
        if !(i.gain.is_finite() && i.gain > 0.0) {
            return Err(cfg_err("init.gain", "must be positive"));
        }
        let t = &self.train;
        if t.batch_size == 0 {
            return Err(cfg_err("train.batch_size", "must be at least 1"));
        }
        if t.epochs == 0 {
            return Err(cfg_err("train.epochs", "must be at least 1"));
        }
        if let Some(m) = t.max_memory_gib {
            if !(m.is_finite() && m > 0.0) {
                return Err(cfg_err("train.max_memory_gib", "must be a positive number of GiB"));
            }
        }
        if !(t.lr.is_finite() && t.lr > 0.0) {
            return Err(cfg_err("train.lr", format!("must be positive, got {}", t.lr)));
        }
        for (k, r) in t.regularizer.iter().enumerate() {
            if !(r.strength.is_finite() && r.strength >= 0.0) {
                return Err(cfg_err(&format!("train.regularizer[{k}].strength"), "must be non-negative"));
            }
            if !r.threshold.is_finite() {
                return Err(cfg_err(&format!("train.regularizer[{k}].threshold"), "must be finite"));
            }
        }
        if let Some([c, p]) = self.model.input_shape {
            if c == 0 || p == 0 {
                return Err(cfg_err("model.input_shape", "channels and positions must be at least 1"));
            }
            let n_in = self.n_in();
            if let Some(n) = n_in {
                if c * p != n {
                    return Err(cfg_err("model.input_shape", format!("[{c}, {p}] has {} units but the data has {n} input channels", c * p)));
                }
            }
        }
        for (l, h) in self.model.hidden.iter().enumerate() {
            if h.kernel.is_none() && (h.stride != 1 || h.padding != 0) {
                return Err(cfg_err(&format!("model.hidden[{l}].stride"), "stride and padding need `kernel` (a convolutional layer)"));
            }
        }
        let n_in = self.n_in().unwrap_or(1);
        self.network_spec(n_in, 2).validate()?;
        Ok(())
    }

    /// Input channels, where the config alone determines them.
    fn n_in(&self) -> Option<usize> {
        let d = &self.data;
        d.randman
            .as_ref()
            .map(|r| r.n_units)
            .or(d.hdf5.as_ref().map(|h| h.n_in))
            .or(d.fashion_mnist.as_ref().map(|_| 784))
            .or(d.digits.as_ref().map(|_| 64))
    }

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
        let input = match self.model.input_shape {
            Some([c, p]) if c * p == n_in => Shape { channels: c, positions: p },
            _ => Shape::flat(n_in),
        };
        NetworkSpec {
            input,
            n_out,
            dt: self.model.dt,
            hidden: self
                .model
                .hidden
                .iter()
                .map(|h| LayerSpec {
                    size: h.size,
                    recurrent: h.recurrent,
                    lif: LifParams {
                        tau_mem: h.tau_mem,
                        tau_syn: h.tau_syn,
                        adaptation: h.adaptation,
                    },
                    conv: h.kernel.map(|kernel| ConvSpec {
                        kernel,
                        stride: h.stride,
                        padding: h.padding,
                        rec_kernel: h.rec_kernel,
                    }),
                    pool: h.pool,
                    dale: h.ei_ratio.map(|r| DaleSpec { n_inh: h.size / r.max(1), tau_inh: h.tau_inh.unwrap_or(5e-3) }),
                })
                .collect(),
            readout: ReadoutParams {
                tau_mem: self.model.readout.tau_mem,
                tau_syn: self.model.readout.tau_syn,
                initial_state: self.model.readout.initial_state,
            },
            surrogate: Surrogate::SuperSpike { beta: self.model.surrogate_beta },
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

    /// Loads or generates the data and splits it. Relative HDF5 paths are taken relative to `base`.
    pub fn load_data(&self, base: &Path) -> Result<Splits> {
        if let Some(r) = &self.data.randman {
            let ds = randman::generate(r, self.model.dt).map_err(|e| e.within("data.randman"))?;
            let mut parts = ds.split(&r.split).into_iter();
            let (train, valid, test) = (parts.next(), parts.next(), parts.next());
            let (Some(train), Some(valid), Some(test)) = (train, valid, test) else {
                bail!("internal: split did not return three parts");
            };
            return Ok(Splits { train, valid: (!valid.is_empty()).then_some(valid), test });
        }
        let resolve = |p: &Path| if p.is_absolute() { p.to_path_buf() } else { base.join(p) };
        let code = |n_steps: usize, threshold: f64, tau_eff: f64| LatencyCode { threshold, tau_eff, dt: self.model.dt, t_steps: n_steps };
        if let Some(f) = &self.data.fashion_mnist {
            let dir = resolve(&f.dir);
            let c = code(f.n_steps, f.threshold, f.tau_eff);
            let full = images::fashion_mnist(&dir, "train")
                .with_context(|| "Fashion-MNIST: install it with `apt-get install dataset-fashion-mnist` or set data.fashion_mnist.dir")?
                .to_dataset(&c, 10)?;
            let test = images::fashion_mnist(&dir, "t10k")?.to_dataset(&c, 10)?;
            let (train, valid) = full.random_split(f.valid_fraction, self.train.seed);
            return Ok(Splits { train, valid: (!valid.is_empty()).then_some(valid), test });
        }
        if let Some(f) = &self.data.digits {
            let c = code(f.n_steps, f.threshold, f.tau_eff);
            let images = match &f.file {
                Some(file) => images::digits_csv(&resolve(file))?,
                None => images::uci_digits()?,
            };
            let full = images.to_dataset(&c, 10)?;
            let (rest, test) = full.random_split(f.test_fraction, self.train.seed ^ 0x5eed);
            let (train, valid) = rest.random_split(f.valid_fraction / (1.0 - f.test_fraction), self.train.seed);
            return Ok(Splits { train, valid: (!valid.is_empty()).then_some(valid), test });
        }
        let Some(h) = &self.data.hdf5 else { bail!("no data section") };
        let read = |p: &Path| -> Result<SpikeDataset> {
            let p = resolve(p);
            let f = ShdFile::read(&p)?;
            Ok(f.to_dataset(self.model.dt, h.n_steps, h.n_in, h.n_classes)?)
        };
        let full = read(&h.train_file)?;
        let mut test = read(&h.test_file)?;
        let n_classes = full.n_classes.max(test.n_classes);
        test.n_classes = n_classes;
        let (mut train, mut valid) = match (&h.valid_file, h.valid_split) {
            (Some(v), _) => (full, read(v)?),
            (None, SplitName::Random) => full.random_split(h.valid_fraction, self.train.seed),
            (None, SplitName::Speaker) => full.speaker_split(h.valid_fraction, self.train.seed).map_err(|e| e.within("data.hdf5"))?,
        };
        train.n_classes = n_classes;
        valid.n_classes = n_classes;
        if train.is_empty() {
            return Err(Error::data_file(resolve(&h.train_file), "has no training samples").into());
        }
        Ok(Splits { train, valid: (!valid.is_empty()).then_some(valid), test })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_fields_map_to_toml_keys() {
        for (core, toml) in [
            ("hidden[0].lif.tau_mem", "model.hidden[0].tau_mem"),
            ("hidden[1].lif.adaptation.tau_ada", "model.hidden[1].adaptation.tau_ada"),
            ("hidden[2].dale.n_inh", "model.hidden[2].ei_ratio"),
            ("hidden[2].dale.tau_inh", "model.hidden[2].tau_inh"),
            ("hidden[0].conv.rec_kernel", "model.hidden[0].rec_kernel"),
            ("readout.tau_syn", "model.readout.tau_syn"),
            ("surrogate.beta", "model.surrogate_beta"),
            ("dt", "model.dt"),
            ("n_out", "data.n_classes"),
            ("nu", "init.nu"),
            ("", "init"),
            ("lr", "train.lr"),
        ] {
            assert_eq!(toml_key(core).as_deref(), Some(toml), "{core}");
        }
        assert_eq!(toml_key("data.randman.split"), None);
        assert_eq!(toml_key("fig1"), None);
    }

    /// Every shipped config parses and validates (data files are only opened when training).
    #[test]
    fn every_config_in_configs_is_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
        let mut n = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                RunConfig::load(&p).unwrap_or_else(|e| panic!("{}: {e:#}", p.display()));
                n += 1;
            }
        }
        assert!(n >= 11, "found {n} configs");
    }
}
