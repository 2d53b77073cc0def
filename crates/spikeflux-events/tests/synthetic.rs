//! The synthetic gesture recordings: reproducible, labelled as the real dataset, readable through
//! the AEDAT 3.1 reader and the labels' cut, and the notebook-05 chain runs on every sample.

#![allow(clippy::unwrap_used)]

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use spikeflux_events::synthetic::SyntheticGestures;
use spikeflux_events::transforms::Notebook05;
use spikeflux_events::{aedat3, gesture};

fn mean_x(e: &spikeflux_events::Events) -> f64 {
    e.x.iter().map(|&x| x as f64).sum::<f64>() / e.len().max(1) as f64
}

#[test]
fn recordings_are_reproducible_labelled_and_read_back_through_the_real_readers() {
    let g = SyntheticGestures { users: 2, gesture_s: 1.2, ..Default::default() };
    let a = g.recording(2);
    assert_eq!(a, g.recording(2));
    assert_ne!(a.events, g.recording(1).events);
    assert_ne!(a.events, SyntheticGestures { seed: 1, ..g }.recording(2).events);
    assert!(a.events.check_sorted().is_ok());
    assert_eq!(a.labels.len(), 11);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("user02_synthetic.aedat");
    std::fs::write(&path, aedat3::write(&a.events, "DVS128", 4096).unwrap()).unwrap();
    std::fs::write(gesture::labels_path(&path), a.labels_csv()).unwrap();
    let samples = gesture::read_recording(&path).unwrap();
    assert_eq!(samples.iter().map(|s| s.class).collect::<Vec<_>>(), (0..11).collect::<Vec<_>>());
    let nb = Notebook05::default();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for s in &samples {
        assert_eq!(s.user, 2);
        // the moving disks fire far more than the noise (0.05 Hz × 16384 pixels × 1.2 s ≈ 1000)
        assert!(s.events.len() > 3000, "class {}: {} events", s.class, s.events.len());
        let f = nb.apply(&s.events, &mut rng).unwrap();
        assert_eq!((f.steps, f.height, f.width), (500, 32, 32));
        assert!(f.total() > 500, "class {}", s.class);
    }
    // the right-hand wave happens right of the left-hand wave
    assert!(mean_x(&samples[1].events) > mean_x(&samples[2].events) + 30.0);
}
