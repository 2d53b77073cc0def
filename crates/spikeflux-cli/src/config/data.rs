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
            return Ok(Splits { train, valid: (!valid.is_empty()).then_some(valid), test });
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
            return Ok(Splits { train, valid: (!valid.is_empty()).then_some(valid), test });
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
            return Ok(Splits { train, valid: (!valid.is_empty()).then_some(valid), test });
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
        Ok(Splits { train, valid: (!valid.is_empty()).then_some(valid), test })
    }
}

/// One sample's `(step, unit)` events.
type Binned = Vec<(u32, u32)>;

impl RunConfig {
    /// `[data.events]`: the recordings under `dir`, through notebook 05's transforms, as event
    /// counts per frame (or binarized, `counts = false`).
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
        // the binned events and labels of the training (0) and test (1) samples; a sample is
        // binned as soon as it is read, so only one recording's raw events are held at a time
        let mut splits: [(Vec<Binned>, Vec<usize>); 2] = Default::default();
        let mut bin = |s: &Sample, split: usize| -> Result<()> {
            let i = splits[split].0.len();
            // every sample's draws from (run seed, split, sample): the same for any thread count
            let mut rng = spikeflux_core::rng::rng_for(self.train.seed, spikeflux_core::rng::stream::TRANSFORM + ((split as u64) << 32) + i as u64);
            let f = chain.apply(&s.events, &mut rng).map_err(|why| Error::data_file(dir, format!("sample {i} (user {}, class {}): {why}", s.user, s.class)))?;
            let per = f.step_len();
            let counts = &f.counts;
            // a count is that many events of the unit in the step (one if binarized)
            let times = |c: u16| if e.counts { c as usize } else { usize::from(c > 0) };
            let ev: Vec<(u32, u32)> = (0..f.steps)
                .flat_map(|t| (0..per).flat_map(move |k| std::iter::repeat_n((t as u32, k as u32), times(counts[t * per + k]))))
                .collect();
            splits[split].0.push(ev);
            splits[split].1.push(s.class);
            Ok(())
        };
        let tonic = dir.join("ibmGestureTrain");
        if tonic.is_dir() {
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
                return Err(Error::data_file(dir, "holds no userNN_*.aedat recordings nor tonic's ibmGestureTrain/ folder (`spikeflux data fetch dvsgesture`, or `data synth-gestures`)").into());
            }
            for r in &recs {
                for s in gesture::read_recording(r)? {
                    bin(&s, usize::from(s.user >= e.test_users_from))?;
                }
            }
        }
        let n_in = 2 * e.size * e.size;
        let [(train_ev, train_l), (test_ev, test_l)] = splits;
        let full = SpikeDataset::from_count_samples(n_in, gesture::CLASSES.len(), e.n_steps, self.model.dt, train_ev, train_l)?;
        let test = SpikeDataset::from_count_samples(n_in, gesture::CLASSES.len(), e.n_steps, self.model.dt, test_ev, test_l)?;
        if full.is_empty() || test.is_empty() {
            return Err(Error::data_file(dir, format!("{} training and {} test samples (test users from {}): both are needed", full.len(), test.len(), e.test_users_from)).into());
        }
        let (train, valid) = full.random_split(e.valid_fraction, self.train.seed);
        Ok(Splits { train, valid: (!valid.is_empty()).then_some(valid), test })
    }
}
