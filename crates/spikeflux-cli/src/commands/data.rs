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
    /// Download SHD or SSC (gzipped HDF5 from zenkelab.org) with a progress bar; resumes an
    /// interrupted download, verifies the published md5 sums (SHD), renames into place atomically.
    Fetch(FetchArgs),
    /// Split a spike file written by audio2spikes into train and test files, holding out speakers
    /// and/or a range of recording indices (FSDD's own test split is index 0-4).
    Split(SplitArgs),
    /// Print what a spike file in the SHD layout holds: samples, classes, speakers, spikes per sample,
    /// duration range.
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

/// Arguments of `spikeflux data fetch` (as given; validated by the command).
#[derive(clap::Args)]
pub struct FetchArgs {
    /// `shd` or `ssc`.
    pub dataset: String,
    /// Target directory.
    #[arg(long, default_value = "data")]
    pub dir: PathBuf,
    /// Server to download from.
    #[arg(long, default_value = fetch::DEFAULT_BASE_URL)]
    pub base_url: String,
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
    /// HDF5 file in the SHD layout.
    pub file: PathBuf,
}

/// Runs `spikeflux data …`.
pub fn run(args: DataArgs) -> Result<()> {
    match args.cmd {
        DataCmd::Export(a) => export(a),
        DataCmd::SynthShd(a) => synth_shd(a),
        DataCmd::Info(a) => info(a),
        DataCmd::Split(a) => split(a),
        DataCmd::Fetch(a) => fetch::files(&a.dataset).and_then(|f| fetch::fetch(&a.base_url, &f, &a.dir, std::io::stderr().is_terminal())).map(|_| ()),
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

/// Runs `spikeflux data info`.
fn info(args: InfoArgs) -> Result<()> {
    let InfoArgs { file } = args;
    let f = spikeflux_core::data::shd::ShdFile::read(&file)?;
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

/// Runs `spikeflux data split`.
fn split(a: SplitArgs) -> Result<()> {
    let range = a.test_index.as_deref().map(audio::parse_range).transpose()?;
    let (n_train, n_test) = audio::split(&a.file, &a.test_speakers, range, &a.train_out, &a.test_out)?;
    say!("wrote {n_train} training samples to {} and {n_test} test samples to {}", a.train_out.display(), a.test_out.display());
    Ok(())
}
