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
