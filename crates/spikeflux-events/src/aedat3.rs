//! AEDAT 3.1 (jAER / cAER; the format of DVS128 Gesture's recordings), polarity events.
//!
//! From the format's specification (inivation, "AEDAT 3.1"): a text header of lines starting
//! with `#`, the first `#!AER-DAT3.1`, the last `#!END-HEADER`; then packets, each a 28-byte
//! little-endian header
//!
//! ```text
//! u16 eventType  u16 eventSource  i32 eventSize  i32 eventTSOffset  i32 eventTSOverflow
//! i32 eventCapacity  i32 eventNumber  i32 eventValid
//! ```
//!
//! followed by `eventCapacity × eventSize` bytes. A polarity event (type 1) is 8 bytes: a `u32`
//! with bit 0 = valid, bit 1 = polarity, bits 2–16 = y, bits 17–31 = x, then the `i32` timestamp
//! (µs) whose full value is `eventTSOverflow << 31 | timestamp`. Packets of other types (special,
//! frames, IMU) are skipped; of the polarity packets' slots the first `eventNumber` are read and
//! invalid events (bit 0 clear) dropped. `#Source N: DVS128` (and the DAVIS names) give the sensor
//! size.

use crate::bytes::{le_u32, Cursor};
use crate::{check_events, Bad, Decoded, Events, Format, Recording};

/// The first line's start.
pub const MAGIC: &[u8] = b"#!AER-DAT3.1";
const END_HEADER: &[u8] = b"#!END-HEADER";
const POLARITY: u16 = 1;
const HEADER_BYTES: usize = 28;

/// Sensor sizes of the cameras an AEDAT 3.1 `#Source` line names.
fn sensor_of(source: &str) -> Option<(u16, u16)> {
    let s = source.to_ascii_uppercase();
    [("DVS128", (128, 128)), ("DAVIS240", (240, 180)), ("DAVIS346", (346, 260)), ("DAVIS640", (640, 480)), ("DVXPLORER", (640, 480))]
        .iter()
        .find(|(name, _)| s.contains(name))
        .map(|&(_, size)| size)
}

/// Decodes an AEDAT 3.1 file.
pub(crate) fn decode(bytes: &[u8]) -> Decoded<Recording> {
    let mut c = Cursor::new(bytes);
    let first = c.line().unwrap_or_default();
    if !first.starts_with(MAGIC) {
        return Err(Bad::Invalid(format!(
            "the first line is {:?}, not `#!AER-DAT3.1` (an AEDAT 2 or 4 file? name AEDAT 4 files .aedat4)",
            String::from_utf8_lossy(&first[..first.len().min(40)])
        )));
    }
    let mut sensor = None;
    loop {
        if c.peek() != Some(b'#') {
            return Err(Bad::Invalid(format!(
                "the header ends at byte {} without a `#!END-HEADER` line (truncated or not AEDAT 3.1)",
                c.pos
            )));
        }
        let line = c.line().unwrap_or_default();
        if line.starts_with(END_HEADER) {
            break;
        }
        let text = String::from_utf8_lossy(line);
        if let Some(rest) = text.strip_prefix("#Source ") {
            if let Some((_, name)) = rest.split_once(':') {
                sensor = sensor.or_else(|| sensor_of(name.trim()));
            }
        }
    }
    // at most one event per 8 bytes
    let mut events = Events::with_capacity(check_events((c.remaining() / 8) as u64, "the file's length")?);
    while c.remaining() > 0 {
        let at = c.pos;
        let h = c.take(HEADER_BYTES, "a packet header")?;
        let kind = u16::from_le_bytes([h[0], h[1]]);
        let field = |i: usize| i32::from_le_bytes([h[4 * i], h[4 * i + 1], h[4 * i + 2], h[4 * i + 3]]);
        let (size, ts_offset, overflow, capacity, number) = (field(1), field(2), field(3), field(4), field(5));
        if size <= 0 || capacity < 0 || number < 0 || number > capacity || overflow < 0 {
            return Err(Bad::Invalid(format!(
                "the packet at byte {at} has eventSize {size}, eventCapacity {capacity}, eventNumber {number}, eventTSOverflow {overflow} (corrupt packet header)"
            )));
        }
        let len = (size as u64) * (capacity as u64);
        if len > c.remaining() as u64 {
            return Err(crate::bytes::truncated(&format!("the packet at byte {at} ({capacity} events of {size} bytes)"), c.pos, len as usize, c.remaining()));
        }
        let data = c.take(len as usize, "packet data")?;
        if kind != POLARITY {
            continue;
        }
        if size < 8 || !(0..=size - 4).contains(&ts_offset) {
            return Err(Bad::Invalid(format!("the polarity packet at byte {at} has eventSize {size} and eventTSOffset {ts_offset} (8 and 4 in AEDAT 3.1)")));
        }
        let (size, ts_offset) = (size as usize, ts_offset as usize);
        let base = (overflow as i64) << 31;
        for e in data.chunks_exact(size).take(number as usize) {
            let word = le_u32(e, 0);
            if word & 1 == 0 {
                continue;
            }
            let ts = le_u32(e, ts_offset) & 0x7fff_ffff;
            events.push(base | ts as i64, ((word >> 17) & 0x7fff) as u16, ((word >> 2) & 0x7fff) as u16, (word >> 1) & 1 == 1);
        }
    }
    Ok(Recording { format: Format::Aedat31, sensor, events })
}

/// Writes `events` as an AEDAT 3.1 file from a camera named `source` (e.g. "DVS128"), in
/// polarity packets of at most `per_packet` events, a new packet wherever the timestamp's
/// overflow count changes.
///
/// # Errors
/// If an event has a negative time or a coordinate beyond 15 bits (the format cannot hold it):
/// the message names the event.
pub fn write(events: &Events, source: &str, per_packet: usize) -> Result<Vec<u8>, String> {
    let per_packet = per_packet.max(1);
    let mut out = Vec::with_capacity(200 + events.len() * 8 + (events.len() / per_packet + 1) * HEADER_BYTES);
    out.extend_from_slice(b"#!AER-DAT3.1\r\n#Format: RAW\r\n");
    out.extend_from_slice(format!("#Source 1: {source}\r\n").as_bytes());
    out.extend_from_slice(b"#!END-HEADER\r\n");
    let mut i = 0;
    while i < events.len() {
        let overflow = events.t[i] >> 31;
        let mut j = i;
        while j < events.len() && j - i < per_packet && events.t[j] >> 31 == overflow {
            j += 1;
        }
        let n = (j - i) as i32;
        for v in [POLARITY as i32 | (1 << 16), 8, 4, overflow as i32, n, n, n] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for k in i..j {
            if events.t[k] < 0 || events.x[k] >= 1 << 15 || events.y[k] >= 1 << 15 {
                return Err(format!("event {k} (t {}, x {}, y {}) cannot be stored in AEDAT 3.1", events.t[k], events.x[k], events.y[k]));
            }
            let word = ((events.x[k] as u32) << 17) | ((events.y[k] as u32) << 2) | ((events.p[k] as u32) << 1) | 1;
            out.extend_from_slice(&word.to_le_bytes());
            out.extend_from_slice(&((events.t[k] & 0x7fff_ffff) as u32).to_le_bytes());
        }
        i = j;
    }
    Ok(out)
}
