//! Prophesee DAT (ATIS / Gen 1 cameras; N-CARS): `%` header lines, then one byte event type
//! (0 = CD, change detection) and one byte event size (8), then 8-byte events:
//! `u32 t` (µs) and `u32` with x in bits 0–13, y in bits 14–27, polarity in bits 28–31.

use crate::bytes::{le_u32, Cursor};
use crate::{check_events, Bad, Decoded, Events, Format, Recording};

const CD: u8 = 0;

/// Decodes a DAT file.
pub(crate) fn decode(bytes: &[u8]) -> Decoded<Recording> {
    let h = super::header(bytes);
    let mut c = Cursor::at(bytes, h.end);
    let [kind, size] = c.array::<2>("the event type and size after the header")?;
    if kind != CD || size != 8 {
        return Err(Bad::Invalid(format!(
            "event type {kind} of {size} bytes: only CD events (type 0, 8 bytes) are read (an external-trigger or EM file?)"
        )));
    }
    let n = c.remaining() / 8;
    if !c.remaining().is_multiple_of(8) {
        return Err(crate::bytes::truncated("the last event", h.end + 2 + n * 8, 8, c.remaining() % 8));
    }
    let data = c.take(n * 8, "the events")?;
    let mut events = Events::with_capacity(check_events(n as u64, "the file's length")?);
    for e in data.chunks_exact(8) {
        let w = le_u32(e, 4);
        events.push(le_u32(e, 0) as i64, (w & 0x3fff) as u16, ((w >> 14) & 0x3fff) as u16, (w >> 28) != 0);
    }
    Ok(Recording { format: Format::Dat, sensor: h.sensor(), events })
}

/// Writes `events` as a DAT file of a `width × height` sensor.
///
/// # Errors
/// If an event cannot be stored (time outside 0..2^32 µs, a coordinate beyond 14 bits).
pub fn write(events: &Events, width: u16, height: u16) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(128 + events.len() * 8);
    let lines = ["Data file containing CD events.".to_string(), "Version 2".into(), format!("Width {width}"), format!("Height {height}")];
    super::write_header(&mut out, &lines);
    out.extend_from_slice(&[CD, 8]);
    for i in 0..events.len() {
        let (t, x, y) = (events.t[i], events.x[i], events.y[i]);
        if !(0..1 << 32).contains(&t) || x >= 1 << 14 || y >= 1 << 14 {
            return Err(format!("event {i} (t {t}, x {x}, y {y}) cannot be stored in a DAT file"));
        }
        out.extend_from_slice(&(t as u32).to_le_bytes());
        out.extend_from_slice(&((x as u32) | ((y as u32) << 14) | ((events.p[i] as u32) << 28)).to_le_bytes());
    }
    Ok(out)
}
