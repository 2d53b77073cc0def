//! The fuzz targets: one per reader of user-supplied bytes. Each has committed seeds (the test
//! fixtures, or files written by our own writers), a mutator, the reader call, and the memory bound
//! the reader promises.

use std::path::Path;

mod binary;
pub mod config;
mod events;

/// What a reader did with one input.
pub type Outcome = std::result::Result<usize, String>;

/// A fuzz target.
pub struct Target {
    /// Name on the command line.
    pub name: &'static str,
    /// What is read.
    pub about: &'static str,
    /// The seed files mutations start from.
    pub seeds: fn() -> Vec<Vec<u8>>,
    /// Input from entropy and seeds ([`crate::mutate::bytes`] for binary formats).
    pub make: fn(&[u8], &[Vec<u8>]) -> Vec<u8>,
    /// Runs the reader: `Ok(bytes)` when it accepted the input (the heap bytes of what it
    /// returned), `Err(message)` for a clean refusal.
    pub run: fn(&[u8]) -> Outcome,
    /// The most heap bytes one input may take, from its length and the accepted output's bytes.
    pub bound: fn(usize, usize) -> usize,
}

const MIB: usize = 1 << 20;

/// The readers' promise (README, "Limits"): twice the larger of the file and what it decodes to,
/// plus 64 MiB.
fn reader_bound(input: usize, output: usize) -> usize {
    2 * input.max(output) + 64 * MIB
}

/// Every target, in the order `run all` takes them.
pub fn all() -> Vec<Target> {
    vec![
        Target {
            name: "hdf5",
            about: "spike files in the SHD layout (ShdFile::from_bytes, then binning as training does)",
            seeds: binary::hdf5_seeds,
            make: crate::mutate::bytes,
            run: binary::hdf5,
            bound: |input, _| 2 * input + 64 * MIB,
        },
        Target {
            name: "config",
            about: "TOML run configs → validated config, resource check, network built and initialized",
            seeds: config::seeds,
            make: config::make,
            run: config::run,
            bound: |_, _| config::LIMIT_BYTES + 64 * MIB,
        },
        Target {
            name: "wav",
            about: "WAV audio (spikeflux_cochlea::audio::decode_wav)",
            seeds: binary::wav_seeds,
            make: crate::mutate::bytes,
            run: binary::wav,
            bound: reader_bound,
        },
        Target {
            name: "flac",
            about: "FLAC audio (spikeflux_cochlea::audio::decode_flac)",
            seeds: binary::flac_seeds,
            // STREAMINFO and the other metadata blocks sit in the first ~100 bytes, unchecksummed
            make: |e, s| crate::mutate::header_bytes(e, s, 128),
            run: binary::flac,
            bound: reader_bound,
        },
        Target {
            name: "idx",
            about: "IDX image and label files, plain or gzipped (Fashion-MNIST's format)",
            seeds: binary::idx_seeds,
            make: crate::mutate::bytes,
            run: binary::idx,
            bound: reader_bound,
        },
        Target {
            name: "weights",
            about: "safetensors weights files loaded into a network (checkpoint::load_bytes)",
            seeds: binary::weights_seeds,
            make: crate::mutate::bytes,
            run: binary::weights,
            bound: reader_bound,
        },
        Target {
            name: "checkpoint",
            about: "safetensors training checkpoints with optimizer state (checkpoint::load_training_bytes)",
            seeds: binary::checkpoint_seeds,
            make: crate::mutate::bytes,
            run: binary::checkpoint,
            bound: reader_bound,
        },
        Target {
            name: "aedat3",
            about: "AEDAT 3.1 event recordings (DVS128 Gesture's format)",
            seeds: events::aedat3_seeds,
            make: crate::mutate::bytes,
            run: events::aedat3,
            bound: reader_bound,
        },
        Target {
            name: "aedat4",
            about: "AEDAT 4 event recordings (flatbuffer packets; none, LZ4 and Zstd)",
            seeds: events::aedat4_seeds,
            make: crate::mutate::bytes,
            run: events::aedat4,
            bound: reader_bound,
        },
        Target {
            name: "atis",
            about: "ATIS .bin event files (N-MNIST)",
            seeds: events::atis_seeds,
            make: crate::mutate::bytes,
            run: events::atis,
            bound: reader_bound,
        },
        Target {
            name: "dat",
            about: "Prophesee DAT event files",
            seeds: events::dat_seeds,
            make: crate::mutate::bytes,
            run: events::dat,
            bound: reader_bound,
        },
        Target {
            name: "evt2",
            about: "Prophesee EVT 2.0 .raw event files",
            seeds: events::evt2_seeds,
            make: crate::mutate::bytes,
            run: events::evt2,
            bound: reader_bound,
        },
        Target {
            name: "evt3",
            about: "Prophesee EVT 3.0 .raw event files",
            seeds: events::evt3_seeds,
            make: crate::mutate::bytes,
            run: events::evt3,
            bound: reader_bound,
        },
        Target {
            name: "npy",
            about: "NPY event arrays (structured, or tonic's (N, 4))",
            seeds: events::npy_seeds,
            make: crate::mutate::bytes,
            run: events::npy,
            bound: reader_bound,
        },
        Target {
            name: "events-h5",
            about: "x/y/t/p event columns in HDF5 (at the root or in events/)",
            seeds: events::h5_seeds,
            make: crate::mutate::bytes,
            run: events::h5,
            bound: reader_bound,
        },
        Target {
            name: "npz",
            about: "NPZ event archives (x/y/t/p members stored or deflated, or one structured array)",
            seeds: events::npz_seeds,
            make: crate::mutate::bytes,
            run: events::npz,
            bound: reader_bound,
        },
    ]
}

/// A target whose reader misbehaves on purpose, to check that the harness sees each kind of
/// finding (`tests/harness.rs`); not part of `all`. First byte 0x00: panic; 0xff: hang; 0x80:
/// abort; 0x01: 256 MiB allocated for an 8-byte input.
pub fn selftest() -> Target {
    Target {
        name: "selftest",
        about: "(checks the harness) a reader that panics, hangs, aborts or over-allocates on purpose",
        seeds: || vec![vec![0x41; 8]],
        make: crate::mutate::bytes,
        run: |b| match b.first() {
            Some(0x00) => panic!("planted panic"),
            Some(0xff) => loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
            },
            Some(0x80) => std::process::abort(),
            Some(0x01) => {
                // reported as a 0-byte result, so the bound stays that of an 8-byte input
                std::hint::black_box(Vec::<u8>::with_capacity(256 * MIB));
                Ok(0)
            }
            _ => Err("refused".into()),
        },
        bound: reader_bound,
    }
}

/// The name errors give the input.
fn origin(ext: &str) -> std::path::PathBuf {
    Path::new("input").with_extension(ext)
}
