//! `spikeflux audio2spikes`: audio files → one spike file in the SHD layout, through the cochlea
//! model of `spikeflux-cochlea`; and `spikeflux data split`, which divides such a file by speaker or
//! recording index.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde_json::json;
use spikeflux_cochlea::{audio, bm, file_seed, Transfer};
use spikeflux_core::data::shd::ShdFile;
use spikeflux_core::Error;

/// Files converted together (see [`spikeflux_cochlea::spikes_batch`]).
const BATCH: usize = 32;

/// FSDD's file names: `{digit}_{speaker}_{index}.wav`.
pub const DEFAULT_PATTERN: &str = "{label}_{speaker}_{index}";

/// One field of a file-name pattern.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    Lit(String),
    Label,
    Speaker,
    Index,
    Any,
}

/// A file-name pattern such as `{label}_{speaker}_{index}`, matched against the file stem.
/// Fields: `{label}` (`{digit}` is an alias), `{speaker}`, `{index}` (an integer), `{any}` (ignored).
/// Each field matches the shortest non-empty text up to the next literal.
#[derive(Debug, Clone)]
pub struct Pattern(Vec<Part>);

/// The fields parsed from one file name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields {
    pub label: Option<String>,
    pub speaker: Option<String>,
    pub index: Option<u32>,
}

impl Pattern {
    /// Parses a pattern; a trailing extension (`.wav`) is ignored, fields must be separated by text.
    pub fn parse(p: &str) -> Result<Self> {
        let p = p.strip_suffix(".wav").or_else(|| p.strip_suffix(".flac")).unwrap_or(p);
        let mut parts = Vec::new();
        let mut rest = p;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('{') {
                let end = r.find('}').with_context(|| format!("pattern `{p}`: `{{` without `}}`"))?;
                let part = match &r[..end] {
                    "label" | "digit" => Part::Label,
                    "speaker" => Part::Speaker,
                    "index" => Part::Index,
                    "any" => Part::Any,
                    other => bail!("pattern `{p}`: unknown field `{{{other}}}` (use label, digit, speaker, index or any)"),
                };
                if parts.last().is_some_and(|l| !matches!(l, Part::Lit(_))) {
                    bail!("pattern `{p}`: two fields need text between them");
                }
                parts.push(part);
                rest = &r[end + 1..];
            } else {
                let end = rest.find('{').unwrap_or(rest.len());
                parts.push(Part::Lit(rest[..end].to_string()));
                rest = &rest[end..];
            }
        }
        if !parts.contains(&Part::Label) {
            bail!("pattern `{p}` has no {{label}} field");
        }
        Ok(Self(parts))
    }

    /// Matches a file stem; `None` if it does not fit.
    pub fn matches(&self, stem: &str) -> Option<Fields> {
        let mut f = Fields::default();
        let mut rest = stem;
        for (i, part) in self.0.iter().enumerate() {
            match part {
                Part::Lit(l) => rest = rest.strip_prefix(l.as_str())?,
                field => {
                    let end = match self.0.get(i + 1) {
                        Some(Part::Lit(next)) => rest.get(1..)?.find(next.as_str())? + 1,
                        _ => rest.len(),
                    };
                    let text = &rest[..end];
                    if text.is_empty() {
                        return None;
                    }
                    match field {
                        Part::Label => f.label = Some(text.to_string()),
                        Part::Speaker => f.speaker = Some(text.to_string()),
                        Part::Index => f.index = Some(text.parse().ok()?),
                        _ => {}
                    }
                    rest = &rest[end..];
                }
            }
        }
        rest.is_empty().then_some(f)
    }
}

fn is_audio(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref(), Some("wav" | "flac"))
}

/// The audio files named by `inputs` (files, or directories searched recursively), sorted.
pub fn collect_files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        for e in std::fs::read_dir(dir).with_context(|| format!("reading directory {}", dir.display()))? {
            let p = e?.path();
            if p.is_dir() {
                walk(&p, out)?;
            } else if is_audio(&p) {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for i in inputs {
        if i.is_dir() {
            walk(i, &mut out)?;
        } else if i.exists() {
            out.push(i.clone());
        } else {
            return Err(Error::io(i, std::io::Error::from(std::io::ErrorKind::NotFound)).into());
        }
    }
    out.sort();
    out.dedup();
    if out.is_empty() {
        return Err(Error::data_file(
            inputs.first().cloned().unwrap_or_default(),
            format!("no .wav or .flac files found in {}", inputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")),
        )
        .into());
    }
    Ok(out)
}

/// Ids for names numbered in sorted order, and the sorted distinct names.
fn sorted_ids(names: &[String]) -> (Vec<u32>, Vec<String>) {
    let keys: Vec<String> = names.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect();
    (names.iter().map(|n| keys.binary_search(n).unwrap_or(0) as u32).collect(), keys)
}

/// Ids for labels: all-integer names keep their value (keys "0".."max"), others are numbered in
/// sorted order.
fn ids(names: &[String]) -> (Vec<u32>, Vec<String>) {
    if let Some(nums) = names.iter().map(|n| n.parse::<u32>().ok()).collect::<Option<Vec<u32>>>() {
        let max = nums.iter().copied().max().unwrap_or(0);
        return (nums, (0..=max).map(|i| i.to_string()).collect());
    }
    sorted_ids(names)
}

/// Where channel 0 of `audio2spikes` sits (see `bm::Places`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TopHz {
    /// Half the first file's sample rate.
    Auto,
    /// This best frequency (Hz).
    Hz(f64),
}

/// Options of `audio2spikes`.
pub struct Options {
    pub inputs: Vec<PathBuf>,
    pub out: PathBuf,
    pub pattern: String,
    pub seed: u64,
    /// `auto`, `exact` or `table`.
    pub bm: String,
    /// Channel 0's best frequency; `None`: SHD's places.
    pub top_hz: Option<TopHz>,
    /// Hann ramps of this many seconds at each end; `None`: SHD's whole-clip window.
    pub ramp_s: Option<f64>,
    /// Write `spikes.png` (rasters of the first files) here.
    pub plots: Option<PathBuf>,
    pub stats: Option<PathBuf>,
    /// Stop at the first unreadable file instead of skipping it.
    pub strict: bool,
}

/// Converts the files and writes the SHD-layout file; prints a summary and returns the statistics.
pub fn run(o: &Options) -> Result<serde_json::Value> {
    let t0 = Instant::now();
    let files = collect_files(&o.inputs)?;
    let pattern = Pattern::parse(&o.pattern)?;
    let mut fields = Vec::with_capacity(files.len());
    for f in &files {
        let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let m = pattern.matches(stem).ok_or_else(|| {
            Error::config(
                "--pattern",
                format!("{}: the file name does not fit the pattern `{}` (set --pattern, e.g. \"{{label}}_{{speaker}}_{{index}}\")", f.display(), o.pattern),
            )
        })?;
        fields.push(m);
    }
    let exact = o.bm == "exact" || (o.bm == "auto" && files.len() == 1);
    let top = match o.top_hz {
        None => None,
        Some(TopHz::Hz(f)) => Some(f),
        Some(TopHz::Auto) => {
            let first = files.first().ok_or_else(|| Error::config("inputs", "no audio files"))?;
            Some(f64::from(audio::read(first)?.rate) / 2.0)
        }
    };
    let places = top.map_or(bm::Places::FULL, bm::Places::up_to);
    if let Some(f) = top {
        note!("channels 0-699 at {:.3}-{:.3} cm: best frequencies from about {:.0} Hz down (--top-hz {f})", places.lo, places.hi, 0.9 * f);
    }
    let transfer = if exact {
        Transfer::ExactAt(places)
    } else {
        let t = Instant::now();
        let tab = bm::Table::with_places((audio::MODEL_RATE / 2) as usize, places);
        note!("basilar-membrane table: {:.1} s, {:.0} MiB", t.elapsed().as_secs_f64(), tab.bytes() as f64 / 1048576.0);
        Transfer::Table(Arc::new(tab))
    };
    let bar = if std::io::stderr().is_terminal() { ProgressBar::new(files.len() as u64) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} files, {elapsed_precise} (eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("audio → spikes");
    let t_conv = Instant::now();
    // Batches of files: prepared in parallel over files, then run in parallel over channels (each
    // channel through the whole batch, so its BM table row stays in cache).
    let mut spikes: Vec<(spikeflux_cochlea::Spikes, f64)> = Vec::with_capacity(files.len());
    let indexed: Vec<(usize, &PathBuf)> = files.iter().enumerate().collect();
    let (mut kept, mut skipped) = (Vec::with_capacity(files.len()), Vec::new());
    for batch in indexed.chunks(BATCH) {
        let prepared: Vec<Result<(spikeflux_cochlea::Clip, f64)>> = batch
            .par_iter()
            .map(|(_, f)| {
                let a = audio::read(f)?;
                let secs = a.samples.len() as f64 / f64::from(a.rate);
                let clip = spikeflux_cochlea::prepare_with_ramp(&a, &transfer, o.ramp_s).map_err(|e| Error::data_file(f.as_path(), e.to_string()))?;
                Ok((clip, secs))
            })
            .collect();
        let mut clips = Vec::with_capacity(batch.len());
        let mut secs = Vec::with_capacity(batch.len());
        let mut seeds = Vec::with_capacity(batch.len());
        for (r, (i, f)) in prepared.into_iter().zip(batch) {
            match r {
                Ok((c, d)) => {
                    clips.push(c);
                    secs.push(d);
                    // the seed follows the file's place in the whole list, skipped files or not
                    seeds.push(file_seed(o.seed, *i as u64));
                    kept.push(*i);
                }
                Err(e) if !o.strict => {
                    bar.suspend(|| note!("skipped {}: {e:#}", f.display()));
                    skipped.push((f.display().to_string(), format!("{e:#}")));
                }
                Err(e) => return Err(e.context("stopping at the first unreadable file (--strict)")),
            }
        }
        let out = spikeflux_cochlea::spikes_batch(&clips, &seeds);
        spikes.extend(out.into_iter().zip(secs));
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();
    let conv_secs = t_conv.elapsed().as_secs_f64();
    if kept.is_empty() {
        return Err(Error::data_file(
            o.inputs.first().map(PathBuf::as_path).unwrap_or(Path::new("")),
            format!("none of the {} audio files could be read (the reasons are above)", files.len()),
        )
        .into());
    }
    let files: Vec<PathBuf> = kept.iter().map(|&i| files[i].clone()).collect();
    let fields: Vec<Fields> = kept.iter().map(|&i| fields[i].clone()).collect();
    let labels_s: Vec<String> = fields.iter().map(|f| f.label.clone().unwrap_or_default()).collect();
    let (labels, keys) = ids(&labels_s);
    let (speakers, speaker_names) = if fields.iter().all(|f| f.speaker.is_some()) {
        let names: Vec<String> = fields.iter().map(|f| f.speaker.clone().unwrap_or_default()).collect();
        let (ids, keys) = sorted_ids(&names);
        (Some(ids), Some(keys))
    } else {
        (None, None)
    };
    let clip_index = fields.iter().map(|f| f.index).collect::<Option<Vec<u32>>>();
    let file = ShdFile {
        times: spikes.iter().map(|(s, _)| s.times().map(|t| t as f32).collect()).collect(),
        units: spikes.iter().map(|(s, _)| s.units.iter().map(|&u| u32::from(u)).collect()).collect(),
        labels,
        speakers,
        keys: Some(keys),
        speaker_names,
        clip_index,
    };
    file.write(&o.out)?;
    if let Some(dir) = &o.plots {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let panels: Vec<(String, Vec<(f64, f64)>)> = files
            .iter()
            .zip(&spikes)
            .take(6)
            .map(|(f, (s, _))| {
                let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                (format!("{name}: {} spikes", s.samples.len()), s.times().zip(&s.units).map(|(t, &u)| (t, f64::from(u))).collect())
            })
            .collect();
        let png = dir.join("spikes.png");
        crate::plots::spike_rasters(&panels, bm::CHANNELS, "audio2spikes: cochlea output", &png)?;
        note!("wrote {}", png.display());
    }
    let mut stats = statistics(&spikes, files.len(), conv_secs, t0.elapsed().as_secs_f64(), o, exact, top, places);
    stats["skipped"] = json!(skipped.iter().map(|(f, why)| json!({"file": f, "reason": why})).collect::<Vec<_>>());
    print_summary(&stats, &o.out);
    if !skipped.is_empty() {
        say!("  skipped {} unreadable file(s) (listed above; --strict stops at the first)", skipped.len());
    }
    if let Some(p) = &o.stats {
        spikeflux_core::data::files::write_atomic(p, serde_json::to_string_pretty(&stats)?.as_bytes())?;
        note!("wrote {}", p.display());
    }
    Ok(stats)
}

#[allow(clippy::too_many_arguments)]
fn statistics(
    spikes: &[(spikeflux_cochlea::Spikes, f64)],
    files: usize,
    conv_secs: f64,
    total_secs: f64,
    o: &Options,
    exact: bool,
    top: Option<f64>,
    places: bm::Places,
) -> serde_json::Value {
    let audio_secs: f64 = spikes.iter().map(|(_, d)| d).sum();
    let n_spikes: usize = spikes.iter().map(|(s, _)| s.samples.len()).sum();
    let mut band = [0u64; 7];
    let mut active = 0usize;
    for (s, _) in spikes {
        let mut seen = vec![false; 700];
        for &u in &s.units {
            band[usize::from(u) / 100] += 1;
            seen[usize::from(u)] = true;
        }
        active += seen.iter().filter(|&&x| x).count();
    }
    let threads = rayon::current_num_threads();
    json!({
        "files": files,
        "audio_seconds": audio_secs,
        "spikes": n_spikes,
        "spikes_per_second_of_audio": n_spikes as f64 / audio_secs,
        "mean_spikes_per_file": n_spikes as f64 / files as f64,
        "mean_active_channels_per_file": active as f64 / files as f64,
        "band_rate_hz_per_channel": band.iter().map(|&b| b as f64 / audio_secs / 100.0).collect::<Vec<_>>(),
        "band_share": band.iter().map(|&b| b as f64 / n_spikes.max(1) as f64).collect::<Vec<_>>(),
        "conversion_seconds": conv_secs,
        "total_seconds": total_secs,
        "audio_seconds_per_second": audio_secs / conv_secs,
        "threads": threads,
        "bm": if exact { "exact" } else { "1-Hz table" },
        "top_hz": top,
        "ramp_s": o.ramp_s,
        "places_cm": [places.lo, places.hi],
        "seed": o.seed,
        "pattern": o.pattern,
    })
}

fn print_summary(s: &serde_json::Value, out: &Path) {
    let f = |k: &str| s[k].as_f64().unwrap_or(f64::NAN);
    say!("wrote {} ({} files, {:.1} s of audio)", out.display(), s["files"], f("audio_seconds"));
    say!("  spikes: {} total, {:.0} per second of audio, {:.0} per file", s["spikes"], f("spikes_per_second_of_audio"), f("mean_spikes_per_file"));
    say!("  active channels per file: {:.0} of 700", f("mean_active_channels_per_file"));
    let rates: Vec<String> = s["band_rate_hz_per_channel"].as_array().map(|a| a.iter().map(|v| format!("{:.2}", v.as_f64().unwrap_or(0.0))).collect()).unwrap_or_default();
    say!("  rate per channel by band 0–99 … 600–699 (Hz): {}", rates.join(", "));
    say!(
        "  throughput: {:.1} s of audio per second ({} threads, BM {}), {:.1} s in all",
        f("audio_seconds_per_second"),
        s["threads"],
        s["bm"].as_str().unwrap_or(""),
        f("total_seconds")
    );
}

/// Splits a spike file into train and test files: the test file takes the samples of the named
/// speakers and/or with a recording index in `index_range` (inclusive, e.g. 0–4).
pub fn split(input: &Path, test_speakers: &[String], index_range: Option<(u32, u32)>, train_out: &Path, test_out: &Path) -> Result<(usize, usize)> {
    let f = ShdFile::read(input)?;
    if test_speakers.is_empty() && index_range.is_none() {
        bail!("say which samples form the test set: --test-speakers NAMES and/or --test-index A-B");
    }
    let mut held: Vec<u32> = Vec::new();
    if !test_speakers.is_empty() {
        let (Some(names), Some(_)) = (&f.speaker_names, &f.speakers) else {
            bail!("{}: no extra/speaker_names in the file; --test-speakers needs a file written by audio2spikes", input.display());
        };
        for s in test_speakers {
            match names.iter().position(|n| n == s) {
                Some(i) => held.push(i as u32),
                None => bail!("speaker `{s}` is not in {} (speakers: {})", input.display(), names.join(", ")),
            }
        }
    }
    if index_range.is_some() && f.clip_index.is_none() {
        bail!("{}: no extra/index in the file; --test-index needs a file written by audio2spikes with {{index}} in the pattern", input.display());
    }
    let is_test = |i: usize| {
        let by_speaker = f.speakers.as_ref().is_some_and(|s| held.contains(&s[i]));
        let by_index = match (index_range, &f.clip_index) {
            (Some((a, b)), Some(ix)) => (a..=b).contains(&ix[i]),
            _ => false,
        };
        by_speaker || by_index
    };
    let (test, train): (Vec<usize>, Vec<usize>) = (0..f.labels.len()).partition(|&i| is_test(i));
    if test.is_empty() || train.is_empty() {
        bail!("the split leaves {} training and {} test samples; both must be non-empty", train.len(), test.len());
    }
    f.select(&train).write(train_out)?;
    f.select(&test).write(test_out)?;
    Ok((train.len(), test.len()))
}

/// Parses `A-B` (inclusive) or a single number.
pub fn parse_range(s: &str) -> Result<(u32, u32)> {
    let bad = || anyhow::anyhow!("--test-index `{s}`: expected A-B (e.g. 0-4) or one number");
    match s.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (a.trim().parse().map_err(|_| bad())?, b.trim().parse().map_err(|_| bad())?);
            if a > b {
                return Err(bad());
            }
            Ok((a, b))
        }
        None => {
            let a = s.trim().parse().map_err(|_| bad())?;
            Ok((a, a))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_parse_fsdd_names_and_reject_others() {
        let p = Pattern::parse("{digit}_{speaker}_{index}.wav").unwrap();
        let f = p.matches("3_jackson_12").unwrap();
        assert_eq!(f, Fields { label: Some("3".into()), speaker: Some("jackson".into()), index: Some(12) });
        assert!(p.matches("3_jackson").is_none());
        assert!(p.matches("3_jackson_x").is_none());
        let q = Pattern::parse("{speaker}-{any}-{label}").unwrap();
        let f = q.matches("anna-take2-fünf").unwrap();
        assert_eq!((f.label.as_deref(), f.speaker.as_deref()), (Some("fünf"), Some("anna")));
        assert!(Pattern::parse("{speaker}{label}").is_err());
        assert!(Pattern::parse("{speaker}_{index}").is_err());
        assert!(Pattern::parse("{label}_{word}").is_err());
        assert_eq!(parse_range("0-4").unwrap(), (0, 4));
        assert!(parse_range("4-0").is_err());
    }

    #[test]
    fn ids_keep_integers_and_sort_names() {
        let (i, k) = ids(&["3".into(), "0".into(), "9".into()]);
        assert_eq!((i, k.len()), (vec![3, 0, 9], 10));
        let (i, k) = ids(&["b".into(), "a".into(), "b".into()]);
        assert_eq!((i, k), (vec![1, 0, 1], vec!["a".to_string(), "b".to_string()]));
    }
}
