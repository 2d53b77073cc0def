//! `spikeflux sweep`: train every combination of a grid of config values and plot the accuracies.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use spikeflux_core::Error;

use crate::config::DEFAULT_CONFIG;
use crate::{grid, plots};

/// Arguments of `spikeflux sweep` (as given; validated by the command).
#[derive(clap::Args)]
pub struct SweepArgs {
    /// Base config (default: the embedded default).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// A swept parameter, `key=v1,v2,...` (dotted config path, or model.depth); repeatable.
    #[arg(long = "param", required = true)]
    pub params: Vec<String>,
    /// Epochs per run (overrides the config).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Runs at a time.
    #[arg(long, default_value_t = 2)]
    pub parallel: usize,
    /// Threads per run.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Output directory.
    #[arg(long, default_value = "sweep")]
    pub out: PathBuf,
}

/// Runs `spikeflux sweep`.
pub fn run(args: SweepArgs) -> Result<()> {
    let SweepArgs { config, params, epochs, parallel, threads, out } = args;
    let (text, base) = match &config {
        Some(p) => (std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?, p.parent().map(Path::to_path_buf).unwrap_or_default()),
        None => (DEFAULT_CONFIG.to_string(), PathBuf::from(".")),
    };
    let base = std::fs::canonicalize(if base.as_os_str().is_empty() { Path::new(".") } else { &base }).unwrap_or(base);
    let axes = params.iter().map(|p| grid::parse_axis(p)).collect::<Result<Vec<_>>>()?;
    let mut extra = vec!["--threads".to_string(), threads.to_string()];
    if let Some(e) = epochs {
        extra.extend(["--epochs".to_string(), e.to_string()]);
    }
    let bin = std::env::current_exe().context("locating the spikeflux binary")?;
    let res = grid::run(&bin, &text, &base, &axes, &extra, &out, parallel)?;
    let acc: Vec<Option<f64>> = res.iter().map(|v| v["test_acc"].as_f64()).collect();
    // parameters given a single value are fixed settings, not axes of the figure
    let axes: Vec<grid::Axis> = axes.into_iter().filter(|a| a.values.len() > 1).collect();
    if axes.is_empty() {
        note!("wrote {}/sweep.jsonl (no varying parameter, no figure)", out.display());
        return Ok(());
    }
    let numeric = |a: &grid::Axis| a.values.iter().all(|v| v.as_float().or(v.as_integer().map(|i| i as f64)).is_some());
    let title = format!("sweep: test accuracy ({} runs)", res.len());
    let fig = grid::figure_path(&out);
    if axes.len() == 2 && numeric(&axes[0]) && numeric(&axes[1]) {
        let nx = axes[1].values.len();
        let grid: Vec<Vec<Option<f64>>> = acc.chunks(nx).map(|c| c.to_vec()).collect();
        plots::sweep_heatmap(&axes[0].key, &grid::labels(&axes[0]), &axes[1].key, &grid::labels(&axes[1]), &grid, &title, &fig)?;
    } else {
        let last = axes.last().context("no parameter")?;
        let nx = last.values.len();
        let names: Vec<String> = if axes.len() == 1 {
            vec!["test accuracy".into()]
        } else {
            res.chunks(nx)
                .map(|c| {
                    axes[..axes.len() - 1]
                        .iter()
                        .map(|a| format!("{}={}", a.key.rsplit('.').next().unwrap_or(&a.key), c[0]["params"][&a.key].as_str().map(String::from).unwrap_or_else(|| c[0]["params"][&a.key].to_string())))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .collect()
        };
        let lines: Vec<(String, Vec<Option<f64>>)> = names.into_iter().zip(acc.chunks(nx).map(|c| c.to_vec())).collect();
        plots::sweep_lines(&last.key, &grid::labels(last), &lines, &title, &fig)?;
    }
    note!("wrote {}/sweep.jsonl and sweep.png", out.display());
    Ok(())
}
