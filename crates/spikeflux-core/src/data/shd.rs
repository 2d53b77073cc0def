//! Reader for spike data sets in the SHD HDF5 layout (`datasets.md`), in pure Rust (no libhdf5):
//!
//! ```text
//! /spikes/times   (N,) vlen float (float16 in SHD)   seconds
//! /spikes/units   (N,) vlen integer (uint16 in SHD)  channel
//! /labels         (N,) integer
//! /extra/speaker  (N,) integer     (optional)
//! /extra/keys     (C,) string      (optional)
//! ```
//!
//! Times are widened to f32 *before* any scaling (float16 products overflow and round). Any integer
//! width and either byte order is accepted; storage layout and filters are handled by `hdf5-reader`.
//! Binning follows the reference (`step = floor(t/dt)`, out-of-range events dropped, binary), except
//! that the product `t/dt` is taken in f64 rather than in float16 as stork does.

use std::path::{Path, PathBuf};

use hdf5_reader::{ByteOrder, Dataset, Datatype, Hdf5File, OpenOptions, VarLenKind};

use crate::data::{bin_events, SpikeDataset};
use crate::error::{Error, Result};

/// The raw contents of an SHD-layout file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ShdFile {
    /// Spike times per sample, in seconds (widened from the stored float type).
    pub times: Vec<Vec<f32>>,
    /// Spike channels per sample.
    pub units: Vec<Vec<u32>>,
    /// Class per sample.
    pub labels: Vec<u32>,
    /// Speaker per sample, if `/extra/speaker` exists.
    pub speakers: Option<Vec<u32>>,
    /// Class names, if `/extra/keys` exists.
    pub keys: Option<Vec<String>>,
    /// Speaker names by id, if `/extra/speaker_names` exists (written by `audio2spikes`; not in SHD).
    pub speaker_names: Option<Vec<String>>,
    /// Recording index per sample (e.g. FSDD's 0–49), if `/extra/index` exists (written by
    /// `audio2spikes` when the file-name pattern has `{index}`; not in SHD).
    pub clip_index: Option<Vec<u32>>,
}

fn bad(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::data_file(path, format!("{what}; is this a spike file in the SHD layout (spikes/times, spikes/units, labels)?"))
}

/// Decodes the numbers in `bytes` (stored as `dt`) one by one into `out` through `f`, which checks
/// and narrows each value (f64 holds every stored float and every integer up to 2^53 exactly, and
/// larger integers are refused by the checks anyway). No intermediate array: the output is the
/// only allocation, sized by the bytes actually read.
fn decode<T>(bytes: &[u8], dt: &Datatype, path: &Path, name: &str, mut f: impl FnMut(f64) -> Result<T>) -> Result<Vec<T>> {
    let le = |order: &ByteOrder| matches!(order, ByteOrder::LittleEndian);
    let size = elem_size(dt).ok_or_else(|| bad(path, format!("`{name}` has an unsupported type {dt:?}")))?;
    let mut out = Vec::with_capacity(bytes.len() / size.max(1));
    match dt {
        Datatype::FloatingPoint { size, byte_order } => {
            let l = le(byte_order);
            match size {
                2 => {
                    for c in bytes.chunks_exact(2) {
                        let v = [c[0], c[1]];
                        out.push(f(f64::from(if l { half::f16::from_le_bytes(v) } else { half::f16::from_be_bytes(v) }))?);
                    }
                }
                4 => {
                    for c in bytes.chunks_exact(4) {
                        let v = [c[0], c[1], c[2], c[3]];
                        out.push(f(f64::from(if l { f32::from_le_bytes(v) } else { f32::from_be_bytes(v) }))?);
                    }
                }
                8 => {
                    for c in bytes.chunks_exact(8) {
                        let mut v = [0u8; 8];
                        v.copy_from_slice(c);
                        out.push(f(if l { f64::from_le_bytes(v) } else { f64::from_be_bytes(v) })?);
                    }
                }
                s => return Err(bad(path, format!("`{name}` has a {s}-byte float type"))),
            }
        }
        Datatype::FixedPoint { size, signed, byte_order } => {
            let (s, l, sg) = (*size as usize, le(byte_order), *signed);
            if !matches!(s, 1 | 2 | 4 | 8) {
                return Err(bad(path, format!("`{name}` has a {s}-byte integer type")));
            }
            for c in bytes.chunks_exact(s) {
                let mut v = [0u8; 8];
                let mut x: u64 = 0;
                if l {
                    v[..s].copy_from_slice(c);
                    x = u64::from_le_bytes(v);
                } else {
                    for &byte in c {
                        x = (x << 8) | byte as u64;
                    }
                }
                if sg && s < 8 && (x >> (8 * s - 1)) & 1 == 1 {
                    x |= !0u64 << (8 * s);
                }
                out.push(f(if sg { x as i64 as f64 } else { x as f64 })?);
            }
        }
        Datatype::Enum { base, .. } => return decode(bytes, base, path, name, f),
        other => return Err(bad(path, format!("`{name}` has an unsupported type {other:?}"))),
    }
    Ok(out)
}

/// The most bytes one dataset read may allocate for a file of `len` bytes: twice its size plus
/// 64 MiB (room for chunked, compressed data), so a corrupt or hostile size claim is refused before
/// anything is allocated instead of asking for gigabytes.
pub fn max_read_bytes(len: u64) -> usize {
    usize::try_from(len.saturating_mul(2).saturating_add(64 << 20)).unwrap_or(usize::MAX)
}

fn elem_size(dt: &Datatype) -> Option<usize> {
    match dt {
        Datatype::FloatingPoint { size, .. } | Datatype::FixedPoint { size, .. } => Some(*size as usize),
        Datatype::Enum { base, .. } => elem_size(base),
        _ => None,
    }
}

fn open_ds(file: &Hdf5File, path: &Path, name: &str) -> Result<Dataset> {
    file.dataset(name).map_err(|e| bad(path, format!("cannot open dataset `{name}` ({e})")))
}

fn is_u32(x: f64) -> bool {
    x >= 0.0 && x <= u32::MAX as f64 && x.fract() == 0.0
}

/// A non-negative integer that fits u32, or an error naming the dataset.
fn as_u32(x: f64, path: &Path, name: &str) -> Result<u32> {
    if is_u32(x) {
        Ok(x as u32)
    } else {
        Err(bad(path, format!("`{name}` holds {x}, not a non-negative integer")))
    }
}

/// The bytes a read may still hold: raw dataset bytes while they are decoded, and everything
/// decoded so far. Each claimed size (a dataset's shape, a sequence's length) is charged before
/// it is read, so a file cannot make the reader allocate more than its budget — also not by
/// pointing many samples at one heap object.
struct Budget {
    left: usize,
    path: PathBuf,
}

impl Budget {
    /// What a file of `len` bytes may take: twice its size plus 48 MiB (the remaining 16 MiB of
    /// the promised 64 are for the HDF5 reader's own metadata and caches).
    fn for_file(len: u64, path: &Path) -> Self {
        Budget { left: max_read_bytes(len).saturating_sub(16 << 20), path: path.to_path_buf() }
    }

    fn take(&mut self, bytes: u64, what: &str) -> Result<()> {
        match usize::try_from(bytes).ok().filter(|&b| b <= self.left) {
            Some(b) => {
                self.left -= b;
                Ok(())
            }
            None => Err(bad(
                &self.path,
                format!("{what} claims {bytes} bytes, more than a file of this size can hold (the reader takes at most twice the file's size plus 64 MiB); the file is corrupt"),
            )),
        }
    }

    fn give(&mut self, bytes: usize) {
        self.left = self.left.saturating_add(bytes);
    }
}

/// Heap bytes of a decoded sample of `n` values of `T` (the values and the Vec).
fn held<T>(n: usize) -> u64 {
    (n * std::mem::size_of::<T>() + std::mem::size_of::<Vec<T>>()) as u64
}

fn claimed_bytes(ds: &Dataset, elem: usize, path: &Path, name: &str) -> Result<u64> {
    let n = ds.num_elements().map_err(|e| bad(path, format!("`{name}` has no valid shape ({e})")))?;
    Ok(n.saturating_mul(elem as u64))
}

fn read_u32s(file: &Hdf5File, budget: &mut Budget, path: &Path, name: &str) -> Result<Vec<u32>> {
    let ds = open_ds(file, path, name)?;
    let size = elem_size(ds.dtype()).ok_or_else(|| bad(path, format!("`{name}` has an unsupported type {:?}", ds.dtype())))?;
    let claim = claimed_bytes(&ds, size, path, name)?;
    budget.take(claim, &format!("`{name}`"))?;
    let bytes = ds.read_raw_bytes().map_err(|e| bad(path, format!("cannot read `{name}` ({e})")))?;
    budget.take(held::<u32>(bytes.len() / size), &format!("`{name}`"))?;
    let out = decode(&bytes, ds.dtype(), path, name, |x| as_u32(x, path, name));
    budget.give(claim as usize);
    out
}

/// A variable-length dataset opened for reading sample by sample: its references (16 bytes per
/// sample) are read and charged to the budget at once; each sample's values when asked for.
struct Vlen<'a> {
    ds: Dataset,
    name: &'a str,
    base: Datatype,
    size: usize,
    rs: usize,
    raw: Vec<u8>,
    claim: u64,
}

impl<'a> Vlen<'a> {
    fn open(file: &Hdf5File, budget: &mut Budget, path: &Path, name: &'a str) -> Result<Self> {
        let ds = open_ds(file, path, name)?;
        let Datatype::VarLen { base, kind: VarLenKind::Sequence, .. } = ds.dtype() else {
            return Err(bad(path, format!("`{name}` is not a variable-length sequence (type {:?})", ds.dtype())));
        };
        let base = (**base).clone();
        let size = elem_size(&base).ok_or_else(|| bad(path, format!("`{name}` has elements of type {base:?}")))?;
        let rs = ds.vlen_reference_size();
        if rs < 4 {
            return Err(bad(path, format!("`{name}` has {rs}-byte references")));
        }
        let claim = claimed_bytes(&ds, rs, path, name)?;
        budget.take(claim, &format!("`{name}`"))?;
        let raw = ds.read_raw_bytes().map_err(|e| bad(path, format!("cannot read `{name}` ({e})")))?;
        Ok(Vlen { ds, name, base, size, rs, raw, claim })
    }

    fn len(&self) -> usize {
        self.raw.len() / self.rs
    }

    /// Sample `i` decoded through `f`; the decoded sample is charged to the budget (and stays
    /// charged: the caller keeps it or gives it back), the raw bytes only while they are decoded.
    fn sample<T>(&self, i: usize, budget: &mut Budget, path: &Path, mut f: impl FnMut(f64) -> Result<T>) -> Result<Vec<T>> {
        let (name, size) = (self.name, self.size);
        let r = &self.raw[i * self.rs..(i + 1) * self.rs];
        // a reference starts with its sequence's length in elements
        let n = u32::from_le_bytes([r[0], r[1], r[2], r[3]]) as u64;
        let what = format!("`{name}` sample {i}");
        budget.take(n.saturating_mul(size as u64), &what)?;
        budget.take(held::<T>(n as usize), &what)?;
        let b = self.ds.resolve_vlen_reference_bytes(r, size).map_err(|e| bad(path, format!("`{name}` sample {i}: {e}")))?;
        let decoded = decode(&b, &self.base, path, name, &mut f)?;
        budget.give(n as usize * size);
        Ok(decoded)
    }

    fn close(self, budget: &mut Budget) {
        budget.give(self.claim as usize);
    }
}

/// Reads a whole variable-length dataset, decoding sample `i` through `f(i, value)`.
fn read_vlen<T>(
    file: &Hdf5File,
    budget: &mut Budget,
    path: &Path,
    name: &str,
    mut f: impl FnMut(usize, f64) -> Result<T>,
) -> Result<Vec<Vec<T>>> {
    let v = Vlen::open(file, budget, path, name)?;
    let out = (0..v.len()).map(|i| v.sample(i, budget, path, |x| f(i, x))).collect::<Result<Vec<_>>>()?;
    v.close(budget);
    Ok(out)
}

/// A spike time, checked finite.
fn time(i: usize, x: f64, path: &Path) -> Result<f32> {
    if x.is_finite() {
        Ok(x as f32)
    } else {
        Err(bad(path, format!("sample {i} has a non-finite spike time {x}")))
    }
}

/// A spike's channel, checked a non-negative integer (the dataset's name is formatted only for an
/// error: this runs once per spike).
fn unit(i: usize, x: f64, path: &Path) -> Result<u32> {
    if is_u32(x) {
        Ok(x as u32)
    } else {
        as_u32(x, path, &format!("spikes/units[{i}]"))
    }
}

/// Samples of a file, labels and speakers checked to agree in number.
fn check_counts(path: &Path, times: usize, units: usize, labels: usize) -> Result<()> {
    if times != units || times != labels {
        return Err(bad(path, format!("spikes/times has {times} samples, spikes/units {units}, labels {labels}")));
    }
    Ok(())
}

/// Reads the file and bins it sample by sample into a data set (see [`ShdFile::read_binned`]).
fn binned(file: &Hdf5File, budget: &mut Budget, dt: f64, t_steps: usize, n_in: usize, n_classes: Option<usize>) -> Result<SpikeDataset> {
    let path = &budget.path.clone();
    let labels = read_u32s(file, budget, path, "labels")?;
    let speakers = match file.dataset("extra/speaker") {
        Ok(_) => Some(read_u32s(file, budget, path, "extra/speaker")?),
        Err(_) => None,
    };
    let n_keys = file.dataset("extra/keys").ok().and_then(|d| d.num_elements().ok()).unwrap_or(0) as usize;
    // all times first, then the units sample by sample, each binned with its times and both
    // freed: the HDF5 reader's heap cache (64 MiB) then walks each dataset's heap once, in order,
    // instead of alternating between two that may not both fit
    let mut times = read_vlen(file, budget, path, "spikes/times", |i, x| time(i, x, path))?;
    let units = Vlen::open(file, budget, path, "spikes/units")?;
    check_counts(path, times.len(), units.len(), labels.len())?;
    if let Some(s) = speakers.as_ref().filter(|s| s.len() != labels.len()) {
        return Err(bad(path, format!("`extra/speaker` has {} entries for {} samples", s.len(), labels.len())));
    }
    let n_classes = n_classes.unwrap_or_else(|| labels.iter().max().map_or(0, |&m| m as usize + 1).max(n_keys));
    let mut failure = None;
    let samples = (0..labels.len()).map_while(|i| {
        let sample = (|| {
            let t = std::mem::take(&mut times[i]);
            let u = units.sample(i, budget, path, |x| unit(i, x, path))?;
            if t.len() != u.len() {
                return Err(bad(path, format!("sample {i} has {} times but {} units", t.len(), u.len())));
            }
            let events = bin_events(&t, &u, dt, t_steps, n_in);
            // the decoded sample is freed; its packed events (4 bytes each) are kept
            budget.give(held::<f32>(t.len()) as usize + held::<u32>(u.len()) as usize);
            budget.take(4 * events.len() as u64, &format!("sample {i}"))?;
            Ok(events)
        })();
        sample.map_err(|e| failure = Some(e)).ok()
    });
    let labels_usize = labels.iter().map(|&l| l as usize).collect();
    let ds = SpikeDataset::from_sample_iter(n_in, n_classes, t_steps, dt, samples, labels_usize);
    if let Some(e) = failure {
        return Err(e);
    }
    let mut ds = ds?;
    ds.speakers = speakers;
    Ok(ds)
}

impl ShdFile {
    /// Reads a whole file. Peak memory is the decoded contents (f32 times, u32 units) plus one
    /// dataset's raw bytes: at most twice the file plus 64 MiB for SHD's float16/uint16 storage.
    ///
    /// # Errors
    /// [`Error::DataFile`] naming the file and the dataset that is missing, corrupt or of the wrong
    /// type; [`Error::Io`] when the file cannot be opened.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let len = std::fs::metadata(path).map_err(|e| Error::io(PathBuf::from(path), e))?.len();
        // a dataset claims its own size: no read may allocate more than the file could hold
        let options = OpenOptions { max_read_bytes: max_read_bytes(len), ..OpenOptions::default() };
        let file = Hdf5File::open_with_options(path, options).map_err(|e| bad(path, format!("not a readable HDF5 file ({e})")))?;
        Self::from_hdf5(&file, &mut Budget::for_file(len, path))
    }

    /// Reads a file and bins it at once into a data set with `t_steps` steps of `dt` seconds and
    /// `n_in` channels (as [`ShdFile::into_dataset`]), one sample at a time: only the packed events
    /// (4 bytes each, about the file's own size for SHD) and one sample's times and units are ever
    /// held. What training reads a file with.
    ///
    /// # Errors
    /// As [`ShdFile::read`], and [`Error::Shape`] as [`SpikeDataset::from_samples`].
    pub fn read_binned(path: impl AsRef<Path>, dt: f64, t_steps: usize, n_in: usize, n_classes: Option<usize>) -> Result<SpikeDataset> {
        let path = path.as_ref();
        let len = std::fs::metadata(path).map_err(|e| Error::io(PathBuf::from(path), e))?.len();
        let options = OpenOptions { max_read_bytes: max_read_bytes(len), ..OpenOptions::default() };
        let file = Hdf5File::open_with_options(path, options).map_err(|e| bad(path, format!("not a readable HDF5 file ({e})")))?;
        binned(&file, &mut Budget::for_file(len, path), dt, t_steps, n_in, n_classes)
    }

    /// [`ShdFile::read_binned`] on a file held in memory; `origin` names it in errors.
    ///
    /// # Errors
    /// As [`ShdFile::read_binned`].
    pub fn binned_from_bytes(bytes: &[u8], origin: &Path, dt: f64, t_steps: usize, n_in: usize, n_classes: Option<usize>) -> Result<SpikeDataset> {
        let options = OpenOptions { max_read_bytes: max_read_bytes(bytes.len() as u64), ..OpenOptions::default() };
        let file = Hdf5File::from_bytes_with_options(bytes, options)
            .map_err(|e| bad(origin, format!("not a readable HDF5 file ({e})")))?;
        binned(&file, &mut Budget::for_file(bytes.len() as u64, origin), dt, t_steps, n_in, n_classes)
    }

    /// Reads a file held in memory; `origin` names it in errors. The same checks and limits as
    /// [`ShdFile::read`].
    ///
    /// # Errors
    /// As [`ShdFile::read`].
    pub fn from_bytes(bytes: &[u8], origin: &Path) -> Result<Self> {
        let options = OpenOptions { max_read_bytes: max_read_bytes(bytes.len() as u64), ..OpenOptions::default() };
        let file = Hdf5File::from_bytes_with_options(bytes, options)
            .map_err(|e| bad(origin, format!("not a readable HDF5 file ({e})")))?;
        Self::from_hdf5(&file, &mut Budget::for_file(bytes.len() as u64, origin))
    }

    fn from_hdf5(file: &Hdf5File, budget: &mut Budget) -> Result<Self> {
        let path = &budget.path.clone();
        let times = read_vlen(file, budget, path, "spikes/times", |i, x| time(i, x, path))?;
        let units = read_vlen(file, budget, path, "spikes/units", |i, x| unit(i, x, path))?;
        let labels = read_u32s(file, budget, path, "labels")?;
        check_counts(path, times.len(), units.len(), labels.len())?;
        for (i, (t, u)) in times.iter().zip(&units).enumerate() {
            if t.len() != u.len() {
                return Err(bad(path, format!("sample {i} has {} times but {} units", t.len(), u.len())));
            }
        }
        let mut optional_u32s = |name: &str| match file.dataset(name) {
            Ok(_) => read_u32s(file, budget, path, name).map(Some),
            Err(_) => Ok(None),
        };
        let speakers = optional_u32s("extra/speaker")?;
        let clip_index = optional_u32s("extra/index")?;
        let mut optional_strings = |name: &str| match file.dataset(name) {
            Ok(ds) => {
                // fixed-length strings hold their bytes in the dataset; variable-length ones are
                // checked by the HDF5 reader's own read limit
                let size = match ds.dtype() {
                    Datatype::String { size: hdf5_reader::StringSize::Fixed(n), .. } => (*n as usize).max(24),
                    _ => 24,
                };
                let claim = claimed_bytes(&ds, size, path, name)?;
                budget.take(claim, &format!("`{name}`"))?;
                ds.read_strings().map(Some).map_err(|e| bad(path, format!("cannot read `{name}` ({e})")))
            }
            Err(_) => Ok(None),
        };
        let keys = optional_strings("extra/keys")?;
        let speaker_names = optional_strings("extra/speaker_names")?;
        for (name, len) in [("extra/speaker", speakers.as_ref().map(Vec::len)), ("extra/index", clip_index.as_ref().map(Vec::len))] {
            if let Some(len) = len.filter(|&l| l != labels.len()) {
                return Err(bad(path, format!("`{name}` has {len} entries for {} samples", labels.len())));
            }
        }
        Ok(ShdFile { times, units, labels, speakers, keys, speaker_names, clip_index })
    }

    /// The samples at `idx` (in that order), with the file-level fields (keys, speaker names) kept.
    pub fn select(&self, idx: &[usize]) -> ShdFile {
        ShdFile {
            times: idx.iter().map(|&i| self.times[i].clone()).collect(),
            units: idx.iter().map(|&i| self.units[i].clone()).collect(),
            labels: idx.iter().map(|&i| self.labels[i]).collect(),
            speakers: self.speakers.as_ref().map(|s| idx.iter().map(|&i| s[i]).collect()),
            keys: self.keys.clone(),
            speaker_names: self.speaker_names.clone(),
            clip_index: self.clip_index.as_ref().map(|s| idx.iter().map(|&i| s[i]).collect()),
        }
    }

    /// Bins the file into a data set with `t_steps` steps of `dt` seconds and `n_in` channels.
    /// `n_classes` defaults to max(label) + 1 (or the number of keys, if larger).
    pub fn to_dataset(&self, dt: f64, t_steps: usize, n_in: usize, n_classes: Option<usize>) -> Result<SpikeDataset> {
        let n_classes = n_classes.unwrap_or_else(|| self.default_classes());
        let samples = self.times.iter().zip(&self.units).map(|(t, u)| bin_events(t, u, dt, t_steps, n_in));
        let labels = self.labels.iter().map(|&l| l as usize).collect();
        let mut ds = SpikeDataset::from_sample_iter(n_in, n_classes, t_steps, dt, samples, labels)?;
        ds.speakers = self.speakers.clone();
        Ok(ds)
    }

    /// [`ShdFile::to_dataset`], freeing each sample's times and units once it is binned: the peak
    /// is the file's contents plus the packed events (4 bytes each), not both unpacked.
    pub fn into_dataset(self, dt: f64, t_steps: usize, n_in: usize, n_classes: Option<usize>) -> Result<SpikeDataset> {
        let n_classes = n_classes.unwrap_or_else(|| self.default_classes());
        let labels = self.labels.iter().map(|&l| l as usize).collect();
        let samples = self.times.into_iter().zip(self.units).map(|(t, u)| bin_events(&t, &u, dt, t_steps, n_in));
        let mut ds = SpikeDataset::from_sample_iter(n_in, n_classes, t_steps, dt, samples, labels)?;
        ds.speakers = self.speakers;
        Ok(ds)
    }

    /// max(label) + 1, or the number of keys if larger.
    fn default_classes(&self) -> usize {
        let m = self.labels.iter().max().map_or(0, |&m| m as usize + 1);
        m.max(self.keys.as_ref().map_or(0, |k| k.len()))
    }
}

impl ShdFile {
    /// Writes the file in the exact SHD layout: vlen **float16** `spikes/times` (rounded to nearest),
    /// vlen uint16 `spikes/units`, uint16 `labels`, uint16 `extra/speaker` (if any) and UTF-8
    /// vlen-string `extra/keys` (if any) — plus, beyond SHD, `extra/speaker_names` and uint16
    /// `extra/index` when set — encoded by our own writer ([`crate::data::h5write`]) the way
    /// libhdf5 lays such a file out. Written to a temporary name and renamed. `extra/meta_info` is not
    /// written (readers treat it as optional).
    ///
    /// # Errors
    /// [`Error::DataFile`] when a unit, label or speaker does not fit uint16, a time does not fit
    /// float16, or the per-sample lists differ in length; [`Error::Io`] on write failure.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = self.encode().map_err(|e| Error::data_file(path, e))?;
        super::files::write_atomic(path, &bytes)
    }

    /// The file's bytes in the SHD layout (see [`ShdFile::write`]).
    ///
    /// # Errors
    /// A message naming the value that does not fit the layout.
    pub fn encode(&self) -> std::result::Result<Vec<u8>, String> {
        use crate::data::h5write::{Data, Elem, H5Writer};
        let n = self.times.len();
        if self.units.len() != n
            || self.labels.len() != n
            || self.speakers.as_ref().is_some_and(|s| s.len() != n)
            || self.clip_index.as_ref().is_some_and(|s| s.len() != n)
        {
            return Err(format!(
                "times, units, labels, speakers and indices must have one entry per sample ({n} times, {} units, {} labels)",
                self.units.len(),
                self.labels.len()
            ));
        }
        let u16_of = |x: u32, what: &str| -> std::result::Result<[u8; 2], String> {
            u16::try_from(x).map(u16::to_le_bytes).map_err(|_| format!("{what} {x} does not fit uint16"))
        };
        let mut times = Vec::with_capacity(n);
        let mut units = Vec::with_capacity(n);
        for (i, (t, u)) in self.times.iter().zip(&self.units).enumerate() {
            if t.len() != u.len() {
                return Err(format!("sample {i}: {} times but {} units", t.len(), u.len()));
            }
            let mut b = Vec::with_capacity(2 * t.len());
            for &x in t {
                let h = half::f16::from_f32(x);
                if !h.is_finite() {
                    return Err(format!("spike time {x} s does not fit float16"));
                }
                b.extend_from_slice(&h.to_le_bytes());
            }
            times.push(b);
            let mut b = Vec::with_capacity(2 * u.len());
            for &x in u {
                b.extend_from_slice(&u16_of(x, "unit")?);
            }
            units.push(b);
        }
        let ints = |v: &[u32], what: &str| -> std::result::Result<Vec<u8>, String> {
            let mut b = Vec::with_capacity(2 * v.len());
            for &x in v {
                b.extend_from_slice(&u16_of(x, what)?);
            }
            Ok(b)
        };
        let mut w = H5Writer::new();
        w.dataset("spikes/times", Data::VlenSeq(Elem::F16, times));
        w.dataset("spikes/units", Data::VlenSeq(Elem::U16, units));
        w.dataset("labels", Data::Fixed(Elem::U16, ints(&self.labels, "label")?));
        if let Some(sp) = &self.speakers {
            w.dataset("extra/speaker", Data::Fixed(Elem::U16, ints(sp, "speaker")?));
        }
        if let Some(k) = &self.keys {
            w.dataset("extra/keys", Data::VlenStr(k.clone()));
        }
        if let Some(k) = &self.speaker_names {
            w.dataset("extra/speaker_names", Data::VlenStr(k.clone()));
        }
        if let Some(ix) = &self.clip_index {
            w.dataset("extra/index", Data::Fixed(Elem::U16, ints(ix, "index")?));
        }
        w.finish().map_err(|e| format!("cannot encode HDF5: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_both_byte_orders_and_signs() {
        let p = Path::new("x.h5");
        let be = |size, signed| Datatype::FixedPoint { size, signed, byte_order: ByteOrder::BigEndian };
        assert_eq!(decode(&[0x01, 0x02], &be(2, false), p, "a", Ok).unwrap(), vec![258.0]);
        assert_eq!(decode(&[0xff, 0xfe], &be(2, true), p, "a", Ok).unwrap(), vec![-2.0]);
        let le = Datatype::FixedPoint { size: 1, signed: true, byte_order: ByteOrder::LittleEndian };
        assert_eq!(decode(&[0x80], &le, p, "a", Ok).unwrap(), vec![-128.0]);
        let f16be = Datatype::FloatingPoint { size: 2, byte_order: ByteOrder::BigEndian };
        assert_eq!(decode(&half::f16::from_f32(0.5).to_be_bytes(), &f16be, p, "t", Ok).unwrap(), vec![0.5]);
        let f64be = Datatype::FloatingPoint { size: 8, byte_order: ByteOrder::BigEndian };
        assert_eq!(decode(&0.7f64.to_be_bytes(), &f64be, p, "t", Ok).unwrap(), vec![0.7]);
        assert!(decode(&[0; 3], &Datatype::FloatingPoint { size: 3, byte_order: ByteOrder::LittleEndian }, p, "t", Ok).is_err());
    }
}
