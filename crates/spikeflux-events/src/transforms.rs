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
//! by seeding it by sample alone.

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
    /// The chain on one sample, every random choice from `rng`.
    ///
    /// # Errors
    /// As [`to_frame`].
    pub fn apply<R: Rng + ?Sized>(&self, events: &Events, rng: &mut R) -> Result<Frames, String> {
        let kept = drop_event(events, self.drop_p, rng);
        let small = downsample(&kept, self.time_factor, (self.spatial_factor, self.spatial_factor));
        let frames = to_frame(&small, self.size, self.size, self.time_window)?;
        Ok(time_crop(&frames, self.steps, Some(rng)))
    }
}
