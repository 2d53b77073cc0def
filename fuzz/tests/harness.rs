//! The harness itself: a short run of every target finds nothing (the CI's fuzz run), and planted
//! panics, hangs, aborts and over-allocations are each counted and saved.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_spikeflux-fuzz");

fn count(line: &str, what: &str) -> u64 {
    let end = line.find(what).unwrap_or_else(|| panic!("no `{what}` in {line}"));
    line[..end].trim_end().rsplit([' ', '(']).next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no count before `{what}` in {line}"))
}

/// Every reader, 3000 mutated inputs each (seconds in all): no panic, hang, abort or input over
/// its memory bound. The long runs are in BENCHMARKS.md.
#[test]
fn a_short_run_of_every_target_finds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("fuzz.jsonl");
    let out = Command::new(BIN)
        .args(["run", "all", "--inputs", "3000", "--seed", "11", "--findings"])
        .arg(dir.path().join("findings"))
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&json).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let names: Vec<&str> = lines.iter().map(|l| l["target"].as_str().unwrap()).collect();
    assert_eq!(names, ["hdf5", "config", "wav", "flac", "idx", "weights", "checkpoint", "aedat3", "aedat4", "atis", "dat", "evt2", "evt3", "npy", "events-h5", "npz"]);
    for l in &lines {
        assert_eq!(l["inputs"], 3000, "{l}");
        for k in ["panics", "hangs", "aborts", "over_memory_bound"] {
            assert_eq!(l[k], 0, "{l}");
        }
        // the mutations reach past the first check: some inputs are accepted, most refused
        assert!(l["accepted"].as_u64().unwrap() > 0 && l["refused"].as_u64().unwrap() > 0, "{l}");
    }
}

/// The planted target: each kind of finding is counted, its input saved, and the run goes on past
/// it to the requested number of inputs, with exit status 1.
#[test]
fn planted_panics_hangs_aborts_and_over_allocations_are_all_found() {
    let dir = tempfile::tempdir().unwrap();
    let findings = dir.path().join("findings");
    let out = Command::new(BIN)
        .args(["run", "selftest", "--inputs", "400", "--timeout-ms", "300", "--findings"])
        .arg(&findings)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let line = stdout.lines().find(|l| l.starts_with("selftest")).unwrap();
    assert_eq!(count(line, "inputs in"), 400, "{line}");
    let mut saved = std::collections::HashMap::new();
    for e in std::fs::read_dir(&findings).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        let kind = name.split('-').nth(1).unwrap().to_string();
        *saved.entry(kind).or_insert(0u64) += 1;
    }
    for (what, kind) in [("panics", "panic"), ("hangs", "hang"), ("aborts", "abort"), ("over the memory bound", "memory")] {
        let n = count(line, what);
        assert!(n > 0, "no {what}: {line}");
        assert_eq!(saved.get(kind).copied().unwrap_or(0), n, "{kind} files saved vs {what} counted: {line}");
    }
    // a saved input replays to the same behaviour
    let panic_file = std::fs::read_dir(&findings).unwrap().map(|e| e.unwrap().path()).find(|p| p.to_string_lossy().contains("-panic-")).unwrap();
    assert_eq!(std::fs::read(&panic_file).unwrap()[0], 0x00);
}

/// Every input the fuzzer ever found (`fuzz/regressions/<target>/`, named by kind, seed and
/// index) replays within its bound and without a panic.
#[test]
fn every_past_finding_replays_cleanly() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let mut n = 0;
    for t in std::fs::read_dir(&root).unwrap() {
        let t = t.unwrap().path();
        let target = t.file_name().unwrap().to_str().unwrap().to_string();
        for f in std::fs::read_dir(&t).unwrap() {
            let f = f.unwrap().path();
            let out = Command::new(BIN).args(["replay", &target]).arg(&f).output().unwrap();
            assert!(out.status.success(), "{}: {}{}", f.display(), String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            n += 1;
        }
    }
    assert!(n >= 6, "{n} regression inputs");
}
