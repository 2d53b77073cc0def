//! Real image data as spikes: Fashion-MNIST (IDX files) and the UCI 8×8 digits (CSV), latency coded
//! as in F. Zenke's surrogate-gradient tutorials (`datasets.md`):
//!
//! ```text
//! x ∈ [0, 1];  x > thr: one spike at step floor((τ_eff/dt)·ln(x/(x − thr))), kept if < T;  else none
//! ```
//!
//! with thr = 0.2, τ_eff = 20 ms, dt = 1 ms, T = 100 by default. One input channel per pixel.

use std::io::Read;
use std::path::Path;

use crate::data::SpikeDataset;
use crate::error::{Error, Result};

/// Images with pixel values in [0, 1] and their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Images {
    /// Pixels per image.
    pub pixels: usize,
    /// Row-major pixel values in [0, 1], `[n, pixels]`.
    pub data: Vec<f32>,
    /// Labels.
    pub labels: Vec<usize>,
}

/// The UCI 8×8 handwritten digits (1797 images, gzipped CSV; CC BY 4.0, E. Alpaydin & C. Kaynak,
/// UCI Machine Learning Repository), embedded so that `[data.digits]` runs without a file
/// (provenance in `tests/fixtures/README.md`).
pub const UCI_DIGITS_CSV_GZ: &[u8] = include_bytes!("../../tests/fixtures/digits.csv.gz");

/// The most bytes a gzipped image or label file may decompress to (1 GiB; Fashion-MNIST's largest
/// file is 47 MB). Decompression stops there, so a small file cannot claim gigabytes of memory.
pub const MAX_DECOMPRESSED_BYTES: u64 = 1 << 30;

fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    gunzip_if_gzipped(raw, path)
}

fn gunzip_if_gzipped(raw: Vec<u8>, path: &Path) -> Result<Vec<u8>> {
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .take(MAX_DECOMPRESSED_BYTES + 1)
            .read_to_end(&mut out)
            .map_err(|e| Error::data_file(path, format!("corrupt gzip stream ({e}); download the file again")))?;
        if out.len() as u64 > MAX_DECOMPRESSED_BYTES {
            return Err(Error::data_file(
                path,
                format!("decompresses to more than {MAX_DECOMPRESSED_BYTES} bytes; not an image data set this reader takes"),
            ));
        }
        Ok(out)
    } else {
        Ok(raw)
    }
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Reads an IDX image file (magic 0x00000803, optionally gzipped): returns (count, rows, cols, bytes).
///
/// # Errors
/// [`Error::DataFile`] for a wrong magic number or a size that does not match the header.
pub fn read_idx_images(path: &Path) -> Result<(usize, usize, usize, Vec<u8>)> {
    idx_images_from_bytes(std::fs::read(path).map_err(|e| Error::io(path, e))?, path)
}

/// [`read_idx_images`] on the bytes of a file (gzipped or not); `path` names it in errors.
///
/// # Errors
/// As [`read_idx_images`].
pub fn idx_images_from_bytes(b: Vec<u8>, path: &Path) -> Result<(usize, usize, usize, Vec<u8>)> {
    let b = gunzip_if_gzipped(b, path)?;
    if b.len() < 16 || be_u32(&b, 0) != 0x0803 {
        return Err(Error::data_file(path, "not an IDX image file (magic number 0x00000803 expected)"));
    }
    let (n, r, c) = (be_u32(&b, 4) as usize, be_u32(&b, 8) as usize, be_u32(&b, 12) as usize);
    let want = n.checked_mul(r * c).and_then(|x| x.checked_add(16)).unwrap_or(usize::MAX);
    if b.len() != want {
        return Err(Error::data_file(path, format!("header says {n} images of {r}×{c} ({want} bytes) but the file has {} bytes; it is truncated or corrupt", b.len())));
    }
    let mut b = b;
    b.drain(..16);
    Ok((n, r, c, b))
}

/// Reads an IDX label file (magic 0x00000801, optionally gzipped).
pub fn read_idx_labels(path: &Path) -> Result<Vec<usize>> {
    idx_labels_from_bytes(std::fs::read(path).map_err(|e| Error::io(path, e))?, path)
}

/// [`read_idx_labels`] on the bytes of a file (gzipped or not); `path` names it in errors.
///
/// # Errors
/// As [`read_idx_labels`].
pub fn idx_labels_from_bytes(b: Vec<u8>, path: &Path) -> Result<Vec<usize>> {
    let b = gunzip_if_gzipped(b, path)?;
    if b.len() < 8 || be_u32(&b, 0) != 0x0801 {
        return Err(Error::data_file(path, "not an IDX label file (magic number 0x00000801 expected)"));
    }
    let n = be_u32(&b, 4) as usize;
    if b.len() != n + 8 {
        return Err(Error::data_file(path, format!("header says {n} labels but the file has {} bytes", b.len() - 8)));
    }
    Ok(b[8..].iter().map(|&x| x as usize).collect())
}

/// Fashion-MNIST split `prefix` ("train" or "t10k") from `dir` (`{prefix}-images-idx3-ubyte.gz`, ...).
pub fn fashion_mnist(dir: &Path, prefix: &str) -> Result<Images> {
    let (n, r, c, px) = read_idx_images(&dir.join(format!("{prefix}-images-idx3-ubyte.gz")))?;
    let lp = dir.join(format!("{prefix}-labels-idx1-ubyte.gz"));
    let labels = read_idx_labels(&lp)?;
    if labels.len() != n {
        return Err(Error::data_file(lp, format!("{} labels for {n} images", labels.len())));
    }
    Ok(Images { pixels: r * c, data: px.iter().map(|&p| p as f32 / 255.0).collect(), labels })
}

/// The 8×8 digits CSV (64 values 0–16, then the label, per line; optionally gzipped).
pub fn digits_csv(path: &Path) -> Result<Images> {
    digits_csv_from(read_maybe_gz(path)?, path)
}

/// The embedded UCI digits ([`UCI_DIGITS_CSV_GZ`]).
pub fn uci_digits() -> Result<Images> {
    let path = Path::new("(embedded UCI digits)");
    digits_csv_from(gunzip_if_gzipped(UCI_DIGITS_CSV_GZ.to_vec(), path)?, path)
}

/// Parses the digits CSV from its (decompressed) bytes; `path` names the source in errors.
fn digits_csv_from(b: Vec<u8>, path: &Path) -> Result<Images> {
    let text = String::from_utf8(b).map_err(|_| Error::data_file(path, "not a text file"))?;
    let mut data = Vec::new();
    let mut labels = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let v: Vec<&str> = line.split(',').collect();
        if v.len() != 65 {
            return Err(Error::data_file(path, format!("line {}: {} values, expected 64 pixels and a label", i + 1, v.len())));
        }
        for x in &v[..64] {
            let p: f32 = x.trim().parse().map_err(|_| Error::data_file(path, format!("line {}: `{x}` is not a number", i + 1)))?;
            data.push((p / 16.0).clamp(0.0, 1.0));
        }
        labels.push(v[64].trim().parse().map_err(|_| Error::data_file(path, format!("line {}: bad label", i + 1)))?);
    }
    Ok(Images { pixels: 64, data, labels })
}

/// Latency coding parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyCode {
    /// Threshold below which a pixel never fires.
    pub threshold: f64,
    /// Effective time constant τ_eff in seconds.
    pub tau_eff: f64,
    /// Step in seconds.
    pub dt: f64,
    /// Steps per sample.
    pub t_steps: usize,
}

impl Default for LatencyCode {
    fn default() -> Self {
        LatencyCode { threshold: 0.2, tau_eff: 20e-3, dt: 1e-3, t_steps: 100 }
    }
}

impl Images {
    /// Latency-codes every image into a spike data set with `n_classes` classes.
    pub fn to_dataset(&self, code: &LatencyCode, n_classes: usize) -> Result<SpikeDataset> {
        let tau = code.tau_eff / code.dt;
        let samples = self
            .data
            .chunks_exact(self.pixels)
            .map(|img| {
                img.iter()
                    .enumerate()
                    .filter_map(|(u, &x)| {
                        let x = x as f64;
                        if x <= code.threshold {
                            return None;
                        }
                        let step = (tau * (x / (x - code.threshold)).ln()).floor();
                        (step < code.t_steps as f64).then_some((step as u32, u as u32))
                    })
                    .collect()
            })
            .collect();
        SpikeDataset::from_samples(self.pixels, n_classes, code.t_steps, code.dt, samples, self.labels.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_code_matches_the_formula() {
        let img = Images { pixels: 4, data: vec![1.0, 0.2, 0.21, 0.0], labels: vec![3] };
        let ds = img.to_dataset(&LatencyCode::default(), 10).unwrap();
        // x = 1: 20·ln(1.25) = 4.46 → 4;  x = 0.21: 20·ln(21) = 60.9 → 60;  0.2 and 0: no spike
        assert_eq!(ds.events(0).collect::<Vec<_>>(), vec![(4, 0), (60, 2)]);
    }

    #[test]
    fn idx_validation() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.idx");
        let mut b = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2];
        b.extend([0u8; 7]);
        std::fs::write(&p, &b).unwrap();
        let e = read_idx_images(&p).unwrap_err().to_string();
        assert!(e.contains("truncated") && e.contains("x.idx"), "{e}");
        b.push(255);
        std::fs::write(&p, &b).unwrap();
        let (n, r, c, px) = read_idx_images(&p).unwrap();
        assert_eq!((n, r, c, px[7]), (2, 2, 2, 255));
        std::fs::write(&p, [0u8, 0, 8, 1, 0, 0, 0, 0]).unwrap();
        assert!(read_idx_images(&p).unwrap_err().to_string().contains("magic"));
    }
}
