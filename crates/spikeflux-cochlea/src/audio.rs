//! Audio input: WAV (hound) and FLAC (claxon) decoding, resampling to the model rate (rubato, FFT-based synchronous
//! resampler with an anti-aliasing filter), RMS normalisation and the full-clip Hann ramp
//! (`cochlea.md` §1.1–1.3).

use std::path::Path;

use crate::{Error, Result};

/// The rate the chain is run at (Hz). SHD's recordings are 48 kHz, so F = 24 kHz; at lower rates
/// the hair cell's Euler scheme becomes unstable (8 kHz: (l+r)/F = 2.27, spec §2.4).
pub const MODEL_RATE: u32 = 48_000;
/// Target RMS of the normalised clip (before the Hann ramp).
pub const TARGET_RMS: f64 = 0.3;

/// Decoded mono audio.
#[derive(Debug, Clone)]
pub struct Audio {
    /// Samples as floats (integer PCM scaled by 1/2^(bits−1), as libsndfile does).
    pub samples: Vec<f64>,
    /// Sample rate (Hz).
    pub rate: u32,
}

/// Reads a mono audio file by extension: `.flac` with [`read_flac`], anything else as WAV.
///
/// # Errors
/// As [`read_wav`] / [`read_flac`].
pub fn read(path: &Path) -> Result<Audio> {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("flac") => read_flac(path),
        _ => read_wav(path),
    }
}

fn check(path: &Path, channels: u32, rate: u32, samples: Vec<f64>) -> Result<Audio> {
    let bad = |why: String| Error::Audio { path: path.to_path_buf(), why };
    if channels != 1 {
        return Err(bad(format!("{channels} channels; the cochlea model takes mono audio (mix down first, e.g. `sox in.wav -c 1 out.wav`)")));
    }
    if !(8_000..=192_000).contains(&rate) {
        return Err(bad(format!("sample rate {rate} Hz is outside 8–192 kHz")));
    }
    if samples.is_empty() {
        return Err(bad("no samples".into()));
    }
    if samples.iter().any(|s| !s.is_finite()) {
        return Err(bad("NaN or infinite samples".into()));
    }
    Ok(Audio { samples, rate })
}

/// The longest recording read (seconds at its own rate): the cochlea model runs at ~1× real time
/// per core, so longer inputs are cut into clips first. Checked against the header's claim before
/// decoding and again while decoding, so a file cannot make the reader allocate more than
/// 8 bytes × 192 kHz × 600 s (0.9 GB) of samples whatever its header says.
pub const MAX_SECONDS: u32 = 600;

/// 1/2^(bits−1), the scale of `bits`-bit integer samples (1–32 bits).
fn int_scale(bits: u32) -> Option<f64> {
    (1..=32).contains(&bits).then(|| 1.0 / f64::from(1u32 << (bits - 1)))
}

fn too_long(seconds: f64) -> String {
    format!(
        "{seconds:.0} s of audio; clips are limited to {MAX_SECONDS} s (cut it first, e.g. `sox in.wav out.wav trim 0 {MAX_SECONDS} : newfile : restart`)"
    )
}

/// Reads a mono FLAC file (any bit depth), scaled by 1/2^(bits−1).
///
/// # Errors
/// [`Error::Audio`] naming the file for unreadable or non-mono audio, or a clip longer than
/// [`MAX_SECONDS`].
pub fn read_flac(path: &Path) -> Result<Audio> {
    let f = std::fs::File::open(path).map_err(|e| Error::Audio { path: path.to_path_buf(), why: format!("cannot open ({e})") })?;
    flac_from(std::io::BufReader::new(f), path)
}

/// [`read_flac`] on bytes in memory; `origin` names them in errors.
///
/// # Errors
/// As [`read_flac`].
pub fn decode_flac(bytes: &[u8], origin: &Path) -> Result<Audio> {
    flac_from(bytes, origin)
}

fn flac_from(input: impl std::io::Read, path: &Path) -> Result<Audio> {
    let bad = |why: String| Error::Audio { path: path.to_path_buf(), why };
    let mut r = claxon::FlacReader::new(input).map_err(|e| bad(format!("not a readable FLAC file ({e})")))?;
    let info = r.streaminfo();
    let max = u64::from(MAX_SECONDS) * u64::from(info.sample_rate) * u64::from(info.channels);
    if let Some(n) = info.samples.filter(|&n| n.saturating_mul(u64::from(info.channels)) > max) {
        return Err(bad(too_long(n as f64 / f64::from(info.sample_rate.max(1)))));
    }
    let scale = int_scale(info.bits_per_sample).ok_or_else(|| bad(format!("{}-bit samples", info.bits_per_sample)))?;
    let mut samples = Vec::new();
    for s in r.samples() {
        let v = s.map_err(|e| bad(format!("truncated or corrupt FLAC data ({e})")))?;
        if samples.len() as u64 >= max {
            return Err(bad(too_long(f64::from(MAX_SECONDS) + 1.0)));
        }
        samples.push(f64::from(v) * scale);
    }
    check(path, info.channels, info.sample_rate, samples)
}

/// Reads a mono WAV file: 8/16/24/32-bit integer PCM or 32-bit float.
///
/// # Errors
/// [`Error::Audio`] naming the file for unreadable or non-mono audio, a rate outside 8–192 kHz or a
/// clip longer than [`MAX_SECONDS`].
pub fn read_wav(path: &Path) -> Result<Audio> {
    let f = std::fs::File::open(path).map_err(|e| Error::Audio { path: path.to_path_buf(), why: format!("cannot open ({e})") })?;
    wav_from(std::io::BufReader::new(f), path)
}

/// [`read_wav`] on bytes in memory; `origin` names them in errors.
///
/// # Errors
/// As [`read_wav`].
pub fn decode_wav(bytes: &[u8], origin: &Path) -> Result<Audio> {
    wav_from(bytes, origin)
}

fn wav_from(input: impl std::io::Read, path: &Path) -> Result<Audio> {
    let bad = |why: String| Error::Audio { path: path.to_path_buf(), why };
    let mut r = hound::WavReader::new(input).map_err(|e| bad(format!("not a readable WAV file ({e})")))?;
    let spec = r.spec();
    // the header's sample count is a claim; it is checked here and decoding stops at the data
    if u64::from(r.duration()) > u64::from(MAX_SECONDS) * u64::from(spec.sample_rate) {
        return Err(bad(too_long(f64::from(r.duration()) / f64::from(spec.sample_rate.max(1)))));
    }
    let samples: Vec<f64> = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().map(|s| s.map(f64::from)).collect::<std::result::Result<_, _>>(),
        hound::SampleFormat::Int => {
            let bits = u32::from(spec.bits_per_sample);
            let scale = int_scale(bits).ok_or_else(|| bad(format!("{bits}-bit integer samples")))?;
            r.samples::<i32>().map(|s| s.map(|v| f64::from(v) * scale)).collect::<std::result::Result<_, _>>()
        }
    }
    .map_err(|e| bad(format!("truncated or corrupt audio data ({e})")))?;
    check(path, u32::from(spec.channels), spec.sample_rate, samples)
}

/// Resamples to `to` Hz with rubato's FFT resampler (anti-aliased; delay trimmed, length
/// ceil(n·to/from)). Returns the input unchanged if the rates agree.
///
/// # Errors
/// [`Error::Resample`] if rubato refuses the rates.
pub fn resample(a: &Audio, to: u32) -> Result<Vec<f64>> {
    use rubato::audioadapter_buffers::owned::InterleavedOwned;
    use rubato::{Fft, FixedSync, Resampler};
    if a.rate == to {
        return Ok(a.samples.clone());
    }
    let err = |e: String| Error::Resample(e);
    let mut rs = Fft::<f64>::new(a.rate as usize, to as usize, 1024, 1, FixedSync::Input).map_err(|e| err(e.to_string()))?;
    let n = a.samples.len();
    let input = InterleavedOwned::new_from(a.samples.clone(), 1, n).map_err(|e| err(e.to_string()))?;
    let out = rs.process_all(&input, n, None).map_err(|e| err(e.to_string()))?;
    Ok(out.take_data())
}

/// RMS normalisation to [`TARGET_RMS`] over the whole clip (silence included), then the Hann ramp
/// over the whole clip: `w[i] = 0.5 − 0.5·cos(2πi/(2·n_h − 1))` on the first and (mirrored) last
/// n_h = floor(N/2) samples; for odd N the centre sample is untouched.
///
/// # Errors
/// [`Error::Silent`] for an all-zero clip (the RMS step is undefined).
pub fn normalize(x: &mut [f64]) -> Result<()> {
    normalize_with_ramp(x, None)
}

/// [`normalize`] with ramps of `ramp` samples at each end instead of the whole-clip window
/// (`None`: the whole clip, SHD's; a ramp longer than half the clip is cut to half of it). Not
/// lauscher's default: short ramps keep speech near the ends of tightly trimmed recordings.
///
/// # Errors
/// As [`normalize`].
pub fn normalize_with_ramp(x: &mut [f64], ramp: Option<usize>) -> Result<()> {
    let n = x.len();
    let rms = (x.iter().map(|v| v * v).sum::<f64>() / n as f64).sqrt();
    if rms == 0.0 || !rms.is_finite() {
        return Err(Error::Silent);
    }
    let g = TARGET_RMS / rms;
    x.iter_mut().for_each(|v| *v *= g);
    let nh = ramp.map_or(n / 2, |r| r.min(n / 2));
    if nh == 0 {
        return Ok(());
    }
    let denom = (2 * nh - 1) as f64;
    for i in 0..nh {
        let w = if denom > 0.0 { 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / denom).cos() } else { 0.0 };
        x[i] *= w;
        x[n - 1 - i] *= w;
    }
    Ok(())
}
