//! Spike data sets: binned events per sample, the Randman generator (spec §5.3) and the SHD HDF5
//! reader (`datasets.md`).
//!
//! A sample is a list of `(step, unit)` events, sorted. Spike data are binary and de-duplicated
//! (duplicates in a bin count once, as in the reference's dense conversion); *count* data
//! ([`SpikeDataset::from_count_samples`]: event-camera frames, notebook 05's `ToFrame` counts) keep
//! every event, and a unit's input at a step is the number of its events there (an event with a
//! weight in the event-driven products). This binned form is the run's event cache: files are
//! decoded once, and every epoch reads 4 bytes per event (step and unit packed into one `u32`, so
//! at most 65 536 steps and 65 536 channels).

pub mod files;
pub mod h5write;
pub mod images;
pub mod randman;
pub mod shd;
pub mod synthetic;

use crate::error::{Error, Result};
use crate::rng::{rng_for, shuffle, stream};

/// A labelled set of binned spike trains.
#[derive(Debug, Clone, PartialEq)]
pub struct SpikeDataset {
    /// Number of input channels.
    pub n_in: usize,
    /// Number of classes.
    pub n_classes: usize,
    /// Steps per sample.
    pub t_steps: usize,
    /// Step length in seconds.
    pub dt: f64,
    offsets: Vec<usize>,
    /// `step << 16 | unit`, sorted per sample.
    events: Vec<u32>,
    /// Class of each sample, `0..n_classes`.
    pub labels: Vec<usize>,
    /// Speaker of each sample, where the source has one.
    pub speakers: Option<Vec<u32>>,
    /// Whether events may repeat: the input of a unit at a step is its number of events there
    /// (count data) rather than 1 (binary spikes, de-duplicated).
    pub counts: bool,
}

impl SpikeDataset {
    /// Builds a data set from per-sample events `(step, unit)`; sorts and de-duplicates them.
    ///
    /// # Errors
    /// [`Error::Shape`] when an event lies outside `t_steps × n_in` or a label ≥ `n_classes`.
    pub fn from_samples(
        n_in: usize,
        n_classes: usize,
        t_steps: usize,
        dt: f64,
        samples: Vec<Vec<(u32, u32)>>,
        labels: Vec<usize>,
    ) -> Result<Self> {
        Self::from_sample_iter(n_in, n_classes, t_steps, dt, samples, labels)
    }

    /// A data set of event **counts**: as [`SpikeDataset::from_sample_iter`], but events that
    /// repeat in a bin are all kept, and the unit's input at that step is their number.
    ///
    /// # Errors
    /// As [`SpikeDataset::from_sample_iter`].
    pub fn from_count_samples(
        n_in: usize,
        n_classes: usize,
        t_steps: usize,
        dt: f64,
        samples: impl IntoIterator<Item = Vec<(u32, u32)>>,
        labels: Vec<usize>,
    ) -> Result<Self> {
        Self::build(n_in, n_classes, t_steps, dt, samples, labels, true)
    }

    /// [`SpikeDataset::from_samples`] from samples made one at a time, so that only one sample's
    /// unpacked events exist at once (the packed events take 4 bytes each).
    ///
    /// # Errors
    /// As [`SpikeDataset::from_samples`], and [`Error::Shape`] when there are more or fewer samples
    /// than labels.
    pub fn from_sample_iter(
        n_in: usize,
        n_classes: usize,
        t_steps: usize,
        dt: f64,
        samples: impl IntoIterator<Item = Vec<(u32, u32)>>,
        labels: Vec<usize>,
    ) -> Result<Self> {
        Self::build(n_in, n_classes, t_steps, dt, samples, labels, false)
    }

    fn build(
        n_in: usize,
        n_classes: usize,
        t_steps: usize,
        dt: f64,
        samples: impl IntoIterator<Item = Vec<(u32, u32)>>,
        labels: Vec<usize>,
        counts: bool,
    ) -> Result<Self> {
        if t_steps > 1 << 16 || n_in > 1 << 16 {
            return Err(Error::Shape {
                what: "data set".into(),
                expected: "at most 65536 steps and 65536 input channels".into(),
                got: format!("{t_steps} steps, {n_in} channels"),
            });
        }
        let mut offsets = Vec::with_capacity(labels.len() + 1);
        let mut events = Vec::new();
        offsets.push(0);
        for (i, s) in samples.into_iter().enumerate() {
            if i >= labels.len() {
                return Err(Error::Shape { what: "data set".into(), expected: format!("{} samples, one per label", labels.len()), got: "more".into() });
            }
            if let Some(&(t, u)) = s.iter().find(|&&(t, u)| t as usize >= t_steps || u as usize >= n_in) {
                return Err(Error::Shape {
                    what: format!("sample {i}"),
                    expected: format!("events within {t_steps} steps × {n_in} units"),
                    got: format!("event at step {t}, unit {u}"),
                });
            }
            let start = events.len();
            events.extend(s.into_iter().map(|(t, u)| (t << 16) | u));
            events[start..].sort_unstable();
            if counts {
                offsets.push(events.len());
                continue;
            }
            let mut k = start;
            for j in start..events.len() {
                if j == start || events[j] != events[k - 1] {
                    events[k] = events[j];
                    k += 1;
                }
            }
            events.truncate(k);
            offsets.push(events.len());
        }
        if offsets.len() - 1 != labels.len() {
            return Err(Error::Shape {
                what: "data set".into(),
                expected: format!("{} labels", offsets.len() - 1),
                got: format!("{}", labels.len()),
            });
        }
        if let Some((i, &l)) = labels.iter().enumerate().find(|(_, &l)| l >= n_classes) {
            return Err(Error::Shape {
                what: format!("label of sample {i}"),
                expected: format!("< {n_classes}"),
                got: l.to_string(),
            });
        }
        Ok(SpikeDataset { n_in, n_classes, t_steps, dt, offsets, events, labels, speakers: None, counts })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Events `(step, unit)` of sample `i`, sorted by step then unit.
    pub fn events(&self, i: usize) -> impl ExactSizeIterator<Item = (u32, u32)> + '_ {
        self.events[self.offsets[i]..self.offsets[i + 1]].iter().map(|&e| (e >> 16, e & 0xffff))
    }

    /// Events of sample `i` as `(step, unit, count)`, one per distinct `(step, unit)`, sorted by
    /// step then unit (`count` is 1 for binary data).
    pub fn counted_events(&self, i: usize) -> impl Iterator<Item = (u32, u32, u32)> + '_ {
        let ev = &self.events[self.offsets[i]..self.offsets[i + 1]];
        ev.chunk_by(|a, b| a == b).map(|run| (run[0] >> 16, run[0] & 0xffff, run.len() as u32))
    }

    /// Total number of events.
    pub fn total_events(&self) -> usize {
        self.events.len()
    }

    /// Mean input rate per channel in Hz (binned spikes / (samples · channels · duration)).
    pub fn mean_rate_hz(&self) -> f64 {
        self.events.len() as f64 / (self.len() as f64 * self.n_in as f64 * self.t_steps as f64 * self.dt)
    }

    /// The samples at `idx`, in that order.
    pub fn subset(&self, idx: &[usize]) -> SpikeDataset {
        let mut offsets = vec![0];
        let mut events = Vec::new();
        for &i in idx {
            events.extend_from_slice(&self.events[self.offsets[i]..self.offsets[i + 1]]);
            offsets.push(events.len());
        }
        SpikeDataset {
            offsets,
            events,
            labels: idx.iter().map(|&i| self.labels[i]).collect(),
            speakers: self.speakers.as_ref().map(|s| idx.iter().map(|&i| s[i]).collect()),
            ..*self
        }
    }

    /// Consecutive split by fractions (normalized), like stork's `split_dataset(shuffle=False)`:
    /// slice `k` has `int(frac_k · n)` samples.
    pub fn split(&self, fractions: &[f64]) -> Vec<SpikeDataset> {
        let total: f64 = fractions.iter().sum();
        let n = self.len();
        let mut start = 0;
        fractions
            .iter()
            .map(|f| {
                let k = ((f / total) * n as f64) as usize;
                let idx: Vec<usize> = (start..(start + k).min(n)).collect();
                start += k;
                self.subset(&idx)
            })
            .collect()
    }

    /// A split that holds out whole speakers: speakers are shuffled (seeded) and moved to the second
    /// part until it holds at least `fraction` of the samples.
    ///
    /// # Errors
    /// [`Error::Config`] when the data set has no speaker ids.
    pub fn speaker_split(&self, fraction: f64, seed: u64) -> Result<(SpikeDataset, SpikeDataset)> {
        let Some(sp) = &self.speakers else {
            return Err(Error::config("valid_split", "a split by speaker needs speaker ids in the file (/extra/speaker); split at random instead"));
        };
        let mut ids: Vec<u32> = sp.clone();
        ids.sort_unstable();
        ids.dedup();
        shuffle(&mut ids, &mut rng_for(seed, stream::SPLIT + 1));
        let want = (fraction * self.len() as f64).ceil() as usize;
        let mut held = std::collections::HashSet::new();
        let mut count = 0;
        for id in ids {
            if count >= want {
                break;
            }
            count += sp.iter().filter(|&&s| s == id).count();
            held.insert(id);
        }
        let (b, a): (Vec<usize>, Vec<usize>) = (0..self.len()).partition(|&i| held.contains(&sp[i]));
        Ok((self.subset(&a), self.subset(&b)))
    }

    /// A seeded random split: `fraction` of the samples (rounded down) go to the second part.
    pub fn random_split(&self, fraction: f64, seed: u64) -> (SpikeDataset, SpikeDataset) {
        let mut idx: Vec<usize> = (0..self.len()).collect();
        shuffle(&mut idx, &mut rng_for(seed, stream::SPLIT));
        let k = (fraction * self.len() as f64) as usize;
        let (b, a) = idx.split_at(k);
        (self.subset(a), self.subset(b))
    }
}


/// One sample of `n` independent Poisson trains (`n`, `t_steps` ≤ 65 536) at `nu` Hz over `t_steps` steps of `dt` seconds (each
/// step fires with probability ν·dt), as in the reference's notebook 00 (spec §4.1).
pub fn poisson_sample(n: usize, nu: f64, dt: f64, t_steps: usize, seed: u64) -> SpikeDataset {
    let mut rng = rng_for(seed, stream::DATA + 99);
    let p = nu * dt;
    let mut ev = Vec::new();
    for t in 0..t_steps {
        for u in 0..n {
            if crate::rng::uniform(&mut rng) < p {
                ev.push(((t as u32) << 16) | u as u32);
            }
        }
    }
    assert!(n <= 1 << 16 && t_steps <= 1 << 16, "poisson_sample: at most 65536 inputs and steps");
    SpikeDataset { n_in: n, n_classes: 2, t_steps, dt, offsets: vec![0, ev.len()], events: ev, labels: vec![0], speakers: None, counts: false }
}

/// Bins spike times (seconds) and units into `(step, unit)` events as the reference does: step =
/// floor(t/dt), events with step ≥ `t_steps`, negative times or unit ≥ `n_in` dropped.
pub fn bin_events(times: &[f32], units: &[u32], dt: f64, t_steps: usize, n_in: usize) -> Vec<(u32, u32)> {
    times
        .iter()
        .zip(units)
        .filter_map(|(&t, &u)| {
            let s = (t as f64 / dt).floor();
            (s >= 0.0 && (s as usize) < t_steps && (u as usize) < n_in).then_some((s as u32, u))
        })
        .collect()
}

/// The project's shared folder of *large* external data (all of FSDD, event-camera and NIR samples),
/// for the tests and benchmarks that need it: `$SPIKEFLUX_SHARED_DATA` if set, else the first
/// `shared/data` beside a folder above this crate's source (the checkout's `../shared/data`).
/// `None` if there is none: such tests are `#[ignore]`d and run with `cargo test -- --ignored` where
/// the folder exists (CI does). The small fixtures the test suite needs are committed under each
/// crate's `tests/fixtures/` and never come from here.
pub fn shared_data_dir() -> Option<std::path::PathBuf> {
    if let Ok(p) = std::env::var("SPIKEFLUX_SHARED_DATA") {
        return Some(p.into());
    }
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|a| a.join("shared/data"))
        .find(|p| p.is_dir())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_and_bounds() {
        let ds = SpikeDataset::from_samples(3, 2, 4, 1e-3, vec![vec![(1, 2), (0, 1), (1, 2)]], vec![1]).unwrap();
        assert_eq!(ds.events(0).collect::<Vec<_>>(), vec![(0, 1), (1, 2)]);
        let e = SpikeDataset::from_samples(3, 2, 4, 1e-3, vec![vec![(4, 0)]], vec![0]).unwrap_err();
        assert!(e.to_string().contains("step 4"), "{e}");
    }

    #[test]
    fn counts_keep_repeats() {
        let s = vec![vec![(1, 2), (0, 1), (1, 2), (1, 2)]];
        let ds = SpikeDataset::from_count_samples(3, 2, 4, 1e-3, s.clone(), vec![1]).unwrap();
        assert!(ds.counts);
        assert_eq!(ds.total_events(), 4);
        assert_eq!(ds.counted_events(0).collect::<Vec<_>>(), vec![(0, 1, 1), (1, 2, 3)]);
        assert_eq!(ds.subset(&[0]).counted_events(0).collect::<Vec<_>>(), vec![(0, 1, 1), (1, 2, 3)]);
        let bin = SpikeDataset::from_samples(3, 2, 4, 1e-3, s, vec![1]).unwrap();
        assert_eq!(bin.counted_events(0).collect::<Vec<_>>(), vec![(0, 1, 1), (1, 2, 1)]);
    }

    #[test]
    fn speaker_split_holds_out_whole_speakers() {
        let samples = vec![vec![]; 10];
        let mut ds = SpikeDataset::from_samples(1, 2, 1, 1e-3, samples, vec![0; 10]).unwrap();
        assert!(ds.speaker_split(0.2, 1).is_err());
        ds.speakers = Some(vec![0, 0, 1, 1, 1, 2, 2, 3, 3, 3]);
        let (a, b) = ds.speaker_split(0.2, 1).unwrap();
        assert_eq!(a.len() + b.len(), 10);
        assert!(b.len() >= 2);
        let (sa, sb) = (a.speakers.unwrap(), b.speakers.unwrap());
        assert!(sa.iter().all(|s| !sb.contains(s)));
    }

    #[test]
    fn binning_is_floor_and_drops_out_of_range() {
        let ev = bin_events(&[0.0, 0.0019, 0.002, 0.6999, 0.7001, 0.01], &[0, 1, 2, 3, 4, 700], 2e-3, 350, 700);
        assert_eq!(ev, vec![(0, 0), (0, 1), (1, 2), (349, 3)]);
    }
}
