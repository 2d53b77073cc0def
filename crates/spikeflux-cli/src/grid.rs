//! `spikeflux sweep`: train every combination of a grid of config values, as separate `spikeflux
//! train` processes (`--parallel` at a time, each with `--threads` threads), and collect one JSON
//! line per run plus a figure (lines over the last numeric parameter, or a heatmap for two numeric
//! parameters).
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

/// Runs the sweep; returns the JSON objects written.
pub fn run(
    bin: &Path,
    base_text: &str,
    base_dir: &Path,
    axes: &[Axis],
    extra: &[String],
    out: &Path,
    parallel: usize,
) -> Result<Vec<Value>> {
    std::fs::create_dir_all(out).map_err(|e| spikeflux_core::Error::io(out, e))?;
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
        std::fs::create_dir_all(&dir).map_err(|e| spikeflux_core::Error::io(&dir, e))?;
        let cfg = dir.join("config.toml");
        std::fs::write(&cfg, toml::to_string(&doc).context("writing a sweep config")?).map_err(|e| spikeflux_core::Error::io(&cfg, e))?;
        let params: serde_json::Map<String, Value> = axes
            .iter()
            .zip(c)
            .map(|(a, &i)| (a.key.clone(), serde_json::to_value(&a.values[i]).unwrap_or(Value::Null)))
            .collect();
        jobs.push((k, dir, cfg, params));
    }
    let total = jobs.len();
    let mut results: Vec<Option<Value>> = vec![None; total];
    let mut lines = std::fs::File::create(out.join("sweep.jsonl")).map_err(|e| spikeflux_core::Error::io(out, e))?;
    for chunk in jobs.chunks(parallel.max(1)) {
        let children: Vec<_> = chunk
            .iter()
            .map(|(k, dir, cfg, _)| {
                let mut cmd = Command::new(bin);
                cmd.arg("train").arg("--config").arg(cfg).arg("--out").arg(dir).args(extra);
                cmd.stdout(std::process::Stdio::null()).stderr(std::fs::File::create(dir.join("stderr.txt")).map(Into::into).unwrap_or(std::process::Stdio::null()));
                (*k, cmd.spawn())
            })
            .collect();
        for ((k, child), (_, dir, _, params)) in children.into_iter().zip(chunk) {
            let status = child.with_context(|| "starting spikeflux train")?.wait().context("waiting for a run")?;
            let log = std::fs::read_to_string(dir.join("log.jsonl")).unwrap_or_default();
            let fin: Value = log.lines().last().and_then(|l| serde_json::from_str(l).ok()).unwrap_or(Value::Null);
            let err = std::fs::read_to_string(dir.join("stderr.txt")).unwrap_or_default();
            let v = json!({
                "run": k,
                "params": params,
                "ok": status.success(),
                "test_acc": fin.get("test_acc"),
                "test_loss": fin.get("test_loss"),
                "valid_acc": fin.get("valid_acc"),
                "initial_rates_hz": fin.get("initial_rates_hz"),
                "final_rates_hz": fin.get("final_rates_hz"),
                "error": (!status.success()).then(|| err.lines().last().unwrap_or("").to_string()),
                "dir": dir.display().to_string(),
            });
            use std::io::Write;
            writeln!(lines, "{v}").context("writing sweep.jsonl")?;
            note!(
                "[{}/{}] {} → {}",
                k + 1,
                total,
                axes.iter().map(|a| format!("{}={}", a.key, params.get(&a.key).map(|x| x.to_string()).unwrap_or_default())).collect::<Vec<_>>().join(" "),
                if status.success() { format!("test acc {:.2} %", 100.0 * v["test_acc"].as_f64().unwrap_or(f64::NAN)) } else { "failed".into() }
            );
            results[k] = Some(v);
        }
    }
    Ok(results.into_iter().flatten().collect())
}

/// Labels of an axis's values, for figures.
pub fn labels(a: &Axis) -> Vec<String> {
    a.values.iter().map(show).collect()
}

/// Where the figure goes.
pub fn figure_path(out: &Path) -> PathBuf {
    out.join("sweep.png")
}
