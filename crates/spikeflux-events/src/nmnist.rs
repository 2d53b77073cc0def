//! N-MNIST's folder layout (Orchard et al. 2015; also N-Caltech101's, and what
//! [`crate::saccades`] data sets are written as): one ATIS `.bin` file per sample, in a folder per
//! class under a folder per split:
//!
//! ```text
//! Train/0/00002.bin   Train/1/00003.bin   …   Test/9/09999.bin
//! ```
//!
//! Class folders are named by the class number, `0` to `MAX_CLASSES − 1`.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The split folders, training first.
pub const SPLITS: [&str; 2] = ["Train", "Test"];

/// The most class folders a split may have.
pub const MAX_CLASSES: usize = 1000;

/// Whether `dir` is laid out as N-MNIST (it holds `Train/` and `Test/` folders).
pub fn is_layout(dir: &Path) -> bool {
    SPLITS.iter().all(|s| dir.join(s).is_dir())
}

/// The path of sample `id` of `class` in split folder `split` ("Train" or "Test") under `dir`.
pub fn sample_path(dir: &Path, split: &str, class: usize, id: usize) -> PathBuf {
    dir.join(split).join(class.to_string()).join(format!("{id:05}.bin"))
}

/// The `.bin` files under `split_dir` (e.g. `…/Train`), sorted by class and then by name: path,
/// class. Folders not named by a class number are refused, so a misplaced folder is not silently
/// read as data or skipped.
///
/// # Errors
/// Read errors of the folders; [`Error::Invalid`] for a folder that is not a class number below
/// [`MAX_CLASSES`], or for a split with no samples.
pub fn files(split_dir: &Path) -> Result<Vec<(PathBuf, usize)>> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| Error::Io { path: p, source }
    };
    let mut classes = Vec::new();
    for e in std::fs::read_dir(split_dir).map_err(io(split_dir))? {
        let p = e.map_err(io(split_dir))?.path();
        if !p.is_dir() {
            continue;
        }
        let class = p.file_name().and_then(|s| s.to_str()).and_then(|s| s.parse::<usize>().ok()).filter(|&c| c < MAX_CLASSES);
        let Some(class) = class else {
            return Err(Error::Invalid {
                path: p,
                format: crate::Format::AtisBin,
                why: format!("in N-MNIST's layout every folder of a split is a class, named 0 to {}: move this one out", MAX_CLASSES - 1),
            });
        };
        classes.push((class, p));
    }
    classes.sort();
    let mut out = Vec::new();
    for (class, folder) in classes {
        let mut f: Vec<PathBuf> =
            std::fs::read_dir(&folder).map_err(io(&folder))?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "bin")).collect();
        f.sort();
        out.extend(f.into_iter().map(|p| (p, class)));
    }
    if out.is_empty() {
        return Err(Error::Invalid { path: split_dir.into(), format: crate::Format::AtisBin, why: "holds no class folders of .bin samples (N-MNIST's layout: Train/0/00002.bin …)".into() });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn samples_are_listed_by_class_and_name_and_stray_folders_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!is_layout(dir.path()));
        for (split, class, id) in [("Train", 1, 5), ("Train", 0, 9), ("Train", 0, 2), ("Train", 10, 1), ("Test", 3, 0)] {
            let p = sample_path(dir.path(), split, class, id);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, []).unwrap();
        }
        assert!(is_layout(dir.path()));
        let f = files(&dir.path().join("Train")).unwrap();
        let got: Vec<(String, usize)> = f.iter().map(|(p, c)| (p.file_name().unwrap().to_string_lossy().into_owned(), *c)).collect();
        let want = [("00002.bin", 0), ("00009.bin", 0), ("00005.bin", 1), ("00001.bin", 10)];
        assert_eq!(got, want.map(|(a, c)| (a.to_string(), c)));
        std::fs::create_dir(dir.path().join("Train").join("extra")).unwrap();
        let e = files(&dir.path().join("Train")).unwrap_err().to_string();
        assert!(e.contains("extra") && e.contains("named 0 to 999"), "{e}");
        std::fs::create_dir(dir.path().join("Empty")).unwrap();
        assert!(files(&dir.path().join("Empty")).unwrap_err().to_string().contains("no class folders"));
    }
}
