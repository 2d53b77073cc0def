//! `mpirun -np K spikeflux train` (built with `--features mpi`; CI installs OpenMPI and runs
//! `cargo test -p spikeflux-cli --features mpi --test mpi`): the weights and the log are bit for
//! bit those of one process for K = 2 and 3 and any thread count, only rank 0 writes, a run
//! resumes across process counts, `eval` spreads the same way, and a rank killed mid-run ends the
//! run with a checkpoint that resumes to the uninterrupted result.
#![cfg(feature = "mpi")]
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_spikeflux");

/// A Randman task with a recurrent conv layer, a recurrent dense and a dense layer, ν from data
/// (its measurement spread over the ranks too), batches of 7 slices of 16 samples (blocks of
/// 3 + 4 for two ranks, 2 + 2 + 3 for three) and a smaller last batch.
const CONV: &str = r#"
name = "mpi-conv"
[data.randman]
n_classes = 4
n_units = 24
n_steps = 40
step_frac = 0.5
offset_frac = 0.0
dim_manifold = 1
n_spikes = 1
alpha = 1.0
samples_per_class = 110
seed = 2
split = [0.8, 0.1, 0.1]
[model]
dt = 2e-3
input_shape = [2, 12]
[[model.hidden]]
size = 3
kernel = 4
stride = 2
padding = 1
recurrent = true
rec_kernel = 3
[[model.hidden]]
size = 12
recurrent = true
[[model.hidden]]
size = 8
recurrent = false
[model.readout]
tau_mem = 0.2
tau_syn = 10e-3
initial_state = -1e-2
[init]
method = "fluctuation-driven"
sigma_u = 1.0
nu = "data"
layerwise = true
readout = "scaled-normal"
[train]
epochs = 2
batch_size = 100
optimizer = "adam"
lr = 5e-3
loss = "max-over-time"
seed = 4
[[train.regularizer]]
bound = "upper"
strength = 0.01
threshold = 3.0
scope = "channel"
"#;

/// Notebook 01's shallow feed-forward network on a smaller Randman set.
const DENSE: &str = r#"
name = "mpi-dense"
[data.randman]
n_classes = 10
n_units = 20
n_steps = 100
step_frac = 0.5
offset_frac = 0.0
dim_manifold = 1
n_spikes = 1
alpha = 1.0
samples_per_class = 60
seed = 1
split = [0.8, 0.1, 0.1]
[model]
dt = 2e-3
[[model.hidden]]
size = 128
recurrent = false
tau_mem = 20e-3
tau_syn = 10e-3
[model.readout]
tau_mem = 0.2
tau_syn = 10e-3
initial_state = -1e-2
[init]
method = "fluctuation-driven"
sigma_u = 1.0
nu = 5.0
epsilon = "numerical"
layerwise = false
readout = "fluctuation-driven"
[train]
epochs = 2
batch_size = 120
optimizer = "smorms3"
lr = 5e-3
loss = "max-over-time"
seed = 1
[[train.regularizer]]
bound = "upper"
strength = 0.1
threshold = 4.0
scope = "population"
"#;

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("config.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn mpirun(np: usize) -> Command {
    let mut c = Command::new("mpirun");
    // more ranks than this machine's cores; root in CI containers
    c.args(["--oversubscribe", "--bind-to", "none", "-np", &np.to_string()])
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .arg(BIN);
    c
}

fn solo() -> Command {
    Command::new(BIN)
}

fn run(mut c: Command, args: &[&str]) -> Output {
    let out = c.args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    out
}

/// The log's records without what may differ between runs: times, thread and process counts,
/// and the weights' path.
fn log(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("log.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            if let Some(o) = v.as_object_mut() {
                o.retain(|k, _| !k.contains("seconds") && k != "threads" && k != "processes" && k != "weights");
            }
            v
        })
        .collect()
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

fn assert_same_run(a: &Path, b: &Path) {
    assert!(std::fs::read(a.join("weights.safetensors")).unwrap() == std::fs::read(b.join("weights.safetensors")).unwrap(), "{} and {}: the weights differ", a.display(), b.display());
    assert_eq!(log(a), log(b));
    assert_eq!(files(a), files(b), "only rank 0 writes, and what one process writes");
}

fn bit_identical(config: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), config);
    let cfg = cfg.to_str().unwrap();
    let one = tmp.path().join("one");
    run(solo(), &["train", "--config", cfg, "--threads", "2", "--out", one.to_str().unwrap()]);
    for (np, threads) in [(2, 1), (3, 2)] {
        let out = tmp.path().join(format!("np{np}"));
        let o = run(mpirun(np), &["train", "--config", cfg, "--threads", &threads.to_string(), "--out", out.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(&format!("{np} processes × {threads} threads")), "{err}");
        assert_eq!(err.matches("test accuracy").count() + String::from_utf8_lossy(&o.stdout).matches("test accuracy").count(), 1, "only rank 0 reports: {err}");
        assert_same_run(&one, &out);
    }
}

#[test]
fn two_and_three_processes_train_the_conv_network_of_one_bit_for_bit() {
    bit_identical(CONV);
}

#[test]
fn two_and_three_processes_train_the_dense_network_of_one_bit_for_bit() {
    bit_identical(DENSE);
}

#[test]
fn a_run_resumes_with_another_process_count_and_eval_spreads_too() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), CONV);
    let cfg = cfg.to_str().unwrap();
    let one = tmp.path().join("one");
    run(solo(), &["train", "--config", cfg, "--threads", "1", "--out", one.to_str().unwrap()]);
    let split = tmp.path().join("split");
    let s = split.to_str().unwrap();
    run(mpirun(2), &["train", "--config", cfg, "--threads", "1", "--epochs", "1", "--out", s]);
    run(mpirun(3), &["train", "--config", cfg, "--threads", "1", "--out", s, "--resume"]);
    assert_eq!(std::fs::read(one.join("weights.safetensors")).unwrap(), std::fs::read(split.join("weights.safetensors")).unwrap());
    let w = one.join("weights.safetensors");
    let want = run(solo(), &["eval", "--config", cfg, "--weights", w.to_str().unwrap()]).stdout;
    let got = run(mpirun(3), &["eval", "--config", cfg, "--weights", w.to_str().unwrap()]).stdout;
    assert!(!want.is_empty());
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want), "rank 0 prints the one-process result, the others nothing");
}

/// The pid of the rank-`rank` process whose command line mentions `marker`.
fn rank_pid(rank: usize, marker: &str) -> Option<u32> {
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let env = std::fs::read(e.path().join("environ")).unwrap_or_default();
        let has = |hay: &[u8], needle: &str| hay.split(|&b| b == 0).any(|s| s == needle.as_bytes());
        if String::from_utf8_lossy(&cmd).contains(marker) && has(&env, &format!("OMPI_COMM_WORLD_RANK={rank}")) && cmd.starts_with(BIN.as_bytes()) {
            return Some(pid);
        }
    }
    None
}

#[test]
fn a_killed_rank_ends_the_run_with_a_checkpoint_that_resumes_to_the_uninterrupted_result() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), &DENSE.replace("epochs = 2", "epochs = 30"));
    let cfg = cfg.to_str().unwrap();
    let one = tmp.path().join("one");
    run(solo(), &["train", "--config", cfg, "--threads", "1", "--out", one.to_str().unwrap()]);
    let out = tmp.path().join("killed");
    let o = out.to_str().unwrap();
    let child = mpirun(2).args(["train", "--config", cfg, "--threads", "1", "--out", o]).stderr(std::process::Stdio::piped()).spawn().unwrap();
    // after the first epoch is logged, kill rank 1 outright
    let t0 = std::time::Instant::now();
    while log_lines(&out) < 1 {
        assert!(t0.elapsed().as_secs() < 300, "the run never logged an epoch");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pid = rank_pid(1, o).expect("rank 1 is running");
    Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap();
    let r = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(!r.status.success(), "{err}");
    assert!(log_lines(&out) < 31, "the run was cut short: {err}");
    assert!(err.contains("Resume with") || err.contains("resume with"), "rank 0 says how to resume: {err}");
    assert!(out.join("checkpoint.safetensors").is_file());
    run(mpirun(2), &["train", "--config", cfg, "--threads", "1", "--out", o, "--resume"]);
    assert_eq!(std::fs::read(one.join("weights.safetensors")).unwrap(), std::fs::read(out.join("weights.safetensors")).unwrap());
    assert_eq!(log(&one), log(&out));
}

fn log_lines(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("log.jsonl")).map_or(0, |s| s.lines().count())
}

/// `mpirun -np 2 spikeflux sweep`: the runs are dealt out over the ranks (each started as a
/// process of its own) and rank 0 writes the sweep.jsonl and the weights of one process's sweep.
#[test]
fn a_sweep_spread_over_ranks_gives_the_one_process_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), DENSE);
    let cfg = cfg.to_str().unwrap();
    let sweep = |c: Command, out: &str| {
        let o = tmp.path().join(out);
        run(c, &["sweep", "--config", cfg, "--param", "train.lr=2e-3,5e-3,1e-2", "--epochs", "1", "--parallel", "1", "--out", o.to_str().unwrap()]);
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(o.join("sweep.jsonl"))
            .unwrap()
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                v.as_object_mut().unwrap().remove("dir");
                v
            })
            .collect();
        let weights: Vec<Vec<u8>> = (0..3).map(|k| std::fs::read(o.join(format!("run{k:03}/weights.safetensors"))).unwrap()).collect();
        (lines, weights)
    };
    let (a, wa) = sweep(solo(), "one");
    let (b, wb) = sweep(mpirun(2), "two");
    assert_eq!(a.len(), 3);
    assert!(a.iter().all(|l| l["ok"] == true));
    assert_eq!(a, b);
    assert!(wa == wb, "the runs' weights differ");
}

/// A command that fails on one rank only (rank 0 cannot create the extra log file; the others
/// have already started training) ends the whole job with that error, not a hang: the failing
/// rank exits without waiting in MPI's finalize, and mpirun ends the others.
#[test]
fn a_failure_on_rank_0_alone_ends_the_job_instead_of_hanging() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), DENSE);
    let out = tmp.path().join("r");
    let bad_log = tmp.path().join("no/such/dir/log.jsonl");
    let mut child = mpirun(2)
        .args(["train", "--config", cfg.to_str().unwrap(), "--threads", "1", "--out", out.to_str().unwrap(), "--log", bad_log.to_str().unwrap()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t0.elapsed().as_secs() > 120 {
            child.kill().unwrap();
            panic!("the job hung after rank 0 failed");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(!status.success());
    assert!(err.contains("no/such/dir"), "the error names the path: {err}");
}
