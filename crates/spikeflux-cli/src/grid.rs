//! `spikeflux sweep`: train every combination of a grid of config values, as separate `spikeflux
//! train` processes (`--parallel` at a time, each with `--threads` threads), and collect one JSON
//! line per run plus a figure (lines over the last numeric parameter, or a heatmap for two numeric
//! parameters). Under `mpirun` the runs are dealt out over the ranks (run `k` on rank `k mod K`);
//! for Slurm, a job-array script trains one run per task and `--collect` gathers them.
//!
//! Parameters are dotted config paths (`init.method`, `init.sigma_u`, `init.mu_u`, `init.xi`,
//! `train.lr`, ...) plus `model.depth`, which repeats the first `[[model.hidden]]` table.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

/// One swept parameter: its path and values (TOML literals).
#[derive(Debug, Clone)]
pub struct Axis {
    /// Dotted path.
    pub key: String,
    /// Values as TOML values.
    pub values: Vec<toml::Value>,
}

/// Parses `key=v1,v2,...`; values are TOML literals (numbers, booleans) or bare strings.
pub fn parse_axis(s: &str) -> Result<Axis> {
    let (key, vals) = s.split_once('=').with_context(|| format!("`{s}`: write --param key=value1,value2"))?;
    let values = vals
        .split(',')
        .map(|v| {
            let v = v.trim();
            v.parse::<i64>()
                .map(toml::Value::Integer)
                .or_else(|_| v.parse::<f64>().map(toml::Value::Float))
                .or_else(|_| v.parse::<bool>().map(toml::Value::Boolean))
                .unwrap_or_else(|_| toml::Value::String(v.to_string()))
        })
        .collect::<Vec<_>>();
    if key.trim().is_empty() || values.is_empty() {
        bail!("`{s}`: write --param key=value1,value2");
    }
    Ok(Axis { key: key.trim().to_string(), values })
}

fn set(doc: &mut toml::Value, key: &str, v: &toml::Value) -> Result<()> {
    if key == "model.depth" {
        let n = v.as_integer().filter(|&n| n >= 1).with_context(|| "model.depth must be a positive integer")? as usize;
        let hidden = doc
            .get_mut("model")
            .and_then(|m| m.get_mut("hidden"))
            .and_then(|h| h.as_array_mut())
            .with_context(|| "model.depth needs at least one [[model.hidden]] table")?;
        let first = hidden.first().cloned().with_context(|| "no [[model.hidden]] table")?;
        *hidden = vec![first; n];
        return Ok(());
    }
    let mut cur = doc;
    let parts: Vec<&str> = key.split('.').collect();
    for p in &parts[..parts.len() - 1] {
        cur = cur
            .as_table_mut()
            .with_context(|| format!("{key}: not a table"))?
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(Default::default()));
    }
    let last = parts[parts.len() - 1];
    let table = cur.as_table_mut().with_context(|| format!("{key}: not a table"))?;
    // a float written where the config has an integer (or the reverse) keeps the config's type
    let v = match (table.get(last), v) {
        (Some(toml::Value::Float(_)), toml::Value::Integer(i)) => toml::Value::Float(*i as f64),
        _ => v.clone(),
    };
    table.insert(last.to_string(), v);
    // the centered and the general FD forms exclude each other
    if key == "init.mu_u" || key == "init.xi" {
        table.remove("sigma_u");
    }
    if key == "init.sigma_u" {
        table.remove("mu_u");
        table.remove("xi");
    }
    Ok(())
}

fn show(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One point of the grid: its index, run directory, config file and parameter values.
#[derive(Debug, Clone)]
pub struct Job {
    /// Index in the grid (last axis fastest).
    pub k: usize,
    /// Run directory `out/runNNN`.
    pub dir: PathBuf,
    /// Its config, `dir/config.toml`.
    pub cfg: PathBuf,
    /// The swept keys and their values at this point.
    pub params: serde_json::Map<String, Value>,
}

/// The grid's points in order; with `write`, creates `out/runNNN/config.toml` for each (the
/// base config with the point's values, relative data paths made absolute).
pub fn prepare(base_text: &str, base_dir: &Path, axes: &[Axis], out: &Path, write: bool) -> Result<Vec<Job>> {
    if write {
        std::fs::create_dir_all(out).map_err(|e| spikeflux_core::Error::io(out, e))?;
    }
    let base: toml::Value = toml::from_str(base_text).context("parsing the base config")?;
    // all combinations, last axis fastest
    let mut combos: Vec<Vec<usize>> = vec![vec![]];
    for a in axes {
        combos = combos.into_iter().flat_map(|c| (0..a.values.len()).map(move |i| [c.clone(), vec![i]].concat())).collect();
    }
    let mut jobs = Vec::new();
    for (k, c) in combos.iter().enumerate() {
        let mut doc = base.clone();
        for (a, &i) in axes.iter().zip(c) {
            set(&mut doc, &a.key, &a.values[i])?;
        }
        // relative data paths keep pointing where the base config's did
        if let Some(h) = doc.get_mut("data").and_then(|d| d.get_mut("hdf5")).and_then(|h| h.as_table_mut()) {
            for f in ["train_file", "test_file", "valid_file"] {
                if let Some(toml::Value::String(p)) = h.get(f) {
                    let p = Path::new(p);
                    if p.is_relative() {
                        h.insert(f.into(), toml::Value::String(base_dir.join(p).display().to_string()));
                    }
                }
            }
        }
        if let Some(d) = doc.get_mut("data").and_then(|d| d.get_mut("digits")).and_then(|h| h.as_table_mut()) {
            if let Some(toml::Value::String(p)) = d.get("file") {
                if Path::new(p).is_relative() {
                    let abs = base_dir.join(p).display().to_string();
                    d.insert("file".into(), toml::Value::String(abs));
                }
            }
        }
        let dir = out.join(format!("run{k:03}"));
        let cfg = dir.join("config.toml");
        if write {
            std::fs::create_dir_all(&dir).map_err(|e| spikeflux_core::Error::io(&dir, e))?;
            std::fs::write(&cfg, toml::to_string(&doc).context("writing a sweep config")?).map_err(|e| spikeflux_core::Error::io(&cfg, e))?;
        }
        let params: serde_json::Map<String, Value> = axes
            .iter()
            .zip(c)
            .map(|(a, &i)| (a.key.clone(), serde_json::to_value(&a.values[i]).unwrap_or(Value::Null)))
            .collect();
        jobs.push(Job { k, dir, cfg, params });
    }
    Ok(jobs)
}

/// Trains `jobs` as separate `spikeflux train` processes, `parallel` at a time, each with `extra`
/// arguments and its standard error in `dir/stderr.txt`; the children run as processes of their
/// own even when this one is an MPI rank. `done(job)` is called as each ends.
pub fn train(bin: &Path, jobs: &[&Job], extra: &[String], parallel: usize, done: &mut dyn FnMut(&Job)) -> Result<()> {
    for chunk in jobs.chunks(parallel.max(1)) {
        let children: Vec<_> = chunk
            .iter()
            .map(|j| {
                let mut cmd = Command::new(bin);
                cmd.arg("train").arg("--config").arg(&j.cfg).arg("--out").arg(&j.dir).args(extra);
                crate::parallel::detach(&mut cmd);
                cmd.stdout(std::process::Stdio::null()).stderr(std::fs::File::create(j.dir.join("stderr.txt")).map(Into::into).unwrap_or(std::process::Stdio::null()));
                cmd.spawn()
            })
            .collect();
        for (child, j) in children.into_iter().zip(chunk) {
            child.with_context(|| "starting spikeflux train")?.wait().context("waiting for a run")?;
            done(j);
        }
    }
    Ok(())
}

/// What a run left in its directory, as the line of `sweep.jsonl`: `ok` when its log ends with
/// the final summary, else the last line of its standard error.
pub fn result(j: &Job) -> Value {
    let log = std::fs::read_to_string(j.dir.join("log.jsonl")).unwrap_or_default();
    let fin: Value = log.lines().last().and_then(|l| serde_json::from_str(l).ok()).unwrap_or(Value::Null);
    let ok = fin.get("final") == Some(&Value::Bool(true));
    let err = std::fs::read_to_string(j.dir.join("stderr.txt")).unwrap_or_default();
    json!({
        "run": j.k,
        "params": j.params,
        "ok": ok,
        "test_acc": fin.get("test_acc"),
        "test_loss": fin.get("test_loss"),
        "valid_acc": fin.get("valid_acc"),
        "initial_rates_hz": fin.get("initial_rates_hz"),
        "final_rates_hz": fin.get("final_rates_hz"),
        "error": (!ok).then(|| err.lines().last().unwrap_or("no log: the run did not start or was not run yet").to_string()),
        "dir": j.dir.display().to_string(),
    })
}

/// The line of progress for a finished run.
pub fn report(j: &Job, total: usize) {
    let v = result(j);
    note!(
        "[{}/{}] {} → {}",
        j.k + 1,
        total,
        j.params.iter().map(|(k, x)| format!("{k}={x}")).collect::<Vec<_>>().join(" "),
        if v["ok"] == true { format!("test acc {:.2} %", 100.0 * v["test_acc"].as_f64().unwrap_or(f64::NAN)) } else { "failed".into() }
    );
}

/// Writes `out/sweep.jsonl` from the run directories; returns its lines.
pub fn collect(jobs: &[Job], out: &Path) -> Result<Vec<Value>> {
    use std::io::Write;
    let res: Vec<Value> = jobs.iter().map(result).collect();
    let mut text = Vec::new();
    for v in &res {
        writeln!(text, "{v}").context("writing sweep.jsonl")?;
    }
    spikeflux_core::data::files::write_atomic(&out.join("sweep.jsonl"), &text)?;
    Ok(res)
}

/// A Slurm job-array script that trains point `$SLURM_ARRAY_TASK_ID` of `jobs` (whose configs
/// [`prepare`] wrote) with `threads` CPUs per task and `extra` arguments.
pub fn slurm_script(bin: &Path, jobs: &[Job], out: &Path, threads: usize, extra: &[String], collect_cmd: &str) -> String {
    let q = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let extra: Vec<String> = extra.iter().map(|e| q(e)).collect();
    format!(
        "#!/bin/bash\n\
# spikeflux sweep: {n} runs as a Slurm job array, one run per task (written by spikeflux sweep --slurm).\n\
# Submit with: sbatch {script}\n\
# When all tasks are done, collect sweep.jsonl and sweep.png with:\n\
#   {collect_cmd}\n\
#SBATCH --job-name=spikeflux-sweep\n\
#SBATCH --array=0-{last}\n\
#SBATCH --ntasks=1\n\
#SBATCH --cpus-per-task={threads}\n\
#SBATCH --output={out}/run%3a/slurm-%A_%a.txt\n\
set -euo pipefail\n\
dir=$(printf '%s/run%03d' {qout} \"$SLURM_ARRAY_TASK_ID\")\n\
if [ ! -f \"$dir/config.toml\" ]; then\n\
  echo \"no config for array task $SLURM_ARRAY_TASK_ID in $dir (the sweep has {n} runs, 0-{last})\" >&2\n\
  exit 2\n\
fi\n\
# a run that was cut short (time limit, preemption) continues from its checkpoint when resubmitted\n\
resume=()\n\
if [ -f \"$dir/checkpoint.safetensors\" ]; then resume=(--resume); fi\n\
exec {bin} train --config \"$dir/config.toml\" --out \"$dir\" {extra} \"${{resume[@]}}\" 2> >(tee \"$dir/stderr.txt\" >&2)\n",
        n = jobs.len(),
        last = jobs.len().saturating_sub(1),
        script = out.join("sweep.sbatch").display(),
        out = out.display(),
        qout = q(&out.display().to_string()),
        bin = q(&bin.display().to_string()),
        extra = extra.join(" "),
    )
}

/// Labels of an axis's values, for figures.
pub fn labels(a: &Axis) -> Vec<String> {
    a.values.iter().map(show).collect()
}

/// Where the figure goes.
pub fn figure_path(out: &Path) -> PathBuf {
    out.join("sweep.png")
}
