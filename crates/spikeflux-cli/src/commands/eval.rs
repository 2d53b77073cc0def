//! `spikeflux eval`: saved weights on the config's test set, as JSON. Under `mpirun` the batches
//! are spread over the ranks as in training, and rank 0 prints the single-process result.

use std::path::PathBuf;

use anyhow::Result;
use serde_json::json;
use spikeflux_core::engine::EngineOptions;
use spikeflux_core::network::Network;
use spikeflux_core::train::checkpoint;
use spikeflux_core::train::evaluate_in;

use super::{load_config, set_threads, Overrides};

/// Arguments of `spikeflux eval` (as given; validated by the command).
#[derive(clap::Args)]
pub struct EvalArgs {
    /// Config file the weights were trained with (default: the embedded default).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Weights file (safetensors) written by `spikeflux train`.
    #[arg(long)]
    pub weights: PathBuf,
    /// Worker threads (0 = all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Runs `spikeflux eval`.
pub fn run(args: EvalArgs) -> Result<()> {
    let EvalArgs { config, weights, threads } = args;
    let ov = Overrides { threads, ..Default::default() };
    let (cfg, base) = load_config(config.as_deref(), &ov)?;
    set_threads(cfg.train.threads)?;
    let group = crate::parallel::group()?;
    if group.size() > 1 {
        crate::io::set_rank(group.rank());
    }
    let data = cfg.load_data(&base)?;
    let spec = cfg.checked_network_spec(data.test.n_in, data.test.n_classes, super::memory_limit(&cfg))?;
    let mut net = Network::zeros(spec)?;
    checkpoint::load(&mut net, &weights)?;
    let m = evaluate_in(group.clone(), &net, &EngineOptions::default(), &cfg.objective(), &data.test, cfg.train.batch_size)?;
    group.close();
    say!("{}", json!({ "test_acc": m.acc, "test_loss": m.loss(), "test_ce": m.ce, "samples": m.samples, "rates_hz": m.rates_hz }));
    Ok(())
}
