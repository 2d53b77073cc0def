//! `spikeflux-fuzz`: fuzz every reader of user-supplied bytes on stable Rust.
//!
//! ```text
//! spikeflux-fuzz run all --inputs 1000000        # every target, 1 M inputs each
//! spikeflux-fuzz run hdf5 --inputs 20000 --seed 3
//! spikeflux-fuzz replay hdf5 FILE                # one input again, with its outcome and peak heap
//! spikeflux-fuzz list
//! ```
//!
//! A seeded, structure-aware mutation harness (README, "Fuzzing"): inputs are the committed seeds
//! mutated by choices an [`arbitrary::Unstructured`] draws from a ChaCha8 stream per input index,
//! so every finding is reproducible from (target, seed, index). Counted per target: panics, hangs
//! (an input running past `--timeout-ms`), aborts (the worker process dying) and inputs whose peak
//! heap exceeds the reader's bound. Exit status 0 when there are none, 1 otherwise.

mod harness;
mod mutate;
mod targets;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use peak_alloc::PeakAlloc;

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

#[derive(Parser)]
#[command(name = "spikeflux-fuzz", about = "Fuzz spikeflux's readers (HDF5, TOML configs, WAV, FLAC, IDX, safetensors, event-camera files)")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run TARGET (or `all`) for --inputs inputs each.
    Run {
        target: String,
        #[arg(long, default_value_t = 10_000)]
        inputs: u64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// An input running longer than this is a hang.
        #[arg(long, default_value_t = 5_000)]
        timeout_ms: u64,
        /// Where inputs that panic, hang, abort or exceed the memory bound are saved.
        #[arg(long, default_value = "target/fuzz-findings")]
        findings: PathBuf,
        /// Append one JSON line per target here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Run one saved input (or input INDEX of --seed) and print the outcome; exit status 1 when
    /// its peak heap exceeds the target's bound (a panic ends it with Rust's 101).
    Replay {
        target: String,
        file: Option<PathBuf>,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long)]
        index: Option<u64>,
        /// Also write the input to this file (to keep it in fuzz/regressions/).
        #[arg(long)]
        write: Option<PathBuf>,
    },
    /// List the targets.
    List,
    /// (internal) one worker process of `run`.
    #[command(hide = true)]
    Worker {
        target: String,
        #[arg(long)]
        seed: u64,
        #[arg(long)]
        from: u64,
        #[arg(long)]
        to: u64,
        #[arg(long)]
        progress: PathBuf,
        #[arg(long)]
        findings: PathBuf,
        #[arg(long)]
        timeout_ms: u64,
    },
}

fn target(name: &str) -> Result<targets::Target> {
    let names: Vec<&str> = targets::all().iter().map(|t| t.name).collect();
    targets::all().into_iter().chain([targets::selftest()]).find(|t| t.name == name).with_context(|| format!("no target `{name}`; the targets are {}", names.join(", ")))
}

fn mib(b: u64) -> f64 {
    b as f64 / (1u64 << 20) as f64
}

fn run(which: &str, inputs: u64, seed: u64, timeout_ms: u64, findings: PathBuf, json: Option<PathBuf>) -> Result<bool> {
    let list = if which == "all" { targets::all() } else { vec![target(which)?] };
    let exe = std::env::current_exe().context("locating this executable")?;
    let mut clean = true;
    for t in &list {
        let t0 = Instant::now();
        let tot = harness::supervise(&exe, t, seed, inputs, Duration::from_millis(timeout_ms), &findings)?;
        let secs = t0.elapsed().as_secs_f64();
        println!(
            "{:<10} {:>9} inputs in {:>7.1} s ({:>6.0}/s): {} accepted, {} refused; {} panics, {} hangs, {} aborts, {} over the memory bound; peak heap of one input {:.2} MiB (input {}), worker peak RSS {:.1} MiB",
            t.name,
            tot.inputs,
            secs,
            tot.inputs as f64 / secs,
            tot.accepted,
            tot.rejected,
            tot.panics,
            tot.hangs,
            tot.aborts,
            tot.over_memory,
            mib(tot.max_peak),
            tot.max_peak_index,
            tot.max_rss_kib as f64 / 1024.0
        );
        if let Some(path) = &json {
            use std::io::Write;
            let line = serde_json::json!({
                "target": t.name, "seed": seed, "inputs": tot.inputs, "accepted": tot.accepted, "refused": tot.rejected,
                "panics": tot.panics, "hangs": tot.hangs, "aborts": tot.aborts, "over_memory_bound": tot.over_memory,
                "max_input_peak_heap_bytes": tot.max_peak, "max_peak_input": tot.max_peak_index,
                "worker_peak_rss_kib": tot.max_rss_kib, "seconds": secs, "timeout_ms": timeout_ms,
            });
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).with_context(|| format!("opening {}", path.display()))?;
            writeln!(f, "{line}").with_context(|| format!("writing {}", path.display()))?;
        }
        clean &= tot.findings() == 0;
    }
    Ok(clean)
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Run { target, inputs, seed, timeout_ms, findings, json } => {
            if !run(&target, inputs, seed, timeout_ms, findings, json)? {
                std::process::exit(1);
            }
        }
        Cmd::Replay { target: name, file, seed, index, write } => {
            let t = target(&name)?;
            let input = match (file, index) {
                (Some(f), None) => std::fs::read(&f).with_context(|| format!("reading {}", f.display()))?,
                (None, Some(i)) => (t.make)(&mutate::entropy(seed, i), &(t.seeds)()),
                _ => bail!("give a FILE or --index"),
            };
            if let Some(w) = &write {
                std::fs::write(w, &input).with_context(|| format!("writing {}", w.display()))?;
            }
            ALLOC.reset_peak_usage();
            let base = ALLOC.current_usage();
            let r = (t.run)(&input);
            let peak = ALLOC.peak_usage().saturating_sub(base);
            let out = match &r {
                Ok(o) => *o,
                Err(_) => 0,
            };
            let bound = (t.bound)(input.len(), out);
            println!("{}-byte input: {r:?}; peak heap {peak} bytes (bound {bound})", input.len());
            if peak > bound {
                println!("over the memory bound");
                std::process::exit(1);
            }
        }
        Cmd::List => {
            for t in targets::all().into_iter().chain([targets::selftest()]) {
                println!("{:<10} {}", t.name, t.about);
            }
        }
        Cmd::Worker { target: name, seed, from, to, progress, findings, timeout_ms } => {
            let t = target(&name)?;
            let args = harness::WorkerArgs { seed, from, to, progress, findings, timeout: Duration::from_millis(timeout_ms) };
            harness::worker(&t, &ALLOC, &args).context("the worker's progress file")?;
        }
    }
    Ok(())
}
