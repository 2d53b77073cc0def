//! Prophesee RAW EVT 3.0: `%` header lines, then 16-bit little-endian words whose top 4 bits
//! give the type; the decoder keeps the current y, the current time and a vector base:
//!
//! | type | word (bits 0–11) |
//! |---|---|
//! | 0x0 EVT_ADDR_Y | y in bits 0–10 (bit 11: master/slave, ignored) |
//! | 0x2 EVT_ADDR_X | x in bits 0–10, polarity bit 11: one event at (x, y) |
//! | 0x3 VECT_BASE_X | the vector base x (bits 0–10) and polarity (bit 11) |
//! | 0x4 VECT_12, 0x5 VECT_8 | a 12- / 8-bit mask: an event at base + i for each set bit i; base += 12 / 8 |
//! | 0x6 EVT_TIME_LOW | the time's low 12 bits |
//! | 0x8 EVT_TIME_HIGH | the time's bits 12–23 |
//! | 0x7 CONTINUED_4, 0xA EXT_TRIGGER, 0xE OTHERS, 0xF CONTINUED_12 | skipped |
//!
//! The 24-bit time wraps every 2^24 µs (16.8 s): a TIME_HIGH smaller than the one before counts
//! a wrap, so `t` grows without bound. Events before the first TIME_HIGH have no time and are
//! dropped; the other types are reserved and refused. A file may decode to up to 12 events per
//! word; the count is checked as it grows.

use crate::bytes::{le_u16, Cursor};
use crate::{check_events, Bad, Decoded, Events, Format, Recording, MAX_EVENTS};

/// Decodes an EVT 3.0 file.
pub(crate) fn decode(bytes: &[u8]) -> Decoded<Recording> {
    let h = super::header(bytes);
    let mut c = Cursor::at(bytes, h.end);
    let n = c.remaining() / 2;
    let words = c.take(n * 2, "the words")?;
    let mut events = Events::with_capacity(n.min(MAX_EVENTS));
    let (mut y, mut base, mut pol) = (0u16, 0u16, false);
    let (mut low, mut high, mut wraps) = (0i64, -1i64, 0i64);
    let mut timed = false;
    for (i, w) in words.chunks_exact(2).map(|b| le_u16(b, 0)).enumerate() {
        let v = w & 0xfff;
        // the current time, needed only where an event is emitted
        let now = || (wraps << 24) | (high.max(0) << 12) | low;
        match w >> 12 {
            0x0 => y = v & 0x7ff,
            0x2 => {
                if timed {
                    events.push(now(), v & 0x7ff, y, v & 0x800 != 0);
                }
            }
            0x3 => {
                base = v & 0x7ff;
                pol = v & 0x800 != 0;
            }
            0x4 | 0x5 => {
                let width = if w >> 12 == 0x4 { 12 } else { 8 };
                if timed {
                    let t = now();
                    for b in 0..width {
                        if v & (1 << b) != 0 {
                            events.push(t, base.saturating_add(b), y, pol);
                        }
                    }
                    if events.len() > MAX_EVENTS {
                        check_events(events.len() as u64, "the decoded vectors")?;
                    }
                }
                // (a corrupt run of vectors cannot overflow it)
                base = base.saturating_add(width);
            }
            0x6 => low = v as i64,
            0x8 => {
                let v = v as i64;
                if high >= 0 && v < high {
                    wraps += 1;
                }
                high = v;
                timed = true;
            }
            0x7 | 0xa | 0xe | 0xf => {}
            k => {
                return Err(Bad::Invalid(format!(
                    "word {i} (byte {}) has the reserved type {k:#x} (a corrupt file, or not EVT 3.0: check the header's `evt` line)",
                    h.end + 2 * i
                )))
            }
        }
    }
    Ok(Recording { format: Format::Evt3, sensor: h.sensor(), events })
}

/// Writes `events` (time-ordered, t ≥ 0) as an EVT 3.0 file of a `width × height` sensor, one
/// EVT_ADDR_X per event (no vectors).
///
/// # Errors
/// If an event cannot be stored (negative or decreasing time, a coordinate beyond 11 bits).
pub fn write(events: &Events, width: u16, height: u16) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(128 + events.len() * 8);
    super::write_header(&mut out, &["evt 3.0".into(), format!("format EVT3;height={height};width={width}"), "end".into()]);
    let mut put = |w: u16| out.extend_from_slice(&w.to_le_bytes());
    // what the decoder will have seen: wraps counted, the last TIME_HIGH, TIME_LOW and row
    let (mut wraps, mut high, mut low, mut row, mut last) = (0i64, -1i64, -1i64, -1i64, 0i64);
    for i in 0..events.len() {
        let (t, x, y) = (events.t[i], events.x[i], events.y[i]);
        if t < last || x >= 1 << 11 || y >= 1 << 11 {
            return Err(format!("event {i} (t {t}, x {x}, y {y}) cannot be stored in EVT 3.0"));
        }
        last = t;
        // each wrap: a TIME_HIGH of 0xfff, then 0 (smaller: the decoder counts a wrap)
        while wraps < t >> 24 {
            put((0x8 << 12) | 0xfff);
            put(0x8 << 12);
            (wraps, high, low) = (wraps + 1, 0, -1);
        }
        let (h, l) = ((t >> 12) & 0xfff, t & 0xfff);
        if h != high {
            put((0x8 << 12) | h as u16);
            (high, low) = (h, -1);
        }
        if l != low {
            put((0x6 << 12) | l as u16);
            low = l;
        }
        if y as i64 != row {
            put(y);
            row = y as i64;
        }
        put((0x2 << 12) | ((events.p[i] as u16) << 11) | x);
    }
    Ok(out)
}
