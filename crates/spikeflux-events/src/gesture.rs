//! DVS128 Gesture (Amir et al. 2017) as published: one AEDAT 3.1 recording per user and lighting
//! (`user01_fluorescent.aedat`) with a labels file beside it (`user01_fluorescent_labels.csv`:
//! `class,startTime_usec,endTime_usec`, classes 1–11), cut here into one sample per row; and
//! tonic's cached copy (`ibmGestureTrain/user01_fluorescent/<class 0–10>.npy`, see [`crate::plain`]).
//! Users 1–23 are the training set and 24–29 the test set (the dataset's `trials_to_train.txt` and
//! `trials_to_test.txt`).

use std::path::{Path, PathBuf};

use crate::{Error, Events, Result};

/// The eleven classes, in label order (0-based).
pub const CLASSES: [&str; 11] = [
    "hand clap",
    "right hand wave",
    "left hand wave",
    "right arm clockwise",
    "right arm counter-clockwise",
    "left arm clockwise",
    "left arm counter-clockwise",
    "arm roll",
    "air drums",
    "air guitar",
    "other gestures",
];

/// The highest user of the training set.
pub const LAST_TRAIN_USER: u32 = 23;

/// One labelled stretch of a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Class, 0-based (the file's 1–11 minus one).
    pub class: usize,
    /// First µs (inclusive).
    pub start: i64,
    /// Last µs (exclusive).
    pub end: i64,
}

/// Parses a labels file; `path` names it in errors.
///
/// # Errors
/// [`Error::Invalid`] naming the line, for a row that is not three integers with a class in
/// 1–11 and start < end.
pub fn parse_labels(text: &str, path: &Path) -> Result<Vec<Segment>> {
    let bad = |line: usize, why: String| Error::Invalid { path: path.into(), format: crate::Format::Aedat31, why: format!("labels line {line}: {why}") };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || (i == 0 && line.starts_with("class")) {
            continue;
        }
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let nums: Option<Vec<i64>> = f.iter().map(|s| s.parse().ok()).collect();
        let Some([class, start, end]) = nums.as_deref().and_then(|n| <[i64; 3]>::try_from(n).ok()) else {
            return Err(bad(i + 1, format!("{line:?} is not `class,startTime_usec,endTime_usec`")));
        };
        if !(1..=11).contains(&class) || start >= end || start < 0 {
            return Err(bad(i + 1, format!("class {class} from {start} to {end} µs (classes 1–11, start before end)")));
        }
        out.push(Segment { class: class as usize - 1, start, end });
    }
    Ok(out)
}

/// The labels file beside a recording: `X.aedat` → `X_labels.csv`.
pub fn labels_path(recording: &Path) -> PathBuf {
    let stem = recording.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    recording.with_file_name(format!("{stem}_labels.csv"))
}

/// The user number of a recording or folder named `userNN_…`.
pub fn user_of(path: &Path) -> Option<u32> {
    let name = path.file_name()?.to_str()?;
    name.strip_prefix("user")?.split('_').next()?.parse().ok()
}

/// The events of each segment (`start <= t < end`), in the labels' order.
pub fn cut(events: &Events, segments: &[Segment]) -> Vec<(usize, Events)> {
    segments.iter().map(|s| (s.class, events.window(s.start, s.end))).collect()
}

/// One sample of the data set, as [`read_recording`] cuts it or tonic caches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// Class, 0-based.
    pub class: usize,
    /// User (1–29).
    pub user: u32,
    /// The events, times from the recording's clock.
    pub events: Events,
}

/// Reads a recording and its labels file and cuts it into samples.
///
/// # Errors
/// The recording's or the labels file's read errors; [`Error::Invalid`] if the events are not in
/// time order.
pub fn read_recording(path: &Path) -> Result<Vec<Sample>> {
    let rec = crate::read(path)?;
    let lp = labels_path(path);
    let text = std::fs::read_to_string(&lp).map_err(|source| Error::Io { path: lp.clone(), source })?;
    let segments = parse_labels(&text, &lp)?;
    if let Err(i) = rec.events.check_sorted() {
        return Err(Error::Invalid { path: path.into(), format: rec.format, why: format!("event {i} is earlier than the one before it (the cut needs time order)") });
    }
    let user = user_of(path).unwrap_or(0);
    Ok(cut(&rec.events, &segments).into_iter().map(|(class, events)| Sample { class, user, events }).collect())
}

/// The sample files of tonic's cached copy under `dir` (the folder holding `userNN_lighting/`
/// folders, e.g. `…/DVSGesture/ibmGestureTrain`), in sorted path order: path, class, user.
///
/// # Errors
/// Read errors of the folders; [`Error::Invalid`] for an `.npy` not named by its class.
pub fn tonic_files(dir: &Path) -> Result<Vec<(PathBuf, usize, u32)>> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| Error::Io { path: p, source }
    };
    let mut folders: Vec<PathBuf> = std::fs::read_dir(dir).map_err(io(dir))?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir() && user_of(p).is_some()).collect();
    folders.sort();
    let mut out = Vec::new();
    for f in folders {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&f).map_err(io(&f))?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "npy")).collect();
        files.sort();
        for p in files {
            let class = p.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse::<usize>().ok()).filter(|&c| c < CLASSES.len());
            let Some(class) = class else {
                return Err(Error::Invalid { path: p, format: crate::Format::Npy, why: "tonic names each sample by its class, 0.npy to 10.npy".into() });
            };
            out.push((p, class, user_of(&f).unwrap_or(0)));
        }
    }
    Ok(out)
}

/// The samples of tonic's cached copy under `dir` ([`tonic_files`]), all read.
///
/// # Errors
/// As [`tonic_files`], and each file's read errors.
pub fn read_tonic_folder(dir: &Path) -> Result<Vec<Sample>> {
    tonic_files(dir)?.into_iter().map(|(p, class, user)| Ok(Sample { class, user, events: crate::read(&p)?.events })).collect()
}
