//! The TOML run configuration: parsed once, validated with field names, turned into core types.
//!
//! Every field is documented in the README's config reference. Unknown fields are rejected by serde
//! (`deny_unknown_fields`); ranges are checked in [`RunConfig::validate`]. Where users write a core
//! type (Randman parameters, regularizers, losses, ε mode, Dale init, optimizer) the core's serde
//! type is used as is. `convert` turns the sections into core specs, `data` loads the data sets,
//! `keys` maps the core's field names to TOML keys in error messages.

mod convert;
mod data;
mod keys;

pub use keys::with_toml_keys;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use spikeflux_core::data::randman::RandmanParams;
use spikeflux_core::init::{DaleInit, EpsilonMode};
use spikeflux_core::neuron::{Adaptation, ReadoutParams, StepOrder};
use spikeflux_core::train::loss::{LossKind, Regularizer};
use spikeflux_core::train::optim::OptimizerMethod;
use spikeflux_core::Error;

/// The most sine evaluations a Randman data set may take to generate (about a minute on 2 cores;
/// the paper's shallow experiment takes 2·10⁸).
const MAX_RANDMAN_SINES: f64 = 2e10;

/// The most steps per sample and input channels the data layer holds (`SpikeDataset` packs both
/// into 16 bits).
const MAX_STEPS: usize = 1 << 16;

/// The largest config file read (1 MiB; the shipped ones are 1–3 KB).
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The embedded default experiment (`configs/randman-shallow.toml`).
pub const DEFAULT_CONFIG: &str = include_str!("../../../../configs/randman-shallow.toml");

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
    pub events: Option<EventsConfig>,
}

/// DVS128 Gesture-shaped event recordings (README, "Event-camera files"): a folder of AEDAT 3.1
/// recordings `userNN_*.aedat` with their labels files (IBM's layout, or `data synth-gestures`),
/// split by user, or tonic's `ibmGestureTrain/` and `ibmGestureTest/` folders; each sample through
/// notebook 05's transforms (DropEvent, Downsample, ToFrame at `model.dt`, TimeCrop) once, seeded
/// by the run's seed and the sample, then binarized into `2 × size × size` input channels
/// (polarity-major, then row, then column).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EventsConfig {
    pub dir: PathBuf,
    /// Frame side after downsampling (notebook 05: 32 of the sensor's 128).
    #[serde(default = "default_ev_size")]
    pub size: usize,
    /// The sensor's side.
    #[serde(default = "default_ev_sensor")]
    pub sensor: usize,
    /// Steps per sample (notebook 05: 500 of 2 ms).
    pub n_steps: usize,
    /// DropEvent's probability (notebook 05: 0.5).
    #[serde(default = "default_drop")]
    pub drop_p: f64,
    /// Recordings of users from this one on are the test set (DVS128 Gesture: 24).
    #[serde(default = "default_test_user")]
    pub test_users_from: u32,
    #[serde(default = "default_valid")]
    pub valid_fraction: f64,
    /// Feed each frame's event counts (notebook 05's `ToFrame`, values above 1), or, with
    /// `false`, binarized frames (a unit fires once however many events it had in the window).
    #[serde(default = "yes")]
    pub counts: bool,
    /// Draw DropEvent and the crop anew for every epoch, as stork does on every pass over the
    /// data (`false`: one draw, kept for the whole run).
    #[serde(default = "yes")]
    pub redraw: bool,
    /// Test on one fixed draw of the transforms (the first), the same at every evaluation;
    /// by default each evaluation draws anew, as stork's test does, so the test score is
    /// stochastic.
    #[serde(default)]
    pub deterministic_test: bool,
}

fn yes() -> bool {
    true
}

fn default_ev_size() -> usize {
    32
}
fn default_ev_sensor() -> usize {
    128
}
fn default_drop() -> f64 {
    0.5
}
fn default_test_user() -> u32 {
    24
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
    /// Input as `[channels, positions]` (a line: `[1, 700]` for SHD into a 1-D convolution) or
    /// `[channels, height, width]` (an image: `[2, 32, 32]` for DVS frames into a 2-D convolution);
    /// default `[n_in]` (flat). The data's units are channel-major.
    pub input_shape: Option<Vec<usize>>,
    #[serde(default = "default_beta")]
    pub surrogate_beta: f32,
    /// "reference" (stork's, the default) or "nir" (Norse's and snnTorch's order for NIR graphs).
    #[serde(default)]
    pub step_order: StepOrder,
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
    /// Set for a convolutional layer (then `size` is the number of filters): one number (every
    /// spatial axis), or [rows, columns] on an image.
    pub kernel: Option<PerAxis>,
    #[serde(default = "one_per_axis")]
    pub stride: PerAxis,
    #[serde(default = "zero_per_axis")]
    pub padding: PerAxis,
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

/// A convolution's kernel, stride or padding: one number for every spatial axis, or
/// `[rows, columns]` per axis (images only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum PerAxis {
    /// The same along every axis.
    All(usize),
    /// `[rows, columns]`.
    Each([usize; 2]),
}

impl PerAxis {
    /// The per-axis values for a layer whose input is an image (`[v, v]`) or a line (`[1, v]` for
    /// kernel and stride, `[0, v]` for padding: `line_row`).
    pub fn axes(self, image: bool, line_row: usize) -> [usize; 2] {
        match self {
            PerAxis::All(v) if image => [v, v],
            PerAxis::All(v) => [line_row, v],
            PerAxis::Each(v) => v,
        }
    }
    /// Whether it is the scalar `v`.
    pub fn is(self, v: usize) -> bool {
        self == PerAxis::All(v)
    }
}

impl<'de> Deserialize<'de> for PerAxis {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = PerAxis;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a non-negative integer, or [rows, columns] for an image")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<PerAxis, E> {
                usize::try_from(v).map(PerAxis::All).map_err(|_| E::custom(format!("must be non-negative, got {v}")))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<PerAxis, E> {
                usize::try_from(v).map(PerAxis::All).map_err(|_| E::custom(format!("{v} is too large")))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<PerAxis, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = seq.next_element::<usize>()? {
                    v.push(x);
                }
                match v[..] {
                    [a, b] => Ok(PerAxis::Each([a, b])),
                    _ => Err(serde::de::Error::custom(format!("give [rows, columns] (2 values), got {} values", v.len()))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

fn one_per_axis() -> PerAxis {
    PerAxis::All(1)
}

fn zero_per_axis() -> PerAxis {
    PerAxis::All(0)
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

pub(crate) fn cfg_err(field: &str, msg: impl Into<String>) -> anyhow::Error {
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
        // a config is a few KB: anything past 1 MiB is the wrong file, refused before it is read
        let len = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
        if len > MAX_CONFIG_BYTES {
            return Err(Error::config_found(path.display().to_string(), format!("a TOML config of at most {MAX_CONFIG_BYTES} bytes"), format!("{len} bytes")).into());
        }
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
        let n_sources = [d.randman.is_some(), d.hdf5.is_some(), d.fashion_mnist.is_some(), d.digits.is_some(), d.events.is_some()]
            .iter()
            .filter(|&&x| x)
            .count();
        if n_sources != 1 {
            return Err(cfg_err("data", "give exactly one of [data.randman], [data.hdf5], [data.fashion_mnist], [data.digits], [data.events]"));
        }
        if let Some(e) = &d.events {
            if !(1..=MAX_STEPS).contains(&e.n_steps) {
                return Err(cfg_err("data.events.n_steps", format!("must be 1 to {MAX_STEPS} (the data layer's limit), got {}", e.n_steps)));
            }
            if !(1..=128).contains(&e.size) || !(e.size..=4096).contains(&e.sensor) {
                return Err(cfg_err("data.events.size", format!("frames of 1 to 128 pixels a side from a sensor at least as large (at most 4096), got {} of {}", e.size, e.sensor)));
            }
            if !(0.0..1.0).contains(&e.drop_p) {
                return Err(cfg_err("data.events.drop_p", format!("must be in [0, 1), got {}", e.drop_p)));
            }
            if !(0.0..1.0).contains(&e.valid_fraction) {
                return Err(cfg_err("data.events.valid_fraction", "must be in [0, 1)"));
            }
        }
        let check_code = |sec: &str, n_steps: usize, thr: f64, tau: f64| -> Result<()> {
            if !(1..=MAX_STEPS).contains(&n_steps) {
                return Err(cfg_err(&format!("data.{sec}.n_steps"), format!("must be 1 to {MAX_STEPS} (the data layer's limit), got {n_steps}")));
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
                if !(1..=MAX_STEPS).contains(&h.n_steps) {
                    return Err(cfg_err("data.hdf5.n_steps", format!("must be 1 to {MAX_STEPS} (the data layer's limit), got {}", h.n_steps)));
                }
                if !(1..=MAX_STEPS).contains(&h.n_in) {
                    return Err(cfg_err("data.hdf5.n_in", format!("must be 1 to {MAX_STEPS} input channels (the data layer's limit), got {}", h.n_in)));
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
        if !(t.lr.is_finite() && t.lr > 0.0 && t.lr <= spikeflux_core::train::MAX_LR) {
            return Err(cfg_err("train.lr", format!("must be positive and at most {}, got {}", spikeflux_core::train::MAX_LR, t.lr)));
        }
        for (k, r) in t.regularizer.iter().enumerate() {
            if !(r.strength.is_finite() && r.strength >= 0.0) {
                return Err(cfg_err(&format!("train.regularizer[{k}].strength"), "must be non-negative"));
            }
            if !r.threshold.is_finite() {
                return Err(cfg_err(&format!("train.regularizer[{k}].threshold"), "must be finite"));
            }
        }
        if let Some(shape) = &self.model.input_shape {
            if !(2..=3).contains(&shape.len()) {
                return Err(cfg_err("model.input_shape", format!("give [channels, positions] or [channels, height, width], got {} values", shape.len())));
            }
            if shape.contains(&0) {
                return Err(cfg_err("model.input_shape", "every size must be at least 1"));
            }
            let n_in = self.sizes().0;
            if let Some(n) = n_in {
                let units: u128 = shape.iter().map(|&d| d as u128).product();
                if units != n as u128 {
                    return Err(cfg_err("model.input_shape", format!("{shape:?} has {units} units but the data has {n} input channels")));
                }
            }
        }
        for (l, h) in self.model.hidden.iter().enumerate() {
            if h.kernel.is_none() && !(h.stride.is(1) && h.padding.is(0)) {
                return Err(cfg_err(&format!("model.hidden[{l}].stride"), "stride and padding need `kernel` (a convolutional layer)"));
            }
        }
        let n_in = self.sizes().0.unwrap_or(1);
        self.network_spec(n_in, 2).validate()?;
        Ok(())
    }

    /// Refuses, before anything is allocated or generated, a run whose data generation or network
    /// would not fit `limit` bytes of memory or would take hours; errors name the fields to change.
    pub fn check_resources(&self, limit: Option<f64>) -> Result<()> {
        let gib = |b: f64| b / (1u64 << 30) as f64;
        if let Some(r) = &self.data.randman {
            let (bytes, sines) = r.work();
            if let Some(l) = limit.filter(|&l| bytes > l) {
                return Err(cfg_err(
                    "data.randman",
                    format!(
                        "generating the data set needs {:.1} GiB (n_classes × samples_per_class × n_units × n_spikes spikes) but {:.1} GiB are available; lower samples_per_class, n_units or n_spikes",
                        gib(bytes),
                        gib(l)
                    ),
                ));
            }
            if sines > MAX_RANDMAN_SINES {
                return Err(cfg_err(
                    "data.randman",
                    format!(
                        "generating the data set takes {sines:.1e} sine evaluations (n_classes × samples_per_class × n_units × n_spikes × dim_manifold × Fourier terms), hours on a workstation; the limit is {MAX_RANDMAN_SINES:.0e}: lower samples_per_class, n_units, n_spikes or dim_manifold"
                    ),
                ));
            }
        }
        // (where the data decide the class count, the estimate takes the smallest, 2; the commands
        // check again with the data's through `checked_network_spec`)
        if let (Some(n_in), n_out) = self.sizes() {
            let spec = self.checked_network_spec(n_in, n_out.unwrap_or(2).max(2), limit)?;
            // the activations of one batch: workspaces and gradient slots
            let plan = spikeflux_core::engine::NetworkPlan::new(&spec).map_err(|e| self.data_keys(e))?;
            let n_params = spikeflux_core::network::ParamLayout::new(&plan).total;
            let threads = match self.train.threads {
                0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
                n => n,
            };
            let (steps_key, t_steps) = self.n_steps();
            let need = spikeflux_core::train::estimate_plan_bytes(&plan, n_params, t_steps, self.train.batch_size, threads) as f64;
            if let Some(l) = limit.filter(|&l| need > l) {
                return Err(cfg_err(
                    "train.batch_size",
                    format!(
                        "a batch of {} samples × {t_steps} steps ({steps_key}) needs {:.2} GiB of activations on {threads} threads, but {:.2} GiB are available; lower train.batch_size, {steps_key} or the layer sizes",
                        self.train.batch_size,
                        gib(need),
                        gib(l)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The network for `n_in` inputs and `n_out` classes, refused before anything is allocated when
    /// its weights, gradient and optimizer state would not fit `limit` bytes.
    pub fn checked_network_spec(&self, n_in: usize, n_out: usize, limit: Option<f64>) -> Result<spikeflux_core::network::NetworkSpec> {
        let gib = |b: f64| b / (1u64 << 30) as f64;
        let spec = self.network_spec(n_in, n_out);
        let plan = spikeflux_core::engine::NetworkPlan::new(&spec).map_err(|e| self.data_keys(e))?;
        let n_params = spikeflux_core::network::ParamLayout::new(&plan).total as f64;
        // weights, gradient, three optimizer states
        let bytes = 5.0 * 4.0 * n_params;
        if let Some(l) = limit.filter(|&l| bytes > l) {
            return Err(cfg_err(
                "model.hidden",
                format!(
                    "the network ({n_in} inputs, {n_out} classes) has {n_params:.3e} parameters: {:.1} GiB with gradient and optimizer state, but {:.1} GiB are available; lower the layer sizes",
                    gib(bytes),
                    gib(l)
                ),
            ));
        }
        Ok(spec)
    }

    /// Renames the network's class and input counts (`n_out`, `input`) in a core error to the data
    /// section's keys they come from (`data.randman.n_classes`, ...).
    fn data_keys(&self, mut e: Error) -> Error {
        let d = &self.data;
        let source = if d.randman.is_some() {
            ("data.randman.n_classes", "data.randman.n_units")
        } else if d.hdf5.is_some() {
            ("data.hdf5.n_classes", "data.hdf5.n_in")
        } else {
            ("data", "data")
        };
        if let Error::Config { field, .. } = &mut e {
            match field.as_str() {
                "n_out" => *field = source.0.into(),
                "input" => *field = source.1.into(),
                _ => {}
            }
        }
        e
    }

    /// The steps per sample and the key that sets them.
    fn n_steps(&self) -> (&'static str, usize) {
        let d = &self.data;
        if let Some(r) = &d.randman {
            ("data.randman.n_steps", r.n_steps)
        } else if let Some(h) = &d.hdf5 {
            ("data.hdf5.n_steps", h.n_steps)
        } else if let Some(f) = &d.fashion_mnist {
            ("data.fashion_mnist.n_steps", f.n_steps)
        } else if let Some(f) = &d.digits {
            ("data.digits.n_steps", f.n_steps)
        } else if let Some(e) = &d.events {
            ("data.events.n_steps", e.n_steps)
        } else {
            ("data", 1)
        }
    }

    /// Input channels and classes, where the config alone determines them.
    pub fn sizes(&self) -> (Option<usize>, Option<usize>) {
        let d = &self.data;
        if let Some(r) = &d.randman {
            (Some(r.n_units), Some(r.n_classes))
        } else if let Some(h) = &d.hdf5 {
            (Some(h.n_in), h.n_classes)
        } else if d.fashion_mnist.is_some() {
            (Some(784), Some(10))
        } else if d.digits.is_some() {
            (Some(64), Some(10))
        } else if let Some(e) = &d.events {
            (Some(2 * e.size * e.size), Some(spikeflux_events::gesture::CLASSES.len()))
        } else {
            (None, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shipped config parses, validates and passes the resource check (data files are only
    /// opened when training).
    #[test]
    fn every_config_in_configs_is_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
        let mut n = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                let cfg = RunConfig::load(&p).unwrap_or_else(|e| panic!("{}: {e:#}", p.display()));
                // and fits a 16 GiB machine on 2 threads, data generation, network and activations
                let mut two = cfg.clone();
                two.train.threads = 2;
                two.check_resources(Some(16.0 * (1u64 << 30) as f64)).unwrap_or_else(|e| panic!("{}: {e:#}", p.display()));
                n += 1;
            }
        }
        assert!(n >= 11, "found {n} configs");
    }
}
