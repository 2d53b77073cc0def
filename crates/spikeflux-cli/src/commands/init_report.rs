//! `spikeflux init-report`: the FD theory against the measured membranes and rates at
//! initialization, per hidden layer (table, `init_report.json`, figures).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::json;
use spikeflux_core::data::files::write_atomic;
use spikeflux_core::data::SpikeDataset;
use spikeflux_core::init::report::LayerReport;
use spikeflux_core::init::ConnectionInit;
use spikeflux_core::network::Network;
use spikeflux_core::Error;

use super::{load_config, set_threads, Overrides};
use crate::config::RunConfig;
use crate::plots;

/// Arguments of `spikeflux init-report` (as given; validated by the command).
#[derive(clap::Args)]
pub struct InitReportArgs {
    /// Config file (default: the embedded default).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Training samples to measure on.
    #[arg(long, default_value_t = 256)]
    pub samples: usize,
    /// Output directory for init_report.json and the figures.
    #[arg(long, default_value = "init-report")]
    pub out: PathBuf,
    /// Worker threads (0 = all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

/// What `spikeflux init-report` computes for a config.
pub struct InitReportRun {
    /// The initialized network (as `spikeflux train` initializes it).
    pub net: Network,
    /// The weight moments drawn per connection.
    pub inits: Vec<ConnectionInit>,
    /// The presynaptic rate the initializer assumed per layer (Hz).
    pub nus: Vec<f64>,
    /// Theory against measurement per hidden layer.
    pub layers: Vec<LayerReport>,
    /// The training data measured on.
    pub train: SpikeDataset,
    /// The summary written as `init_report.json`.
    pub summary: serde_json::Value,
}

/// Initializes the network of `cfg` (files relative to `base`) and measures it on the first
/// `samples` training samples against the FD theory.
pub fn report(cfg: &RunConfig, base: &Path, samples: usize) -> Result<InitReportRun> {
    let data = cfg.load_data(base)?;
    let spec = cfg.checked_network_spec(data.train.n_in, data.train.n_classes, super::memory_limit(cfg))?;
    let layers = spec.hidden.len();
    let (net, inits, measured) = super::initialized_network(cfg, spec, &data.train, cfg.train.seed, std::sync::Arc::new(spikeflux_core::train::Solo))?;
    let nus = measured.unwrap_or_else(|| vec![cfg.fd_target().map(|t| t.nu).unwrap_or(0.0); layers + 1]);
    let eps = cfg.init.epsilon;
    let rep = spikeflux_core::init::report::init_report(&net, &data.train, samples, &inits, &nus, eps);
    let summary = json!({
        "config": cfg.name,
        "samples": samples.min(data.train.len()),
        "nu_assumed_hz": nus,
        "layers": rep.iter().map(|r| json!({
            "layer": r.layer,
            "presynaptic_rate_hz": r.presynaptic_rate_hz,
            "predicted": { "mean": r.predicted.0, "sd": r.predicted.1 },
            "predicted_measured_nu": { "mean": r.predicted_measured_nu.0, "sd": r.predicted_measured_nu.1 },
            "free": { "mean": r.free.0, "sd": r.free.1 },
            "reset": { "mean": r.reset.0, "sd": r.reset.1 },
            "rate_hz": r.rate_hz,
            "silent_fraction": r.silent_fraction,
        })).collect::<Vec<_>>(),
        "connections": inits.iter().map(|c| json!({ "name": c.name, "fan_in": c.fan_in, "mean": c.mean, "std": c.std })).collect::<Vec<_>>(),
    });
    Ok(InitReportRun { net, inits, nus, layers: rep, train: data.train, summary })
}

/// Runs `spikeflux init-report`.
pub fn run(args: InitReportArgs) -> Result<()> {
    let InitReportArgs { config, samples, out, threads } = args;
    let ov = Overrides { threads, ..Default::default() };
    let (cfg, base) = load_config(config.as_deref(), &ov)?;
    set_threads(cfg.train.threads)?;
    let InitReportRun { net, inits, nus, layers: rep, train, summary: v } = report(&cfg, &base, samples)?;
    say!("{}: initialization report on {} training samples (θ = 1)", cfg.name, samples.min(train.len()));
    say!("| layer | ν assumed (Hz) | ν measured (Hz) | predicted μ_U, σ_U | predicted with measured ν | free μ_U, σ_U | with reset μ_U, σ_U | rate (Hz) | silent |");
    say!("|---|---|---|---|---|---|---|---|---|");
    for r in &rep {
        say!(
            "| {} | {:.2} | {:.2} | {:+.3}, {:.3} | {:+.3}, {:.3} | {:+.3}, {:.3} | {:+.3}, {:.3} | {:.2} | {:.1} % |",
            r.layer,
            nus[r.layer - 1],
            r.presynaptic_rate_hz,
            r.predicted.0,
            r.predicted.1,
            r.predicted_measured_nu.0,
            r.predicted_measured_nu.1,
            r.free.0,
            r.free.1,
            r.reset.0,
            r.reset.1,
            r.rate_hz,
            100.0 * r.silent_fraction
        );
    }
    say!("\n| connection | fan-in | mean | σ_w |\n|---|---|---|---|");
    for c in &inits {
        say!("| {} | {} | {:+.5} | {:.5} |", c.name, c.fan_in, c.mean, c.std);
    }
    std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
    write_atomic(&out.join("init_report.json"), serde_json::to_string_pretty(&v).context("formatting")?.as_bytes())?;
    // one panel per tensor, with the normal the initializer drew from; a Dale layer's six
    // connections as separate panels (non-negative draws, so no normal curve)
    let mut weights: Vec<plots::HistPanel> = Vec::new();
    let mut entry = inits.iter();
    for t in net.tensors() {
        // a Dale layer's tensors hold its six connections as blocks: one panel per connection, at
        // the layer's feed-forward tensor
        let layer = (0..net.plan.geoms.len()).find(|&l| net.layout.ff[l] == t.range || net.layout.rec[l].as_ref() == Some(&t.range));
        if let Some((l, blocks)) = layer.and_then(|l| Some((l, net.dale_blocks(l)?))) {
            if net.layout.ff[l] == t.range {
                for (conn, values) in blocks {
                    let title = match inits.iter().find(|c| c.layer == Some(l) && c.dale == Some(conn)) {
                        Some(c) => format!("{} mean {:.4}", c.name, c.mean),
                        None => format!("hidden.{l}.{}", conn.name()),
                    };
                    weights.push((title, "weight".to_string(), values, vec![]));
                }
            }
            continue;
        }
        let Some(c) = entry.find(|c| c.name == t.name) else { continue };
        weights.push((format!("{} (fan-in {})", t.name, c.fan_in), "weight".to_string(), net.params[t.range].to_vec(), vec![("init N(μ_w, σ_w²)".to_string(), c.mean, c.std)]));
    }
    plots::histograms(&weights, &format!("{}: initial weights", cfg.name), &out.join("weights.png"))?;
    let mem: Vec<_> = rep
        .iter()
        .map(|r| {
            (
                format!("layer {}: free membrane", r.layer),
                "U (θ = 1)".to_string(),
                r.free_sample.clone(),
                vec![
                    ("theory, assumed ν".to_string(), r.predicted.0, r.predicted.1.max(1e-6)),
                    ("theory, measured ν".to_string(), r.predicted_measured_nu.0, r.predicted_measured_nu.1.max(1e-6)),
                ],
            )
        })
        .collect();
    plots::histograms(&mem, &format!("{}: membrane at initialization vs FD theory", cfg.name), &out.join("membrane.png"))?;
    plots::activity_snapshot(&net, &train, 5, &format!("{}: activity at initialization", cfg.name), &out.join("snapshot.png"))?;
    note!("wrote {}/init_report.json, weights.png, membrane.png, snapshot.png", out.display());
    Ok(())
}
