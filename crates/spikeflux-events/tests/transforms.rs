//! The notebook-05 transforms against tonic itself (tools/tonic_transforms.py wrote the fixture
//! with tonic 1.7.0 and numpy 2.4.6): Downsample and ToFrame equal value for value, DropEvent's
//! count equal; the random parts seeded and reproducible; the crop's edge cases.

#![allow(clippy::unwrap_used)]

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use spikeflux_events::transforms::{downsample, drop_event, time_crop, to_frame, Downsampled, Frames, Notebook05};
use spikeflux_events::Events;

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/tonic_transforms.json")).unwrap()
}

fn events(v: &Value) -> Events {
    let col = |k: &str| v[k].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect::<Vec<i64>>();
    let (t, x, y, p) = (col("t"), col("x"), col("y"), col("p"));
    let mut e = Events::default();
    for i in 0..t.len() {
        e.push(t[i], x[i] as u16, y[i] as u16, p[i] != 0);
    }
    e
}

fn dense(v: &Value) -> Frames {
    let shape: Vec<usize> = v["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
    let mut f = Frames::zeros(shape[0], shape[2], shape[3]);
    for nz in v["nonzero"].as_array().unwrap() {
        let q: Vec<usize> = nz.as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
        f.counts[((q[0] * 2 + q[1]) * shape[2] + q[2]) * shape[3] + q[3]] = q[4] as u16;
    }
    f
}

#[test]
fn downsample_and_to_frame_equal_tonics() {
    let g = fixture();
    let ev = events(&g["events"]);
    let small = downsample(&ev, 1e-3, (0.25, 0.25));
    assert_eq!(small, events(&g["downsampled"]));
    for (window, key) in [(2.0, "frames_2"), (0.7, "frames_0_7")] {
        let f = to_frame(&small, 32, 32, window).unwrap();
        let want = dense(&g[key]);
        assert_eq!((f.steps, f.height, f.width), (want.steps, want.height, want.width), "window {window}");
        assert!(f == want, "window {window}: the counts differ");
    }
}

#[test]
fn drop_event_keeps_tonics_count_and_the_order() {
    let g = fixture();
    let ev = events(&g["events"]);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for d in g["drop_event_remaining"].as_array().unwrap() {
        let (p, m, left) = (d[0].as_f64().unwrap(), d[1].as_u64().unwrap() as usize, d[2].as_u64().unwrap() as usize);
        let part = ev.window(i64::MIN, i64::MAX);
        let part = Events { t: part.t[..m].to_vec(), x: part.x[..m].to_vec(), y: part.y[..m].to_vec(), p: part.p[..m].to_vec() };
        let kept = drop_event(&part, p, &mut rng);
        assert_eq!(kept.len(), left, "p {p}, {m} events");
        assert!(kept.check_sorted().is_ok());
    }
    // same seed, same events kept; another seed, others
    let a = drop_event(&ev, 0.5, &mut ChaCha8Rng::seed_from_u64(9));
    assert_eq!(a, drop_event(&ev, 0.5, &mut ChaCha8Rng::seed_from_u64(9)));
    assert_ne!(a, drop_event(&ev, 0.5, &mut ChaCha8Rng::seed_from_u64(10)));
}

#[test]
fn time_crop_draws_its_start_and_pads_short_recordings() {
    let mut f = Frames::zeros(10, 2, 2);
    for t in 0..10 {
        f.counts[t * 8] = t as u16 + 1; // step t holds t + 1 at (p 0, y 0, x 0)
    }
    let none: Option<&mut ChaCha8Rng> = None;
    let c = time_crop(&f, 4, none);
    assert_eq!((0..4).map(|t| c.get(t, 0, 0, 0)).collect::<Vec<_>>(), [1, 2, 3, 4]);
    let mut starts = std::collections::BTreeSet::new();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..200 {
        starts.insert(time_crop(&f, 4, Some(&mut rng)).get(0, 0, 0, 0) - 1);
    }
    // numpy's randint(0, 10 - 4): starts 0..=5
    assert_eq!(starts.into_iter().collect::<Vec<_>>(), [0, 1, 2, 3, 4, 5]);
    let long = time_crop(&f, 13, Some(&mut rng));
    assert_eq!(long.steps, 13);
    assert_eq!((long.get(9, 0, 0, 0), long.get(12, 0, 0, 0)), (10, 0));
}

#[test]
fn the_notebook05_chain_is_seeded_and_refuses_events_off_the_sensor() {
    let g = fixture();
    let ev = events(&g["events"]);
    let nb = Notebook05 { steps: 100, ..Notebook05::default() };
    let a = nb.apply(&ev, &mut ChaCha8Rng::seed_from_u64(4)).unwrap();
    assert_eq!((a.steps, a.height, a.width), (100, 32, 32));
    assert_eq!(a, nb.apply(&ev, &mut ChaCha8Rng::seed_from_u64(4)).unwrap());
    // half the events dropped; a 100-step crop of 199 windows holds about half the rest
    assert!(a.total() > 500 && a.total() < 1000, "{}", a.total());
    let e = to_frame(&ev, 32, 32, 2.0).unwrap_err();
    assert!(e.contains("outside the 32×32 sensor"), "{e}");
    assert!(to_frame(&ev, 128, 128, 0.0).unwrap_err().contains("positive window"));
    assert!(to_frame(&ev, 128, 128, 1e-9).unwrap_err().contains("exceed"));
}

/// The reference chain, step by step, on the events ordered by (downsampled time, unit).
fn reference_chain(nb: &Notebook05, ev: &Events, rng: &mut ChaCha8Rng) -> Frames {
    let small = downsample(ev, nb.time_factor, (nb.spatial_factor, nb.spatial_factor));
    let mut order: Vec<usize> = (0..ev.len()).collect();
    let unit = |i: usize| ((small.p[i] as usize * nb.size + small.y[i] as usize) * nb.size) + small.x[i] as usize;
    order.sort_by_key(|&i| (small.t[i], unit(i)));
    let mut sorted = Events::default();
    for &i in &order {
        sorted.push(ev.t[i], ev.x[i], ev.y[i], ev.p[i]);
    }
    let kept = drop_event(&sorted, nb.drop_p, rng);
    let frames = to_frame(&downsample(&kept, nb.time_factor, (nb.spatial_factor, nb.spatial_factor)), nb.size, nb.size, nb.time_window).unwrap();
    time_crop(&frames, nb.steps, Some(rng))
}

#[test]
fn drawing_from_the_downsampled_recording_equals_the_chain_step_by_step() {
    let g = fixture();
    let ev = events(&g["events"]);
    for (drop_p, steps, window, seed) in [(0.5, 100, 2.0, 4), (0.0, 100, 2.0, 5), (0.3, 50, 3.0, 6), (0.9, 500, 2.0, 7), (1.0, 20, 2.0, 8), (0.5, 20, 0.7, 9)] {
        let nb = Notebook05 { drop_p, steps, time_window: window, ..Notebook05::default() };
        let d = nb.downsampled(&ev).unwrap();
        assert_eq!(d.events(), ev.len());
        assert!(d.bytes() < ev.len() * 13);
        let want = reference_chain(&nb, &ev, &mut ChaCha8Rng::seed_from_u64(seed));
        assert_eq!(nb.apply(&ev, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap(), want, "p {drop_p}, {steps} steps, window {window}");
        // and again from the one downsampled copy: each draw is the chain's
        let mut rng = ChaCha8Rng::seed_from_u64(seed + 100);
        let mut again = ChaCha8Rng::seed_from_u64(seed + 100);
        for _ in 0..3 {
            let mut f = Frames::zeros(steps, 32, 32);
            let per = f.step_len();
            for (s, u, c) in nb.draw(&d, &mut rng) {
                f.counts[s as usize * per + u as usize] += c;
            }
            assert_eq!(f, reference_chain(&nb, &ev, &mut again));
        }
    }
    // redraws differ (DropEvent and the crop are random)
    let nb = Notebook05 { steps: 100, ..Notebook05::default() };
    let d = nb.downsampled(&ev).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    assert_ne!(nb.draw(&d, &mut rng), nb.draw(&d, &mut rng));
    let off = Downsampled::new(&ev, 1e-3, (1.0, 1.0), 32, 32).unwrap_err();
    assert!(off.contains("outside the 32×32 sensor"), "{off}");
    assert!(Downsampled::new(&ev, 1e-3, (1.0, 1.0), 256, 256).unwrap_err().contains("65536"));
}
