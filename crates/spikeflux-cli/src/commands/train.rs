//! `spikeflux train`: load the data, initialize (ν from data if asked), train with progress, and
//! write the run directory (`log.jsonl`, `summary.md`, `weights.safetensors`, checkpoints, plots).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use spikeflux_core::data::files::write_atomic;
use spikeflux_core::engine::EngineOptions;
use spikeflux_core::train::checkpoint;
use spikeflux_core::train::{EpochOutcome, Metrics, TrainOptions, Trainer};
use spikeflux_core::Error;

use super::{load_config, memory_limit, set_threads, Overrides};
use crate::run_dir::{self, Log, RunLock};
use crate::{interrupt, parallel, plots};

/// Arguments of `spikeflux train` (as given; validated by the command).
#[derive(clap::Args)]
pub struct TrainArgs {
    /// Config file (TOML); see the README's config reference.
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub ov: Overrides,
    /// Write one JSON object per epoch and a final summary object to this file.
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Output directory for weights, log and summary (default: `runs/<name>-seed<seed>`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue an interrupted run from DIR/checkpoint.safetensors (written after every epoch);
    /// the config must be the same. The result is identical to an uninterrupted run.
    #[arg(long)]
    pub resume: bool,
    /// Load the data, initialize and print the initial statistics and memory estimate, then stop.
    #[arg(long)]
    pub dry_run: bool,
    /// Write PNG figures here: learning curves and activity snapshots before and after training.
    #[arg(long)]
    pub plots: Option<PathBuf>,
    /// Start from these weights (safetensors: a run's weights, or `nir import`'s) instead of the
    /// config's initialization.
    #[arg(long)]
    pub init_weights: Option<PathBuf>,
}

/// How a caller other than the command line follows and stops a run (the Python package).
pub struct Hooks<'a> {
    /// Install the Ctrl-C/SIGTERM handler (the command line does; an embedding interpreter keeps
    /// its own and asks through `stop`).
    pub install_interrupt: bool,
    /// Show the progress bar when stderr is a terminal.
    pub progress: bool,
    /// Asked after every batch: stop there, write a checkpoint and return [`Outcome::Interrupted`].
    pub stop: &'a dyn Fn() -> bool,
    /// Called with every log record as it is written (each epoch, then the final summary).
    pub on_record: &'a mut dyn FnMut(&serde_json::Value),
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// All epochs trained (or the dry run done); the run directory is complete.
    Finished {
        /// The run directory.
        out: PathBuf,
    },
    /// Stopped on request with a checkpoint written; `--resume` continues it exactly.
    Interrupted {
        /// The run directory.
        out: PathBuf,
        /// Where it stopped, in words.
        at: String,
    },
}

/// Runs `spikeflux train`: an interrupt ends the process with status 130 once the checkpoint is
/// written.
pub fn run(args: TrainArgs) -> Result<()> {
    let mut ignore = |_: &serde_json::Value| {};
    let hooks = Hooks { install_interrupt: true, progress: true, stop: &|| false, on_record: &mut ignore };
    match run_with(args, hooks)? {
        Outcome::Finished { .. } => Ok(()),
        Outcome::Interrupted { .. } => std::process::exit(interrupt::STATUS),
    }
}

/// Trains as `spikeflux train` does, with `hooks` to follow and stop the run.
pub fn run_with(args: TrainArgs, hooks: Hooks) -> Result<Outcome> {
    let Hooks { install_interrupt, progress, stop, on_record } = hooks;
    let stop = || interrupt::requested() || stop();
    let TrainArgs { config, ov, log, out, resume, dry_run, plots, init_weights } = args;
    let (cfg, base) = load_config(config.as_deref(), &ov)?;
    set_threads(cfg.train.threads)?;
    // one process, or a rank of `mpirun -np K` (README, "Training on several processes"): every
    // rank runs the code below; only rank 0 writes
    let group = parallel::group()?;
    let (rank, ranks) = (group.rank(), group.size());
    let writer = rank == 0;
    if ranks > 1 {
        crate::io::set_rank(rank);
    }
    let out = out.unwrap_or_else(|| PathBuf::from(format!("runs/{}-seed{}", cfg.name, cfg.train.seed)));
    let ckpt = out.join("checkpoint.safetensors");
    if resume && !ckpt.is_file() {
        return Err(Error::config(
            "--resume",
            format!("there is no checkpoint to resume from in {} (checkpoint.safetensors); run without --resume to start the run", out.display()),
        )
        .into());
    }
    // the lock is taken before anything in the directory is touched
    let lock = if dry_run || !writer {
        None
    } else {
        std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
        Some(RunLock::take(&out)?)
    };
    let procs = if ranks > 1 { format!("{ranks} processes × {} threads", rayon::current_num_threads()) } else { format!("{} threads", rayon::current_num_threads()) };
    note!("spikeflux {}: {} ({procs})", env!("CARGO_PKG_VERSION"), cfg.name);

    let t0 = Instant::now();
    let mut data = cfg.load_data(&base)?;
    note!(
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
    if let Some(d) = &data.draws {
        let e = cfg.data.events.as_ref();
        let (redraw, fixed) = (e.is_some_and(|e| e.redraw), e.is_some_and(|e| e.deterministic_test));
        note!(
            "event transforms (DropEvent, crop): {} for training, {} for testing; the downsampled recordings hold {:.1} MiB",
            if redraw { "drawn anew each epoch" } else { "one draw" },
            if fixed { "one fixed draw" } else { "drawn anew at each evaluation" },
            d.bytes() as f64 / (1 << 20) as f64
        );
    }
    let spec = cfg.checked_network_spec(data.train.n_in, data.train.n_classes, super::memory_limit(&cfg))?;
    let (mut net, inits, nu_used) = super::initialized_network(&cfg, spec, &data.train, cfg.train.seed, group.clone())?;
    if let Some(w) = &init_weights {
        checkpoint::load(&mut net, w)?;
        note!("weights from {} (instead of the init below)", w.display());
    }
    if let Some(rates) = &nu_used {
        let r: Vec<String> = rates.iter().map(|r| format!("{r:.2}")).collect();
        note!("nu from data (input, then each hidden layer): [{}] Hz", r.join(", "));
    }
    for c in &inits {
        note!("init {:<22} fan-in {:>5}  mean {:+.5}  std {:.5}", c.name, c.fan_in, c.mean, c.std);
    }
    let config_text = toml::to_string(&cfg.train_independent()).context("serializing the config")?;

    let opts = TrainOptions {
        epochs: cfg.train.epochs,
        batch_size: cfg.train.batch_size,
        optimizer: cfg.optimizer(),
        seed: cfg.train.seed,
        engine: EngineOptions::default(),
        objective: cfg.objective(),
    };
    // a rank holds the workspaces and gradient slots of its block of each batch
    let per_rank_batch = cfg.train.batch_size.div_ceil(ranks);
    let need = spikeflux_core::train::estimate_bytes(&net, data.train.t_steps, per_rank_batch, rayon::current_num_threads());
    let gib = |b: f64| b / (1u64 << 30) as f64;
    let limit = memory_limit(&cfg);
    note!(
        "estimated activation memory: {:.2} GiB per process (batch {} × T {}, {} threads){}",
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
    let plots = plots.filter(|_| writer);
    if let Some(dir) = &plots {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        plots::activity_snapshot(&net, &data.test, 5, &format!("{}: activity before training (test samples)", cfg.name), &dir.join("snapshot_before.png"))?;
    }
    let mut trainer = Trainer::in_group(net, opts, data.train.t_steps, group.clone())?;
    let initial = trainer.evaluate(&data.train)?;
    let rates: Vec<String> = initial.rates_hz.iter().map(|r| format!("{r:.2}")).collect();
    note!("initial hidden firing rates [{}] Hz on the training set", rates.join(", "));
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
        let epochs = cfg.train.epochs;
        if done > epochs {
            return Err(Error::config(
                "--epochs",
                format!("the checkpoint in {} holds {done} epochs, more than the {epochs} asked for; give --epochs {done} or more", out.display()),
            )
            .into());
        }
        if done == epochs && run_dir::finished(&out.join("log.jsonl")) {
            return Err(Error::config(
                "--resume",
                format!(
                    "the run in {} is finished ({done} of {epochs} epochs); give --epochs with more than {done} to train it further, or another --out for a new run",
                    out.display()
                ),
            )
            .into());
        }
        trainer.epochs_done = done;
        if let Some(p) = meta.get("partial") {
            trainer.partial = Some(serde_json::from_str(p).with_context(|| format!("{}: unreadable partial epoch", ckpt.display()))?);
        }
        train_seconds = meta.get("train_seconds").and_then(|s| s.parse().ok()).unwrap_or(0.0);
        note!("resuming after epoch {done} from {}", ckpt.display());
    }
    if dry_run {
        group.close();
        return Ok(Outcome::Finished { out });
    }

    let mut log_paths = vec![out.join("log.jsonl")];
    log_paths.extend(log);
    let mut log = match (writer, resume) {
        (false, _) => None,
        (true, true) => Some(Log::resume(&log_paths, trainer.epochs_done)?),
        (true, false) => Some(Log::create(&log_paths)?),
    };
    if install_interrupt {
        interrupt::install(if ranks > 1 {
            "stopping and writing a checkpoint (Ctrl-C, or mpirun ending the job because another rank ended)"
        } else {
            "stopping after the current batch and writing a checkpoint"
        });
    }
    let mut curve: Vec<plots::CurvePoint> = Vec::new();
    let tty = progress && writer && std::io::stderr().is_terminal();
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
    // interrupted within an epoch (or a rank lost): its batches so far go into the checkpoint
    let save_partial = |trainer: &Trainer, train_seconds: f64| -> Result<()> {
        if !writer {
            return Ok(());
        }
        let mut meta = HashMap::new();
        meta.insert("config".into(), config_text.clone());
        meta.insert("train_seconds".into(), train_seconds.to_string());
        meta.insert("partial".into(), serde_json::to_string(&trainer.partial).context("serializing the partial epoch")?);
        checkpoint::save_training(&trainer.net, &trainer.optimizer, trainer.epochs_done, &ckpt, meta)?;
        Ok(())
    };
    // the draws of the event transforms that data.train and data.test hold (README, "[data.events]")
    let (mut train_draw, mut test_draw) = (0, 0);
    while trainer.epochs_done < epochs {
        if let Some(d) = &data.draws {
            if train_draw != d.train_draw(trainer.epochs_done) {
                (data.train, data.valid) = d.train(trainer.epochs_done)?;
                train_draw = d.train_draw(trainer.epochs_done);
            }
        }
        let rec = match trainer.epoch_until(&data.train, data.valid.as_ref(), &mut |_, _| {}, &stop) {
            Ok(EpochOutcome::Done(rec)) => rec,
            Ok(EpochOutcome::Stopped { batches_done }) => {
                save_partial(&trainer, train_seconds)?;
                group.close();
                let at = format!("batch {batches_done} of epoch {} (of {epochs})", trainer.epochs_done + 1);
                return Ok(interrupted(at, out, config.as_deref(), lock, &bar));
            }
            Err(e @ Error::Distributed { .. }) => {
                // the exchange failed (Ctrl-C, or mpirun's SIGTERM after another rank died): the
                // state before the batch under way is consistent and goes into the checkpoint
                save_partial(&trainer, train_seconds)?;
                let done = trainer.partial.as_ref().map_or(0, |p| p.batches_done);
                let at = format!("batch {done} of epoch {} (of {epochs})", trainer.epochs_done + 1);
                if interrupt::requested() {
                    return Ok(interrupted(at, out, config.as_deref(), lock, &bar));
                }
                bar.finish_and_clear();
                return Err(anyhow::Error::new(e).context(format!("stopped after {at}; the checkpoint is in {}; resume with --resume", out.display())));
            }
            Err(e) => return Err(e.into()),
        };
        train_seconds += rec.train_seconds;
        let v = rec.valid.as_ref();
        if let Some(d) = &data.draws {
            if test_draw != d.test_draw(trainer.epochs_done - 1) {
                data.test = d.test(trainer.epochs_done - 1)?;
                test_draw = d.test_draw(trainer.epochs_done - 1);
            }
        }
        let test_m = trainer.evaluate(&data.test)?;
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
            note!("epoch {:>4}/{epochs} {msg} ({:.2} s)", rec.epoch, rec.train_seconds);
        }
        let record = json!({
            "epoch": rec.epoch,
            "train": metrics_json(&rec.train),
            "valid": v.map(metrics_json),
            "test": metrics_json(&test_m),
            "train_seconds": rec.train_seconds,
        });
        if let Some(log) = log.as_mut() {
            log.write(&record)?;
            let mut meta = HashMap::new();
            meta.insert("config".into(), config_text.clone());
            meta.insert("train_seconds".into(), train_seconds.to_string());
            // the log line is on disk before the checkpoint that says the epoch is done
            log.sync()?;
            checkpoint::save_training(&trainer.net, &trainer.optimizer, trainer.epochs_done, &ckpt, meta)?;
        }
        on_record(&record);
        if trainer.group().any(stop())? && trainer.epochs_done < epochs {
            group.close();
            return Ok(interrupted(format!("epoch {} of {epochs}", trainer.epochs_done), out, config.as_deref(), lock, &bar));
        }
    }
    bar.finish_and_clear();
    let test = trainer.evaluate(&data.test)?;
    let valid = data.valid.as_ref().map(|v| trainer.evaluate(v)).transpose()?;
    let final_rates = trainer.evaluate(&data.train)?.rates_hz;
    let net = &trainer.net;
    let Some(mut log) = log else {
        // ranks other than 0 are done: rank 0 writes the results
        group.close();
        return Ok(Outcome::Finished { out });
    };
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
        "processes": ranks,
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
    write_atomic(&out.join("summary.md"), text.as_bytes())?;
    if let Some(dir) = &plots {
        plots::learning_curves(&curve, &format!("{}: learning curves (seed {})", cfg.name, cfg.train.seed), &dir.join("learning_curves.png"))?;
        plots::activity_snapshot(net, &data.test, 5, &format!("{}: activity after training (test samples)", cfg.name), &dir.join("snapshot_after.png"))?;
        note!("figures in {}", dir.display());
    }
    // the final line last: a log that ends with it belongs to a run whose files are all written
    log.write(&summary)?;
    log.sync()?;
    on_record(&summary);
    say!("test accuracy {:.2} %, test loss {:.4} ({} epochs, {:.1} s); results in {}", 100.0 * test.acc, test.loss(), epochs, train_seconds, out.display());
    group.close();
    Ok(Outcome::Finished { out })
}

/// Ends an interrupted run whose checkpoint is written: says where it stopped (`at`) and the
/// command that resumes it, and releases the run directory.
fn interrupted(at: String, out: PathBuf, config: Option<&Path>, lock: Option<RunLock>, bar: &ProgressBar) -> Outcome {
    bar.finish_and_clear();
    let cfg_arg = config.map_or(String::new(), |c| format!(" --config {}", c.display()));
    note!("stopped after {at}; the checkpoint is in {}. Resume with: spikeflux train{cfg_arg} --out {} --resume", out.display(), out.display());
    drop(lock);
    Outcome::Interrupted { out, at }
}

fn metrics_json(m: &Metrics) -> serde_json::Value {
    json!({ "loss": m.loss(), "ce": m.ce, "reg": m.reg, "acc": m.acc, "rates_hz": m.rates_hz, "samples": m.samples })
}
