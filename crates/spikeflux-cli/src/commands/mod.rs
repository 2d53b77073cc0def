//! One module per subcommand: its arguments as given on the command line (`…Args`, clap) and the
//! `run` that validates them into settings (a [`RunConfig`] and its overrides) and carries them out;
//! and the few helpers several commands share.

pub mod audio2spikes;
pub mod data;
pub mod eval;
pub mod fig1;
pub mod init_report;
pub mod nir;
pub mod sweep;
pub mod train;

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::config::{RunConfig, DEFAULT_CONFIG};
use spikeflux_core::Error;

/// Run settings that override the config file.
#[derive(clap::Args, Clone, Default)]
pub struct Overrides {
    /// Override train.epochs.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Override train.seed (shuffling and weight init).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (0 = all cores); results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Override train.batch_size.
    #[arg(long)]
    pub batch_size: Option<usize>,
}

/// The config at `path` (or the embedded default) with the overrides applied, validated, and the
/// directory its relative paths start from.
pub fn load_config(path: Option<&Path>, ov: &Overrides) -> Result<(RunConfig, PathBuf)> {
    let (mut cfg, base) = match path {
        Some(p) => (RunConfig::load(p)?, p.parent().map(Path::to_path_buf).unwrap_or_default()),
        None => (RunConfig::parse(DEFAULT_CONFIG, "<embedded randman-shallow.toml>")?, PathBuf::from(".")),
    };
    if let Some(e) = ov.epochs {
        cfg.train.epochs = e;
    }
    if let Some(s) = ov.seed {
        cfg.train.seed = s;
    }
    if let Some(t) = ov.threads {
        cfg.train.threads = t;
    }
    if let Some(b) = ov.batch_size {
        cfg.train.batch_size = b;
    }
    cfg.validate()?;
    cfg.check_resources(memory_limit(&cfg))?;
    Ok((cfg, base))
}

/// The memory a run may use, in bytes: `train.max_memory_gib`, else 90 % of what the kernel reports
/// as available (if it can be read).
pub fn memory_limit(cfg: &RunConfig) -> Option<f64> {
    cfg.train.max_memory_gib.map(|g| g * (1u64 << 30) as f64).or_else(available_memory)
}

/// 90 % of the memory the kernel reports as available, if it can be read.
pub fn available_memory() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: f64 = text.lines().find(|l| l.starts_with("MemAvailable:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(0.9 * kb * 1024.0)
}

/// Starts the global worker pool with `n` threads (0 = all cores). A process starts it once: a
/// later call (a second run from Python) is fine when it asks for the pool that runs, and an
/// error naming both counts when not.
pub fn set_threads(n: usize) -> Result<()> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if n > 0 {
        b = b.num_threads(n);
    }
    if let Err(e) = b.build_global() {
        let running = rayon::current_num_threads();
        if n != 0 && n != running {
            return Err(Error::config(
                "train.threads",
                format!("this process already runs {running} worker threads and cannot start {n} ({e}); give threads = {running} or 0, or start a new process"),
            )
            .into());
        }
    }
    Ok(())
}

/// The network of `cfg` initialized as `spikeflux train` initializes it with `seed`: the FD init
/// from the config's rate, or with `init.nu = "data"` from the rates measured on the first 512
/// samples of `train`; returns the network, the moments drawn per connection and the measured
/// rates (input, then each hidden layer; `None` unless measured). The measurement is spread over
/// `group` (every rank gets the same network).
pub fn initialized_network(
    cfg: &crate::config::RunConfig,
    spec: spikeflux_core::network::NetworkSpec,
    train: &spikeflux_core::data::SpikeDataset,
    seed: u64,
    group: std::sync::Arc<dyn spikeflux_core::train::Group>,
) -> Result<(spikeflux_core::network::Network, Vec<spikeflux_core::init::ConnectionInit>, Option<Vec<f64>>)> {
    if cfg.nu_from_data() {
        let opts = spikeflux_core::engine::EngineOptions::default();
        let (net, inits, rates) = spikeflux_core::init::nu::init_from_data_in(group, spec, &cfg.init_spec()?, seed, train, 512, &opts, &cfg.objective())?;
        Ok((net, inits, Some(rates)))
    } else {
        let (net, inits) = spikeflux_core::network::Network::initialized(spec, &cfg.init_spec()?, seed)?;
        Ok((net, inits, None))
    }
}
