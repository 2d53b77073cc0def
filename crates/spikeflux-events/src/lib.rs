//! Event-camera recordings, read natively and robustly.
//!
//! An event camera (DVS, ATIS, Prophesee) reports, per pixel, when the log intensity changed by
//! more than a threshold: an event is `(x, y, t, p)` with `t` in microseconds and polarity `p`
//! (on = brighter). This crate reads the formats such recordings come in into one [`Recording`]
//! (time-ordered columns, the sensor size when the file states it):
//!
//! | [`Format`] | files | module |
//! |---|---|---|
//! | AEDAT 3.1 | DVS128 Gesture's `userNN_*.aedat` (jAER/cAER, polarity packets) | [`aedat3`] (also written) |
//! | AEDAT 4 | DV's `.aedat4` (LZ4 / Zstandard flatbuffer packets) | [`aedat4`] |
//! | ATIS `.bin` | N-MNIST, N-Caltech101 (40-bit events, overflow markers) | [`atis`] |
//! | Prophesee DAT | N-CARS, ATIS 1 / Gen 1 `_td.dat` | [`prophesee::dat`] |
//! | Prophesee EVT 2.0 / 3.0 | Metavision `.raw` | [`prophesee::evt2`], [`prophesee::evt3`] |
//! | plain | `x, y, t, p` columns in HDF5 (root or `/events`), an NPY structured array, an NPZ archive; tonic's cached `(N, 4)` arrays | [`plain`] |
//!
//! [`gesture`] cuts a DVS128 Gesture recording into its labelled samples; [`nmnist`] lists
//! N-MNIST's folders of samples; [`synthetic`] (moving disks, DVS128 Gesture-like) and
//! [`saccades`] (a simulated camera making N-MNIST's three saccades over an image) make
//! recordings to run the whole path without a download; [`transforms`] are notebook 05's.
//!
//! Every reader takes the whole file as bytes (`read` opens it), checks every length against the
//! bytes that remain and every count against [`MAX_EVENTS`] *before* allocating, and refuses bad
//! input with an [`Error`] that names the file, the format, the byte offset and what to do. None
//! panics on any input (the fuzz targets in `fuzz/` run each of them).
//!
//! ```no_run
//! let rec = spikeflux_events::read(std::path::Path::new("user01_fluorescent.aedat"))?;
//! let (w, h) = rec.size();
//! println!("{} events on {w}×{h}, {:.2} s", rec.events.len(), rec.duration_us() as f64 * 1e-6);
//! # Ok::<(), spikeflux_events::Error>(())
//! ```
//!
//! Why our own decoders and not a crate: the one AEDAT 4 crate (`aedat`, last release 2023) reads
//! the header flatbuffer unchecked (`unsafe`, undefined behaviour on a corrupt file) and links the
//! C LZ4 and Zstandard libraries; the EVT 3.0 crate (`evt3`) covers one format of six. The formats
//! are small, and one set of bounds checks and error messages over all of them is what users get
//! from here. What is not ours: LZ4 (`lz4_flex`), Zstandard (`ruzstd`), XML (`roxmltree`), zip
//! (`zip`) and HDF5 (`hdf5-reader`).

#![warn(missing_docs)]

use std::path::{Path, PathBuf};

pub mod aedat3;
pub mod aedat4;
pub mod atis;
mod bytes;
mod flatbuf;
pub mod gesture;
pub mod nmnist;
pub mod npy;
pub mod plain;
pub mod prophesee;
pub mod saccades;
pub mod synthetic;
pub mod transforms;

/// The most events one file may hold (2^28 ≈ 268 M: 3.5 GB as a [`Recording`]); a file that
/// claims or holds more is refused before the memory is taken.
pub const MAX_EVENTS: usize = 1 << 28;

/// The most bytes a file may have (4 GiB); larger files are refused before they are read.
pub const MAX_FILE_BYTES: u64 = 4 << 30;

/// Events as columns, in the file's order (time-ordered in every format here; checked by
/// [`Events::check_sorted`] where a format does not guarantee it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Events {
    /// Timestamps, microseconds (the file's clock: absolute in AEDAT 4 and EVT, from the
    /// recording's start in the others).
    pub t: Vec<i64>,
    /// Column, pixels from the left (0-based).
    pub x: Vec<u16>,
    /// Row, pixels from the top (0-based).
    pub y: Vec<u16>,
    /// Polarity: true = ON (brighter).
    pub p: Vec<bool>,
}

impl Events {
    /// Empty columns with room for `n` events.
    pub fn with_capacity(n: usize) -> Self {
        Events { t: Vec::with_capacity(n), x: Vec::with_capacity(n), y: Vec::with_capacity(n), p: Vec::with_capacity(n) }
    }

    /// Room for `n` more events in every column.
    pub fn reserve(&mut self, n: usize) {
        self.t.reserve(n);
        self.x.reserve(n);
        self.y.reserve(n);
        self.p.reserve(n);
    }

    /// Appends one event.
    #[inline]
    pub fn push(&mut self, t: i64, x: u16, y: u16, p: bool) {
        self.t.push(t);
        self.x.push(x);
        self.y.push(y);
        self.p.push(p);
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.t.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.t.is_empty()
    }

    /// The events with `lo <= t < hi`, assuming time order (binary search).
    pub fn window(&self, lo: i64, hi: i64) -> Events {
        let a = self.t.partition_point(|&t| t < lo);
        let b = self.t.partition_point(|&t| t < hi).max(a);
        Events { t: self.t[a..b].to_vec(), x: self.x[a..b].to_vec(), y: self.y[a..b].to_vec(), p: self.p[a..b].to_vec() }
    }

    /// `Err(index)` of the first event earlier than the one before it.
    pub fn check_sorted(&self) -> std::result::Result<(), usize> {
        match self.t.windows(2).position(|w| w[1] < w[0]) {
            Some(i) => Err(i + 1),
            None => Ok(()),
        }
    }

    /// Heap bytes the columns hold (13 per event).
    pub fn heap_bytes(&self) -> usize {
        self.t.capacity() * 8 + self.x.capacity() * 2 + self.y.capacity() * 2 + self.p.capacity()
    }
}

/// One file's events and what the file says about its sensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// The format it was read as.
    pub format: Format,
    /// Sensor width and height in pixels, if the file states them (AEDAT 4's stream info, the EVT
    /// header's geometry or format line, DAT's Width/Height lines, AEDAT 3.1's DVS128 source).
    pub sensor: Option<(u16, u16)>,
    /// The events.
    pub events: Events,
}

impl Recording {
    /// Sensor width and height: the stated ones, else one more than the largest coordinate seen
    /// (N-MNIST's 34×34 comes out so), never smaller than the events need.
    pub fn size(&self) -> (u16, u16) {
        let seen = |v: &[u16]| v.iter().max().map_or(0, |&m| m.saturating_add(1));
        let (sx, sy) = (seen(&self.events.x), seen(&self.events.y));
        match self.sensor {
            Some((w, h)) => (w.max(sx), h.max(sy)),
            None => (sx, sy),
        }
    }

    /// Last timestamp minus first, microseconds (0 when empty).
    pub fn duration_us(&self) -> i64 {
        match (self.events.t.first(), self.events.t.last()) {
            (Some(a), Some(b)) => b - a,
            _ => 0,
        }
    }
}

/// The file formats read here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// jAER/cAER AEDAT 3.1 (polarity packets).
    Aedat31,
    /// DV's AEDAT 4.0.
    Aedat4,
    /// ATIS 40-bit `.bin` (N-MNIST, N-Caltech101).
    AtisBin,
    /// Prophesee DAT (CD events).
    Dat,
    /// Prophesee RAW EVT 2.0.
    Evt2,
    /// Prophesee RAW EVT 3.0.
    Evt3,
    /// x/y/t/p columns in HDF5.
    Hdf5,
    /// An NPY array: structured with fields x, y, t, p, or `(N, 4)` in tonic's x, y, p, t order.
    Npy,
    /// An NPZ archive with arrays x, y, t, p (or one structured array).
    Npz,
}

impl Format {
    /// The name used in messages and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Aedat31 => "AEDAT 3.1",
            Format::Aedat4 => "AEDAT 4",
            Format::AtisBin => "ATIS .bin",
            Format::Dat => "Prophesee DAT",
            Format::Evt2 => "Prophesee EVT 2.0",
            Format::Evt3 => "Prophesee EVT 3.0",
            Format::Hdf5 => "HDF5 events",
            Format::Npy => "NPY events",
            Format::Npz => "NPZ events",
        }
    }

    /// Every format, in the order [`detect`] tries magic numbers.
    pub const ALL: [Format; 9] =
        [Format::Aedat31, Format::Aedat4, Format::AtisBin, Format::Dat, Format::Evt2, Format::Evt3, Format::Hdf5, Format::Npy, Format::Npz];
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Errors of the readers. Each names the file; [`Error::Invalid`] also the format and, in `why`,
/// the byte offset and the likely fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The bytes are not a valid file of the format (truncated, corrupt, unsupported variant).
    #[error("{path}: not a valid {format} file: {why}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The format it was read as.
        format: Format,
        /// What is wrong, where, and what to do.
        why: String,
    },
    /// The format could not be told from the name or the first bytes.
    #[error("{path}: unknown event file format ({why}); name it with one of the extensions .aedat (3.1), .aedat4, .bin (ATIS), .dat, .raw (EVT 2.0/3.0), .h5/.hdf5, .npy, .npz")]
    Unknown {
        /// The file.
        path: PathBuf,
        /// What was seen.
        why: String,
    },
    /// The file holds or claims more than the limits ([`MAX_EVENTS`], [`MAX_FILE_BYTES`]).
    #[error("{path}: {what} exceeds the limit of {limit} (split the recording, or cut it with a tool such as dv or metavision before reading it here)")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// What is too large, with its size.
        what: String,
        /// The limit.
        limit: String,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// What a format's decoder returns before the file's path is attached: `Err(Bad)`.
#[derive(Debug)]
pub(crate) enum Bad {
    /// Invalid bytes: the message.
    Invalid(String),
    /// A count or size beyond a limit: what, and the limit.
    TooLarge(String, String),
}

impl From<String> for Bad {
    fn from(s: String) -> Self {
        Bad::Invalid(s)
    }
}

impl Bad {
    pub(crate) fn at(self, path: &Path, format: Format) -> Error {
        match self {
            Bad::Invalid(why) => Error::Invalid { path: path.to_path_buf(), format, why },
            Bad::TooLarge(what, limit) => Error::TooLarge { path: path.to_path_buf(), what, limit },
        }
    }
}

pub(crate) type Decoded<T> = std::result::Result<T, Bad>;

/// Refuses `n` events beyond [`MAX_EVENTS`] (called with the largest count a file's length
/// allows, before allocating).
pub(crate) fn check_events(n: u64, what: &str) -> Decoded<usize> {
    if n > MAX_EVENTS as u64 {
        return Err(Bad::TooLarge(format!("{what} ({n} events)"), format!("{MAX_EVENTS} events")));
    }
    Ok(n as usize)
}

/// The format of a file, from its first bytes where they tell (AEDAT, HDF5, NPY, zip, EVT's
/// header line), else from its extension.
pub fn detect(path: &Path, head: &[u8]) -> Option<Format> {
    if head.starts_with(b"#!AER-DAT3.1") {
        return Some(Format::Aedat31);
    }
    if head.starts_with(aedat4::MAGIC) {
        return Some(Format::Aedat4);
    }
    if head.starts_with(b"\x89HDF\r\n\x1a\n") {
        return Some(Format::Hdf5);
    }
    if head.starts_with(npy::MAGIC) {
        return Some(Format::Npy);
    }
    if head.starts_with(b"PK\x03\x04") {
        return Some(Format::Npz);
    }
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("raw") => prophesee::raw_version(head),
        Some("dat") => Some(Format::Dat),
        Some("bin") => Some(Format::AtisBin),
        Some("aedat4") => Some(Format::Aedat4),
        Some("aedat") => Some(Format::Aedat31),
        Some("h5" | "hdf5") => Some(Format::Hdf5),
        Some("npy") => Some(Format::Npy),
        Some("npz") => Some(Format::Npz),
        _ => None,
    }
}

/// Reads an event file, its format told by [`detect`].
///
/// # Errors
/// [`Error::Io`] if it cannot be read, [`Error::Unknown`] if the format cannot be told,
/// [`Error::Invalid`] / [`Error::TooLarge`] from the format's decoder.
pub fn read(path: &Path) -> Result<Recording> {
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > MAX_FILE_BYTES {
        return Err(Error::TooLarge { path: path.into(), what: format!("the file ({len} bytes)"), limit: format!("{MAX_FILE_BYTES} bytes") });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let format = detect(path, &bytes).ok_or_else(|| Error::Unknown {
        path: path.into(),
        why: format!("first bytes {:?}", String::from_utf8_lossy(&bytes[..bytes.len().min(16)])),
    })?;
    read_bytes(&bytes, format, path)
}

/// Decodes `bytes` as `format`; `origin` names the input in errors.
///
/// # Errors
/// [`Error::Invalid`] or [`Error::TooLarge`], naming `origin`.
pub fn read_bytes(bytes: &[u8], format: Format, origin: &Path) -> Result<Recording> {
    let decoded = match format {
        Format::Aedat31 => aedat3::decode(bytes),
        Format::Aedat4 => aedat4::decode(bytes),
        Format::AtisBin => atis::decode(bytes),
        Format::Dat => prophesee::dat::decode(bytes),
        Format::Evt2 => prophesee::evt2::decode(bytes),
        Format::Evt3 => prophesee::evt3::decode(bytes),
        Format::Hdf5 => plain::decode_hdf5(bytes),
        Format::Npy => plain::decode_npy(bytes),
        Format::Npz => plain::decode_npz(bytes),
    };
    decoded.map_err(|b| b.at(origin, format))
}
