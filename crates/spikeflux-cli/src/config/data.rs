//! Loading the data sets a config names, and splitting them into train, validation and test.

use std::path::Path;

use anyhow::{bail, Context, Result};
use spikeflux_core::data::images::{self, LatencyCode};
use spikeflux_core::data::randman;
use spikeflux_core::data::shd::ShdFile;
use spikeflux_core::data::SpikeDataset;
use spikeflux_core::Error;

use super::{RunConfig, SplitName};

/// Train / validation / test sets.
pub struct Splits {
    pub train: SpikeDataset,
    pub valid: Option<SpikeDataset>,
    pub test: SpikeDataset,
    /// For event recordings (`[data.events]`): where each epoch's transforms are drawn from
    /// (`train`, `valid` and `test` above are the first draw).
    pub draws: Option<EventDraws>,
}

/// Event recordings after notebook 05's deterministic transform (Downsample), kept compactly
/// (4 bytes per distinct time and pixel, 12 per distinct time), from which the random transforms (DropEvent, ToFrame's
/// start, the crop) are drawn again for each epoch, as stork does on every pass over the data: at
/// test time too unless `deterministic_test`. Draw `d` of sample `i` of split `s` (0 train, 1
/// test) comes from the generator of (run seed, transform stream, d, s, i) alone, so it is the
/// same for any thread or process count and on resume.
pub struct EventDraws {
    chain: spikeflux_events::transforms::Notebook05,
    recordings: [Vec<spikeflux_events::transforms::Downsampled>; 2],
    labels: [Vec<usize>; 2],
    n_classes: usize,
    counts: bool,
    seed: u64,
    n_in: usize,
    dt: f64,
    valid_fraction: f64,
    redraw: bool,
    deterministic_test: bool,
}

impl EventDraws {
    /// Draw `d` of split `s` (0 train, 1 test) as a data set.
    fn dataset(&self, s: usize, d: usize) -> Result<SpikeDataset> {
        use rayon::prelude::*;
        use spikeflux_core::rng::{rng_for, stream};
        let samples: Vec<Binned> = self.recordings[s]
            .par_iter()
            .enumerate()
            .map(|(i, rec)| {
                let tag = stream::TRANSFORM.wrapping_add((d as u64) << 40).wrapping_add((s as u64) << 32).wrapping_add(i as u64);
                let drawn = self.chain.draw(rec, &mut rng_for(self.seed, tag));
                // a count is that many events of the unit in the step (one if binarized)
                let times = |c: u16| if self.counts { usize::from(c) } else { usize::from(c > 0) };
                let mut ev: Binned = drawn.iter().flat_map(|&(t, u, c)| std::iter::repeat_n((t, u), times(c))).collect();
                if !self.counts {
                    // a (step, unit) drawn twice is still one spike
                    ev.sort_unstable();
                    ev.dedup();
                }
                ev
            })
            .collect();
        Ok(SpikeDataset::from_count_samples(self.n_in, self.n_classes, self.chain.steps, self.dt, samples, self.labels[s].clone())?)
    }

    /// The training and validation samples of epoch `epoch` (0-based): drawn anew for each
    /// epoch, or the first draw throughout with `redraw = false`.
    pub fn train(&self, epoch: usize) -> Result<(SpikeDataset, Option<SpikeDataset>)> {
        let full = self.dataset(0, self.train_draw(epoch))?;
        let (train, valid) = full.random_split(self.valid_fraction, self.seed);
        Ok((train, (!valid.is_empty()).then_some(valid)))
    }

    /// The test samples of evaluation `n` (0-based; the test after epoch `n`): drawn anew for
    /// each, or the first draw throughout with `deterministic_test`.
    pub fn test(&self, n: usize) -> Result<SpikeDataset> {
        self.dataset(1, self.test_draw(n))
    }

    /// Which draw the training samples of epoch `epoch` are (0 throughout with `redraw = false`),
    /// so that a caller holding that draw need not make it again.
    pub fn train_draw(&self, epoch: usize) -> usize {
        if self.redraw {
            epoch
        } else {
            0
        }
    }

    /// Which draw the test samples of evaluation `n` are (0 throughout with `deterministic_test`).
    pub fn test_draw(&self, n: usize) -> usize {
        if self.deterministic_test {
            0
        } else {
            n
        }
    }

    /// The bytes the downsampled recordings hold.
    pub fn bytes(&self) -> usize {
        self.recordings.iter().flatten().map(|r| r.bytes()).sum()
    }
}

impl RunConfig {
    /// Loads or generates the data and splits it. Relative HDF5 paths are taken relative to `base`.
    pub fn load_data(&self, base: &Path) -> Result<Splits> {
        if let Some(r) = &self.data.randman {
            let ds = randman::generate(r, self.model.dt).map_err(|e| e.within("data.randman"))?;
            let mut parts = ds.split(&r.split).into_iter();
            let (train, valid, test) = (parts.next(), parts.next(), parts.next());
            let (Some(train), Some(valid), Some(test)) = (train, valid, test) else {
                bail!("internal: split did not return three parts");
            };
            return Ok(Splits { train, valid: (!valid.is_empty()).then_some(valid), test, draws: None });
        }
        let resolve = |p: &Path| if p.is_absolute() { p.to_path_buf() } else { base.join(p) };
        let code = |n_steps: usize, threshold: f64, tau_eff: f64| LatencyCode { threshold, tau_eff, dt: self.model.dt, t_steps: n_steps };
        if let Some(f) = &self.data.fashion_mnist {
            let dir = resolve(&f.dir);
            let c = code(f.n_steps, f.threshold, f.tau_eff);
            let full = images::fashion_mnist(&dir, "train")
                .with_context(|| "Fashion-MNIST: install it with `apt-get install dataset-fashion-mnist` or set data.fashion_mnist.dir")?
                .to_dataset(&c, 10)?;
            let test = images::fashion_mnist(&dir, "t10k")?.to_dataset(&c, 10)?;
            let (train, valid) = full.random_split(f.valid_fraction, self.train.seed);
            return Ok(Splits { train, valid: (!valid.is_empty()).then_some(valid), test, draws: None });
        }
        if let Some(f) = &self.data.digits {
            let c = code(f.n_steps, f.threshold, f.tau_eff);
            let images = match &f.file {
                Some(file) => images::digits_csv(&resolve(file))?,
                None => images::uci_digits()?,
            };
            let full = images.to_dataset(&c, 10)?;
            let (rest, test) = full.random_split(f.test_fraction, self.train.seed ^ 0x5eed);
            let (train, valid) = rest.random_split(f.valid_fraction / (1.0 - f.test_fraction), self.train.seed);
            return Ok(Splits { train, valid: (!valid.is_empty()).then_some(valid), test, draws: None });
        }
        if let Some(e) = &self.data.events {
            return self.load_events(e, &resolve(&e.dir));
        }
        let Some(h) = &self.data.hdf5 else { bail!("no data section") };
        let read = |p: &Path| -> Result<SpikeDataset> {
            let p = resolve(p);
            Ok(ShdFile::read_binned(&p, self.model.dt, h.n_steps, h.n_in, h.n_classes)?)
        };
        let full = read(&h.train_file)?;
        let mut test = read(&h.test_file)?;
        let n_classes = full.n_classes.max(test.n_classes);
        test.n_classes = n_classes;
        let (mut train, mut valid) = match (&h.valid_file, h.valid_split) {
            (Some(v), _) => (full, read(v)?),
            (None, SplitName::Random) => full.random_split(h.valid_fraction, self.train.seed),
            (None, SplitName::Speaker) => full.speaker_split(h.valid_fraction, self.train.seed).map_err(|e| e.within("data.hdf5"))?,
        };
        train.n_classes = n_classes;
        valid.n_classes = n_classes;
        if train.is_empty() {
            return Err(Error::data_file(resolve(&h.train_file), "has no training samples").into());
        }
        Ok(Splits { train, valid: (!valid.is_empty()).then_some(valid), test, draws: None })
    }
}

/// One sample's `(step, unit)` events.
type Binned = Vec<(u32, u32)>;

impl RunConfig {
    /// `[data.events]`: the recordings under `dir`, downsampled once, and the first draw of
    /// notebook 05's random transforms from them, as event counts per frame (or binarized,
    /// `counts = false`); later epochs draw again from `Splits::draws`.
    fn load_events(&self, e: &super::EventsConfig, dir: &Path) -> Result<Splits> {
        use spikeflux_events::gesture::{self, Sample};
        let chain = spikeflux_events::transforms::Notebook05 {
            drop_p: e.drop_p,
            time_factor: 1e-3,
            spatial_factor: e.size as f64 / e.sensor as f64,
            size: e.size,
            time_window: self.model.dt * 1e3,
            steps: e.n_steps,
        };
        // the downsampled recordings and labels of the training (0) and test (1) samples; a
        // sample is downsampled as soon as it is read, so only one recording's raw events are
        // held at a time
        let mut recordings: [Vec<spikeflux_events::transforms::Downsampled>; 2] = Default::default();
        let mut labels: [Vec<usize>; 2] = Default::default();
        let mut bin = |s: &Sample, split: usize| -> Result<()> {
            let i = recordings[split].len();
            let d = chain.downsampled(&s.events).map_err(|why| Error::data_file(dir, format!("sample {i} (user {}, class {}): {why}", s.user, s.class)))?;
            recordings[split].push(d);
            labels[split].push(s.class);
            Ok(())
        };
        let tonic = dir.join("ibmGestureTrain");
        let mut n_classes = gesture::CLASSES.len();
        if spikeflux_events::nmnist::is_layout(dir) {
            // N-MNIST's layout (Train/<class>/*.bin, Test/...): read and downsampled in parallel,
            // kept in the listing's order
            use rayon::prelude::*;
            for (split, name) in spikeflux_events::nmnist::SPLITS.iter().enumerate() {
                let files = spikeflux_events::nmnist::files(&dir.join(name))?;
                let recs = files
                    .par_iter()
                    .map(|(path, _)| -> Result<_> {
                        let ev = spikeflux_events::read(path)?.events;
                        Ok(chain.downsampled(&ev).map_err(|why| Error::data_file(path, why))?)
                    })
                    .collect::<Result<Vec<_>>>()?;
                recordings[split] = recs;
                labels[split] = files.iter().map(|f| f.1).collect();
            }
            n_classes = labels.iter().flatten().max().map_or(0, |&c| c + 1);
        } else if tonic.is_dir() {
            for (split, folder) in [(0, tonic), (1, dir.join("ibmGestureTest"))] {
                for (path, class, user) in gesture::tonic_files(&folder)? {
                    bin(&Sample { class, user, events: spikeflux_events::read(&path)?.events }, split)?;
                }
            }
        } else {
            let mut recs: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
                .map_err(|err| Error::io(dir, err))?
                .filter_map(|d| d.ok().map(|d| d.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "aedat") && gesture::user_of(p).is_some())
                .collect();
            recs.sort();
            if recs.is_empty() {
                return Err(Error::data_file(dir, "holds no userNN_*.aedat recordings, nor tonic's ibmGestureTrain/ folder (`spikeflux data fetch dvsgesture`, or `data synth-gestures`), nor N-MNIST's Train/ and Test/ folders (`data synth-saccades`)").into());
            }
            for r in &recs {
                for s in gesture::read_recording(r)? {
                    bin(&s, usize::from(s.user >= e.test_users_from))?;
                }
            }
        }
        if recordings[0].is_empty() || recordings[1].is_empty() {
            return Err(Error::data_file(dir, format!("{} training and {} test samples (test users from {}): both are needed", recordings[0].len(), recordings[1].len(), e.test_users_from)).into());
        }
        let draws = EventDraws {
            chain,
            recordings,
            labels,
            n_classes,
            counts: e.counts,
            seed: self.train.seed,
            n_in: 2 * e.size * e.size,
            dt: self.model.dt,
            valid_fraction: e.valid_fraction,
            redraw: e.redraw,
            deterministic_test: e.deterministic_test,
        };
        let (train, valid) = draws.train(0)?;
        let test = draws.test(0)?;
        Ok(Splits { train, valid, test, draws: Some(draws) })
    }
}
