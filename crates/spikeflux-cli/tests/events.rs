//! `spikeflux data info` on event-camera files: the summary, the DVS128 Gesture labels beside a
//! recording, the frames figure, and the errors for corrupt and unknown files.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use spikeflux_events::{aedat3, Events};

#[test]
fn data_info_summarises_an_event_recording_with_its_gesture_labels_and_draws_frames() {
    let dir = tempfile::tempdir().unwrap();
    let mut ev = Events::default();
    for i in 0..20_000u32 {
        ev.push(i as i64 * 50, (i % 128) as u16, ((i / 128) % 128) as u16, i % 4 != 0);
    }
    std::fs::write(dir.path().join("user03_led.aedat"), aedat3::write(&ev, "DVS128", 4096).unwrap()).unwrap();
    write(dir.path(), "user03_led_labels.csv", "class,startTime_usec,endTime_usec\n1,0,300000\n5,300000,600000\n5,600000,900000\n");
    let out = run(dir.path(), &["data", "info", "user03_led.aedat", "--plots", "figs"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["format"], "AEDAT 3.1");
    assert_eq!(v["events"], 20_000);
    assert_eq!(v["size"], serde_json::json!([128, 128]));
    assert_eq!(v["sensor_stated"], serde_json::json!([128, 128]));
    assert_eq!(v["on_fraction"], 0.75);
    assert_eq!(v["time_ordered"], true);
    assert_eq!(v["gesture"]["samples"], 3);
    assert_eq!(v["gesture"]["per_class"], serde_json::json!([1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0]));
    let png = std::fs::read(dir.path().join("figs/events.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
}

#[test]
fn corrupt_and_unknown_event_files_are_named_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let mut ev = Events::default();
    ev.push(5, 1, 2, true);
    let mut bytes = aedat3::write(&ev, "DVS128", 16).unwrap();
    bytes.truncate(bytes.len() - 3);
    std::fs::write(dir.path().join("cut.aedat"), bytes).unwrap();
    fails_with(&run(dir.path(), &["data", "info", "cut.aedat"]), 3, &["cut.aedat", "AEDAT 3.1", "truncated", "copy or download it again"]);
    // the word 0xc201 (bytes 01 c2): type 0xc is reserved in EVT 3.0
    write(dir.path(), "bad.raw", "% evt 3.0\n% end\n\u{1}\u{80}");
    fails_with(&run(dir.path(), &["data", "info", "bad.raw"]), 3, &["bad.raw", "EVT 3.0", "reserved type 0xc"]);
    fails_with(&run(dir.path(), &["data", "info", "missing.aedat4"]), 5, &["missing.aedat4"]);
}

#[test]
fn synth_gestures_writes_recordings_with_labels_that_data_info_reads() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["data", "synth-gestures", "--out", "g", "--users", "2", "--gesture-s", "0.3"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for u in ["user01", "user02"] {
        let info = run(dir.path(), &["data", "info", &format!("g/{u}_synthetic.aedat")]);
        assert!(info.status.success(), "{}", String::from_utf8_lossy(&info.stderr));
        let v: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
        assert_eq!(v["gesture"]["per_class"], serde_json::json!(vec![1; 11]));
        assert_eq!(v["sensor_stated"], serde_json::json!([128, 128]));
    }
    // the same seed writes the same bytes
    run(dir.path(), &["data", "synth-gestures", "--out", "h", "--users", "1", "--gesture-s", "0.3"]);
    assert_eq!(std::fs::read(dir.path().join("g/user01_synthetic.aedat")).unwrap(), std::fs::read(dir.path().join("h/user01_synthetic.aedat")).unwrap());
    fails_with(&run(dir.path(), &["data", "synth-gestures", "--out", "x", "--users", "0"]), 2, &["--users", "between 1 and 99"]);
    fails_with(&run(dir.path(), &["data", "synth-gestures", "--out", "x", "--gesture-s", "1e9"]), 2, &["--gesture-s"]);
}

#[test]
fn trains_on_event_recordings_through_the_notebook05_transforms() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["data", "synth-gestures", "--out", "g", "--users", "3", "--gesture-s", "0.4"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let config = |drop_p: &str| {
        format!(
            "[data.events]\ndir = \"g\"\nsize = 16\nn_steps = 150\ndrop_p = {drop_p}\ntest_users_from = 3\nvalid_fraction = 0.0\n\
             [model]\ndt = 2e-3\n[[model.hidden]]\nsize = 32\nrecurrent = true\n[model.readout]\ntau_mem = 0.1\n\
             [init]\nmethod = \"fluctuation-driven\"\nnu = \"data\"\nsigma_u = 1.0\nreadout = \"fluctuation-driven\"\n[train]\nepochs = 2\nbatch_size = 8\nlr = 5e-3\nseed = 3\n"
        )
    };
    write(dir.path(), "ev.toml", &config("0.5"));
    let out = run(dir.path(), &["train", "--config", "ev.toml", "--out", "r1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let log = log_without_timings(&dir.path().join("r1"));
    assert_eq!(log.len(), 3, "{log:?}");
    // the transforms are seeded by the run's seed and the sample: the same run, the same numbers
    run(dir.path(), &["train", "--config", "ev.toml", "--out", "r2"]);
    assert_eq!(log, log_without_timings(&dir.path().join("r2")));
    write(dir.path(), "bad.toml", &config("1.5"));
    fails_with(&run(dir.path(), &["train", "--config", "bad.toml"]), 2, &["data.events.drop_p", "[0, 1)"]);
    write(dir.path(), "empty.toml", &config("0.5").replace("dir = \"g\"", "dir = \".\""));
    fails_with(&run(dir.path(), &["train", "--config", "empty.toml"]), 3, &["no userNN_*.aedat", "data synth-gestures"]);
}

#[test]
fn trains_on_tonics_cached_folders() {
    use spikeflux_events::synthetic::SyntheticGestures;
    let dir = tempfile::tempdir().unwrap();
    let g = SyntheticGestures { users: 3, gesture_s: 0.4, ..Default::default() };
    for user in 1..=3 {
        let rec = g.recording(user);
        let split = if user < 3 { "ibmGestureTrain" } else { "ibmGestureTest" };
        let folder = dir.path().join(format!("tonic/{split}/user{user:02}_led"));
        std::fs::create_dir_all(&folder).unwrap();
        for &(class, a, b) in &rec.labels {
            // tonic's layout: (N, 4) x, y, p, t in ms
            let w = rec.events.window(a, b);
            let rows: Vec<u8> = (0..w.len())
                .flat_map(|i| [w.x[i] as f64, w.y[i] as f64, w.p[i] as u8 as f64, w.t[i] as f64 / 1000.0])
                .flat_map(f64::to_le_bytes)
                .collect();
            std::fs::write(folder.join(format!("{class}.npy")), spikeflux_events::npy::write_plain("<f8", &[w.len(), 4], &rows)).unwrap();
        }
    }
    write(
        dir.path(),
        "t.toml",
        "[data.events]\ndir = \"tonic\"\nsize = 16\nn_steps = 150\nvalid_fraction = 0.0\n\
         [model]\ndt = 2e-3\n[[model.hidden]]\nsize = 32\n[model.readout]\ntau_mem = 0.1\n\
         [init]\nmethod = \"fluctuation-driven\"\nnu = \"data\"\nsigma_u = 1.0\nreadout = \"fluctuation-driven\"\n[train]\nepochs = 1\nbatch_size = 8\nlr = 5e-3\n",
    );
    let out = run(dir.path(), &["train", "--config", "t.toml", "--out", "r"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // 22 training samples (users 1, 2), 11 test samples (user 3): one epoch line and the final one
    let log = log_without_timings(&dir.path().join("r"));
    assert_eq!(log.len(), 2, "{log:?}");
    let out = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.contains("test accuracy"), "{out}");
}

/// configs/dvs-gesture.toml (notebook 05), pointed at synthetic recordings: the printed initial σ_w
/// per layer match spec §2.6, the activation memory estimate at batch 16, T = 500 on 2 threads is
/// under 4 GiB, and one epoch runs.
#[test]
fn the_notebook05_config_prints_the_spec_sigma_w_and_fits_in_4_gib() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["data", "synth-gestures", "--out", "g", "--users", "2", "--gesture-s", "1.2"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(repo.join("configs/dvs-gesture.toml")).unwrap();
    let cfg = write(dir.path(), "dvs.toml", &text.replace("dir = \"../data\"", "dir = \"g\"").replace("test_users_from = 24", "test_users_from = 2"));
    let out = run(dir.path(), &["train", "--config", &cfg, "--dry-run", "--threads", "2"]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{err}");
    assert!(err.contains("2048 inputs, 11 classes, T = 500 × 2 ms"), "{err}");
    for (name, fan_in, std) in [
        ("hidden.0.ff.weight", 18, "1.72235"),
        ("hidden.1.ff.weight", 144, "0.60894"),
        ("hidden.2.ff.weight", 144, "0.60894"),
        ("hidden.3.ff.weight", 288, "0.43059"),
        ("readout.weight", 3872, "0.01607"),
    ] {
        let line = err.lines().find(|l| l.contains(&format!("init {name} "))).unwrap_or_else(|| panic!("no init line for {name}: {err}"));
        assert!(line.contains(&format!("fan-in {fan_in:>5}")) && line.ends_with(&format!("std {std}")), "{line}");
    }
    let gib: f64 = err.split("estimated activation memory: ").nth(1).unwrap().split(" GiB").next().unwrap().parse().unwrap();
    assert!(err.contains("(batch 16 × T 500, 2 threads)") && gib < 4.0, "{err}");
    let out = run(dir.path(), &["train", "--config", &cfg, "--epochs", "1", "--threads", "2", "--out", "r"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(log_without_timings(&dir.path().join("r")).len(), 2);
}

/// Every epoch draws DropEvent and the crop anew from the downsampled recordings (train and, by
/// default, test), seeded by (run seed, draw, split, sample): the first draw is what the loader
/// returned, draws differ from each other, `redraw = false` and `deterministic_test = true` keep
/// one draw, and the thread count changes nothing.
#[test]
fn event_transforms_are_drawn_anew_for_each_epoch_whatever_the_thread_count() {
    use spikeflux_cli::config::RunConfig;
    use spikeflux_core::data::SpikeDataset;
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["data", "synth-gestures", "--out", "g", "--users", "2", "--gesture-s", "0.5"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let config = |extra: &str| {
        let text = format!(
            "[data.events]\ndir = \"g\"\nsize = 16\nn_steps = 100\ntest_users_from = 2\nvalid_fraction = 0.2\n{extra}\n\
             [model]\ndt = 2e-3\n[[model.hidden]]\nsize = 8\n[model.readout]\ntau_mem = 0.1\n\
             [init]\nmethod = \"fluctuation-driven\"\nnu = 5.0\nsigma_u = 1.0\nreadout = \"fluctuation-driven\"\n[train]\nepochs = 2\nbatch_size = 4\nlr = 5e-3\nseed = 3\n"
        );
        RunConfig::parse(&text, "test").map_err(|e| format!("{e:#}")).unwrap().load_data(dir.path()).unwrap()
    };
    let events = |d: &SpikeDataset| (0..d.len()).map(|i| d.events(i).collect::<Vec<_>>()).collect::<Vec<_>>();
    let splits = config("");
    let draws = splits.draws.as_ref().unwrap();
    let (t0, v0) = draws.train(0).unwrap();
    assert_eq!(events(&t0), events(&splits.train));
    assert_eq!(events(v0.as_ref().unwrap()), events(splits.valid.as_ref().unwrap()));
    assert_eq!(events(&draws.test(0).unwrap()), events(&splits.test));
    let (t1, v1) = draws.train(1).unwrap();
    assert_ne!(events(&t1), events(&t0));
    assert_ne!(events(&v1.unwrap()), events(&v0.unwrap()));
    assert_ne!(events(&draws.test(1).unwrap()), events(&splits.test));
    // the same samples in the same split, only the transforms drawn again
    assert_eq!(t1.labels, t0.labels);
    // DropEvent keeps half the events either way
    let ratio = t1.total_events() as f64 / t0.total_events() as f64;
    assert!((0.8..1.25).contains(&ratio), "{ratio}");
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    assert_eq!(one.install(|| events(&draws.train(1).unwrap().0)), events(&t1));
    let fixed = config("redraw = false\ndeterministic_test = true");
    let d = fixed.draws.as_ref().unwrap();
    assert_eq!(events(&d.train(5).unwrap().0), events(&fixed.train));
    assert_eq!(events(&d.test(5).unwrap()), events(&fixed.test));
}

/// IDX image and label files of `n` 28×28 images (class `i % classes`: a bright bar whose
/// position is the class) under `dir`, named as Fashion-MNIST's (not gzipped: the reader takes both).
fn write_idx(dir: &std::path::Path, prefix: &str, n: usize, classes: usize) {
    let mut im = vec![0, 0, 8, 3];
    for v in [n as u32, 28, 28] {
        im.extend_from_slice(&v.to_be_bytes());
    }
    let mut lb = vec![0, 0, 8, 1];
    lb.extend_from_slice(&(n as u32).to_be_bytes());
    for i in 0..n {
        let c = i % classes;
        for y in 0..28 {
            for x in 0..28 {
                let bar = (4 + 6 * c..8 + 6 * c).contains(&x) && (4..24).contains(&y);
                im.push(if bar { 200 + (i % 50) as u8 } else { 0 });
            }
        }
        lb.push(c as u8);
    }
    std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte.gz")), im).unwrap();
    std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte.gz")), lb).unwrap();
}

#[test]
fn images_seen_through_saccades_are_written_as_nmnist_and_learned_from() {
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("idx");
    std::fs::create_dir(&idx).unwrap();
    write_idx(&idx, "train", 48, 4);
    write_idx(&idx, "t10k", 16, 4);
    let out = run(dir.path(), &["data", "synth-saccades", "--images", "idx", "--out", "ev", "--limit", "40"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let note = String::from_utf8_lossy(&out.stderr);
    assert!(note.contains("Train: wrote 40 recordings") && note.contains("Test: wrote 16 recordings"), "{note}");
    // N-MNIST's layout, read back by the ATIS reader: three saccades of 100 ms on 34 × 34
    let files = spikeflux_events::nmnist::files(&dir.path().join("ev/Train")).unwrap();
    assert_eq!(files.len(), 40);
    assert_eq!(files.iter().filter(|f| f.1 == 3).count(), 10);
    let rec = spikeflux_events::read(&files[0].0).unwrap();
    assert!(rec.events.len() > 200 && rec.events.x.iter().chain(&rec.events.y).all(|&v| v < 34), "{}", rec.events.len());
    assert!(rec.events.t.iter().all(|&t| (0..=300_000).contains(&t)));
    // the same seed, the same bytes, whatever the thread count
    let again = run(dir.path(), &["data", "synth-saccades", "--images", "idx", "--out", "ev1", "--limit", "40"]);
    assert!(again.status.success());
    let one = std::process::Command::new(env!("CARGO_BIN_EXE_spikeflux"))
        .current_dir(dir.path())
        .env("RAYON_NUM_THREADS", "1")
        .args(["data", "synth-saccades", "--images", "idx", "--out", "ev2", "--limit", "40"])
        .output()
        .unwrap();
    assert!(one.status.success());
    for (p, _) in &files {
        let rel = p.strip_prefix(dir.path().join("ev")).unwrap();
        let a = std::fs::read(p).unwrap();
        assert_eq!(a, std::fs::read(dir.path().join("ev1").join(rel)).unwrap());
        assert_eq!(a, std::fs::read(dir.path().join("ev2").join(rel)).unwrap());
    }
    // [data.events] reads the layout (classes from the folders) and a small network learns the bars
    write(
        dir.path(),
        "ev.toml",
        "[data.events]\ndir = \"ev\"\nsize = 17\nsensor = 34\nn_steps = 60\ndrop_p = 0.0\nvalid_fraction = 0.0\n\
         [model]\ndt = 5e-3\n[[model.hidden]]\nsize = 32\n[model.readout]\ntau_mem = 0.1\n\
         [init]\nmethod = \"fluctuation-driven\"\nnu = \"data\"\nsigma_u = 1.0\nreadout = \"fluctuation-driven\"\n[train]\nepochs = 6\nbatch_size = 8\nlr = 5e-3\nseed = 3\n",
    );
    let out = run(dir.path(), &["train", "--config", "ev.toml", "--out", "r"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let log = log_without_timings(&dir.path().join("r"));
    let last = log.last().unwrap();
    let acc = last["test_acc"].as_f64().unwrap();
    assert!(acc >= 0.75, "test accuracy {acc} on four bars: {last}");
    // a stray folder in a split is named
    std::fs::create_dir(dir.path().join("ev/Test/extra")).unwrap();
    fails_with(&run(dir.path(), &["train", "--config", "ev.toml"]), 3, &["extra", "named 0 to 999"]);
}
