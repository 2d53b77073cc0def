//! `spikeflux`: train and evaluate spiking neural networks from TOML configs.

mod audio2spikes;
mod config;
mod fetch;
mod plots;
mod sweep;

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use spikeflux_core::checkpoint;
use spikeflux_core::network::Network;
use spikeflux_core::train::{evaluate, Metrics, TrainOptions, Trainer};
use spikeflux_core::Error;

use config::{RunConfig, DEFAULT_CONFIG};

#[derive(Parser)]
#[command(name = "spikeflux", version, about = "Train spiking neural networks with surrogate gradients and fluctuation-driven initialization")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Args, Clone)]
struct Overrides {
    /// Override train.epochs.
    #[arg(long)]
    epochs: Option<usize>,
    /// Override train.seed (shuffling and weight init).
    #[arg(long)]
    seed: Option<u64>,
    /// Worker threads (0 = all cores); results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Override train.batch_size.
    #[arg(long)]
    batch_size: Option<usize>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Train a network. Without --config, runs the paper's shallow Randman experiment.
    Train {
        /// Config file (TOML); see the README's config reference.
        #[arg(long)]
        config: Option<PathBuf>,
        #[command(flatten)]
        ov: Overrides,
        /// Write one JSON object per epoch and a final summary object to this file.
        #[arg(long)]
        log: Option<PathBuf>,
        /// Output directory for weights, log and summary (default: `runs/<name>-seed<seed>`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Continue an interrupted run from DIR/checkpoint.safetensors (written after every epoch);
        /// the config must be the same. The result is identical to an uninterrupted run.
        #[arg(long)]
        resume: bool,
        /// Load the data, initialize and print the initial statistics and memory estimate, then stop.
        #[arg(long)]
        dry_run: bool,
        /// Write PNG figures here: learning curves and activity snapshots before and after training.
        #[arg(long)]
        plots: Option<PathBuf>,
    },
    /// Evaluate saved weights on the config's test set.
    Eval {
        /// Config file the weights were trained with (default: the embedded default).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Weights file (safetensors) written by `spikeflux train`.
        #[arg(long)]
        weights: PathBuf,
        /// Worker threads (0 = all cores).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Initialization report: per layer, the membrane mean and s.d. the FD theory predicts against
    /// those measured on data (free membrane and with reset), firing rates, silent neurons, σ_w per
    /// connection; a table on stdout, init_report.json and PNG figures in --out.
    InitReport {
        /// Config file (default: the embedded default).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Training samples to measure on.
        #[arg(long, default_value_t = 256)]
        samples: usize,
        /// Output directory for init_report.json and the figures.
        #[arg(long, default_value = "init-report")]
        out: PathBuf,
        /// Worker threads (0 = all cores).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Reproduce the panels of the paper's Fig. 1 (spec §4.1): N = 5000 Poisson inputs at 3 Hz,
    /// dt = 1 ms, τ 20/10 ms, FD weights with μ_U = 0 and ξ = 1, 2, 3; free and reset membrane
    /// histograms against the theory. Writes fig1.png and fig1.json.
    Fig1 {
        /// Output directory.
        #[arg(long, default_value = "fig1")]
        out: PathBuf,
        /// Neurons simulated per ξ (statistics are pooled over them).
        #[arg(long, default_value_t = 256)]
        neurons: usize,
        /// Simulated time in seconds.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Seed of the inputs and weights.
        #[arg(long, default_value_t = 2020)]
        seed: u64,
    },
    /// Train every combination of a grid of config values (separate processes) and collect the test
    /// accuracies: sweep.jsonl (one line per run) and sweep.png (lines over the last parameter, or a
    /// heatmap for two numeric parameters).
    Sweep {
        /// Base config (default: the embedded default).
        #[arg(long)]
        config: Option<PathBuf>,
        /// A swept parameter, `key=v1,v2,...` (dotted config path, or model.depth); repeatable.
        #[arg(long = "param", required = true)]
        params: Vec<String>,
        /// Epochs per run (overrides the config).
        #[arg(long)]
        epochs: Option<usize>,
        /// Runs at a time.
        #[arg(long, default_value_t = 2)]
        parallel: usize,
        /// Threads per run.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Output directory.
        #[arg(long, default_value = "sweep")]
        out: PathBuf,
    },
    /// Convert audio recordings (mono WAV 8–192 kHz, 8–32-bit integer or float; FLAC) into one spike
    /// file in the SHD layout through the cochlea model behind SHD (basilar membrane, hair cells,
    /// auditory-nerve fibres, bushy cells; 700 channels). Audio is resampled to 48 kHz first.
    /// Labels, speakers and recording indices come from the file names (see --pattern).
    Audio2spikes {
        /// Audio files or directories (searched recursively for .wav and .flac).
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Output HDF5 file.
        #[arg(long)]
        out: PathBuf,
        /// File-name pattern (stem): fields {label} (alias {digit}), {speaker}, {index}, {any}.
        #[arg(long, default_value = audio2spikes::DEFAULT_PATTERN)]
        pattern: String,
        /// Seed of the auditory-nerve-fibre noise (file i uses a seed derived from this and i).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Basilar-membrane transfer function: `exact` (evaluated per clip, matches lauscher to
        /// ~1e-12, ~3 CPU s per second of audio), `table` (interpolated from a 1-Hz table built once,
        /// ~2 s on 2 cores; error < 1e-3 of a channel's peak) or `auto` (exact for a single file).
        #[arg(long, default_value = "auto", value_parser = ["auto", "exact", "table"])]
        bm: String,
        /// Also write the statistics and throughput as JSON.
        #[arg(long)]
        stats: Option<PathBuf>,
        /// Also write `spikes.png` (rasters of the first six files) into this directory.
        #[arg(long)]
        plots: Option<PathBuf>,
        /// Worker threads (0 = all cores).
        #[arg(long, default_value_t = 0)]
        threads: usize,
    },
    /// Data utilities.
    Data {
        #[command(subcommand)]
        cmd: DataCmd,
    },
}

#[derive(Subcommand)]
enum DataCmd {
    /// Write the binned train/valid/test sets of a config as JSON (for peer benchmarks and other tools):
    /// {n_in, n_classes, t_steps, dt, splits: {train: {events: [[t0, u0, t1, u1, ...], ...], labels}, ...}}.
    Export {
        /// Config file (default: the embedded default).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Output JSON file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write a synthetic SHD-sized spike file in the SHD layout (700 channels, 20 classes, ~8000
    /// spikes per sample; float16 times as in SHD) for trying configs and tests.
    SynthShd {
        /// Output HDF5 file.
        #[arg(long)]
        out: PathBuf,
        /// Number of samples.
        #[arg(long, default_value_t = 256)]
        samples: usize,
        /// Seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Download SHD or SSC (gzipped HDF5 from zenkelab.org) with a progress bar; resumes an
    /// interrupted download, verifies the published md5 sums (SHD), renames into place atomically.
    Fetch {
        /// `shd` or `ssc`.
        dataset: String,
        /// Target directory.
        #[arg(long, default_value = "data")]
        dir: PathBuf,
        /// Server to download from.
        #[arg(long, default_value = fetch::DEFAULT_BASE_URL)]
        base_url: String,
    },
    /// Split a spike file written by audio2spikes into train and test files, holding out speakers
    /// and/or a range of recording indices (FSDD's own test split is index 0-4).
    Split {
        /// Spike file in the SHD layout with extra/speaker_names and/or extra/index.
        file: PathBuf,
        /// Comma-separated speaker names for the test file.
        #[arg(long, value_delimiter = ',')]
        test_speakers: Vec<String>,
        /// Inclusive index range for the test file, e.g. 0-4.
        #[arg(long)]
        test_index: Option<String>,
        /// Output training file.
        #[arg(long)]
        train_out: PathBuf,
        /// Output test file.
        #[arg(long)]
        test_out: PathBuf,
    },
    /// Print what a spike file in the SHD layout holds: samples, classes, speakers, spikes per sample,
    /// duration range.
    Info {
        /// HDF5 file in the SHD layout.
        file: PathBuf,
    },
}

fn load_config(path: Option<&Path>, ov: &Overrides) -> Result<(RunConfig, PathBuf)> {
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

/// 90 % of the memory the kernel reports as available, if it can be read.
fn available_memory() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: f64 = text.lines().find(|l| l.starts_with("MemAvailable:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(0.9 * kb * 1024.0)
}

fn set_threads(n: usize) -> Result<()> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if n > 0 {
        b = b.num_threads(n);
    }
    b.build_global().context("starting the worker threads")?;
    Ok(())
}

fn metrics_json(m: &Metrics) -> serde_json::Value {
    json!({ "loss": m.loss(), "ce": m.ce, "reg": m.reg, "acc": m.acc, "rates_hz": m.rates_hz, "samples": m.samples })
}

struct Log {
    files: Vec<std::fs::File>,
}

impl Log {
    fn open(paths: &[PathBuf], append: bool) -> Result<Self> {
        let files = paths
            .iter()
            .map(|p| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .write(true)
                    .append(append)
                    .truncate(!append)
                    .open(p)
                    .map_err(|e| Error::io(p, e).into())
            })
            .collect::<Result<_>>()?;
        Ok(Log { files })
    }
    fn write(&mut self, v: &serde_json::Value) -> Result<()> {
        for f in &mut self.files {
            writeln!(f, "{v}").context("writing the log")?;
            f.flush().ok();
        }
        Ok(())
    }
}

fn train(
    config: Option<PathBuf>,
    ov: Overrides,
    log: Option<PathBuf>,
    out: Option<PathBuf>,
    resume: bool,
    dry_run: bool,
    plots: Option<PathBuf>,
) -> Result<()> {
    let (cfg, base) = load_config(config.as_deref(), &ov)?;
    set_threads(cfg.train.threads)?;
    let out = out.unwrap_or_else(|| PathBuf::from(format!("runs/{}-seed{}", cfg.name, cfg.train.seed)));
    if !dry_run {
        std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
    }
    eprintln!("spikeflux {}: {} ({} threads)", env!("CARGO_PKG_VERSION"), cfg.name, rayon::current_num_threads());

    let t0 = Instant::now();
    let data = cfg.load_data(&base)?;
    eprintln!(
        "data: {} train / {} valid / {} test samples, {} inputs, {} classes, T = {} × {} ms, input rate {:.2} Hz ({:.1} s)",
        data.train.len(),
        data.valid.as_ref().map_or(0, |v| v.len()),
        data.test.len(),
        data.train.n_in,
        data.train.n_classes,
        data.train.t_steps,
        cfg.model.dt * 1e3,
        data.train.mean_rate_hz(),
        t0.elapsed().as_secs_f64()
    );
    let spec = cfg.network_spec(data.train.n_in, data.train.n_classes);
    let (net, inits, nu_used) = if cfg.nu_from_data() {
        let (net, inits, rates) =
            spikeflux_core::train::init_from_data(spec, &cfg.init_spec()?, cfg.train.seed, &data.train, 512, &cfg.engine_options())?;
        let r: Vec<String> = rates.iter().map(|r| format!("{r:.2}")).collect();
        eprintln!("nu from data (input, then each hidden layer): [{}] Hz", r.join(", "));
        (net, inits, Some(rates))
    } else {
        let (net, inits) = Network::initialized(spec, &cfg.init_spec()?, cfg.train.seed)?;
        (net, inits, None)
    };
    for c in &inits {
        eprintln!("init {:<22} fan-in {:>5}  mean {:+.5}  std {:.5}", c.name, c.fan_in, c.mean, c.std);
    }
    let engine = cfg.engine_options();
    let config_text = toml::to_string(&cfg.train_independent()).context("serializing the config")?;

    let opts = TrainOptions {
        epochs: cfg.train.epochs,
        batch_size: cfg.train.batch_size,
        optimizer: cfg.optimizer(),
        seed: cfg.train.seed,
        engine: engine.clone(),
    };
    let need = spikeflux_core::train::estimate_bytes(&net, data.train.t_steps, cfg.train.batch_size, rayon::current_num_threads());
    let gib = |b: f64| b / (1u64 << 30) as f64;
    let limit = cfg.train.max_memory_gib.map(|g| g * (1u64 << 30) as f64).or_else(available_memory);
    eprintln!(
        "estimated activation memory: {:.2} GiB (batch {} × T {}, {} threads){}",
        gib(need as f64),
        cfg.train.batch_size,
        data.train.t_steps,
        rayon::current_num_threads(),
        limit.map_or(String::new(), |l| format!(", limit {:.2} GiB", gib(l)))
    );
    if let Some(l) = limit {
        if need as f64 > l {
            return Err(Error::config(
                "train.batch_size",
                format!(
                    "the run needs {:.2} GiB of activation memory (batch {} × T {} steps) but {:.2} GiB are available (train.max_memory_gib or free RAM); lower train.batch_size, or the data's n_steps",
                    gib(need as f64),
                    cfg.train.batch_size,
                    data.train.t_steps,
                    gib(l)
                ),
            )
            .into());
        }
    }
    if let Some(dir) = &plots {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        plots::activity_snapshot(&net, &data.test, 5, &format!("{}: activity before training (test samples)", cfg.name), &dir.join("snapshot_before.png"))?;
    }
    let mut trainer = Trainer::new(net, opts, data.train.t_steps)?;
    let initial = trainer.evaluate(&data.train);
    let rates: Vec<String> = initial.rates_hz.iter().map(|r| format!("{r:.2}")).collect();
    eprintln!("initial hidden firing rates [{}] Hz on the training set", rates.join(", "));
    let ckpt = out.join("checkpoint.safetensors");
    let mut train_seconds = 0.0;
    if resume {
        let (done, meta) = checkpoint::load_training(&mut trainer.net, &mut trainer.optimizer, &ckpt)?;
        if meta.get("config") != Some(&config_text) {
            return Err(Error::config(
                "--resume",
                format!("{} was written with a different config; resume with the same config (epochs and threads may differ)", ckpt.display()),
            )
            .into());
        }
        trainer.epochs_done = done;
        train_seconds = meta.get("train_seconds").and_then(|s| s.parse().ok()).unwrap_or(0.0);
        eprintln!("resuming after epoch {done} from {}", ckpt.display());
    }
    if dry_run {
        return Ok(());
    }

    let mut log_paths = vec![out.join("log.jsonl")];
    log_paths.extend(log);
    let mut log = Log::open(&log_paths, resume)?;
    let mut curve: Vec<plots::CurvePoint> = Vec::new();
    let tty = std::io::stderr().is_terminal();
    let epochs = cfg.train.epochs;
    let bar = if tty {
        let b = ProgressBar::new(epochs as u64);
        b.set_style(
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] epoch {pos}/{len} {msg} (eta {eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    bar.set_position(trainer.epochs_done as u64);
    while trainer.epochs_done < epochs {
        let rec = trainer.epoch(&data.train, data.valid.as_ref(), &mut |_, _| {})?;
        train_seconds += rec.train_seconds;
        let v = rec.valid.as_ref();
        let test_m = trainer.evaluate(&data.test);
        curve.push(plots::CurvePoint {
            epoch: rec.epoch,
            train: (rec.train.loss(), rec.train.acc),
            valid: v.map(|m| (m.loss(), m.acc)),
            test: (test_m.loss(), test_m.acc),
        });
        let msg = format!(
            "loss {:.4} acc {:.3} | valid loss {} acc {}",
            rec.train.loss(),
            rec.train.acc,
            v.map_or("-".into(), |m| format!("{:.4}", m.loss())),
            v.map_or("-".into(), |m| format!("{:.3}", m.acc))
        );
        if tty {
            bar.set_message(msg);
            bar.inc(1);
        } else {
            eprintln!("epoch {:>4}/{epochs} {msg} ({:.2} s)", rec.epoch, rec.train_seconds);
        }
        log.write(&json!({
            "epoch": rec.epoch,
            "train": metrics_json(&rec.train),
            "valid": v.map(metrics_json),
            "test": metrics_json(&test_m),
            "train_seconds": rec.train_seconds,
        }))?;
        let mut meta = HashMap::new();
        meta.insert("config".into(), config_text.clone());
        meta.insert("train_seconds".into(), train_seconds.to_string());
        checkpoint::save_training(&trainer.net, &trainer.optimizer, trainer.epochs_done, &ckpt, meta)?;
    }
    bar.finish_and_clear();
    let test = trainer.evaluate(&data.test);
    let valid = data.valid.as_ref().map(|v| trainer.evaluate(v));
    let final_rates = trainer.evaluate(&data.train).rates_hz;
    let net = &trainer.net;
    let weights = out.join("weights.safetensors");
    let mut meta = HashMap::new();
    meta.insert("config".into(), config_text.clone());
    meta.insert("epochs".into(), epochs.to_string());
    checkpoint::save(net, &weights, meta)?;
    let summary = json!({
        "final": true,
        "name": cfg.name,
        "seed": cfg.train.seed,
        "epochs": epochs,
        "threads": rayon::current_num_threads(),
        "test_acc": test.acc,
        "test_loss": test.loss(),
        "test_ce": test.ce,
        "valid_acc": valid.as_ref().map(|v| v.acc),
        "valid_loss": valid.as_ref().map(|v| v.loss()),
        "initial_rates_hz": initial.rates_hz,
        "init_nu_hz": nu_used,
        "final_rates_hz": final_rates,
        "train_seconds": train_seconds,
        "seconds_per_epoch": train_seconds / epochs as f64,
        "weights": weights.display().to_string(),
    });
    log.write(&summary)?;
    let text = format!(
        "# {}\n\nseed {}, {} epochs, {} threads, {:.1} s training ({:.3} s/epoch)\n\n| set | loss | accuracy |\n|---|---|---|\n| test | {:.4} | {:.2} % |\n{}\ninitial hidden rates (Hz): {:?}\nfinal hidden rates (Hz): {:?}\nweights: {}\n",
        cfg.name,
        cfg.train.seed,
        epochs,
        rayon::current_num_threads(),
        train_seconds,
        train_seconds / epochs as f64,
        test.loss(),
        100.0 * test.acc,
        valid.as_ref().map_or(String::new(), |v| format!("| valid | {:.4} | {:.2} % |\n", v.loss(), 100.0 * v.acc)),
        initial.rates_hz.iter().map(|r| (r * 100.0).round() / 100.0).collect::<Vec<_>>(),
        final_rates.iter().map(|r| (r * 100.0).round() / 100.0).collect::<Vec<_>>(),
        weights.display()
    );
    checkpoint::write_atomic(&out.join("summary.md"), text.as_bytes())?;
    if let Some(dir) = &plots {
        plots::learning_curves(&curve, &format!("{}: learning curves (seed {})", cfg.name, cfg.train.seed), &dir.join("learning_curves.png"))?;
        plots::activity_snapshot(net, &data.test, 5, &format!("{}: activity after training (test samples)", cfg.name), &dir.join("snapshot_after.png"))?;
        eprintln!("figures in {}", dir.display());
    }
    println!("test accuracy {:.2} %, test loss {:.4} ({} epochs, {:.1} s); results in {}", 100.0 * test.acc, test.loss(), epochs, train_seconds, out.display());
    Ok(())
}

fn eval(config: Option<PathBuf>, weights: PathBuf, threads: Option<usize>) -> Result<()> {
    let ov = Overrides { epochs: None, seed: None, threads, batch_size: None };
    let (cfg, base) = load_config(config.as_deref(), &ov)?;
    set_threads(cfg.train.threads)?;
    let data = cfg.load_data(&base)?;
    let spec = cfg.network_spec(data.test.n_in, data.test.n_classes);
    let mut net = Network::zeros(spec)?;
    checkpoint::load(&mut net, &weights)?;
    let m = evaluate(&net, &cfg.engine_options(), &data.test, cfg.train.batch_size);
    println!("{}", json!({ "test_acc": m.acc, "test_loss": m.loss(), "test_ce": m.ce, "samples": m.samples, "rates_hz": m.rates_hz }));
    Ok(())
}

fn export(config: Option<PathBuf>, out: PathBuf) -> Result<()> {
    let ov = Overrides { epochs: None, seed: None, threads: None, batch_size: None };
    let (cfg, base) = load_config(config.as_deref(), &ov)?;
    let data = cfg.load_data(&base)?;
    let split = |d: &spikeflux_core::data::SpikeDataset| {
        let events: Vec<Vec<u32>> =
            (0..d.len()).map(|i| d.events(i).flat_map(|(t, u)| [t, u]).collect()).collect();
        json!({ "events": events, "labels": d.labels })
    };
    let mut splits = serde_json::Map::new();
    splits.insert("train".into(), split(&data.train));
    if let Some(v) = &data.valid {
        splits.insert("valid".into(), split(v));
    }
    splits.insert("test".into(), split(&data.test));
    let v = json!({
        "n_in": data.train.n_in, "n_classes": data.train.n_classes, "t_steps": data.train.t_steps,
        "dt": cfg.model.dt, "splits": splits,
    });
    checkpoint::write_atomic(&out, v.to_string().as_bytes())?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

fn synth_shd(out: PathBuf, samples: usize, seed: u64) -> Result<()> {
    let f = spikeflux_core::data::synthetic::SyntheticShd { samples, seed, ..Default::default() }.generate();
    f.write(&out)?;
    eprintln!("wrote {} samples to {}", samples, out.display());
    Ok(())
}

fn info(file: PathBuf) -> Result<()> {
    let f = spikeflux_core::data::shd::ShdFile::read(&file)?;
    let n = f.times.len();
    let counts: Vec<usize> = f.times.iter().map(|t| t.len()).collect();
    let classes = f.labels.iter().collect::<std::collections::BTreeSet<_>>().len();
    let speakers = f.speakers.as_ref().map(|s| s.iter().collect::<std::collections::BTreeSet<_>>().len());
    let max_t: Vec<f32> = f.times.iter().map(|t| t.iter().cloned().fold(0.0, f32::max)).collect();
    let units_max = f.units.iter().flatten().max().copied().unwrap_or(0);
    let mean = counts.iter().sum::<usize>() as f64 / n.max(1) as f64;
    let md5 = fetch::md5_file(&file)?;
    let known = fetch::files("shd")?
        .into_iter()
        .find(|f| f.md5.as_deref() == Some(md5.as_str()))
        .map(|f| f.name);
    let v = json!({
        "file": file.display().to_string(),
        "md5": md5,
        "known_release": known,
        "samples": n,
        "classes": classes,
        "keys": f.keys,
        "speakers": speakers,
        "channels_max": units_max + 1,
        "spikes_per_sample": { "min": counts.iter().min(), "mean": mean, "max": counts.iter().max() },
        "last_spike_s": { "min": max_t.iter().cloned().fold(f32::INFINITY, f32::min), "max": max_t.iter().cloned().fold(0.0, f32::max) },
    });
    println!("{}", serde_json::to_string_pretty(&v).context("formatting")?);
    Ok(())
}

fn init_report(config: Option<PathBuf>, samples: usize, out: PathBuf, threads: Option<usize>) -> Result<()> {
    let ov = Overrides { epochs: None, seed: None, threads, batch_size: None };
    let (cfg, base) = load_config(config.as_deref(), &ov)?;
    set_threads(cfg.train.threads)?;
    let data = cfg.load_data(&base)?;
    let spec = cfg.network_spec(data.train.n_in, data.train.n_classes);
    let layers = spec.hidden.len();
    let (net, inits, nus) = if cfg.nu_from_data() {
        let (net, inits, rates) =
            spikeflux_core::train::init_from_data(spec, &cfg.init_spec()?, cfg.train.seed, &data.train, 512, &cfg.engine_options())?;
        (net, inits, rates)
    } else {
        let nu = cfg.fd_target().map(|t| t.nu).unwrap_or(0.0);
        let (net, inits) = Network::initialized(spec, &cfg.init_spec()?, cfg.train.seed)?;
        (net, inits, vec![nu; layers + 1])
    };
    let eps = match cfg.init.epsilon {
        config::EpsilonConfig::Numerical => spikeflux_core::init::EpsilonMode::Numerical,
        config::EpsilonConfig::Analytical => spikeflux_core::init::EpsilonMode::Analytical,
    };
    let rep = spikeflux_core::report::init_report(&net, &data.train, samples, &inits, &nus, eps);
    std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
    println!("{}: initialization report on {} training samples (θ = 1)", cfg.name, samples.min(data.train.len()));
    println!("| layer | ν assumed (Hz) | ν measured (Hz) | predicted μ_U, σ_U | predicted with measured ν | free μ_U, σ_U | with reset μ_U, σ_U | rate (Hz) | silent |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in &rep {
        println!(
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
    println!("\n| connection | fan-in | mean | σ_w |\n|---|---|---|---|");
    for c in &inits {
        println!("| {} | {} | {:+.5} | {:.5} |", c.name, c.fan_in, c.mean, c.std);
    }
    let v = json!({
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
    checkpoint::write_atomic(&out.join("init_report.json"), serde_json::to_string_pretty(&v).context("formatting")?.as_bytes())?;
    // one panel per tensor, with the normal the initializer drew from; a Dale layer's six
    // connections as separate panels (non-negative draws, so no normal curve)
    let mut weights: Vec<plots::HistPanel> = Vec::new();
    let mut entry = inits.iter();
    for t in net.layout.tensors(&net.spec) {
        // a Dale layer's tensors hold its six connections as blocks: one panel per connection, at
        // the layer's feed-forward tensor
        let layer = (0..net.layout.geoms.len()).find(|&l| net.layout.ff[l] == t.range || net.layout.rec[l].as_ref() == Some(&t.range));
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
    plots::activity_snapshot(&net, &data.train, 5, &format!("{}: activity at initialization", cfg.name), &out.join("snapshot.png"))?;
    eprintln!("wrote {}/init_report.json, weights.png, membrane.png, snapshot.png", out.display());
    Ok(())
}

fn fig1(out: PathBuf, neurons: usize, seconds: f64, seed: u64) -> Result<()> {
    use spikeflux_core::engine::{self, EngineOptions, Workspace};
    use spikeflux_core::init::{epsilon, fd_normal_layerwise, fill_normal, Afferent, EpsilonMode, FdTarget};
    use spikeflux_core::layer::Shape;
    use spikeflux_core::network::{LayerSpec, NetworkSpec};
    use spikeflux_core::neuron::{LifParams, ReadoutParams, SpikeMode, Surrogate};
    if !(seconds > 0.5 && seconds.is_finite()) || neurons == 0 {
        return Err(Error::config("fig1", "--seconds must exceed 0.5 and --neurons be at least 1").into());
    }
    let (n, nu, dt) = (5000usize, 3.0, 1e-3);
    let t = (seconds / dt) as usize;
    let burn = 200.min(t / 4);
    let data = spikeflux_core::data::poisson_sample(n, nu, dt, t, seed);
    let spec = NetworkSpec {
        input: Shape::flat(n),
        n_out: 2,
        dt,
        hidden: vec![LayerSpec::dense(neurons, false, LifParams::default())],
        readout: ReadoutParams::default(),
        surrogate: Surrogate::default(),
    };
    let eps = epsilon(20e-3, 10e-3, dt, EpsilonMode::Numerical);
    let show = ((2.0 / dt) as usize).min(t);
    let raster: Vec<(f64, f64)> =
        data.events(0).filter(|&(s, u)| (s as usize) < show && u < 100).map(|(s, u)| (s as f64 * dt, u as f64)).collect();
    let mut hists = Vec::new();
    let mut weights = (Vec::new(), 0.0, 0.0);
    let mut trace = (Vec::new(), 0.0);
    let mut rows = Vec::new();
    for xi in [1.0, 2.0, 3.0] {
        let target = FdTarget { mu_u: 0.0, xi, nu };
        let m = fd_normal_layerwise(target, eps, &[Afferent { fan_in: n, recurrent: false }], 1.0)?[0];
        let mut net = Network::zeros(spec.clone())?;
        let r = net.layout.ff[0].clone();
        fill_normal(&mut net.params[r.clone()], m, &mut spikeflux_core::rng::rng_for(seed, 77));
        let mut ws = Workspace::new(&net.spec, net.layout.total, t, 1);
        ws.load(&data, &[0]);
        let mut take = |mode: SpikeMode| {
            engine::forward(&net, &EngineOptions { mode, ..Default::default() }, &mut ws);
            ws.membrane(0)[burn * neurons..].to_vec()
        };
        let free = take(SpikeMode::NoReset);
        let reset = take(SpikeMode::Spiking);
        let steps = (free.len() / neurons) as f64;
        let (mut sum, mut sq) = (vec![0.0f64; neurons], vec![0.0f64; neurons]);
        for row in free.chunks_exact(neurons) {
            for (k, &x) in row.iter().enumerate() {
                sum[k] += x as f64;
                sq[k] += (x as f64).powi(2);
            }
        }
        let mean = sum.iter().sum::<f64>() / (steps * neurons as f64);
        let sd = (sum.iter().zip(&sq).map(|(s, q)| q / steps - (s / steps).powi(2)).sum::<f64>() / neurons as f64).sqrt();
        let above_free = free.iter().filter(|&&x| x > 1.0).count() as f64 / free.len() as f64;
        let above_reset = reset.iter().filter(|&&x| x > 1.0).count() as f64 / reset.len() as f64;
        rows.push(json!({ "xi": xi, "sigma_w": m.std, "theory_sd": 1.0 / xi, "free_mean": mean, "free_sd": sd,
                          "fraction_above_threshold_free": above_free, "fraction_above_threshold_reset": above_reset }));
        println!("ξ = {xi}: σ_w = {:.5}, free membrane mean {mean:+.4}, s.d. {sd:.4} (theory {:.4}); above θ: free {:.2} %, with reset {:.2} %",
                 m.std, 1.0 / xi, 100.0 * above_free, 100.0 * above_reset);
        if xi == 2.0 {
            weights = (net.params[r].to_vec(), m.mean, m.std);
            trace = ((0..show.saturating_sub(burn)).map(|s| ((s + burn) as f64 * dt, free[s * neurons] as f64)).collect(), 0.0);
        }
        let stride = (free.len() / 200_000).max(1);
        hists.push((xi, free.iter().step_by(stride).copied().collect(), reset.iter().step_by(stride).copied().collect(), 0.0, 1.0 / xi));
    }
    std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
    plots::fig1(
        &plots::Fig1 { raster, weights, trace, hists },
        &format!("Fig. 1 setting: N = {n} Poisson inputs at {nu} Hz, dt = 1 ms, τ = 20/10 ms, μ_U = 0 ({neurons} neurons, {seconds} s)"),
        &out.join("fig1.png"),
    )?;
    let v = json!({ "n_inputs": n, "nu_hz": nu, "dt": dt, "seconds": seconds, "neurons": neurons, "seed": seed, "xi": rows });
    checkpoint::write_atomic(&out.join("fig1.json"), serde_json::to_string_pretty(&v).context("formatting")?.as_bytes())?;
    eprintln!("wrote {}/fig1.png and fig1.json", out.display());
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn sweep_cmd(config: Option<PathBuf>, params: Vec<String>, epochs: Option<usize>, parallel: usize, threads: usize, out: PathBuf) -> Result<()> {
    let (text, base) = match &config {
        Some(p) => (std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?, p.parent().map(Path::to_path_buf).unwrap_or_default()),
        None => (DEFAULT_CONFIG.to_string(), PathBuf::from(".")),
    };
    let base = std::fs::canonicalize(if base.as_os_str().is_empty() { Path::new(".") } else { &base }).unwrap_or(base);
    let axes = params.iter().map(|p| sweep::parse_axis(p)).collect::<Result<Vec<_>>>()?;
    let mut extra = vec!["--threads".to_string(), threads.to_string()];
    if let Some(e) = epochs {
        extra.extend(["--epochs".to_string(), e.to_string()]);
    }
    let bin = std::env::current_exe().context("locating the spikeflux binary")?;
    let res = sweep::run(&bin, &text, &base, &axes, &extra, &out, parallel)?;
    let acc: Vec<Option<f64>> = res.iter().map(|v| v["test_acc"].as_f64()).collect();
    // parameters given a single value are fixed settings, not axes of the figure
    let axes: Vec<sweep::Axis> = axes.into_iter().filter(|a| a.values.len() > 1).collect();
    if axes.is_empty() {
        eprintln!("wrote {}/sweep.jsonl (no varying parameter, no figure)", out.display());
        return Ok(());
    }
    let numeric = |a: &sweep::Axis| a.values.iter().all(|v| v.as_float().or(v.as_integer().map(|i| i as f64)).is_some());
    let title = format!("sweep: test accuracy ({} runs)", res.len());
    let fig = sweep::figure_path(&out);
    if axes.len() == 2 && numeric(&axes[0]) && numeric(&axes[1]) {
        let nx = axes[1].values.len();
        let grid: Vec<Vec<Option<f64>>> = acc.chunks(nx).map(|c| c.to_vec()).collect();
        plots::sweep_heatmap(&axes[0].key, &sweep::labels(&axes[0]), &axes[1].key, &sweep::labels(&axes[1]), &grid, &title, &fig)?;
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
        plots::sweep_lines(&last.key, &sweep::labels(last), &lines, &title, &fig)?;
    }
    eprintln!("wrote {}/sweep.jsonl and sweep.png", out.display());
    Ok(())
}

fn exit_code(e: &anyhow::Error) -> i32 {
    match e.downcast_ref::<Error>() {
        Some(Error::Config { .. }) => 2,
        Some(Error::DataFile { .. } | Error::Shape { .. }) => 3,
        Some(Error::NonFinite { .. }) => 4,
        Some(Error::Io { .. } | Error::Weights { .. }) => 5,
        None => 1,
    }
}

fn main() {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Train { config, ov, log, out, resume, dry_run, plots } => train(config, ov, log, out, resume, dry_run, plots),
        Cmd::Eval { config, weights, threads } => eval(config, weights, threads),
        Cmd::InitReport { config, samples, out, threads } => init_report(config, samples, out, threads),
        Cmd::Fig1 { out, neurons, seconds, seed } => fig1(out, neurons, seconds, seed),
        Cmd::Sweep { config, params, epochs, parallel, threads, out } => sweep_cmd(config, params, epochs, parallel, threads, out),
        Cmd::Data { cmd: DataCmd::Export { config, out } } => export(config, out),
        Cmd::Data { cmd: DataCmd::SynthShd { out, samples, seed } } => synth_shd(out, samples, seed),
        Cmd::Data { cmd: DataCmd::Info { file } } => info(file),
        Cmd::Data { cmd: DataCmd::Split { file, test_speakers, test_index, train_out, test_out } } => (|| {
            let range = test_index.as_deref().map(audio2spikes::parse_range).transpose()?;
            let (a, b) = audio2spikes::split(&file, &test_speakers, range, &train_out, &test_out)?;
            println!("wrote {a} training samples to {} and {b} test samples to {}", train_out.display(), test_out.display());
            Ok(())
        })(),
        Cmd::Audio2spikes { inputs, out, pattern, seed, bm, stats, plots, threads } => set_threads(threads)
            .and_then(|()| audio2spikes::run(&audio2spikes::Options { inputs, out, pattern, seed, bm, stats, plots }).map(|_| ())),
        Cmd::Data { cmd: DataCmd::Fetch { dataset, dir, base_url } } => fetch::files(&dataset)
            .and_then(|f| fetch::fetch(&base_url, &f, &dir, std::io::stderr().is_terminal()))
            .map(|_| ()),
    };
    if let Err(e) = r {
        eprintln!("error: {e:#}");
        std::process::exit(exit_code(&e));
    }
}
