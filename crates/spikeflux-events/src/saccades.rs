//! A simulated event camera looking at a still image while it makes three saccades, the way
//! N-MNIST and N-Caltech101 were recorded (Orchard et al. 2015, Front. Neurosci. 9:437: an ATIS
//! on a pan-tilt unit in front of a monitor, three ~100 ms saccades along an isosceles triangle,
//! the 28×28 digit seen on a 34×34 crop): so that images (Fashion-MNIST, MNIST) become event
//! recordings in N-MNIST's layout, read back by the real reader ([`crate::atis`]).
//!
//! The model, per recording:
//! - **Scene.** The image (`side × side`, values in `[0, 1]`, 0 = black) lies on a black canvas of
//!   `canvas × canvas` pixels; its top-left corner moves around a triangle on the canvas (see
//!   [`SaccadeSensor::corner`]) in three saccades of `saccade_ms` each, every one with a smooth (raised-cosine) velocity
//!   profile, so the image is still at each vertex. Pixel `(x, y)` sees the image's intensity
//!   at `(x + 0.5 − corner)` by bilinear interpolation (black outside).
//! - **Pixels.** Each pixel compares its log intensity `ln(I + ambient)` with the level of its
//!   last event: when it has risen by the pixel's threshold it emits an ON event and the level
//!   rises by one threshold, when it has fallen by one an OFF event (one event per pixel per
//!   `substep_us`). Thresholds are `threshold · (1 + mismatch · N(0, 1))` per pixel, drawn once
//!   per sensor (`sensor_seed`), as a chip's are fixed; levels start at the still image's (the
//!   sensor has adapted before the first saccade).
//! - **Refractory period.** After an event a pixel is blind for `refractory_us`; a change that
//!   arrives meanwhile is reported when it ends (if it still holds).
//! - **Noise.** Background events, Poisson at `noise_hz` per pixel, either polarity; and each
//!   event's time jittered uniformly within its substep.
//!
//! Events are time-ordered, µs from 0, `x` and `y` in `0..canvas`; polarity ON = brighter.

use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::Events;

/// Settings of the simulated sensor and its movement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SaccadeSensor {
    /// The sensor's side, pixels (N-MNIST: 34).
    pub canvas: usize,
    /// Length of each of the three saccades, ms (N-MNIST: about 100).
    pub saccade_ms: f64,
    /// The log-intensity change that makes an event (a contrast threshold).
    pub threshold: f64,
    /// The pixel-to-pixel spread of the threshold, as a fraction of it (standard deviation).
    pub mismatch: f64,
    /// Light added to every pixel, in the image's units, so that black has a finite log.
    pub ambient: f64,
    /// A pixel's dead time after each of its events, µs.
    pub refractory_us: f64,
    /// Background events per pixel and second.
    pub noise_hz: f64,
    /// Simulation step, µs.
    pub substep_us: f64,
    /// Seed of the pixels' thresholds (one sensor for a whole data set).
    pub sensor_seed: u64,
}

impl Default for SaccadeSensor {
    fn default() -> Self {
        SaccadeSensor {
            canvas: 34,
            saccade_ms: 100.0,
            threshold: 0.35,
            mismatch: 0.05,
            ambient: 0.1,
            refractory_us: 1000.0,
            noise_hz: 0.5,
            substep_us: 250.0,
            sensor_seed: 0,
        }
    }
}

impl SaccadeSensor {
    /// The most an image side may be and still move on the canvas (`canvas − 2`).
    pub fn max_side(&self) -> usize {
        self.canvas.saturating_sub(2)
    }

    /// The image's top-left corner on the canvas, pixels, at `ms` from the start: the triangle's
    /// vertices are `(m, 2m)`, `(2m, 0)`, `(0, 0)` and back to `(m, 2m)`, with `m = (canvas − side)/2`
    /// so the image stays on the canvas; each leg takes `saccade_ms` with a raised-cosine profile.
    pub fn corner(&self, side: usize, ms: f64) -> (f64, f64) {
        let m = self.canvas.saturating_sub(side) as f64 / 2.0;
        let v = [(m, 2.0 * m), (2.0 * m, 0.0), (0.0, 0.0), (m, 2.0 * m)];
        let leg = (ms / self.saccade_ms).clamp(0.0, 3.0);
        let k = (leg as usize).min(2);
        let s = leg - k as f64;
        let e = 0.5 - 0.5 * (std::f64::consts::PI * s).cos();
        (v[k].0 + e * (v[k + 1].0 - v[k].0), v[k].1 + e * (v[k + 1].1 - v[k].1))
    }

    /// The recording's length, µs (three saccades).
    pub fn duration_us(&self) -> i64 {
        (3.0 * self.saccade_ms * 1e3).round() as i64
    }

    /// The thresholds of the sensor's pixels, `[canvas · canvas]` row-major (the same for the same
    /// `sensor_seed`, at least a tenth of `threshold`).
    pub fn thresholds(&self) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.sensor_seed ^ 0x5ACC_ADE5);
        (0..self.canvas * self.canvas)
            .map(|_| {
                let z: f64 = StandardNormal.sample(&mut rng);
                self.threshold * (1.0 + self.mismatch * z).max(0.1)
            })
            .collect()
    }

    /// The events the sensor reports for `image` (`side × side` row-major, values in `[0, 1]`)
    /// with pixel thresholds `thresholds` (from [`SaccadeSensor::thresholds`]); `rng` draws the
    /// noise and jitter.
    ///
    /// # Errors
    /// If the image is not `side × side`, is larger than [`SaccadeSensor::max_side`], the
    /// thresholds are not `canvas²`, or a setting is out of range (named).
    pub fn record<R: Rng + ?Sized>(&self, image: &[f32], side: usize, thresholds: &[f64], rng: &mut R) -> Result<Events, String> {
        self.check()?;
        if image.len() != side * side || side == 0 {
            return Err(format!("an image of {} values is not {side} × {side}", image.len()));
        }
        if side > self.max_side() {
            return Err(format!("a {side} × {side} image does not fit on a {0} × {0} sensor with room to move (at most {1})", self.canvas, self.max_side()));
        }
        let n = self.canvas * self.canvas;
        if thresholds.len() != n {
            return Err(format!("{} thresholds for {n} pixels", thresholds.len()));
        }
        let c = self.canvas;
        // the image on a zero border `c` wide, so every bilinear lookup is in range
        let w = side + 2 * c;
        let mut padded = vec![0f32; w * w];
        for (y, row) in image.chunks_exact(side).enumerate() {
            padded[(y + c) * w + c..(y + c) * w + c + side].copy_from_slice(row);
        }
        let ambient = self.ambient as f32;
        // Pixel x samples the image at u = x − cx (pixel centres at i + 0.5 on both): with
        // k = floor(cx) and f = cx − k, between image columns x − k − 1 and x − k, weight f on the
        // first. The weights are the same for every pixel at a given corner.
        let log_at = |corner: (f64, f64), out: &mut Vec<f32>| {
            out.clear();
            let (kx, ky) = (corner.0.floor(), corner.1.floor());
            let (fx, fy) = ((corner.0 - kx) as f32, (corner.1 - ky) as f32);
            let (kx, ky) = (kx as usize, ky as usize);
            let (w00, w01, w10, w11) = (fx * fy, (1.0 - fx) * fy, fx * (1.0 - fy), (1.0 - fx) * (1.0 - fy));
            for y in 0..c {
                let r0 = &padded[(y + c - ky - 1) * w + c - kx - 1..][..c + 1];
                let r1 = &padded[(y + c - ky) * w + c - kx - 1..][..c + 1];
                for x in 0..c {
                    let i = w00 * r0[x] + w01 * r0[x + 1] + w10 * r1[x] + w11 * r1[x + 1];
                    out.push((i + ambient).ln());
                }
            }
        };
        let mut level = Vec::with_capacity(n);
        log_at(self.corner(side, 0.0), &mut level);
        let mut level: Vec<f64> = level.into_iter().map(f64::from).collect();
        let mut now = Vec::with_capacity(n);
        let mut ready_at = vec![f64::NEG_INFINITY; n];
        let end = self.duration_us() as f64;
        let steps = (end / self.substep_us).ceil() as usize;
        let mut out: Vec<(i64, u16, u16, bool)> = Vec::new();
        for k in 1..=steps {
            let t = (k as f64 * self.substep_us).min(end);
            log_at(self.corner(side, t * 1e-3), &mut now);
            for i in 0..n {
                if t < ready_at[i] {
                    continue;
                }
                let d = f64::from(now[i]) - level[i];
                let on = d >= thresholds[i];
                if on || d <= -thresholds[i] {
                    level[i] += if on { thresholds[i] } else { -thresholds[i] };
                    let at = t - self.substep_us * rng.random::<f64>();
                    ready_at[i] = t + self.refractory_us;
                    out.push((at.max(0.0) as i64, (i % c) as u16, (i / c) as u16, on));
                }
            }
        }
        // background noise over the whole recording
        let rate = self.noise_hz * n as f64 * 1e-6; // events per µs over the sensor
        if rate > 0.0 {
            let mut t = 0.0f64;
            loop {
                t += -(1.0 - rng.random::<f64>()).ln() / rate;
                if t >= end {
                    break;
                }
                out.push((t as i64, rng.random_range(0..c as u16), rng.random_range(0..c as u16), rng.random::<bool>()));
            }
        }
        out.sort_unstable_by_key(|e| e.0);
        let mut ev = Events::with_capacity(out.len());
        for (t, x, y, p) in out {
            ev.push(t, x, y, p);
        }
        Ok(ev)
    }

    fn check(&self) -> Result<(), String> {
        let bad = |what: &str, v: f64, range: &str| Err(format!("{what} = {v}: {range}"));
        if !(4..=239).contains(&self.canvas) {
            return Err(format!("canvas = {}: 4 to 239 pixels (an ATIS .bin file stores rows below 240)", self.canvas));
        }
        if !(self.saccade_ms > 0.0 && self.saccade_ms <= 10_000.0) {
            return bad("saccade_ms", self.saccade_ms, "more than 0 and at most 10 000 ms");
        }
        if !(self.threshold > 0.0 && self.threshold <= 10.0) {
            return bad("threshold", self.threshold, "more than 0 and at most 10 (log units)");
        }
        if !(0.0..=1.0).contains(&self.mismatch) {
            return bad("mismatch", self.mismatch, "0 to 1 (a fraction of the threshold)");
        }
        if !(self.ambient > 0.0 && self.ambient <= 1.0) {
            return bad("ambient", self.ambient, "more than 0 and at most 1");
        }
        if !(0.0..=1e6).contains(&self.refractory_us) {
            return bad("refractory_us", self.refractory_us, "0 to 1 s");
        }
        if !(0.0..=1000.0).contains(&self.noise_hz) {
            return bad("noise_hz", self.noise_hz, "0 to 1000 Hz per pixel");
        }
        if !(self.substep_us >= 10.0 && self.substep_us <= self.saccade_ms * 1e3) {
            return bad("substep_us", self.substep_us, "at least 10 µs and at most one saccade");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn square(side: usize, lo: usize, hi: usize) -> Vec<f32> {
        (0..side * side).map(|i| if (lo..hi).contains(&(i % side)) && (lo..hi).contains(&(i / side)) { 1.0 } else { 0.0 }).collect()
    }

    #[test]
    fn the_image_moves_along_the_triangle_and_stops_at_each_vertex() {
        let s = SaccadeSensor::default();
        assert_eq!(s.corner(28, 0.0), (3.0, 6.0));
        assert_eq!(s.corner(28, 100.0), (6.0, 0.0));
        assert_eq!(s.corner(28, 200.0), (0.0, 0.0));
        assert_eq!(s.corner(28, 300.0), (3.0, 6.0));
        // halfway through a leg, halfway along it
        let (x, y) = s.corner(28, 50.0);
        assert!((x - 4.5).abs() < 1e-12 && (y - 3.0).abs() < 1e-12);
    }

    #[test]
    fn a_bright_square_fires_on_its_leading_edge_and_off_on_its_trailing_edge() {
        let s = SaccadeSensor { noise_hz: 0.0, mismatch: 0.0, ..Default::default() };
        let th = s.thresholds();
        let ev = s.record(&square(28, 10, 18), 28, &th, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
        assert!(ev.len() > 100, "{} events", ev.len());
        assert!(ev.t.windows(2).all(|w| w[0] <= w[1]));
        assert!(ev.t.iter().all(|&t| (0..=s.duration_us()).contains(&t)));
        // first leg: the image moves right (+x) and up (−y); the square's right edge brightens
        // pixels (ON), its left edge darkens them (OFF)
        let first: Vec<usize> = (0..ev.len()).filter(|&i| ev.t[i] < 100_000).collect();
        let mean_x = |on: bool| {
            let xs: Vec<f64> = first.iter().filter(|&&i| ev.p[i] == on).map(|&i| f64::from(ev.x[i])).collect();
            xs.iter().sum::<f64>() / xs.len() as f64
        };
        assert!(mean_x(true) > mean_x(false) + 2.0, "ON at x {}, OFF at x {}", mean_x(true), mean_x(false));
        // the upward movement: ON events above OFF ones on average (y grows downward)
        let mean_y = |on: bool| {
            let ys: Vec<f64> = first.iter().filter(|&&i| ev.p[i] == on).map(|&i| f64::from(ev.y[i])).collect();
            ys.iter().sum::<f64>() / ys.len() as f64
        };
        assert!(mean_y(true) + 2.0 < mean_y(false), "ON at y {}, OFF at y {}", mean_y(true), mean_y(false));
        // a still square makes nothing: the last event comes before the end, none at the vertices' stops
        let at_rest = (0..ev.len()).filter(|&i| (ev.t[i] - 100_000).abs() < 1000).count();
        assert!(at_rest < ev.len() / 50, "{at_rest} events at the first vertex");
        // ON and OFF balance over a closed path: the levels return to where they were
        let on = ev.p.iter().filter(|&&p| p).count() as i64;
        assert!((2 * on - ev.len() as i64).abs() < ev.len() as i64 / 5, "{on} ON of {}", ev.len());
    }

    #[test]
    fn the_same_seeds_give_the_same_events_and_refractoriness_limits_each_pixel() {
        let s = SaccadeSensor { refractory_us: 5000.0, ..Default::default() };
        let th = s.thresholds();
        let img: Vec<f32> = (0..28 * 28).map(|i| ((i * 37) % 101) as f32 / 100.0).collect();
        let a = s.record(&img, 28, &th, &mut ChaCha8Rng::seed_from_u64(7)).unwrap();
        let b = s.record(&img, 28, &th, &mut ChaCha8Rng::seed_from_u64(7)).unwrap();
        assert_eq!(a, b);
        let quiet = SaccadeSensor { noise_hz: 0.0, ..s };
        let ev = quiet.record(&img, 28, &th, &mut ChaCha8Rng::seed_from_u64(7)).unwrap();
        let mut last = std::collections::HashMap::new();
        for i in 0..ev.len() {
            // events are jittered back by at most one substep
            if let Some(&t0) = last.get(&(ev.x[i], ev.y[i])) {
                assert!(ev.t[i] - t0 >= 5000 - 250 - 1, "pixel ({}, {}) fired at {t0} and {}", ev.x[i], ev.y[i], ev.t[i]);
            }
            last.insert((ev.x[i], ev.y[i]), ev.t[i]);
        }
    }

    #[test]
    fn bad_images_and_settings_are_refused_by_name() {
        let s = SaccadeSensor::default();
        let th = s.thresholds();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert!(s.record(&[0.0; 27], 28, &th, &mut rng).unwrap_err().contains("not 28 × 28"));
        assert!(s.record(&[0.0; 33 * 33], 33, &th, &mut rng).unwrap_err().contains("does not fit"));
        assert!(s.record(&[0.0; 28 * 28], 28, &th[1..], &mut rng).unwrap_err().contains("thresholds"));
        let bad = SaccadeSensor { threshold: f64::NAN, ..s };
        assert!(bad.record(&[0.0; 28 * 28], 28, &th, &mut rng).unwrap_err().contains("threshold"));
        let bad = SaccadeSensor { canvas: 300, ..s };
        assert!(bad.record(&[0.0; 28 * 28], 28, &th, &mut rng).unwrap_err().contains("canvas"));
    }
}
