//! Targets for binary files: HDF5 spike files, WAV and FLAC audio, IDX images and labels,
//! safetensors weights and checkpoints.

use std::collections::HashMap;
use std::io::Write;

use spikeflux_core::data::images::{idx_images_from_bytes, idx_labels_from_bytes};
use spikeflux_core::data::shd::ShdFile;
use spikeflux_core::data::synthetic::SyntheticShd;
use spikeflux_core::layer::Shape;
use spikeflux_core::network::{LayerSpec, Network, NetworkSpec};
use spikeflux_core::neuron::{LifParams, ReadoutParams, Surrogate};
use spikeflux_core::train::checkpoint;
use spikeflux_core::train::optim::{Optimizer, OptimizerKind};

use super::{origin, Outcome};

/// A committed test fixture, embedded in the binary.
macro_rules! fixture {
    ($path:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/", $path)).to_vec()
    };
}

fn err(e: impl std::fmt::Display) -> String {
    let s = e.to_string();
    if s.is_empty() {
        "(an error with an empty message)".into()
    } else {
        s
    }
}

/// The h5py-written SHD fixture and two files from our own writer (one with the optional
/// `extra/` datasets).
pub fn hdf5_seeds() -> Vec<Vec<u8>> {
    let small = SyntheticShd { samples: 4, classes: 3, channels: 16, background_hz: 20.0, seed: 1 }.generate();
    let mut with_extra = SyntheticShd { samples: 3, classes: 2, channels: 8, background_hz: 30.0, seed: 2 }.generate();
    with_extra.speakers = Some(vec![0, 1, 0]);
    with_extra.keys = Some(vec!["zero".into(), "one".into()]);
    with_extra.speaker_names = Some(vec!["a".into(), "b".into()]);
    with_extra.clip_index = Some(vec![0, 1, 2]);
    let mut seeds = vec![fixture!("spikeflux-core/tests/fixtures/shd_like_fixture.h5")];
    for f in [small, with_extra] {
        seeds.push(f.encode().expect("our writer encodes a valid file"));
    }
    seeds
}

/// Reads the file as training does (binned at 1 ms while it is read) and as `data info` does
/// (whole, then binned). Its bound is the strict one, twice the file plus 64 MiB whatever it
/// decodes to.
pub fn hdf5(b: &[u8]) -> Outcome {
    // the streaming read training uses, then the whole-file read of `data info` and `data split`
    let streamed = ShdFile::binned_from_bytes(b, &origin("h5"), 1e-3, 100, 700, None);
    let f = ShdFile::from_bytes(b, &origin("h5")).map_err(err)?;
    let ds = f.into_dataset(1e-3, 100, 700, None).map_err(err)?;
    if streamed.as_ref().ok() != Some(&ds) {
        return Err(format!("the streaming read disagrees with the whole-file read: {streamed:?}"));
    }
    Ok(4 * ds.total_events() + 16 * ds.len())
}

fn wav_bytes(spec: hound::WavSpec, n: usize) -> Vec<u8> {
    let mut c = std::io::Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut c, spec).expect("hound writes to memory");
    for i in 0..n {
        let x = (i as f64 * 0.05).sin() * 0.5;
        match spec.sample_format {
            hound::SampleFormat::Float => w.write_sample(x as f32),
            hound::SampleFormat::Int => w.write_sample((x * f64::from(1u32 << (spec.bits_per_sample - 1))) as i32),
        }
        .expect("hound writes to memory");
    }
    w.finalize().expect("hound writes to memory");
    c.into_inner()
}

/// Two FSDD recordings (8 kHz, 16-bit) and short clips in every format the reader takes (8, 24 and
/// 32-bit integer, 32-bit float, and a stereo one it refuses).
pub fn wav_seeds() -> Vec<Vec<u8>> {
    let mut seeds = vec![fixture!("spikeflux-cochlea/tests/fixtures/fsdd/0_george_0.wav"), fixture!("spikeflux-cochlea/tests/fixtures/fsdd/7_theo_3.wav")];
    let spec = |channels, bits, sample_format| hound::WavSpec { channels, sample_rate: 16_000, bits_per_sample: bits, sample_format };
    for s in [
        spec(1, 8, hound::SampleFormat::Int),
        spec(1, 24, hound::SampleFormat::Int),
        spec(1, 32, hound::SampleFormat::Int),
        spec(1, 32, hound::SampleFormat::Float),
        spec(2, 16, hound::SampleFormat::Int),
    ] {
        seeds.push(wav_bytes(s, 400));
    }
    seeds
}

/// Decodes as `audio2spikes` does before the cochlea.
pub fn wav(b: &[u8]) -> Outcome {
    let a = spikeflux_cochlea::audio::decode_wav(b, &origin("wav")).map_err(err)?;
    Ok(8 * a.samples.len())
}

/// The committed FLAC recording.
pub fn flac_seeds() -> Vec<Vec<u8>> {
    vec![fixture!("spikeflux-cochlea/tests/fixtures/0_george_0.flac")]
}

/// Decodes as `audio2spikes` does before the cochlea.
pub fn flac(b: &[u8]) -> Outcome {
    let a = spikeflux_cochlea::audio::decode_flac(b, &origin("flac")).map_err(err)?;
    Ok(8 * a.samples.len())
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).expect("gzip to memory");
    e.finish().expect("gzip to memory")
}

/// IDX image and label files (5 images of 4×3), plain and gzipped.
pub fn idx_seeds() -> Vec<Vec<u8>> {
    let mut images = vec![0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 4, 0, 0, 0, 3];
    images.extend((0..60u8).map(|i| i.wrapping_mul(37)));
    let mut labels = vec![0, 0, 8, 1, 0, 0, 0, 5];
    labels.extend([3u8, 1, 4, 1, 5]);
    vec![gzip(&images), gzip(&labels), images, labels]
}

/// Both IDX readers (each refuses the other's magic number at once).
pub fn idx(b: &[u8]) -> Outcome {
    let images = idx_images_from_bytes(b.to_vec(), &origin("idx"));
    let labels = idx_labels_from_bytes(b.to_vec(), &origin("idx"));
    match (images, labels) {
        (Ok((n, r, c, px)), _) => Ok(px.len().max(n * r * c) * 5),
        (_, Ok(l)) => Ok(8 * l.len()),
        (Err(e), Err(_)) => Err(err(e)),
    }
}

/// The network the weights seeds were saved from: two hidden layers (one recurrent), 8 → 6 → 4 → 3.
fn network() -> Network {
    let spec = NetworkSpec {
        input: Shape::flat(8),
        n_out: 3,
        dt: 1e-3,
        hidden: vec![LayerSpec::dense(6, true, LifParams::default()), LayerSpec::dense(4, false, LifParams::default())],
        readout: ReadoutParams::default(),
        surrogate: Surrogate::default(),
        step_order: Default::default(),
    };
    let mut net = Network::zeros(spec).expect("a valid spec");
    for (i, w) in net.params.iter_mut().enumerate() {
        *w = (i as f32 * 0.37).sin();
    }
    net
}

fn optimizer(net: &Network) -> Optimizer {
    Optimizer::new(OptimizerKind::Adam { lr: 1e-3 }, net.params.len())
}

fn meta() -> HashMap<String, String> {
    HashMap::from([("config".to_string(), "name = \"fuzz\"\n".to_string())])
}

/// A weights file of [`network`].
pub fn weights_seeds() -> Vec<Vec<u8>> {
    vec![checkpoint::to_bytes(&network(), meta()).expect("serializes")]
}

/// Loads into a fresh [`network`], as `eval` does.
pub fn weights(b: &[u8]) -> Outcome {
    let mut net = network();
    let m = checkpoint::load_bytes(&mut net, b, &origin("safetensors")).map_err(err)?;
    Ok(4 * net.params.len() + m.iter().map(|(k, v)| k.len() + v.len() + 48).sum::<usize>())
}

/// A training checkpoint of [`network`] with Adam state after 3 epochs.
pub fn checkpoint_seeds() -> Vec<Vec<u8>> {
    let net = network();
    let dir = tempfile_dir();
    let p = dir.join("checkpoint.safetensors");
    checkpoint::save_training(&net, &optimizer(&net), 3, &p, meta()).expect("writes a checkpoint");
    let b = std::fs::read(&p).expect("reads it back");
    let _ = std::fs::remove_dir_all(&dir);
    vec![b]
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("spikeflux-fuzz-seed-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("a temp dir");
    d
}

/// Loads into a fresh [`network`] and optimizer, as `train --resume` does.
pub fn checkpoint(b: &[u8]) -> Outcome {
    let mut net = network();
    let mut opt = optimizer(&net);
    let (_, m) = checkpoint::load_training_bytes(&mut net, &mut opt, b, &origin("safetensors")).map_err(err)?;
    Ok(16 * net.params.len() + m.iter().map(|(k, v)| k.len() + v.len() + 48).sum::<usize>())
}
