//! `spikeflux sweep`: train every combination of a grid of config values and plot the accuracies;
//! spread over the ranks under `mpirun`, or written as a Slurm job array (`--slurm`) whose results
//! `--collect` gathers.

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
    /// Do not train: write the runs' configs and a Slurm job-array script here (one run per task,
    /// `--threads` CPUs each), to submit with `sbatch FILE`; then gather with `--collect`.
    #[arg(long, conflicts_with = "collect")]
    pub slurm: Option<PathBuf>,
    /// Do not train: gather the runs already in `--out` (from a Slurm array, or an interrupted
    /// sweep) into sweep.jsonl and sweep.png.
    #[arg(long)]
    pub collect: bool,
}

/// Runs `spikeflux sweep`.
pub fn run(args: SweepArgs) -> Result<()> {
    let SweepArgs { config, params, epochs, parallel, threads, out, slurm, collect } = args;
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
    // under mpirun, run k on rank k mod K; rank 0 writes the configs before and the results after
    let group = crate::parallel::group()?;
    let (rank, ranks) = (group.rank(), group.size());
    if ranks > 1 {
        crate::io::set_rank(rank);
    }
    let jobs = grid::prepare(&text, &base, &axes, &out, rank == 0 && !collect)?;
    if let Some(script) = &slurm {
        let out_abs = std::fs::canonicalize(&out).unwrap_or(out.clone());
        let mut collect_cmd = format!("{} sweep", bin.display());
        if let Some(c) = &config {
            collect_cmd += &format!(" --config {}", std::fs::canonicalize(c).unwrap_or(c.clone()).display());
        }
        for p in &params {
            collect_cmd += &format!(" --param '{p}'");
        }
        collect_cmd += &format!(" --out {} --collect", out_abs.display());
        let text = grid::slurm_script(&bin, &jobs, &out_abs, threads, &extra, &collect_cmd);
        spikeflux_core::data::files::write_atomic(script, text.as_bytes())?;
        say!("wrote {} ({} runs as a Slurm job array); submit with: sbatch {}", script.display(), jobs.len(), script.display());
        note!("when all tasks are done: {collect_cmd}");
        group.close();
        return Ok(());
    }
    if !collect {
        group.any(false)?; // the configs are written before any rank starts a run
        let mine: Vec<&grid::Job> = jobs.iter().filter(|j| j.k % ranks == rank).collect();
        grid::train(&bin, &mine, &extra, parallel, &mut |j| grid::report(j, jobs.len()))?;
        group.any(false)?; // every run is done before rank 0 reads them
    }
    group.close();
    if rank != 0 {
        return Ok(());
    }
    let res = grid::collect(&jobs, &out)?;
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
