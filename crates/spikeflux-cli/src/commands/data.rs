//! `spikeflux data …`: export, synthetic SHD files, download, split, info.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::json;
use spikeflux_core::data::files::write_atomic;

use super::{load_config, Overrides};
use crate::{audio, fetch};

/// Arguments of `spikeflux data`.
#[derive(clap::Args)]
pub struct DataArgs {
    #[command(subcommand)]
    pub cmd: DataCmd,
}

#[derive(clap::Subcommand)]
pub enum DataCmd {
    /// Write the binned train/valid/test sets of a config as JSON (for peer benchmarks and other tools):
    /// {n_in, n_classes, t_steps, dt, splits: {train: {events: [[t0, u0, t1, u1, ...], ...], labels}, ...}}.
    Export(ExportArgs),
    /// Write a synthetic SHD-sized spike file in the SHD layout (700 channels, 20 classes, ~8000
    /// spikes per sample; float16 times as in SHD) for trying configs and tests.
    SynthShd(SynthShdArgs),
    /// Write synthetic DVS128-Gesture-like recordings: per user an AEDAT 3.1 file of the eleven
    /// gestures (moving disks seen by a simulated DVS, with noise) and its labels CSV, laid out as
    /// the real dataset (users 1–23 train, 24–29 test).
    SynthGestures(SynthGesturesArgs),
    /// Turn images (Fashion-MNIST or MNIST IDX files) into event recordings the way N-MNIST was
    /// recorded: a simulated event camera (log-intensity threshold, mismatch, refractory period,
    /// noise) making three saccades over each image, written in N-MNIST's layout
    /// (`Train/<class>/<id>.bin`, `Test/...`, ATIS .bin) for `[data.events]`.
    SynthSaccades(SynthSaccadesArgs),
    /// Download SHD or SSC (gzipped HDF5 from zenkelab.org), or DVS128 Gesture (tonic's archives
    /// from figshare, unpacked) with a progress bar; resumes an interrupted download, verifies the
    /// published md5 sums (SHD, DVS128 Gesture), renames into place atomically.
    Fetch(FetchArgs),
    /// Split a spike file written by audio2spikes into train and test files, holding out speakers
    /// and/or a range of recording indices (FSDD's own test split is index 0-4).
    Split(SplitArgs),
    /// Print what a spike file in the SHD layout holds (samples, classes, speakers, spikes per
    /// sample, duration range), or an event-camera recording (format, events, sensor, rates).
    Info(InfoArgs),
}

/// Arguments of `spikeflux data export` (as given; validated by the command).
#[derive(clap::Args)]
pub struct ExportArgs {
    /// Config file (default: the embedded default).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Output JSON file.
    #[arg(long)]
    pub out: PathBuf,
}

/// Arguments of `spikeflux data synth-shd` (as given; validated by the command).
#[derive(clap::Args)]
pub struct SynthShdArgs {
    /// Output HDF5 file.
    #[arg(long)]
    pub out: PathBuf,
    /// Number of samples.
    #[arg(long, default_value_t = 256)]
    pub samples: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Arguments of `spikeflux data synth-gestures` (as given; validated by the command).
#[derive(clap::Args)]
pub struct SynthGesturesArgs {
    /// Output directory (created).
    #[arg(long)]
    pub out: PathBuf,
    /// Number of users (recordings), 1–99.
    #[arg(long, default_value_t = 29)]
    pub users: usize,
    /// Length of each gesture, seconds (0.1–60).
    #[arg(long, default_value_t = 1.5)]
    pub gesture_s: f64,
    /// Background noise per pixel, Hz (0–100).
    #[arg(long, default_value_t = 0.05)]
    pub noise_hz: f64,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Arguments of `spikeflux data synth-saccades` (as given; validated by the command).
#[derive(clap::Args)]
pub struct SynthSaccadesArgs {
    /// Folder of IDX files (`train-images-idx3-ubyte.gz`, `t10k-…`, and their labels).
    #[arg(long, default_value = "/usr/share/datasets/fashion-mnist")]
    pub images: PathBuf,
    /// Output folder (Train/ and Test/ are created in it).
    #[arg(long)]
    pub out: PathBuf,
    /// Convert only the first N images of each split (default: all).
    #[arg(long)]
    pub limit: Option<usize>,
    /// The contrast threshold, log-intensity units.
    #[arg(long, default_value_t = 0.35)]
    pub threshold: f64,
    /// Background events per pixel and second.
    #[arg(long, default_value_t = 0.5)]
    pub noise_hz: f64,
    /// Seed (noise and jitter per image; the pixels' thresholds).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Arguments of `spikeflux data fetch` (as given; validated by the command).
#[derive(clap::Args)]
pub struct FetchArgs {
    /// `shd`, `ssc` or `dvsgesture` (tonic's copy: ibmGestureTrain/ and ibmGestureTest/).
    pub dataset: String,
    /// Target directory.
    #[arg(long, default_value = "data")]
    pub dir: PathBuf,
    /// Server to download from (default: zenkelab.org for SHD/SSC, figshare for dvsgesture).
    #[arg(long)]
    pub base_url: Option<String>,
}

/// Arguments of `spikeflux data split` (as given; validated by the command).
#[derive(clap::Args)]
pub struct SplitArgs {
    /// Spike file in the SHD layout with extra/speaker_names and/or extra/index.
    pub file: PathBuf,
    /// Comma-separated speaker names for the test file.
    #[arg(long, value_delimiter = ',')]
    pub test_speakers: Vec<String>,
    /// Inclusive index range for the test file, e.g. 0-4.
    #[arg(long)]
    pub test_index: Option<String>,
    /// Output training file.
    #[arg(long)]
    pub train_out: PathBuf,
    /// Output test file.
    #[arg(long)]
    pub test_out: PathBuf,
}

/// Arguments of `spikeflux data info` (as given; validated by the command).
#[derive(clap::Args)]
pub struct InfoArgs {
    /// A spike file in the SHD layout (HDF5), or an event-camera recording (AEDAT 3.1/4, ATIS
    /// .bin, Prophesee .dat/.raw, x/y/t/p in HDF5/NPY/NPZ).
    pub file: PathBuf,
    /// For an event file: write `events.png` here, eight frames of event counts (ON red, OFF
    /// blue) over equal stretches of the recording.
    #[arg(long)]
    pub plots: Option<PathBuf>,
}

/// Runs `spikeflux data …`.
pub fn run(args: DataArgs) -> Result<()> {
    match args.cmd {
        DataCmd::Export(a) => export(a),
        DataCmd::SynthShd(a) => synth_shd(a),
        DataCmd::SynthGestures(a) => synth_gestures(a),
        DataCmd::SynthSaccades(a) => synth_saccades(a),
        DataCmd::Info(a) => info(a),
        DataCmd::Split(a) => split(a),
        DataCmd::Fetch(a) => {
            let base = a.base_url.unwrap_or_else(|| fetch::default_base_url(&a.dataset).to_string());
            fetch::files(&a.dataset).and_then(|f| fetch::fetch(&base, &f, &a.dir, std::io::stderr().is_terminal())).map(|_| ())
        }
    }
}

/// Runs `spikeflux data export`.
fn export(args: ExportArgs) -> Result<()> {
    let ExportArgs { config, out } = args;
    let ov = Overrides::default();
    let (cfg, base) = load_config(config.as_deref(), &ov)?;
    let data = cfg.load_data(&base)?;
    let split = |d: &spikeflux_core::data::SpikeDataset| {
        let events: Vec<Vec<u32>> =
            (0..d.len()).map(|i| d.events(i).flat_map(|(t, u)| [t, u]).collect()).collect();
        json!({ "events": events, "labels": d.labels })
    };
    let mut splits = serde_json::Map::new();
    splits.insert("train".into(), split(&data.train));
    if let Some(v) = &data.valid {
        splits.insert("valid".into(), split(v));
    }
    splits.insert("test".into(), split(&data.test));
    let v = json!({
        "n_in": data.train.n_in, "n_classes": data.train.n_classes, "t_steps": data.train.t_steps,
        "dt": cfg.model.dt, "splits": splits,
    });
    write_atomic(&out, v.to_string().as_bytes())?;
    note!("wrote {}", out.display());
    Ok(())
}

/// Runs `spikeflux data synth-shd`.
fn synth_shd(args: SynthShdArgs) -> Result<()> {
    let SynthShdArgs { out, samples, seed } = args;
    let f = spikeflux_core::data::synthetic::SyntheticShd { samples, seed, ..Default::default() }.generate();
    f.write(&out)?;
    note!("wrote {} samples to {}", samples, out.display());
    Ok(())
}

/// Runs `spikeflux data synth-gestures`.
fn synth_gestures(args: SynthGesturesArgs) -> Result<()> {
    let SynthGesturesArgs { out, users, gesture_s, noise_hz, seed } = args;
    use spikeflux_core::Error;
    if !(1..=99).contains(&users) {
        return Err(Error::config("--users", format!("{users}: between 1 and 99 users (their files are named user01 … user99)")).into());
    }
    if !(0.1..=60.0).contains(&gesture_s) {
        return Err(Error::config("--gesture-s", format!("{gesture_s}: a gesture of 0.1 to 60 s")).into());
    }
    if !(0.0..=100.0).contains(&noise_hz) {
        return Err(Error::config("--noise-hz", format!("{noise_hz}: 0 to 100 Hz per pixel")).into());
    }
    std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
    let g = spikeflux_events::synthetic::SyntheticGestures { users, gesture_s, noise_hz, seed, ..Default::default() };
    let mut total = 0;
    for user in 1..=users {
        let rec = g.recording(user);
        let path = out.join(format!("user{user:02}_synthetic.aedat"));
        let bytes = spikeflux_events::aedat3::write(&rec.events, "DVS128", 4096).map_err(|e| Error::data_file(&path, e))?;
        write_atomic(&path, &bytes)?;
        write_atomic(&spikeflux_events::gesture::labels_path(&path), rec.labels_csv().as_bytes())?;
        total += rec.events.len();
    }
    note!("wrote {users} recordings ({total} events, 11 gestures each) to {}", out.display());
    Ok(())
}

/// Runs `spikeflux data synth-saccades`: each split's images through the simulated sensor, in
/// parallel, each seeded by (seed, split, index) alone, so the files do not depend on the thread
/// count; every file is written atomically, so an interrupted run leaves whole files.
fn synth_saccades(args: SynthSaccadesArgs) -> Result<()> {
    use rayon::prelude::*;
    use spikeflux_core::rng::rng_for;
    use spikeflux_core::Error;
    use spikeflux_events::nmnist;
    let SynthSaccadesArgs { images, out, limit, threshold, noise_hz, seed } = args;
    let sensor = spikeflux_events::saccades::SaccadeSensor { threshold, noise_hz, sensor_seed: seed, ..Default::default() };
    let thresholds = sensor.thresholds();
    for (s, (prefix, split)) in [("train", nmnist::SPLITS[0]), ("t10k", nmnist::SPLITS[1])].into_iter().enumerate() {
        let im = spikeflux_core::data::images::fashion_mnist(&images, prefix)
            .with_context(|| "install Fashion-MNIST with `apt-get install dataset-fashion-mnist`, or give --images a folder of IDX files")?;
        let side = (im.pixels as f64).sqrt().round() as usize;
        if side * side != im.pixels {
            return Err(Error::data_file(&images, format!("{} pixels per image is not a square image", im.pixels)).into());
        }
        let n = limit.map_or(im.labels.len(), |l| l.min(im.labels.len()));
        let mut folders: Vec<usize> = im.labels[..n].to_vec();
        folders.sort_unstable();
        folders.dedup();
        for c in folders {
            let d = out.join(split).join(c.to_string());
            std::fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
        }
        let done = std::sync::atomic::AtomicUsize::new(0);
        let events = (0..n)
            .into_par_iter()
            .map(|i| -> Result<usize> {
                let img = &im.data[i * im.pixels..(i + 1) * im.pixels];
                let mut rng = rng_for(seed, spikeflux_core::rng::stream::SENSOR.wrapping_add((s as u64) << 32).wrapping_add(i as u64));
                let ev = sensor.record(img, side, &thresholds, &mut rng).map_err(|e| Error::data_file(&images, format!("image {i}: {e}")))?;
                let path = nmnist::sample_path(&out, split, im.labels[i], i);
                let bytes = spikeflux_events::atis::write(&ev).map_err(|e| Error::data_file(&path, e))?;
                write_atomic(&path, &bytes)?;
                let k = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                if k.is_multiple_of(10_000) {
                    note!("{split}: {k} of {n} images");
                }
                Ok(ev.len())
            })
            .collect::<Result<Vec<usize>>>()?;
        let total: usize = events.iter().sum();
        note!("{split}: wrote {n} recordings ({:.0} events each on average, {side} x {side} images on a {} x {} sensor) to {}", total as f64 / n.max(1) as f64, sensor.canvas, sensor.canvas, out.join(split).display());
    }
    Ok(())
}

/// Runs `spikeflux data info`.
fn info(args: InfoArgs) -> Result<()> {
    let InfoArgs { file, plots } = args;
    let mut head = Vec::with_capacity(4096);
    {
        use std::io::Read;
        let f = std::fs::File::open(&file).map_err(|e| spikeflux_core::Error::io(&file, e))?;
        f.take(4096).read_to_end(&mut head).map_err(|e| spikeflux_core::Error::io(&file, e))?;
    }
    let format = spikeflux_events::detect(&file, &head);
    // an HDF5 file is a spike file in the SHD layout, or else a plain event file
    let shd = match format {
        Some(spikeflux_events::Format::Hdf5) | None => Some(spikeflux_core::data::shd::ShdFile::read(&file)),
        Some(_) => None,
    };
    let f = match shd {
        Some(Ok(f)) => f,
        Some(Err(e)) if format.is_none() => return Err(e.into()),
        Some(Err(e)) => match spikeflux_events::read(&file) {
            Ok(rec) => return event_info(&file, &rec, plots.as_deref()),
            Err(ev) => return Err(anyhow::Error::new(e).context(format!("nor is it an HDF5 event file ({ev})"))),
        },
        None => return event_info(&file, &spikeflux_events::read(&file)?, plots.as_deref()),
    };
    if plots.is_some() {
        note!("--plots draws event files; for a spike file, `train --plots` draws rasters");
    }
    let n = f.times.len();
    let counts: Vec<usize> = f.times.iter().map(|t| t.len()).collect();
    let classes = f.labels.iter().collect::<std::collections::BTreeSet<_>>().len();
    let speakers = f.speakers.as_ref().map(|s| s.iter().collect::<std::collections::BTreeSet<_>>().len());
    let max_t: Vec<f32> = f.times.iter().map(|t| t.iter().cloned().fold(0.0, f32::max)).collect();
    let units_max = f.units.iter().flatten().max().copied().unwrap_or(0);
    let mean = counts.iter().sum::<usize>() as f64 / n.max(1) as f64;
    let md5 = fetch::md5_file(&file)?;
    let known = fetch::files("shd")?
        .into_iter()
        .find(|f| f.md5.as_deref() == Some(md5.as_str()))
        .map(|f| f.name);
    let v = json!({
        "file": file.display().to_string(),
        "md5": md5,
        "known_release": known,
        "samples": n,
        "classes": classes,
        "keys": f.keys,
        "speakers": speakers,
        "channels_max": units_max + 1,
        "spikes_per_sample": { "min": counts.iter().min(), "mean": mean, "max": counts.iter().max() },
        "last_spike_s": { "min": max_t.iter().cloned().fold(f32::INFINITY, f32::min), "max": max_t.iter().cloned().fold(0.0, f32::max) },
    });
    say!("{}", serde_json::to_string_pretty(&v).context("formatting")?);
    Ok(())
}

/// `data info` for an event file: counts, size, duration, rates, polarity; the DVS128 Gesture
/// labels file beside it, if there is one; `--plots`: frames of the events.
fn event_info(file: &std::path::Path, rec: &spikeflux_events::Recording, plots: Option<&std::path::Path>) -> Result<()> {
    let e = &rec.events;
    let (w, h) = rec.size();
    let secs = rec.duration_us() as f64 * 1e-6;
    let on = e.p.iter().filter(|&&p| p).count();
    let labels = spikeflux_events::gesture::labels_path(file);
    let gesture = if labels.is_file() {
        let text = std::fs::read_to_string(&labels).map_err(|err| spikeflux_core::Error::io(&labels, err))?;
        let segs = spikeflux_events::gesture::parse_labels(&text, &labels)?;
        let mut per_class = vec![0usize; spikeflux_events::gesture::CLASSES.len()];
        segs.iter().for_each(|s| per_class[s.class] += 1);
        Some(json!({ "labels": labels.display().to_string(), "samples": segs.len(), "per_class": per_class }))
    } else {
        None
    };
    let v = json!({
        "file": file.display().to_string(),
        "format": rec.format.name(),
        "events": e.len(),
        "sensor_stated": rec.sensor.map(|(w, h)| [w, h]),
        "size": [w, h],
        "t_first_us": e.t.first(),
        "t_last_us": e.t.last(),
        "duration_s": secs,
        "events_per_s": if secs > 0.0 { e.len() as f64 / secs } else { 0.0 },
        "on_fraction": if e.is_empty() { 0.0 } else { on as f64 / e.len() as f64 },
        "time_ordered": e.check_sorted().is_ok(),
        "gesture": gesture,
    });
    say!("{}", serde_json::to_string_pretty(&v).context("formatting")?);
    if let Some(dir) = plots {
        std::fs::create_dir_all(dir).map_err(|err| spikeflux_core::Error::io(dir, err))?;
        let path = dir.join("events.png");
        crate::plots::event_frames(rec, 8, &format!("{} — {} events, {w}×{h}, {secs:.3} s", file.display(), e.len()), &path)?;
        note!("wrote {}", path.display());
    }
    Ok(())
}

/// Runs `spikeflux data split`.
fn split(a: SplitArgs) -> Result<()> {
    let range = a.test_index.as_deref().map(audio::parse_range).transpose()?;
    let (n_train, n_test) = audio::split(&a.file, &a.test_speakers, range, &a.train_out, &a.test_out)?;
    say!("wrote {n_train} training samples to {} and {n_test} test samples to {}", a.train_out.display(), a.test_out.display());
    Ok(())
}
