//! Prophesee RAW EVT 2.0: `%` header lines, then 32-bit little-endian words whose top 4 bits
//! give the type:
//!
//! | type | word |
//! |---|---|
//! | 0x0 CD_OFF, 0x1 CD_ON | bits 22–27 the timestamp's low 6 bits, 11–21 x, 0–10 y |
//! | 0x8 EVT_TIME_HIGH | bits 0–27: the timestamp's bits 6–33 |
//! | 0xA EXT_TRIGGER, 0xE OTHERS, 0xF CONTINUED | skipped |
//!
//! `t = time_high << 6 | low` (µs). Events before the first EVT_TIME_HIGH have no time and are
//! dropped, as Metavision's decoder does; the other types are reserved and refused.

use crate::bytes::{le_u32, Cursor};
use crate::{check_events, Bad, Decoded, Events, Format, Recording};

/// Decodes an EVT 2.0 file.
pub(crate) fn decode(bytes: &[u8]) -> Decoded<Recording> {
    let h = super::header(bytes);
    let mut c = Cursor::at(bytes, h.end);
    let n = c.remaining() / 4;
    let words = c.take(n * 4, "the words")?;
    let mut events = Events::with_capacity(check_events(n as u64, "the file's length")?);
    let mut high: Option<i64> = None;
    for (i, w) in words.chunks_exact(4).map(|b| le_u32(b, 0)).enumerate() {
        match w >> 28 {
            0x0 | 0x1 => {
                if let Some(hi) = high {
                    let t = (hi << 6) | ((w >> 22) & 0x3f) as i64;
                    events.push(t, ((w >> 11) & 0x7ff) as u16, (w & 0x7ff) as u16, w >> 28 == 1);
                }
            }
            0x8 => high = Some((w & 0x0fff_ffff) as i64),
            0xa | 0xe | 0xf => {}
            k => {
                return Err(Bad::Invalid(format!(
                    "word {i} (byte {}) has the reserved type {k:#x} (a corrupt file, or not EVT 2.0: check the header's `evt` line)",
                    h.end + 4 * i
                )))
            }
        }
    }
    Ok(Recording { format: Format::Evt2, sensor: h.sensor(), events })
}

/// Writes `events` (time-ordered, t ≥ 0) as an EVT 2.0 file of a `width × height` sensor.
///
/// # Errors
/// If an event cannot be stored (negative or decreasing time, a coordinate beyond 11 bits).
pub fn write(events: &Events, width: u16, height: u16) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(128 + events.len() * 8);
    super::write_header(&mut out, &["evt 2.0".into(), format!("format EVT2;height={height};width={width}"), "end".into()]);
    let mut high = -1i64;
    let mut last = 0i64;
    for i in 0..events.len() {
        let (t, x, y) = (events.t[i], events.x[i], events.y[i]);
        if t < last || t >= 1 << 34 || x >= 1 << 11 || y >= 1 << 11 {
            return Err(format!("event {i} (t {t}, x {x}, y {y}) cannot be stored in EVT 2.0"));
        }
        last = t;
        if t >> 6 != high {
            high = t >> 6;
            out.extend_from_slice(&((0x8u32 << 28) | high as u32).to_le_bytes());
        }
        let w = ((events.p[i] as u32) << 28) | (((t & 0x3f) as u32) << 22) | ((x as u32) << 11) | y as u32;
        out.extend_from_slice(&w.to_le_bytes());
    }
    Ok(out)
}
