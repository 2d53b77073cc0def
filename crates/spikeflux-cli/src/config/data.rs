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
