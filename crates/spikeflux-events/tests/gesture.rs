//! DVS128 Gesture: a recording written as AEDAT 3.1 with its labels file is cut into its samples;
//! tonic's cached folder layout is read with classes and users; bad labels are named by line.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use spikeflux_events::gesture::{self, Segment};
use spikeflux_events::{aedat3, npy, Error, Events};

fn ramp(n: usize, dt: i64) -> Events {
    let mut e = Events::default();
    for i in 0..n {
        e.push(i as i64 * dt, (i % 128) as u16, ((i * 7) % 128) as u16, i % 3 == 0);
    }
    e
}

#[test]
fn a_recording_and_its_labels_file_cut_into_samples() {
    let dir = tempfile::tempdir().unwrap();
    let ev = ramp(10_000, 100); // 0 .. 1 s
    let rec = dir.path().join("user07_led.aedat");
    std::fs::write(&rec, aedat3::write(&ev, "DVS128", 512).unwrap()).unwrap();
    std::fs::write(gesture::labels_path(&rec), "class,startTime_usec,endTime_usec\n3,100000,300000\n11,500000,900050\n").unwrap();
    let samples = gesture::read_recording(&rec).unwrap();
    assert_eq!(samples.len(), 2);
    assert_eq!((samples[0].class, samples[0].user), (2, 7));
    assert_eq!(samples[0].events, ev.window(100_000, 300_000));
    assert_eq!(samples[0].events.len(), 2000);
    assert_eq!(samples[1].class, 10);
    assert_eq!(samples[1].events.len(), 4001);
    assert_eq!(*samples[1].events.t.first().unwrap(), 500_000);
}

#[test]
fn bad_labels_name_the_line() {
    let p = Path::new("user01_fluorescent_labels.csv");
    let e = gesture::parse_labels("class,startTime_usec,endTime_usec\n1,10,20\n12,30,40\n", p).unwrap_err();
    assert!(matches!(&e, Error::Invalid { why, .. } if why.contains("line 3") && why.contains("classes 1–11")), "{e}");
    let e = gesture::parse_labels("1,10\n", p).unwrap_err().to_string();
    assert!(e.contains("line 1") && e.contains("class,startTime_usec,endTime_usec"), "{e}");
    assert_eq!(gesture::parse_labels("2, 5, 9\n", p).unwrap(), [Segment { class: 1, start: 5, end: 9 }]);
}

#[test]
fn tonic_cached_folders_read_with_class_and_user() {
    let dir = tempfile::tempdir().unwrap();
    for (folder, class, n) in [("user02_natural", 4, 3), ("user02_natural", 0, 2), ("user25_led", 10, 1)] {
        let d = dir.path().join(folder);
        std::fs::create_dir_all(&d).unwrap();
        // x, y, p, t[ms] as tonic stores them
        let rows: Vec<f64> = (0..n).flat_map(|i| [i as f64, 1.0, 1.0, 2.5 * i as f64]).collect();
        let bytes: Vec<u8> = rows.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(d.join(format!("{class}.npy")), npy::write_plain("<f8", &[n, 4], &bytes)).unwrap();
    }
    let s = gesture::read_tonic_folder(dir.path()).unwrap();
    let got: Vec<(u32, usize, usize)> = s.iter().map(|s| (s.user, s.class, s.events.len())).collect();
    assert_eq!(got, [(2, 0, 2), (2, 4, 3), (25, 10, 1)]);
    assert_eq!(s[1].events.t, [0, 2500, 5000]);
    std::fs::write(dir.path().join("user25_led/junk.npy"), b"x").unwrap();
    let e = gesture::read_tonic_folder(dir.path()).unwrap_err().to_string();
    assert!(e.contains("0.npy to 10.npy"), "{e}");
}
