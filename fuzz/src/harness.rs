//! The run loop. A supervisor process starts a worker process per target; the worker runs inputs
//! `from..to` in order, each under `catch_unwind` (a panic is a finding, saved, and the run goes
//! on), measures each input's peak heap against the target's bound, and before each input records
//! its index and running totals in a small progress file. A watchdog thread ends the worker with
//! [`HANG_EXIT`] when one input runs past the timeout. When a worker dies (hang, abort, a signal),
//! the supervisor reads the progress file, rebuilds the input from its index, saves it as a finding
//! and starts a new worker after it.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use peak_alloc::PeakAlloc;

use crate::mutate::entropy;
use crate::targets::Target;

/// The worker's exit status when an input hangs.
pub const HANG_EXIT: i32 = 86;

/// Counts for one target (summed over workers).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// Inputs run to the end.
    pub inputs: u64,
    /// Accepted by the reader.
    pub accepted: u64,
    /// Refused with an error.
    pub rejected: u64,
    /// Panics caught.
    pub panics: u64,
    /// Inputs whose peak heap exceeded the target's bound.
    pub over_memory: u64,
    /// Inputs still running at the timeout.
    pub hangs: u64,
    /// Workers that died (abort, signal) on an input.
    pub aborts: u64,
    /// The largest peak heap of one input (bytes).
    pub max_peak: u64,
    /// The input with that peak.
    pub max_peak_index: u64,
    /// The largest resident set of a worker (KiB, VmHWM).
    pub max_rss_kib: u64,
}

const FIELDS: usize = 11;

impl Totals {
    fn record(&self, next: u64) -> [u8; 8 * FIELDS] {
        let v = [
            next,
            self.inputs,
            self.accepted,
            self.rejected,
            self.panics,
            self.over_memory,
            self.hangs,
            self.aborts,
            self.max_peak,
            self.max_peak_index,
            self.max_rss_kib,
        ];
        let mut b = [0u8; 8 * FIELDS];
        for (k, x) in v.iter().enumerate() {
            b[8 * k..8 * k + 8].copy_from_slice(&x.to_le_bytes());
        }
        b
    }

    fn from_record(b: &[u8]) -> Option<(u64, Totals)> {
        if b.len() < 8 * FIELDS {
            return None;
        }
        let g = |k: usize| u64::from_le_bytes(b[8 * k..8 * k + 8].try_into().unwrap_or([0; 8]));
        Some((
            g(0),
            Totals {
                inputs: g(1),
                accepted: g(2),
                rejected: g(3),
                panics: g(4),
                over_memory: g(5),
                hangs: g(6),
                aborts: g(7),
                max_peak: g(8),
                max_peak_index: g(9),
                max_rss_kib: g(10),
            },
        ))
    }

    fn add(&mut self, o: &Totals) {
        self.inputs += o.inputs;
        self.accepted += o.accepted;
        self.rejected += o.rejected;
        self.panics += o.panics;
        self.over_memory += o.over_memory;
        self.hangs += o.hangs;
        self.aborts += o.aborts;
        if o.max_peak > self.max_peak {
            self.max_peak = o.max_peak;
            self.max_peak_index = o.max_peak_index;
        }
        self.max_rss_kib = self.max_rss_kib.max(o.max_rss_kib);
    }

    /// Panics, hangs, aborts and inputs over the memory bound.
    pub fn findings(&self) -> u64 {
        self.panics + self.hangs + self.aborts + self.over_memory
    }
}

/// The peak resident set of this process (KiB), from /proc.
fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

/// Saves a finding's input and says where.
pub fn save_finding(dir: &Path, target: &str, kind: &str, seed: u64, index: u64, input: &[u8], detail: &str) {
    let path = dir.join(format!("{target}-{kind}-seed{seed}-{index}.bin"));
    let saved = std::fs::create_dir_all(dir).and_then(|_| std::fs::write(&path, input));
    match saved {
        Ok(()) => eprintln!("FINDING {target} {kind} at input {index} (seed {seed}): {detail}; input saved as {}", path.display()),
        Err(e) => eprintln!("FINDING {target} {kind} at input {index} (seed {seed}): {detail}; could not save it: {e}"),
    }
}

/// What the worker is given.
pub struct WorkerArgs {
    /// Run seed.
    pub seed: u64,
    /// First input.
    pub from: u64,
    /// One past the last input.
    pub to: u64,
    /// Progress file.
    pub progress: PathBuf,
    /// Where findings go.
    pub findings: PathBuf,
    /// Per-input timeout.
    pub timeout: Duration,
}

/// Runs inputs `from..to` of `target` in this process (the worker side).
pub fn worker(t: &Target, alloc: &PeakAlloc, a: &WorkerArgs) -> std::io::Result<Totals> {
    let progress = File::create(&a.progress)?;
    let seeds = (t.seeds)();
    // the watchdog: 0 = idle, else the start of the running input in ms since `epoch`
    let epoch = Instant::now();
    let started = Arc::new(AtomicU64::new(0));
    let current = Arc::new(AtomicU64::new(0));
    {
        let (started, current, timeout) = (started.clone(), current.clone(), a.timeout);
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(20));
            let s = started.load(Ordering::SeqCst);
            if s > 0 && epoch.elapsed().as_millis() as u64 > s + timeout.as_millis() as u64 {
                eprintln!("input {} still running after {:?}", current.load(Ordering::SeqCst), timeout);
                std::process::exit(HANG_EXIT);
            }
        });
    }
    // panics are counted and saved here; the default hook's message would flood the terminal
    let last_panic = Arc::new(std::sync::Mutex::new(String::new()));
    {
        let last_panic = last_panic.clone();
        std::panic::set_hook(Box::new(move |info| {
            if let Ok(mut m) = last_panic.lock() {
                *m = info.to_string();
            }
        }));
    }
    let mut tot = Totals::default();
    for i in a.from..a.to {
        progress.write_at(&tot.record(i), 0)?;
        let input = (t.make)(&entropy(a.seed, i), &seeds);
        alloc.reset_peak_usage();
        let base = alloc.current_usage();
        current.store(i, Ordering::SeqCst);
        started.store(epoch.elapsed().as_millis() as u64 + 1, Ordering::SeqCst);
        let r = std::panic::catch_unwind(|| (t.run)(&input));
        started.store(0, Ordering::SeqCst);
        let peak = alloc.peak_usage().saturating_sub(base) as u64;
        tot.inputs += 1;
        let out = match r {
            Ok(Ok(out)) => {
                tot.accepted += 1;
                out
            }
            Ok(Err(_)) => {
                tot.rejected += 1;
                0
            }
            Err(_) => {
                tot.panics += 1;
                let msg = last_panic.lock().map(|m| m.clone()).unwrap_or_default();
                save_finding(&a.findings, t.name, "panic", a.seed, i, &input, &msg);
                0
            }
        };
        let bound = (t.bound)(input.len(), out) as u64;
        if peak > bound {
            tot.over_memory += 1;
            let detail = format!("peak heap {peak} bytes, bound {bound} for a {}-byte input", input.len());
            save_finding(&a.findings, t.name, "memory", a.seed, i, &input, &detail);
        }
        if peak > tot.max_peak {
            tot.max_peak = peak;
            tot.max_peak_index = i;
        }
        if i % 4096 == 0 {
            tot.max_rss_kib = tot.max_rss_kib.max(vm_hwm_kib());
        }
    }
    tot.max_rss_kib = tot.max_rss_kib.max(vm_hwm_kib());
    progress.write_at(&tot.record(a.to), 0)?;
    Ok(tot)
}

/// Runs `n` inputs of `target` in worker processes of this executable (the supervisor side).
pub fn supervise(exe: &Path, t: &Target, seed: u64, n: u64, timeout: Duration, findings: &Path) -> std::io::Result<Totals> {
    let progress = std::env::temp_dir().join(format!("spikeflux-fuzz-{}-{}.progress", t.name, std::process::id()));
    let mut total = Totals::default();
    let mut from = 0;
    while from < n {
        let status = Command::new(exe)
            .args(["worker", t.name, "--seed", &seed.to_string(), "--from", &from.to_string(), "--to", &n.to_string()])
            .arg("--progress")
            .arg(&progress)
            .arg("--findings")
            .arg(findings)
            .args(["--timeout-ms", &timeout.as_millis().to_string()])
            .status()?;
        let record = std::fs::read(&progress).unwrap_or_default();
        let Some((next, part)) = Totals::from_record(&record) else {
            let _ = std::fs::remove_file(&progress);
            return Err(std::io::Error::other(format!("worker for {} ended ({status}) without a progress record", t.name)));
        };
        total.add(&part);
        if status.success() {
            break;
        }
        // the worker died on input `next`: rebuild it from its index and keep it
        let input = (t.make)(&entropy(seed, next), &(t.seeds)());
        let kind = if status.code() == Some(HANG_EXIT) { "hang" } else { "abort" };
        if kind == "hang" {
            total.hangs += 1;
        } else {
            total.aborts += 1;
        }
        total.inputs += 1;
        save_finding(findings, t.name, kind, seed, next, &input, &format!("worker ended with {status}"));
        from = next + 1;
    }
    let _ = std::fs::remove_file(&progress);
    Ok(total)
}
