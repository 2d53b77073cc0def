//! Nothing a user does loses work or crashes (issue #11), run as a user would: closed pipes, kills
//! and interrupts during training, a second run into the same directory, configs that ask for
//! absurd sizes.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::*;

/// A reader that closes the pipe (`spikeflux data info F.h5 | head -0`) ends the program quietly
/// with status 141, not a panic; a training run whose standard error is closed still trains and
/// writes its run directory.
#[test]
fn closed_pipes_end_quietly_and_never_cost_the_run_its_files() {
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    // standard output: a pipe whose read end is already closed
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let err_path = dir.path().join("info.err");
    let out = Command::new(BIN)
        .args(["data", "info", &core_fixture("shd_like_fixture.h5").display().to_string()])
        .stdout(writer)
        .stderr(std::fs::File::create(&err_path).unwrap())
        .status()
        .unwrap();
    let err = std::fs::read_to_string(&err_path).unwrap();
    assert_eq!(out.code(), Some(141), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    // standard error closed during a training run
    let cfg = write(dir.path(), "small.toml", &small_config());
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let st = Command::new(BIN)
        .args(["train", "--config", &cfg, "--epochs", "2", "--out", "run"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(writer)
        .status()
        .unwrap();
    assert!(st.success(), "{st}");
    let log = std::fs::read_to_string(dir.path().join("run/log.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 3, "{log}");
    assert!(dir.path().join("run/weights.safetensors").is_file());
}

/// The run directory after a kill: a log line beyond the checkpoint (and a torn one) is cut off on
/// `--resume`; finished runs, fewer epochs than done and a missing checkpoint are refused with what
/// to do; a second run into a directory another live process writes into is refused, naming it.
#[test]
fn run_directory_stays_consistent_with_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "small.toml", &small_config());
    assert!(run(dir.path(), &["train", "--config", &cfg, "--epochs", "3", "--out", "a"]).status.success());
    // a run that was killed after writing epoch 3's log line but before its checkpoint: the
    // checkpoint of a 2-epoch run, the log of a 3-epoch run plus a torn line
    assert!(run(dir.path(), &["train", "--config", &cfg, "--epochs", "2", "--out", "k"]).status.success());
    let a_log = std::fs::read_to_string(dir.path().join("a/log.jsonl")).unwrap();
    let third = a_log.lines().nth(2).unwrap();
    let k_log = std::fs::read_to_string(dir.path().join("k/log.jsonl")).unwrap();
    let two: String = k_log.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.path().join("k/log.jsonl"), format!("{two}{third}\n{{\"epoch\": 4, \"tra")).unwrap();
    let r = run(dir.path(), &["train", "--config", &cfg, "--epochs", "3", "--out", "k", "--resume"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(log_without_timings(&dir.path().join("a")), log_without_timings(&dir.path().join("k")));
    // finished: refused, nothing changed
    let before = std::fs::read(dir.path().join("k/log.jsonl")).unwrap();
    fails_with(&run(dir.path(), &["train", "--config", &cfg, "--epochs", "3", "--out", "k", "--resume"]), 2, &["finished", "--epochs"]);
    fails_with(&run(dir.path(), &["train", "--config", &cfg, "--epochs", "2", "--out", "k", "--resume"]), 2, &["holds 3 epochs", "--epochs 3"]);
    assert_eq!(before, std::fs::read(dir.path().join("k/log.jsonl")).unwrap());
    // no checkpoint
    fails_with(&run(dir.path(), &["train", "--config", &cfg, "--out", "empty", "--resume"]), 2, &["no checkpoint", "without --resume"]);
    // a live spikeflux holds the lock: refused, naming it; a stale lock is taken over
    let mut other = Command::new(BIN)
        .args(["train", "--config", &cfg, "--epochs", "100000", "--out", "other"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = other.id();
    std::fs::write(dir.path().join("a/.lock"), pid.to_string()).unwrap();
    let refused = run(dir.path(), &["train", "--config", &cfg, "--epochs", "1", "--out", "a"]);
    other.kill().unwrap();
    other.wait().unwrap();
    fails_with(&refused, 2, &[&format!("process {pid}"), "--out"]);
    assert_eq!(a_log, std::fs::read_to_string(dir.path().join("a/log.jsonl")).unwrap(), "the refused run touched the log");
    std::fs::write(dir.path().join("a/.lock"), "4194305").unwrap();
    assert!(run(dir.path(), &["train", "--config", &cfg, "--epochs", "1", "--out", "a"]).status.success());
    assert!(!dir.path().join("a/.lock").exists(), "the lock is removed at the end");
}

/// Ctrl-C (SIGINT) during training: the run stops after the current batch with a checkpoint, says
/// how to resume and exits 130; resumed, it ends exactly like an uninterrupted run.
#[test]
fn interrupt_saves_a_checkpoint_and_the_run_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "small.toml", &small_config());
    let child = Command::new(BIN)
        .args(["train", "--config", &cfg, "--epochs", "100000", "--out", "i"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let log = dir.path().join("i/log.jsonl");
    let t0 = std::time::Instant::now();
    while std::fs::read_to_string(&log).map_or(0, |t| t.lines().count()) < 2 {
        assert!(t0.elapsed().as_secs() < 120, "no epoch within 2 minutes");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let kill = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("--resume") && !err.contains("panicked"), "{err}");
    let done = std::fs::read_to_string(&log).unwrap().lines().count();
    assert!(done >= 2 && !dir.path().join("i/.lock").exists(), "{done} epochs");
    let n = (done + 1).to_string();
    let r = run(dir.path(), &["train", "--config", &cfg, "--epochs", &n, "--out", "i", "--resume"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(run(dir.path(), &["train", "--config", &cfg, "--epochs", &n, "--out", "u"]).status.success());
    assert_eq!(log_without_timings(&dir.path().join("i")), log_without_timings(&dir.path().join("u")));
}

/// Configs that used to abort, hang or panic (memory for a 40 TB PSP kernel, a 12 GB network
/// allocated before the estimate, data generation running for hours) are refused before anything
/// is allocated, with exit 2 naming the field.
#[test]
fn absurd_sizes_and_time_constants_are_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, &[&str]); 15] = [
        ("nu = 5.0", "nu = 1e30", &["init.nu", "one spike per step"]),
        ("initial_state = -1e-2", "initial_state = 1e38", &["model.readout.initial_state", "±1000"]),
        ("lr = 5e-3", "lr = 1e6", &["train.lr", "at most 10"]),
        ("[model.readout]\ntau_mem = 0.2", "[model.readout]\ntau_mem = 1e9", &["model.readout.tau_mem", "resolve"]),
        ("dt = 2e-3", "dt = 1e-9", &["model.dt", "1 µs"]),
        ("size = 128", "size = 100000000", &["model.hidden[0].size"]),
        ("n_units = 20", "n_units = 1000000", &["data.randman.n_units"]),
        ("samples_per_class = 1000", "samples_per_class = 100000000", &["data.randman", "samples_per_class"]),
        ("samples_per_class = 1000", "samples_per_class = 10000000", &["data.randman", "samples_per_class"]),
        ("n_classes = 10", "n_classes = 100000000", &["data.randman.n_classes"]),
        ("n_spikes = 1", "n_spikes = 1000000", &["data.randman", "n_spikes"]),
        ("dim_manifold = 1", "dim_manifold = 1000", &["data.randman", "dim_manifold"]),
        ("tau_mem = 20e-3", "tau_mem = 1e30", &["model.hidden[0].tau_mem"]),
        ("tau_mem = 20e-3", "tau_mem = 9223372036854775807", &["model.hidden[0].tau_mem"]),
        ("n_steps = 100", "n_steps = 70000", &["data.randman.n_steps", "65536"]),
    ];
    for (i, (from, to, needles)) in cases.iter().enumerate() {
        assert!(DEFAULT.contains(from), "{from}");
        let cfg = write(dir.path(), &format!("c{i}.toml"), &DEFAULT.replacen(from, to, 1));
        fails_with(&run(dir.path(), &["train", "--config", &cfg, "--out", &format!("r{i}")]), 2, needles);
    }
}

/// A "config" of megabytes (the wrong file) is refused from its size before it is read.
#[test]
fn a_config_file_past_one_mib_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.toml");
    std::fs::write(&big, vec![b'#'; (1 << 20) + 1]).unwrap();
    fails_with(&run(dir.path(), &["train", "--config", &big.display().to_string()]), 2, &["big.toml", "at most 1048576 bytes"]);
}
