//! One module per subcommand: its arguments as given on the command line (`…Args`, clap) and the
//! `run` that validates them into settings (a [`RunConfig`] and its overrides) and carries them out;
//! and the few helpers several commands share.

pub mod audio2spikes;
pub mod data;
pub mod eval;
pub mod fig1;
pub mod init_report;
pub mod sweep;
pub mod train;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::config::{RunConfig, DEFAULT_CONFIG};

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
    Ok((cfg, base))
}

/// Starts the global worker pool with `n` threads (0 = all cores).
pub fn set_threads(n: usize) -> Result<()> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if n > 0 {
        b = b.num_threads(n);
    }
    b.build_global().context("starting the worker threads")?;
    Ok(())
}
