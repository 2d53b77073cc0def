//! Prophesee's formats: DAT (ATIS / Gen 1, e.g. N-CARS) and the RAW encodings EVT 2.0 and
//! EVT 3.0 (Metavision). All three start with text header lines beginning with `%`; the RAW files
//! name their encoding there (`% evt 3.0`, or `% format EVT3;height=720;width=1280`) and may end
//! the header with `% end`.

use crate::bytes::Cursor;
use crate::Format;

pub mod dat;
pub mod evt2;
pub mod evt3;

/// A `%` header: its lines (without `% `) and the offset where the binary data begin.
pub(crate) struct Header {
    pub lines: Vec<String>,
    pub end: usize,
}

/// Reads the `%` lines at the start of `bytes` (up to 64 KiB of them).
pub(crate) fn header(bytes: &[u8]) -> Header {
    let mut c = Cursor::new(bytes);
    let mut lines = Vec::new();
    while c.peek() == Some(b'%') && c.pos < 1 << 16 {
        let l = c.line().unwrap_or_default();
        let text = String::from_utf8_lossy(&l[1..]).trim().to_string();
        let done = text == "end";
        lines.push(text);
        if done {
            break;
        }
    }
    Header { lines, end: c.pos }
}

impl Header {
    /// Width and height from `geometry WxH`, `format …;height=H;width=W` or `Width W` / `Height H`.
    pub fn sensor(&self) -> Option<(u16, u16)> {
        let mut w = None;
        let mut h = None;
        for l in &self.lines {
            if let Some(g) = l.strip_prefix("geometry ") {
                if let Some((a, b)) = g.trim().split_once('x') {
                    w = a.trim().parse().ok().or(w);
                    h = b.trim().parse().ok().or(h);
                }
            } else if let Some(f) = l.strip_prefix("format ") {
                for kv in f.split(';') {
                    match kv.split_once('=') {
                        Some(("width", v)) => w = v.trim().parse().ok().or(w),
                        Some(("height", v)) => h = v.trim().parse().ok().or(h),
                        _ => {}
                    }
                }
            } else if let Some(v) = l.strip_prefix("Width ") {
                w = v.trim().parse().ok().or(w);
            } else if let Some(v) = l.strip_prefix("Height ") {
                h = v.trim().parse().ok().or(h);
            }
        }
        Some((w?, h?))
    }

    /// The RAW encoding the header names.
    pub fn raw_version(&self) -> Option<Format> {
        self.lines.iter().find_map(|l| {
            let l = l.to_ascii_lowercase();
            if l == "evt 2.0" || l.starts_with("format evt2") {
                Some(Format::Evt2)
            } else if l == "evt 3.0" || l.starts_with("format evt3") {
                Some(Format::Evt3)
            } else {
                None
            }
        })
    }
}

/// The encoding of a `.raw` file, from its header.
pub(crate) fn raw_version(head: &[u8]) -> Option<Format> {
    header(head).raw_version()
}

/// The header lines `write` functions put first.
pub(crate) fn write_header(out: &mut Vec<u8>, lines: &[String]) {
    for l in lines {
        out.extend_from_slice(b"% ");
        out.extend_from_slice(l.as_bytes());
        out.push(b'\n');
    }
}
