//! The run directory of `spikeflux train` (`--out`): a lock against a second run writing into it,
//! and the JSON-lines logs kept consistent with the checkpoint.
//!
//! The checkpoint is the source of truth. Each log line is written whole (one write) and synced to
//! disk before the epoch's checkpoint is written, so after any kill the log holds every epoch the
//! checkpoint holds, and possibly one more line (or a torn one) after it. `--resume` therefore cuts
//! the log back to the checkpoint's epoch before training on: the log of an interrupted and resumed
//! run equals that of an uninterrupted one, line for line (timings aside).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use spikeflux_core::data::files::write_atomic;
use spikeflux_core::Error;

/// Holds `DIR/.lock` (containing our process id) while a run writes into `DIR`; removed on drop.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
}

impl RunLock {
    /// Takes the lock of `dir` (which must exist). A lock left by a process that no longer runs
    /// (killed), or whose id now belongs to another program, is taken over.
    ///
    /// # Errors
    /// A config error naming `--out` and the other process when one is still writing into `dir`;
    /// an I/O error when `dir` is not writable.
    pub fn take(dir: &Path) -> Result<Self> {
        let path = dir.join(".lock");
        for _ in 0..2 {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    write!(f, "{}", std::process::id()).map_err(|e| Error::io(&path, e))?;
                    return Ok(RunLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    match text.trim().parse::<u32>() {
                        Ok(pid) if pid != std::process::id() && is_spikeflux(pid) => {
                            return Err(Error::config(
                                "--out",
                                format!(
                                    "another spikeflux (process {pid}) is writing into {}; wait for it to finish, or give another --out",
                                    dir.display()
                                ),
                            )
                            .into());
                        }
                        // stale (its process is gone) or unreadable: take it over
                        _ => std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?,
                    }
                }
                Err(e) => return Err(Error::io(&path, e).into()),
            }
        }
        Err(Error::config("--out", format!("could not take the lock {}", path.display())).into())
    }
}

/// Whether process `pid` runs and is a spikeflux (not an unrelated process that got the id of a
/// killed run).
fn is_spikeflux(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim().starts_with("spikeflux"))
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The run's JSON-lines log files (the run directory's `log.jsonl` and any `--log` file).
#[derive(Debug)]
pub struct Log {
    files: Vec<(PathBuf, std::fs::File)>,
}

impl Log {
    /// Starts the logs afresh (empty files).
    pub fn create(paths: &[PathBuf]) -> Result<Self> {
        Self::open(paths, false)
    }

    /// Continues the logs of a run whose checkpoint holds `epochs_done` epochs: every line after the
    /// last epoch ≤ `epochs_done` (a later epoch, a final summary, a torn line) is cut off first.
    pub fn resume(paths: &[PathBuf], epochs_done: usize) -> Result<Self> {
        for p in paths {
            let text = match std::fs::read(p) {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
                Err(e) => return Err(Error::io(p, e).into()),
            };
            let kept: String = text
                .split_inclusive('\n')
                .filter(|l| l.ends_with('\n'))
                .take_while(|l| {
                    serde_json::from_str::<serde_json::Value>(l)
                        .ok()
                        .and_then(|v| v.get("epoch").and_then(|e| e.as_u64()))
                        .is_some_and(|e| e as usize <= epochs_done)
                })
                .collect();
            if kept.len() != text.len() {
                write_atomic(p, kept.as_bytes())?;
            }
        }
        Self::open(paths, true)
    }

    fn open(paths: &[PathBuf], append: bool) -> Result<Self> {
        let files = paths
            .iter()
            .map(|p| {
                let f = std::fs::OpenOptions::new().create(true).write(true).append(append).truncate(!append).open(p);
                f.map(|f| (p.clone(), f)).map_err(|e| Error::io(p, e).into())
            })
            .collect::<Result<_>>()?;
        Ok(Log { files })
    }

    /// Appends `v` as one line, in one write.
    pub fn write(&mut self, v: &serde_json::Value) -> Result<()> {
        let line = format!("{v}\n");
        for (p, f) in &mut self.files {
            f.write_all(line.as_bytes()).with_context(|| format!("writing the log {}", p.display()))?;
        }
        Ok(())
    }

    /// Makes everything written so far durable (before the checkpoint that it must not lag behind).
    pub fn sync(&mut self) -> Result<()> {
        for (p, f) in &mut self.files {
            f.sync_data().map_err(|e| Error::io(p.as_path(), e))?;
        }
        Ok(())
    }
}

/// Whether the log at `path` ends with a run's final summary (`"final": true`).
pub fn finished(path: &Path) -> bool {
    std::fs::read_to_string(path).ok().and_then(|t| t.lines().last().map(str::to_string)).is_some_and(|l| {
        serde_json::from_str::<serde_json::Value>(&l).ok().and_then(|v| v.get("final").and_then(|f| f.as_bool())).unwrap_or(false)
    })
}
