//! Helpers shared by the CLI test binaries: the binary, the default config shrunk, running
//! commands in temp dirs, the committed fixtures.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_spikeflux");
pub const DEFAULT: &str = include_str!("../../../../configs/randman-shallow.toml");

/// The default experiment shrunk to run in a second.
pub fn small_config() -> String {
    DEFAULT
        .replace("samples_per_class = 1000", "samples_per_class = 40")
        .replace("size = 128", "size = 32")
        .replace("batch_size = 250", "batch_size = 50")
}

pub fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN).args(args).current_dir(dir).output().expect("spikeflux runs")
}

pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

pub fn fails_with(out: &Output, code: i32, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

/// A committed fixture of the core crate (`crates/spikeflux-core/tests/fixtures/`).
pub fn core_fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spikeflux-core/tests/fixtures").join(name)
}

/// The FSDD recordings committed as fixtures (`crates/spikeflux-cochlea/tests/fixtures/fsdd/`).
pub fn fsdd_fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spikeflux-cochlea/tests/fixtures/fsdd")
}

/// The lines of DIR/log.jsonl without their timing fields and the weights path.
pub fn log_without_timings(dir: &Path) -> Vec<serde_json::Value> {
    let log = std::fs::read_to_string(dir.join("log.jsonl")).unwrap();
    log.lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            for k in ["train_seconds", "seconds_per_epoch", "weights"] {
                v.as_object_mut().unwrap().remove(k);
            }
            v
        })
        .collect()
}
