//! `spikeflux data fetch`: download SHD/SSC with a progress bar, resume after an interruption,
//! verify md5 sums where they are known, decompress, and rename into place atomically.
//!
//! For each file: `NAME.h5.gz.part` grows during the download (an interrupted download resumes with
//! an HTTP Range request), is checked against the known md5 of the `.gz`, renamed to `NAME.h5.gz`,
//! decompressed to `NAME.h5.tmp`, checked against the known md5 of the `.h5`, and renamed to
//! `NAME.h5`. A file already in place with the right md5 is skipped.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use md5::{Digest, Md5};
use spikeflux_core::Error;

/// Where the data sets are published.
pub const DEFAULT_BASE_URL: &str = "https://zenkelab.org/datasets";

/// One file of a data set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    /// File name without `.gz`, e.g. `shd_train.h5`.
    pub name: String,
    /// md5 of the compressed file, if known.
    pub md5_gz: Option<String>,
    /// md5 of the decompressed file, if known.
    pub md5: Option<String>,
}

fn known(name: &str, gz: Option<&str>, h5: Option<&str>) -> RemoteFile {
    RemoteFile { name: name.into(), md5_gz: gz.map(Into::into), md5: h5.map(Into::into) }
}

/// The files of `dataset` ("shd" or "ssc"), with the md5 sums of `shared/data/README.md` (SHD only;
/// SSC's are not published there, so SSC files are not verified).
pub fn files(dataset: &str) -> Result<Vec<RemoteFile>> {
    Ok(match dataset {
        "shd" => vec![
            known("shd_train.h5", Some("d47c9825dee33347913e8ce0f2be08b0"), Some("8e9877c85f29a28dd353ea6a54402667")),
            known("shd_test.h5", Some("3062a80ec0c5719404d5b02e166543b1"), Some("207ad1295a0ab611e22d1734989c254e")),
        ],
        "ssc" => vec![known("ssc_train.h5", None, None), known("ssc_valid.h5", None, None), known("ssc_test.h5", None, None)],
        other => bail!("unknown data set `{other}`: choose shd or ssc"),
    })
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

/// Downloads `url` into `part`, resuming from its current length.
fn download(url: &str, part: &Path, show: bool) -> Result<()> {
    let have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    let mut req = ureq::get(url);
    if have > 0 {
        req = req.set("Range", &format!("bytes={have}-"));
    }
    let resp = match req.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(416, _)) if have > 0 => return Ok(()), // already complete
        Err(ureq::Error::Status(code, _)) => bail!("{url}: the server answered HTTP {code}"),
        Err(e) => bail!(
            "cannot reach {url} ({e}). Without network access, download the files by hand from {DEFAULT_BASE_URL} and put them (or their .gz) in the target directory"
        ),
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

/// Fetches `files` from `base_url` into `dir`. Returns the paths of the `.h5` files.
pub fn fetch(base_url: &str, files: &[RemoteFile], dir: &Path, show_progress: bool) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut out = Vec::new();
    for f in files {
        let h5 = dir.join(&f.name);
        let gz = dir.join(format!("{}.gz", f.name));
        let part = dir.join(format!("{}.gz.part", f.name));
        if h5.exists() && check(&h5, f.md5.as_deref())? {
            note!("{}: present{}", h5.display(), if f.md5.is_some() { ", md5 ok" } else { "" });
            out.push(h5);
            continue;
        }
        if !(gz.exists() && check(&gz, f.md5_gz.as_deref())?) {
            download(&format!("{}/{}.gz", base_url.trim_end_matches('/'), f.name), &part, show_progress)?;
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
        }
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
            bail!("{}: md5 of the decompressed file does not match the published one; delete {} and run again", h5.display(), gz.display());
        }
        std::fs::rename(&tmp, &h5).map_err(|e| Error::io(&h5, e))?;
        note!("{}: ok", h5.display());
        out.push(h5);
    }
    Ok(out)
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
        let file = RemoteFile { name: "shd_test.h5".into(), md5_gz: Some(md5_of(&body)), md5: Some(md5_of(&h5)) };
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
        let file = RemoteFile { name: "shd_train.h5".into(), md5_gz: Some(md5_of(&body)), md5: Some(md5_of(&h5)) };
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
    }
}
