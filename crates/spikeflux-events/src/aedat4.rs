//! AEDAT 4.0 (iniVation DV), polarity events.
//!
//! Layout (DV's file format documentation; FlatBuffers schemas `IOHeader` and `EventPacket`):
//!
//! ```text
//! "#!AER-DAT4.0\r\n"  u32 n  IOHeader flatbuffer (n bytes):
//!                              0 compression: i32 (0 none, 1 LZ4, 2 LZ4 high, 3 Zstd, 4 Zstd high)
//!                              1 dataTablePosition: i64 (-1: none)   2 description: XML string
//! packets: i32 streamId  i32 size  size bytes (compressed as the header says) =
//!          a size-prefixed flatbuffer with identifier "EVTS": field 0, a vector of 16-byte
//!          structs { t: i64 (µs), x: i16, y: i16, on: bool, 3 bytes padding }
//! (the data table at dataTablePosition, an index, is not needed and not read)
//! ```
//!
//! The XML's `outInfo` node lists the streams: `typeIdentifier` `EVTS` for polarity events, and
//! `info/sizeX`, `info/sizeY`. The first event stream is read; packets of other streams (frames,
//! IMU, triggers) are skipped without being decompressed.

use std::io::Read;

use crate::bytes::{le_i64, le_u16, Cursor};
use crate::flatbuf::Table;
use crate::{check_events, Bad, Decoded, Events, Format, Recording, MAX_EVENTS};

/// The magic line at the start.
pub const MAGIC: &[u8] = b"#!AER-DAT4.0\r\n";

/// The most bytes one packet may decompress to (2 M events; DV writes packets of a few
/// thousand), which keeps a corrupt packet from taking more than this while it is refused.
const MAX_PACKET_BYTES: u64 = 32 << 20;

/// One stream of the description.
struct Stream {
    id: i32,
    kind: String,
    size: Option<(u16, u16)>,
}

fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    n.children().find(|c| c.has_tag_name("node") && c.attribute("name") == Some(name))
}

fn streams(xml: &str) -> Result<Vec<Stream>, Bad> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| Bad::Invalid(format!("the header's stream description is not valid XML ({e})")))?;
    let attr = |n: roxmltree::Node, key: &str| {
        n.children().find(|c| c.has_tag_name("attr") && c.attribute("key") == Some(key)).and_then(|c| c.text()).map(str::trim).map(String::from)
    };
    let Some(out) = doc.descendants().find(|n| n.has_tag_name("node") && n.attribute("name") == Some("outInfo")) else {
        return Err(Bad::Invalid("the header's description has no `outInfo` node listing the streams".into()));
    };
    let mut list = Vec::new();
    for s in out.children().filter(|c| c.has_tag_name("node")) {
        let Some(id) = s.attribute("name").and_then(|n| n.parse::<i32>().ok()) else { continue };
        let kind = attr(s, "typeIdentifier").unwrap_or_default();
        let size = child(s, "info").and_then(|i| {
            let w = attr(i, "sizeX")?.parse::<u16>().ok()?;
            let h = attr(i, "sizeY")?.parse::<u16>().ok()?;
            Some((w, h))
        });
        list.push(Stream { id, kind, size });
    }
    Ok(list)
}

fn decompress(raw: &[u8], compression: i32, at: usize) -> Result<Vec<u8>, Bad> {
    let mut out = Vec::new();
    let result = match compression {
        0 => return Ok(raw.to_vec()),
        1 | 2 => lz4_flex::frame::FrameDecoder::new(raw).take(MAX_PACKET_BYTES + 1).read_to_end(&mut out).map_err(|e| e.to_string()),
        3 | 4 => match ruzstd::decoding::StreamingDecoder::new(raw) {
            Ok(d) => d.take(MAX_PACKET_BYTES + 1).read_to_end(&mut out).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        },
        c => return Err(Bad::Invalid(format!("unknown compression {c} in the header (0–4 are defined)"))),
    };
    result.map_err(|e| Bad::Invalid(format!("the packet at byte {at} does not decompress ({e}): the file is corrupt")))?;
    if out.len() as u64 > MAX_PACKET_BYTES {
        return Err(Bad::TooLarge(format!("the packet at byte {at}, decompressed"), format!("{MAX_PACKET_BYTES} bytes")));
    }
    Ok(out)
}

/// Decodes an AEDAT 4 file.
pub(crate) fn decode(bytes: &[u8]) -> Decoded<Recording> {
    let mut c = Cursor::new(bytes);
    if c.take(MAGIC.len(), "the magic line")? != MAGIC {
        return Err(Bad::Invalid("the file does not start with `#!AER-DAT4.0` (an AEDAT 3.1 file? name it .aedat)".into()));
    }
    let n = c.u32_le("the header's length")? as usize;
    let header = c.take(n, "the header")?;
    let table = Table::root(header, "header")?;
    let compression = table.i32(0, 0)?;
    let data_table = table.i64(1, -1)?;
    let xml = table.string(2)?.ok_or_else(|| Bad::Invalid("the header has no stream description".into()))?;
    let list = streams(xml)?;
    let Some(stream) = list.iter().filter(|s| s.kind == "EVTS").min_by_key(|s| s.id) else {
        return Err(Bad::Invalid(format!(
            "no polarity-event stream (typeIdentifier EVTS) among the {} streams of the description",
            list.len()
        )));
    };
    let end = if data_table >= 0 && (data_table as u64) <= bytes.len() as u64 { data_table as usize } else { bytes.len() };
    let mut events = Events::default();
    let mut total = 0u64;
    while c.pos < end {
        let at = c.pos;
        let id = c.i32_le("a packet's stream id")?;
        let size = c.i32_le("a packet's size")?;
        if size < 0 {
            return Err(Bad::Invalid(format!("the packet at byte {at} has size {size}")));
        }
        let raw = c.take(size as usize, &format!("the packet at byte {at}"))?;
        if id != stream.id {
            continue;
        }
        let buf = decompress(raw, compression, at)?;
        if buf.len() < 12 || &buf[8..12] != b"EVTS" {
            return Err(Bad::Invalid(format!("the packet at byte {at} of event stream {id} is not an EVTS flatbuffer")));
        }
        let packet = Table::root(&buf[4..], "event packet")?;
        let Some((elems, count)) = packet.vector(0, 16)? else { continue };
        total += count as u64;
        check_events(total, "the event packets")?;
        events.reserve(count.min(MAX_EVENTS));
        for e in elems.chunks_exact(16) {
            let (x, y) = (le_u16(e, 8) as i16, le_u16(e, 10) as i16);
            if x < 0 || y < 0 {
                return Err(Bad::Invalid(format!("the packet at byte {at} holds an event at x {x}, y {y}")));
            }
            events.push(le_i64(e, 0), x as u16, y as u16, e[12] != 0);
        }
    }
    Ok(Recording { format: Format::Aedat4, sensor: stream.size, events })
}

/// How [`write()`] compresses packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Stored.
    None,
    /// LZ4 frames (DV's default).
    Lz4,
    /// Zstandard frames.
    Zstd,
}

/// The IOHeader flatbuffer: compression, no data table, the stream description.
fn header_table(compression: i32, xml: &str) -> Vec<u8> {
    let mut b = Vec::with_capacity(48 + xml.len());
    b.extend_from_slice(&16u32.to_le_bytes()); // root table at 16
    for v in [10u16, 20, 4, 8, 16, 0] {
        b.extend_from_slice(&v.to_le_bytes()); // vtable at 4 (+2 bytes padding)
    }
    b.extend_from_slice(&12i32.to_le_bytes()); // table at 16: its vtable 12 bytes before
    b.extend_from_slice(&compression.to_le_bytes());
    b.extend_from_slice(&(-1i64).to_le_bytes());
    b.extend_from_slice(&4u32.to_le_bytes()); // the string 4 bytes after this field (at 36)
    b.extend_from_slice(&(xml.len() as u32).to_le_bytes());
    b.extend_from_slice(xml.as_bytes());
    b.push(0);
    b
}

/// An EVTS event packet, size-prefixed.
fn event_packet(events: &Events, range: std::ops::Range<usize>) -> Vec<u8> {
    let n = range.len();
    let mut b = Vec::with_capacity(36 + 16 * n);
    let body = 28 + 16 * n; // everything after the size prefix (positions below count from there)
    b.extend_from_slice(&(body as u32).to_le_bytes());
    b.extend_from_slice(&16u32.to_le_bytes()); // root table at 16
    b.extend_from_slice(b"EVTS");
    for v in [6u16, 8, 4, 0] {
        b.extend_from_slice(&v.to_le_bytes()); // vtable at 8 (+2 bytes padding)
    }
    b.extend_from_slice(&8i32.to_le_bytes()); // table at 16: its vtable 8 bytes before
    b.extend_from_slice(&4u32.to_le_bytes()); // the vector 4 bytes after this field (at 24)
    b.extend_from_slice(&(n as u32).to_le_bytes()); // its count, then the 16-byte structs from 28
    for i in range {
        b.extend_from_slice(&events.t[i].to_le_bytes());
        b.extend_from_slice(&(events.x[i] as i16).to_le_bytes());
        b.extend_from_slice(&(events.y[i] as i16).to_le_bytes());
        b.extend_from_slice(&[events.p[i] as u8, 0, 0, 0]);
    }
    b
}

/// Writes `events` as an AEDAT 4 file with one polarity stream of a `width × height` sensor, in
/// packets of at most `per_packet` events (no data table: readers then read to the end).
///
/// # Errors
/// If a coordinate does not fit the format's i16, or compression fails.
pub fn write(events: &Events, width: u16, height: u16, per_packet: usize, compression: Compression) -> Result<Vec<u8>, String> {
    if let Some(i) = (0..events.len()).find(|&i| events.x[i] > i16::MAX as u16 || events.y[i] > i16::MAX as u16) {
        return Err(format!("event {i} (x {}, y {}) cannot be stored in AEDAT 4", events.x[i], events.y[i]));
    }
    let (code, name) = match compression {
        Compression::None => (0, "NONE"),
        Compression::Lz4 => (1, "LZ4"),
        Compression::Zstd => (3, "ZSTD"),
    };
    let xml = format!(
        "<dv version=\"2.0\"><node name=\"outInfo\" path=\"/mainModule/output/\"><node name=\"0\" path=\"/mainModule/output/0/\">\
         <attr key=\"compression\" type=\"string\">{name}</attr><attr key=\"typeIdentifier\" type=\"string\">EVTS</attr>\
         <node name=\"info\" path=\"/mainModule/output/0/info/\"><attr key=\"sizeX\" type=\"int\">{width}</attr>\
         <attr key=\"sizeY\" type=\"int\">{height}</attr></node></node></node></dv>"
    );
    let header = header_table(code, &xml);
    let mut out = Vec::with_capacity(64 + header.len() + events.len() * 16);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    let per_packet = per_packet.max(1);
    let mut i = 0;
    while i < events.len() {
        let j = (i + per_packet).min(events.len());
        let packet = event_packet(events, i..j);
        let stored = match compression {
            Compression::None => packet,
            Compression::Lz4 => {
                let mut enc = lz4_flex::frame::FrameEncoder::new(Vec::new());
                std::io::Write::write_all(&mut enc, &packet).map_err(|e| e.to_string())?;
                enc.finish().map_err(|e| e.to_string())?
            }
            Compression::Zstd => ruzstd::encoding::compress_to_vec(&packet[..], ruzstd::encoding::CompressionLevel::Fastest),
        };
        out.extend_from_slice(&0i32.to_le_bytes());
        out.extend_from_slice(&(stored.len() as i32).to_le_bytes());
        out.extend_from_slice(&stored);
        i = j;
    }
    Ok(out)
}
