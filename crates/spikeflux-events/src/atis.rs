//! The ATIS `.bin` format of N-MNIST and N-Caltech101 (Orchard et al. 2015).
//!
//! Five bytes per event, no header: `x` (u8), `y` (u8), then 24 bits big-endian whose top bit is
//! the polarity and whose low 23 bits are the timestamp in µs. An event with `y = 240` is not an
//! event but marks that the 23-bit clock wrapped: every later timestamp gains 2^13 µs per marker,
//! as the datasets' own reader (and tonic's `read_mnist_file`) has it.

use crate::{check_events, Bad, Decoded, Events, Format, Recording};

const OVERFLOW_Y: u8 = 240;
const OVERFLOW_US: i64 = 1 << 13;

/// Decodes an ATIS `.bin` file.
pub(crate) fn decode(bytes: &[u8]) -> Decoded<Recording> {
    if !bytes.len().is_multiple_of(5) {
        return Err(Bad::Invalid(format!(
            "{} bytes is not a whole number of 5-byte events (truncated by {} bytes: copy the file again)",
            bytes.len(),
            bytes.len() % 5
        )));
    }
    let mut events = Events::with_capacity(check_events((bytes.len() / 5) as u64, "the file's length")?);
    let mut offset = 0i64;
    for e in bytes.chunks_exact(5) {
        if e[1] == OVERFLOW_Y {
            offset += OVERFLOW_US;
            continue;
        }
        let t = (((e[2] & 0x7f) as i64) << 16) | ((e[3] as i64) << 8) | e[4] as i64;
        events.push(t + offset, e[0] as u16, e[1] as u16, e[2] & 0x80 != 0);
    }
    Ok(Recording { format: Format::AtisBin, sensor: None, events })
}

/// Writes `events` as an ATIS `.bin` file, with the overflow markers its clock needs.
///
/// # Errors
/// If an event cannot be stored (negative or decreasing time, x above 255, y at or above 240).
pub fn write(events: &Events) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(events.len() * 5);
    let mut offset = 0i64;
    for i in 0..events.len() {
        let (t, x, y) = (events.t[i], events.x[i], events.y[i]);
        if t < offset || x > 255 || y >= OVERFLOW_Y as u16 {
            return Err(format!("event {i} (t {t}, x {x}, y {y}) cannot be stored in an ATIS .bin file"));
        }
        while t - offset >= 1 << 23 {
            out.extend_from_slice(&[0, OVERFLOW_Y, 0, 0, 0]);
            offset += OVERFLOW_US;
        }
        let r = (t - offset) as u32 | ((events.p[i] as u32) << 23);
        out.extend_from_slice(&[x as u8, y as u8, (r >> 16) as u8, (r >> 8) as u8, r as u8]);
    }
    Ok(out)
}
