//! The event transforms of notebook 05 (stork's DVS128 Gesture network), with tonic's semantics
//! (tonic 1.x `transforms` and `functional`), each seeded by the caller's generator:
//!
//! | here | tonic | what |
//! |---|---|---|
//! | [`drop_event`] | `DropEvent(p)` | removes exactly `int(p·N + 0.5)` events, chosen uniformly without replacement; the rest keep their order |
//! | [`downsample`] | `Downsample(time_factor, spatial_factor)` | `t ← trunc(t·time_factor)`, `x ← trunc(x·sx)`, `y ← trunc(y·sy)` (tonic multiplies in float64 and stores into the integer fields, which truncates; so does this) |
//! | [`to_frame`] | `ToFrame(sensor_size, time_window)` | windows `[t₀ + k·w, t₀ + (k+1)·w)` from the first event's time, `floor((t_last − t₀ − w)/w) + 1` of them (at least 1; the last, incomplete stretch dropped), each event counted at `(p, y, x)`; boundaries compared in float64 as tonic's `searchsorted` does |
//! | [`time_crop`] | notebook 05's `TimeCropTransform(T)` | `T` consecutive frames from a start drawn uniformly in `0..n−T` (numpy's `randint(0, n − T)`) |
//!
//! Where tonic or the notebook would fail, these do something defined instead, and say so: a
//! recording shorter than the crop (`randint` raises) is padded with empty frames at the end; an
//! event outside the sensor (numpy raises) is an error naming it.
//!
//! Notebook 05 applies the whole chain at test time too, so its test score is stochastic; a caller
//! gets the same behaviour by seeding each sample's generator by epoch, and a deterministic test
//! by seeding it by sample alone. [`Downsampled`] keeps a recording after the chain's
//! deterministic step, compactly, so that [`Notebook05::draw`] can draw the random steps again
//! for every epoch without reading the file again.

use rand::seq::index;
use rand::{Rng, RngExt};

use crate::Events;

/// Event counts per time step, polarity and pixel: `counts[((t·2 + p)·height + y)·width + x]`
/// (tonic's frame layout `[T, 2, H, W]`; polarity 0 = OFF, 1 = ON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frames {
    /// Time steps.
    pub steps: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// The counts (saturating at 65535).
    pub counts: Vec<u16>,
}

impl Frames {
    /// Empty frames.
    pub fn zeros(steps: usize, height: usize, width: usize) -> Self {
        Frames { steps, height, width, counts: vec![0; steps * 2 * height * width] }
    }

    /// Values per step (2 · height · width).
    pub fn step_len(&self) -> usize {
        2 * self.height * self.width
    }

    /// The count at step `t`, polarity `p`, row `y`, column `x`.
    pub fn get(&self, t: usize, p: usize, y: usize, x: usize) -> u16 {
        self.counts[((t * 2 + p) * self.height + y) * self.width + x]
    }

    /// The sum of all counts.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|&c| c as u64).sum()
    }
}

/// The most frame values [`to_frame`] allocates (2^30 counts, 2 GiB).
pub const MAX_FRAME_VALUES: usize = 1 << 30;

/// tonic's `DropEvent(p)`: `events` without `int(p·N + 0.5)` of them, chosen uniformly.
///
/// # Panics
/// Never; `p` is clamped to `[0, 1]` (NaN drops nothing).
pub fn drop_event<R: Rng + ?Sized>(events: &Events, p: f64, rng: &mut R) -> Events {
    let n = events.len();
    let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
    let k = ((p * n as f64 + 0.5) as usize).min(n);
    let mut keep = vec![true; n];
    for i in index::sample(rng, n, k) {
        keep[i] = false;
    }
    let mut out = Events::with_capacity(n - k);
    for i in (0..n).filter(|&i| keep[i]) {
        out.push(events.t[i], events.x[i], events.y[i], events.p[i]);
    }
    out
}

/// tonic's `Downsample(time_factor, spatial_factor=(sx, sy))`: times and coordinates scaled and
/// truncated toward zero.
pub fn downsample(events: &Events, time_factor: f64, spatial_factor: (f64, f64)) -> Events {
    let mut out = Events::with_capacity(events.len());
    let (sx, sy) = spatial_factor;
    for i in 0..events.len() {
        // f64 → integer `as` truncates toward zero (and saturates), as numpy's cast does in range
        out.push((events.t[i] as f64 * time_factor) as i64, (events.x[i] as f64 * sx) as u16, (events.y[i] as f64 * sy) as u16, events.p[i]);
    }
    out
}

/// tonic's `ToFrame(sensor_size=(width, height, 2), time_window)` on time-ordered events (in the
/// unit of `time_window`).
///
/// # Errors
/// If `time_window` is not positive and finite, an event lies outside the sensor, or the frames
/// would exceed [`MAX_FRAME_VALUES`].
pub fn to_frame(events: &Events, width: usize, height: usize, time_window: f64) -> Result<Frames, String> {
    if !(time_window > 0.0 && time_window.is_finite()) {
        return Err(format!("time_window = {time_window}: a positive window is needed"));
    }
    if let Some(i) = (0..events.len()).find(|&i| events.x[i] as usize >= width || events.y[i] as usize >= height) {
        return Err(format!("event {i} at x {}, y {} lies outside the {width}×{height} sensor (downsample the coordinates first)", events.x[i], events.y[i]));
    }
    let t = &events.t;
    let (t0, t1) = (t.first().copied().unwrap_or(0), t.last().copied().unwrap_or(0));
    let duration = (t1 - t0) as f64;
    let n = (((duration - time_window) / time_window).floor() + 1.0).max(1.0);
    let per_step = 2 * width * height;
    if n * per_step as f64 > MAX_FRAME_VALUES as f64 {
        return Err(format!(
            "{n} frames of {width}×{height}×2 exceed {MAX_FRAME_VALUES} values (a longer time_window, or crop the recording first)"
        ));
    }
    let n = n as usize;
    let mut f = Frames::zeros(n, height, width);
    for k in 0..n {
        let start = k as f64 * time_window + t0 as f64;
        let a = t.partition_point(|&v| (v as f64) < start);
        let b = t.partition_point(|&v| (v as f64) < start + time_window);
        let base = k * per_step;
        for i in a..b.max(a) {
            let c = &mut f.counts[base + ((events.p[i] as usize) * height + events.y[i] as usize) * width + events.x[i] as usize];
            *c = c.saturating_add(1);
        }
    }
    Ok(f)
}

/// Notebook 05's `TimeCropTransform(steps)`: `steps` consecutive frames from a start drawn in
/// `0..n − steps` (exclusive, as numpy's `randint`), or from 0 when `rng` is `None` (a
/// deterministic crop); frames shorter than `steps` are padded with empty steps at the end.
pub fn time_crop<R: Rng + ?Sized>(frames: &Frames, steps: usize, rng: Option<&mut R>) -> Frames {
    let n = frames.steps;
    let start = match rng {
        Some(r) if n > steps + 1 => r.random_range(0..n - steps),
        _ => 0,
    };
    let len = frames.step_len();
    let mut out = Frames::zeros(steps, frames.height, frames.width);
    let take = steps.min(n.saturating_sub(start));
    out.counts[..take * len].copy_from_slice(&frames.counts[start * len..(start + take) * len]);
    out
}

/// Notebook 05's whole chain: DropEvent(0.5) → Downsample(time 1e-3: µs to ms, space 32/128) →
/// ToFrame(32×32, window 2 ms) → TimeCrop(500 steps).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Notebook05 {
    /// DropEvent's probability.
    pub drop_p: f64,
    /// Downsample's time factor (µs → the frames' time unit).
    pub time_factor: f64,
    /// Downsample's spatial factor.
    pub spatial_factor: f64,
    /// The frames' width and height after downsampling.
    pub size: usize,
    /// ToFrame's window, in the downsampled time unit.
    pub time_window: f64,
    /// TimeCrop's steps.
    pub steps: usize,
}

impl Default for Notebook05 {
    fn default() -> Self {
        Notebook05 { drop_p: 0.5, time_factor: 1e-3, spatial_factor: 32.0 / 128.0, size: 32, time_window: 2.0, steps: 500 }
    }
}

impl Notebook05 {
    /// The chain on one sample, every random choice from `rng`: [`Notebook05::downsampled`] then
    /// [`Notebook05::draw`], as dense frames.
    ///
    /// # Errors
    /// As [`Notebook05::downsampled`].
    pub fn apply<R: Rng + ?Sized>(&self, events: &Events, rng: &mut R) -> Result<Frames, String> {
        let d = self.downsampled(events)?;
        let mut f = Frames::zeros(self.steps, self.size, self.size);
        let per = f.step_len();
        for (step, unit, count) in self.draw(&d, rng) {
            let c = &mut f.counts[step as usize * per + unit as usize];
            *c = c.saturating_add(count);
        }
        Ok(f)
    }

    /// The chain's deterministic part, done once per recording: Downsample, with each event kept
    /// only as its (downsampled time, pixel), counted.
    ///
    /// # Errors
    /// As [`Downsampled::new`].
    pub fn downsampled(&self, events: &Events) -> Result<Downsampled, String> {
        Downsampled::new(events, self.time_factor, (self.spatial_factor, self.spatial_factor), self.size, self.size)
    }

    /// The chain's random part on a downsampled recording, drawn anew at each call: DropEvent
    /// (exactly `int(p·N + 0.5)` of its N events, chosen uniformly without replacement), ToFrame
    /// (windows from the first kept event's time) and TimeCrop. Returns the cropped frames'
    /// counts as `(step, unit, count)`, unit = `(p·H + y)·W + x` (the frame layout of [`Frames`]),
    /// grouped by step; a `(step, unit)` may appear more than once (their counts add).
    ///
    /// The same draws as [`drop_event`] → [`downsample`] → [`to_frame`] → [`time_crop`] with
    /// the same generator on the recording's events ordered by (downsampled time, unit), and so
    /// the same distribution as that chain on the events in any order: an event is dropped or
    /// kept whatever its place in the list.
    pub fn draw<R: Rng + ?Sized>(&self, d: &Downsampled, rng: &mut R) -> Vec<(u32, u32, u16)> {
        let n = d.events;
        let p = if self.drop_p.is_nan() { 0.0 } else { self.drop_p.clamp(0.0, 1.0) };
        let k = ((p * n as f64 + 0.5) as usize).min(n);
        // the dropped events as a bitmap over the events in entry order
        let mut dropped = vec![0u64; n.div_ceil(64)];
        for i in index::sample(rng, n, k) {
            dropped[i / 64] |= 1 << (i % 64);
        }
        let mut kept = Vec::with_capacity(d.counts.len());
        let mut first = 0usize;
        for &c in &d.counts {
            let gone = (first..first + c as usize).filter(|&i| dropped[i / 64] >> (i % 64) & 1 == 1).count();
            kept.push(c - gone as u16);
            first += c as usize;
        }
        // the times of the first and the last kept event
        let has = |j: usize| kept[d.offsets[j] as usize..d.offsets[j + 1] as usize].iter().any(|&c| c > 0);
        let (Some(a), Some(b)) = ((0..d.times.len()).find(|&j| has(j)), (0..d.times.len()).rev().find(|&j| has(j))) else {
            // nothing kept: one empty frame, cropped (padded) to `steps` empty ones
            return Vec::new();
        };
        let w = self.time_window;
        let t0 = d.times[a] as f64;
        let frames = (((d.times[b] as f64 - t0 - w) / w).floor() + 1.0).max(1.0) as usize;
        let start = if frames > self.steps + 1 { rng.random_range(0..frames - self.steps) } else { 0 };
        let mut out = Vec::new();
        for j in a..=b {
            let t = d.times[j] as f64;
            // the window [t0 + f·w, t0 + (f+1)·w) holding t, compared as to_frame compares
            let mut f = ((t - t0) / w).floor().max(0.0) as usize;
            while f > 0 && t < f as f64 * w + t0 {
                f -= 1;
            }
            while t >= (f + 1) as f64 * w + t0 {
                f += 1;
            }
            if f >= frames || f < start || f >= start + self.steps {
                continue;
            }
            for e in d.offsets[j] as usize..d.offsets[j + 1] as usize {
                if kept[e] > 0 {
                    out.push(((f - start) as u32, u32::from(d.units[e]), kept[e]));
                }
            }
        }
        out
    }
}

/// A recording after [`downsample`], kept compactly for drawing notebook 05's random transforms
/// again and again ([`Notebook05::draw`]): its distinct downsampled times, ascending, and for each
/// the pixels `(p·H + y)·W + x` that had events then, with their number (4 bytes per distinct
/// (time, pixel) and 12 per distinct time, rather than 13 per event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downsampled {
    times: Vec<i64>,
    /// The entries of `times[j]` are `offsets[j]..offsets[j + 1]`.
    offsets: Vec<u32>,
    units: Vec<u16>,
    counts: Vec<u16>,
    events: usize,
}

impl Downsampled {
    /// `events` downsampled as [`downsample`] does onto a `width × height` sensor.
    ///
    /// # Errors
    /// If an event lies outside the sensor after downsampling, the sensor has more than 65 536
    /// values per step (2 · width · height), or the recording more than 2³² events.
    pub fn new(events: &Events, time_factor: f64, spatial_factor: (f64, f64), width: usize, height: usize) -> Result<Self, String> {
        if 2 * width * height > 1 << 16 {
            return Err(format!("a {width}×{height} sensor has {} values per step, more than 65536", 2 * width * height));
        }
        if u32::try_from(events.len()).is_err() {
            return Err(format!("{} events: at most 2^32 per recording", events.len()));
        }
        let small = downsample(events, time_factor, spatial_factor);
        let mut keys = Vec::with_capacity(small.len());
        for i in 0..small.len() {
            let (x, y) = (small.x[i] as usize, small.y[i] as usize);
            if x >= width || y >= height {
                return Err(format!("event {i} at x {x}, y {y} lies outside the {width}×{height} sensor (downsample the coordinates first)"));
            }
            keys.push((small.t[i], ((usize::from(small.p[i]) * height + y) * width + x) as u16));
        }
        keys.sort_unstable();
        let mut d = Downsampled { times: Vec::new(), offsets: vec![0], units: Vec::new(), counts: Vec::new(), events: keys.len() };
        for run in keys.chunk_by(|a, b| a == b) {
            let (t, u) = run[0];
            if d.times.last() != Some(&t) {
                if !d.times.is_empty() {
                    d.offsets.push(d.units.len() as u32);
                }
                d.times.push(t);
            }
            // a run longer than a u16 holds is split into entries of the same pixel
            for part in run.chunks(usize::from(u16::MAX)) {
                d.units.push(u);
                d.counts.push(part.len() as u16);
            }
        }
        if !d.times.is_empty() {
            d.offsets.push(d.units.len() as u32);
        }
        Ok(d)
    }

    /// The number of events.
    pub fn events(&self) -> usize {
        self.events
    }

    /// The bytes it holds.
    pub fn bytes(&self) -> usize {
        self.times.len() * 12 + self.units.len() * 4
    }
}
