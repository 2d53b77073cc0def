//! Synthetic DVS128-Gesture-like recordings, so the real readers, the labels' cut and the
//! transforms can be run end to end without the dataset.
//!
//! Each user's recording (`userNN_synthetic.aedat`, AEDAT 3.1 from a "DVS128", and its
//! `userNN_synthetic_labels.csv`) holds the eleven gestures one after another, each
//! `gesture_s` long with a pause between them. A gesture is one or two bright disks ("hands")
//! moving on the 128×128 sensor along a class-specific path; every millisecond each pixel the
//! disk's edge enters fires an ON event and each pixel it leaves an OFF event (at a uniform time
//! within that millisecond), like a DVS seeing a bright object on a dark background. Each user
//! stands somewhere else (the whole scene shifted by up to ±12 pixels, ±4 more per gesture); per
//! gesture the disk radius, speed, amplitude and phase vary; and the sensor adds background noise
//! (`noise_hz` per pixel, either polarity) throughout:
//!
//! | class | path |
//! |---|---|
//! | 0 hand clap | two disks meeting and parting horizontally at the centre |
//! | 1, 2 right / left hand wave | one disk swinging horizontally, right / left half |
//! | 3, 4 right arm clockwise / counter-clockwise | one disk on a circle, right half |
//! | 5, 6 left arm clockwise / counter-clockwise | one disk on a circle, left half |
//! | 7 arm roll | two disks circling each other at the centre |
//! | 8 air drums | two disks moving up and down in antiphase |
//! | 9 air guitar | one disk strumming vertically, low right; one swaying slowly, upper left |
//! | 10 other | one disk on a smooth random walk |

use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::Events;

/// The sensor side (DVS128).
pub const SIZE: usize = 128;

/// Settings of the generator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyntheticGestures {
    /// Users (recordings), numbered from 1.
    pub users: usize,
    /// Length of each gesture, seconds.
    pub gesture_s: f64,
    /// Pause between gestures, seconds.
    pub pause_s: f64,
    /// Background noise per pixel, Hz (each event ON or OFF with equal chance).
    pub noise_hz: f64,
    /// Seed.
    pub seed: u64,
}

impl Default for SyntheticGestures {
    fn default() -> Self {
        SyntheticGestures { users: 29, gesture_s: 1.5, pause_s: 0.2, noise_hz: 0.05, seed: 0 }
    }
}

/// One user's recording and its labels (class 0-based, start and end in µs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticRecording {
    /// The user, from 1.
    pub user: usize,
    /// The events, time-ordered, µs from 0.
    pub events: Events,
    /// `(class, start, end)` per gesture.
    pub labels: Vec<(usize, i64, i64)>,
}

impl SyntheticRecording {
    /// The labels file's text (`class,startTime_usec,endTime_usec`, classes 1–11).
    pub fn labels_csv(&self) -> String {
        let mut s = String::from("class,startTime_usec,endTime_usec\n");
        for &(c, a, b) in &self.labels {
            s.push_str(&format!("{},{a},{b}\n", c + 1));
        }
        s
    }
}

/// The disks of a gesture at time `s` (seconds from its start): centres and radius.
fn disks(class: usize, s: f64, v: &Variation, out: &mut Vec<(f64, f64)>) {
    out.clear();
    paths(class, s, v, out);
    for d in out.iter_mut() {
        *d = (d.0 + v.offset.0, d.1 + v.offset.1);
    }
}

fn paths(class: usize, s: f64, v: &Variation, out: &mut Vec<(f64, f64)>) {
    use std::f64::consts::TAU;
    let c = SIZE as f64 / 2.0;
    let w = TAU * v.freq * s + v.phase;
    let a = v.amp;
    match class {
        0 => {
            let d = a * (0.6 + 0.4 * w.sin());
            out.extend([(c - d, c), (c + d, c)]);
        }
        1 => out.push((c + 30.0 + 0.6 * a * w.sin(), c - 10.0)),
        2 => out.push((c - 30.0 + 0.6 * a * w.sin(), c - 10.0)),
        3..=6 => {
            let x0 = if class <= 4 { c + 28.0 } else { c - 28.0 };
            let dir = if class % 2 == 1 { 1.0 } else { -1.0 }; // 3, 5 clockwise (y grows downward)
            out.push((x0 + 0.7 * a * w.cos(), c + dir * 0.7 * a * w.sin()));
        }
        7 => out.extend([(c + 0.4 * a * w.cos(), c + 0.4 * a * w.sin()), (c - 0.4 * a * w.cos(), c - 0.4 * a * w.sin())]),
        8 => out.extend([(c - 25.0, c + 0.6 * a * w.sin()), (c + 25.0, c - 0.6 * a * w.sin())]),
        9 => out.extend([(c + 20.0, c + 25.0 + 0.5 * a * (2.0 * w).sin()), (c - 30.0 + 4.0 * (0.5 * w).sin(), c - 30.0)]),
        _ => {
            // a smooth random walk: a sum of incommensurate sines with this gesture's phases
            let (p, q) = (v.phase, v.phase * 1.7 + 1.0);
            out.push((c + 0.8 * a * ((0.7 * w + p).sin() * 0.6 + (1.9 * w).sin() * 0.4), c + 0.8 * a * ((1.3 * w + q).cos() * 0.6 + (0.5 * w).sin() * 0.4)));
        }
    }
}

/// Per user and gesture: how the movement varies.
struct Variation {
    /// Where the user stands: the whole gesture shifted, pixels.
    offset: (f64, f64),
    radius: f64,
    freq: f64,
    amp: f64,
    phase: f64,
}

fn inside(disks: &[(f64, f64)], r: f64, x: usize, y: usize) -> bool {
    let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
    disks.iter().any(|&(cx, cy)| (px - cx).powi(2) + (py - cy).powi(2) <= r * r)
}

impl SyntheticGestures {
    /// The recording of `user` (1-based): the same for the same settings and user, whatever else
    /// is generated.
    pub fn recording(&self, user: usize) -> SyntheticRecording {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ (user as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let (g_us, pause_us) = ((self.gesture_s * 1e6) as i64, (self.pause_s * 1e6) as i64);
        let mut events = Events::default();
        let mut labels = Vec::new();
        let mut t0 = pause_us;
        let (mut now, mut before) = (Vec::new(), Vec::new());
        let mut step: Vec<(i64, u16, u16, bool)> = Vec::new();
        let stand = (rng.random_range(-12.0..12.0), rng.random_range(-12.0..12.0));
        for class in 0..11 {
            let v = Variation {
                offset: (stand.0 + rng.random_range(-4.0..4.0), stand.1 + rng.random_range(-4.0..4.0)),
                radius: rng.random_range(7.0..11.0),
                freq: rng.random_range(0.8..1.6),
                amp: rng.random_range(22.0..34.0),
                phase: rng.random_range(0.0..std::f64::consts::TAU),
            };
            labels.push((class, t0, t0 + g_us));
            let ms = (g_us / 1000).max(1);
            disks(class, 0.0, &v, &mut before);
            for k in 1..=ms {
                disks(class, k as f64 * 1e-3, &v, &mut now);
                step.clear();
                let r = v.radius;
                let lo = |a: f64| (a - r - 1.0).max(0.0) as usize;
                let hi = |a: f64| ((a + r + 2.0).max(0.0) as usize).min(SIZE);
                for &(cx, cy) in now.iter().chain(before.iter()) {
                    for y in lo(cy)..hi(cy) {
                        for x in lo(cx)..hi(cx) {
                            let (a, b) = (inside(&before, r, x, y), inside(&now, r, x, y));
                            if a != b && !step.iter().any(|e| e.1 as usize == x && e.2 as usize == y) {
                                step.push((t0 + (k - 1) * 1000 + rng.random_range(0..1000), x as u16, y as u16, b));
                            }
                        }
                    }
                }
                step.sort_unstable();
                for &(t, x, y, p) in &step {
                    events.push(t, x, y, p);
                }
                std::mem::swap(&mut now, &mut before);
            }
            t0 += g_us + pause_us;
        }
        let events = with_noise(events, t0, self.noise_hz, &mut rng);
        SyntheticRecording { user, events, labels }
    }
}

/// Merges background noise (Poisson, `hz` per pixel over `0..end` µs) into time-ordered `events`.
fn with_noise<R: Rng>(events: Events, end: i64, hz: f64, rng: &mut R) -> Events {
    let rate = hz * (SIZE * SIZE) as f64 * 1e-6; // events per µs over the sensor
    let mut noise = Vec::new();
    if rate > 0.0 {
        let mut t = 0.0f64;
        loop {
            t += -(1.0 - rng.random::<f64>()).ln() / rate;
            if t >= end as f64 {
                break;
            }
            noise.push((t as i64, rng.random_range(0..SIZE as u16), rng.random_range(0..SIZE as u16), rng.random::<bool>()));
        }
    }
    let mut out = Events::with_capacity(events.len() + noise.len());
    let (mut i, mut j) = (0, 0);
    while i < events.len() || j < noise.len() {
        if j >= noise.len() || (i < events.len() && events.t[i] <= noise[j].0) {
            out.push(events.t[i], events.x[i], events.y[i], events.p[i]);
            i += 1;
        } else {
            let (t, x, y, p) = noise[j];
            out.push(t, x, y, p);
            j += 1;
        }
    }
    out
}
