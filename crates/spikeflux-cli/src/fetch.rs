//! `spikeflux data fetch`: download SHD/SSC or DVS128 Gesture with a progress bar, resume after an
//! interruption, verify md5 sums where they are known, unpack, and rename into place atomically.
//!
//! For a gzipped file (SHD, SSC): `NAME.h5.gz.part` grows during the download (an interrupted
//! download resumes with an HTTP Range request), is checked against the known md5 of the `.gz`,
//! renamed to `NAME.h5.gz`, decompressed to `NAME.h5.tmp`, checked against the known md5 of the
//! `.h5`, and renamed to `NAME.h5`. A file already in place with the right md5 is skipped.
//!
//! For a tar archive (DVS128 Gesture in tonic's layout): `NAME.tar.gz.part` likewise, checked and
//! renamed to `NAME.tar.gz`, unpacked into `.NAME.unpack/` and its folder `NAME` renamed into
//! place, so a folder `NAME` exists only complete. A folder already in place is skipped.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use md5::{Digest, Md5};
use spikeflux_core::Error;

/// Where the data sets are published.
pub const DEFAULT_BASE_URL: &str = "https://zenkelab.org/datasets";

/// Where tonic's copy of DVS128 Gesture is published (its `DVSGesture` dataset class).
pub const DVS_GESTURE_BASE_URL: &str = "https://figshare.com/ndownloader/files";

/// What a downloaded file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unpack {
    /// A gzipped file `NAME.gz`, decompressed to `NAME`.
    Gunzip,
    /// A gzipped tar archive `NAME.tar.gz` holding the folder `NAME`.
    Untar,
}

/// One file of a data set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    /// What it becomes: a file without `.gz` (`shd_train.h5`) or a folder (`ibmGestureTrain`).
    pub name: String,
    /// Its path under the base URL (`shd_train.h5.gz`, or figshare's file number).
    pub remote: String,
    /// md5 of the downloaded (compressed) file, if known.
    pub md5_gz: Option<String>,
    /// md5 of the decompressed file, if known (gzipped files).
    pub md5: Option<String>,
    /// How it is unpacked.
    pub unpack: Unpack,
}

fn known(name: &str, gz: Option<&str>, h5: Option<&str>) -> RemoteFile {
    RemoteFile { name: name.into(), remote: format!("{name}.gz"), md5_gz: gz.map(Into::into), md5: h5.map(Into::into), unpack: Unpack::Gunzip }
}

fn archive(name: &str, remote: &str, md5: &str) -> RemoteFile {
    RemoteFile { name: name.into(), remote: remote.into(), md5_gz: Some(md5.into()), md5: None, unpack: Unpack::Untar }
}

/// The data sets `data fetch` knows.
pub const DATASETS: &str = "shd, ssc or dvsgesture";

/// The files of `dataset`: "shd" and "ssc" with the md5 sums of `shared/data/README.md` (SHD only;
/// SSC's are not published there, so SSC files are not verified); "dvsgesture" as tonic
/// publishes it (its md5 sums; `ibmGestureTrain/userNN_light/<class>.npy`, see
/// `spikeflux_events::gesture`).
pub fn files(dataset: &str) -> Result<Vec<RemoteFile>> {
    Ok(match dataset {
        "shd" => vec![
            known("shd_train.h5", Some("d47c9825dee33347913e8ce0f2be08b0"), Some("8e9877c85f29a28dd353ea6a54402667")),
            known("shd_test.h5", Some("3062a80ec0c5719404d5b02e166543b1"), Some("207ad1295a0ab611e22d1734989c254e")),
        ],
        "ssc" => vec![known("ssc_train.h5", None, None), known("ssc_valid.h5", None, None), known("ssc_test.h5", None, None)],
        "dvsgesture" => vec![
            archive("ibmGestureTrain", "38022171", "3a8f0d4120a166bac7591f77409cb105"),
            archive("ibmGestureTest", "38020584", "56070e45dadaa85fff82e0fbfbc06de5"),
        ],
        other => bail!("unknown data set `{other}`: choose {DATASETS}"),
    })
}

/// The server a data set is fetched from unless `--base-url` says otherwise.
pub fn default_base_url(dataset: &str) -> &'static str {
    if dataset == "dvsgesture" {
        DVS_GESTURE_BASE_URL
    } else {
        DEFAULT_BASE_URL
    }
}

/// What to do without network access.
fn by_hand(f: &RemoteFile, base_url: &str) -> String {
    match f.unpack {
        Unpack::Gunzip => format!("download the files by hand from {DEFAULT_BASE_URL} and put them (or their .gz) in the target directory"),
        Unpack::Untar => format!(
            "download {base_url}/{} by hand as {}.tar.gz into the target directory (tonic's copy of DVS128 Gesture), \
             or use the original DvsGesture.tar.gz from IBM (research.ibm.com/dvsgesture): unpacked, its userNN_*.aedat \
             recordings and their _labels.csv files are read as they are",
            f.remote, f.name
        ),
    }
}

/// Lower-case hex md5 of a file.
pub fn md5_file(path: &Path) -> Result<String> {
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn bar(len: Option<u64>, start: u64, msg: String, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let b = match len {
        Some(l) => ProgressBar::new(l),
        None => ProgressBar::new_spinner(),
    };
    b.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} (eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    b.set_position(start);
    b.set_message(msg);
    b
}

/// Downloads `url` into `part`, resuming from its current length; `by_hand` says what to do
/// when the server cannot be reached.
fn download(url: &str, part: &Path, show: bool, by_hand: &str) -> Result<()> {
    let have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    let mut req = ureq::get(url);
    if have > 0 {
        req = req.set("Range", &format!("bytes={have}-"));
    }
    let resp = match req.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(416, _)) if have > 0 => return Ok(()), // already complete
        Err(ureq::Error::Status(code, _)) => bail!("{url}: the server answered HTTP {code}"),
        Err(e) => bail!("cannot reach {url} ({e}). Without network access, {by_hand}"),
    };
    let resumed = resp.status() == 206;
    let total = resp.header("Content-Length").and_then(|v| v.parse::<u64>().ok());
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .append(resumed)
        .truncate(!resumed)
        .open(part)
        .map_err(|e| Error::io(part, e))?;
    let start = if resumed { have } else { 0 };
    let name = part.file_name().map(|n| n.to_string_lossy().trim_end_matches(".part").to_string()).unwrap_or_default();
    // (the bar shows the file's own name, not the server's number for it)
    let pb = bar(total.map(|t| t + start), start, name, show);
    let mut reader = resp.into_reader();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf).with_context(|| format!("download of {url} interrupted; run the command again to resume"))?;
        if n == 0 {
            break;
        }
        file.write_all(&buf[..n]).map_err(|e| Error::io(part, e))?;
        pb.inc(n as u64);
    }
    file.sync_all().map_err(|e| Error::io(part, e))?;
    pb.finish_and_clear();
    Ok(())
}

fn check(path: &Path, want: Option<&str>) -> Result<bool> {
    match want {
        None => Ok(true),
        Some(w) => Ok(md5_file(path)? == w),
    }
}

/// Downloads `f` into `dir` (resuming, md5-checked) unless its download is already there and
/// verified; returns the downloaded file.
fn downloaded(base_url: &str, f: &RemoteFile, dir: &Path, suffix: &str, show: bool) -> Result<PathBuf> {
    let gz = dir.join(format!("{}{suffix}", f.name));
    let part = dir.join(format!("{}{suffix}.part", f.name));
    if gz.exists() && check(&gz, f.md5_gz.as_deref())? {
        return Ok(gz);
    }
    download(&format!("{}/{}", base_url.trim_end_matches('/'), f.remote), &part, show, &by_hand(f, base_url))?;
    if !check(&part, f.md5_gz.as_deref())? {
        let got = md5_file(&part)?;
        std::fs::remove_file(&part).map_err(|e| Error::io(&part, e))?;
        bail!(
            "{}: corrupted transfer (md5 {got}, expected {}); the partial file was removed, run the command again",
            gz.display(),
            f.md5_gz.as_deref().unwrap_or("")
        );
    }
    std::fs::rename(&part, &gz).map_err(|e| Error::io(&gz, e))?;
    Ok(gz)
}

/// Fetches `files` from `base_url` into `dir`. Returns the paths of the files and folders made.
pub fn fetch(base_url: &str, files: &[RemoteFile], dir: &Path, show_progress: bool) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut out = Vec::new();
    for f in files {
        let target = dir.join(&f.name);
        match f.unpack {
            Unpack::Gunzip if target.exists() && check(&target, f.md5.as_deref())? => {
                note!("{}: present{}", target.display(), if f.md5.is_some() { ", md5 ok" } else { "" });
            }
            Unpack::Untar if target.is_dir() => note!("{}: present", target.display()),
            Unpack::Gunzip => {
                let gz = downloaded(base_url, f, dir, ".gz", show_progress)?;
                let tmp = dir.join(format!("{}.tmp", f.name));
                {
                    let src = File::open(&gz).map_err(|e| Error::io(&gz, e))?;
                    let mut dec = flate2::read::GzDecoder::new(std::io::BufReader::new(src));
                    let mut dst = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
                    std::io::copy(&mut dec, &mut dst)
                        .map_err(|e| Error::data_file(&gz, format!("corrupt gzip stream ({e}); delete it and run the command again")))?;
                    dst.sync_all().map_err(|e| Error::io(&tmp, e))?;
                }
                if !check(&tmp, f.md5.as_deref())? {
                    std::fs::remove_file(&tmp).ok();
                    bail!("{}: md5 of the decompressed file does not match the published one; delete {} and run again", target.display(), gz.display());
                }
                std::fs::rename(&tmp, &target).map_err(|e| Error::io(&target, e))?;
                note!("{}: ok", target.display());
            }
            Unpack::Untar => {
                let tgz = downloaded(base_url, f, dir, ".tar.gz", show_progress)?;
                untar(&tgz, &f.name, dir)?;
                note!("{}: ok", target.display());
            }
        }
        out.push(target);
    }
    Ok(out)
}

/// Unpacks `tgz` (which holds the folder `name`) into `dir`: into `.name.unpack/` first, then the
/// folder renamed into place. The tar crate refuses entries that would land outside the folder.
fn untar(tgz: &Path, name: &str, dir: &Path) -> Result<()> {
    let work = dir.join(format!(".{name}.unpack"));
    if work.exists() {
        std::fs::remove_dir_all(&work).map_err(|e| Error::io(&work, e))?;
    }
    let src = File::open(tgz).map_err(|e| Error::io(tgz, e))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(src)));
    archive
        .unpack(&work)
        .map_err(|e| Error::data_file(tgz, format!("cannot unpack the archive ({e}); delete it and run the command again")))?;
    let inner = work.join(name);
    if !inner.is_dir() {
        std::fs::remove_dir_all(&work).ok();
        return Err(Error::data_file(tgz, format!("the archive has no folder `{name}`; delete it and run the command again")).into());
    }
    let target = dir.join(name);
    std::fs::rename(&inner, &target).map_err(|e| Error::io(&target, e))?;
    std::fs::remove_dir_all(&work).map_err(|e| Error::io(&work, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A tiny HTTP/1.1 server on 127.0.0.1 serving `body` at any path, honouring `Range: bytes=N-`.
    /// The first `cut_first` responses stop after half the body (an interrupted transfer); with
    /// `corrupt` every response flips one byte.
    fn serve(body: Vec<u8>, cut_first: usize, corrupt: bool) -> (String, Arc<AtomicUsize>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        std::thread::spawn(move || {
            for stream in l.incoming() {
                let Ok(mut s) = stream else { continue };
                let n = h.fetch_add(1, Ordering::SeqCst);
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut start = 0usize;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                        start = v.trim().trim_end_matches('-').parse().unwrap_or(0);
                    }
                }
                let mut data = body[start.min(body.len())..].to_vec();
                if corrupt && !data.is_empty() {
                    let k = data.len() / 2;
                    data[k] ^= 0xff;
                }
                let status = if start > 0 { "206 Partial Content" } else { "200 OK" };
                let head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", data.len());
                let _ = s.write_all(head.as_bytes());
                let send = if n < cut_first { &data[..data.len() / 2] } else { &data[..] };
                let _ = s.write_all(send);
            }
        });
        (format!("http://{addr}"), hits)
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn md5_of(b: &[u8]) -> String {
        Md5::digest(b).iter().map(|b| format!("{b:02x}")).collect()
    }

    fn fixture() -> Vec<u8> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spikeflux-core/tests/fixtures");
        std::fs::read(dir.join("shd_like_fixture.h5")).unwrap()
    }

    #[test]
    fn downloads_resumes_verifies_and_renames() {
        let h5 = fixture();
        let body = gz(&h5);
        let file = RemoteFile { md5_gz: Some(md5_of(&body)), md5: Some(md5_of(&h5)), ..known("shd_test.h5", None, None) };
        // the first transfer is cut in half: the command fails, leaving the partial file
        let (url, hits) = serve(body.clone(), 1, false);
        let dir = tempfile::tempdir().unwrap();
        let e = fetch(&url, std::slice::from_ref(&file), dir.path(), false).unwrap_err();
        assert!(format!("{e:#}").contains("corrupted transfer") || format!("{e:#}").contains("interrupted"), "{e:#}");
        // a corrupted transfer removes the part file; simulate an interruption instead by writing half
        std::fs::write(dir.path().join("shd_test.h5.gz.part"), &body[..body.len() / 2]).unwrap();
        let got = fetch(&url, std::slice::from_ref(&file), dir.path(), false).unwrap();
        assert_eq!(std::fs::read(&got[0]).unwrap(), h5, "resumed download decompresses to the original");
        assert!(hits.load(Ordering::SeqCst) >= 2);
        assert!(!dir.path().join("shd_test.h5.gz.part").exists() && !dir.path().join("shd_test.h5.tmp").exists());
        // the reader accepts the result
        spikeflux_core::data::shd::ShdFile::read(&got[0]).unwrap();
        // present and verified: no new request
        let before = hits.load(Ordering::SeqCst);
        fetch(&url, std::slice::from_ref(&file), dir.path(), false).unwrap();
        assert_eq!(hits.load(Ordering::SeqCst), before);
    }

    #[test]
    fn corrupted_transfer_is_detected_and_cleaned_up() {
        let h5 = fixture();
        let body = gz(&h5);
        let file = RemoteFile { md5_gz: Some(md5_of(&body)), md5: Some(md5_of(&h5)), ..known("shd_train.h5", None, None) };
        let (url, _) = serve(body, 0, true);
        let dir = tempfile::tempdir().unwrap();
        let e = format!("{:#}", fetch(&url, &[file], dir.path(), false).unwrap_err());
        assert!(e.contains("corrupted transfer") && e.contains("run the command again"), "{e}");
        assert!(!dir.path().join("shd_train.h5.gz.part").exists());
        assert!(!dir.path().join("shd_train.h5").exists());
    }

    #[test]
    fn no_network_is_explained() {
        // nothing listens on port 9 of the loopback interface
        let dir = tempfile::tempdir().unwrap();
        let e = format!("{:#}", fetch("http://127.0.0.1:9", &files("shd").unwrap(), dir.path(), false).unwrap_err());
        assert!(e.contains("cannot reach") && e.contains("by hand"), "{e}");
        assert!(files("mnist").is_err());
        let e = format!("{:#}", fetch("http://127.0.0.1:9", &files("dvsgesture").unwrap(), dir.path(), false).unwrap_err());
        assert!(e.contains("cannot reach") && e.contains("ibmGestureTrain.tar.gz") && e.contains("DvsGesture.tar.gz from IBM"), "{e}");
    }

    /// tonic's layout: `ibmGestureTrain/user01_led/<class>.npy`, (N, 4) x, y, p, t[ms].
    fn gesture_archive() -> Vec<u8> {
        let mut tar = tar::Builder::new(Vec::new());
        for (user, class) in [("user01_led", 3usize), ("user01_led", 7), ("user02_natural", 0)] {
            let rows: Vec<u8> = (0..5).flat_map(|i| [i as f64, 2.0, (i % 2) as f64, 1.5 * i as f64]).flat_map(f64::to_le_bytes).collect();
            let npy = spikeflux_events::npy::write_plain("<f8", &[5, 4], &rows);
            let mut h = tar::Header::new_gnu();
            h.set_size(npy.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            tar.append_data(&mut h, format!("ibmGestureTrain/{user}/{class}.npy"), &npy[..]).unwrap();
        }
        gz(&tar.into_inner().unwrap())
    }

    #[test]
    fn dvs_gesture_archives_download_resume_verify_and_unpack_into_place() {
        let body = gesture_archive();
        let file = archive("ibmGestureTrain", "38022171", &md5_of(&body));
        let (url, hits) = serve(body.clone(), 0, false);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ibmGestureTrain.tar.gz.part"), &body[..body.len() / 3]).unwrap();
        let got = fetch(&url, std::slice::from_ref(&file), dir.path(), false).unwrap();
        assert_eq!(got, [dir.path().join("ibmGestureTrain")]);
        let samples = spikeflux_events::gesture::read_tonic_folder(&got[0]).unwrap();
        assert_eq!(samples.iter().map(|s| (s.user, s.class)).collect::<Vec<_>>(), [(1, 3), (1, 7), (2, 0)]);
        assert_eq!(samples[0].events.t, [0, 1500, 3000, 4500, 6000]);
        assert!(!dir.path().join(".ibmGestureTrain.unpack").exists() && !dir.path().join("ibmGestureTrain.tar.gz.part").exists());
        // in place: no new request
        let before = hits.load(Ordering::SeqCst);
        fetch(&url, std::slice::from_ref(&file), dir.path(), false).unwrap();
        assert_eq!(hits.load(Ordering::SeqCst), before);
        // a corrupted transfer is refused and leaves nothing behind
        let (bad, _) = serve(body, 0, true);
        let other = tempfile::tempdir().unwrap();
        let e = format!("{:#}", fetch(&bad, &[file], other.path(), false).unwrap_err());
        assert!(e.contains("corrupted transfer"), "{e}");
        assert!(!other.path().join("ibmGestureTrain").exists() && !other.path().join("ibmGestureTrain.tar.gz.part").exists());
    }
}
