//! Targets for event-camera files (spikeflux_events::read_bytes, as `data info` reads them):
//! seeds written by the crate's own writers (a few hundred events each, with the clock wraps
//! and overflow markers the formats have).

use std::path::Path;

use spikeflux_events::{aedat3, aedat4, atis, npy, prophesee, read_bytes, Events, Format};

use super::Outcome;

/// Time-ordered events on a `w × h` sensor; a jump of `jump` µs halfway.
fn events(n: usize, w: u16, h: u16, jump: i64) -> Events {
    let mut e = Events::default();
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut t = 0i64;
    for i in 0..n {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        t += (s % 97) as i64 + if i == n / 2 { jump } else { 0 };
        e.push(t, (s >> 8) as u16 % w, (s >> 24) as u16 % h, s & 1 == 1);
    }
    e
}

fn ok(v: Result<Vec<u8>, String>) -> Vec<u8> {
    v.expect("the seed's events fit the format")
}

pub fn aedat3_seeds() -> Vec<Vec<u8>> {
    vec![ok(aedat3::write(&events(300, 128, 128, 0), "DVS128", 100)), ok(aedat3::write(&events(200, 128, 128, 3_000_000_000), "DVS128", 64))]
}

pub fn aedat4_seeds() -> Vec<Vec<u8>> {
    let e = events(300, 346, 260, 0);
    [aedat4::Compression::None, aedat4::Compression::Lz4, aedat4::Compression::Zstd].into_iter().map(|c| ok(aedat4::write(&e, 346, 260, 120, c))).collect()
}

pub fn atis_seeds() -> Vec<Vec<u8>> {
    vec![ok(atis::write(&events(300, 34, 34, 9_000_000)))]
}

pub fn dat_seeds() -> Vec<Vec<u8>> {
    vec![ok(prophesee::dat::write(&events(300, 304, 240, 0), 304, 240))]
}

pub fn evt2_seeds() -> Vec<Vec<u8>> {
    vec![ok(prophesee::evt2::write(&events(300, 640, 480, 0), 640, 480))]
}

pub fn evt3_seeds() -> Vec<Vec<u8>> {
    vec![ok(prophesee::evt3::write(&events(300, 1280, 720, 20_000_000), 1280, 720))]
}

pub fn npy_seeds() -> Vec<Vec<u8>> {
    let rows: Vec<u8> = (0..40).flat_map(|i| [i as f64 % 128.0, 3.0, (i % 2) as f64, i as f64 * 0.5]).flat_map(f64::to_le_bytes).collect();
    vec![npy::write_events(&events(200, 128, 128, 0)), npy::write_plain("<f8", &[40, 4], &rows)]
}

fn read(b: &[u8], format: Format, name: &str) -> Outcome {
    read_bytes(b, format, Path::new(name)).map(|r| r.events.heap_bytes()).map_err(|e| e.to_string())
}

pub fn aedat3(b: &[u8]) -> Outcome {
    read(b, Format::Aedat31, "input.aedat")
}

pub fn aedat4(b: &[u8]) -> Outcome {
    read(b, Format::Aedat4, "input.aedat4")
}

pub fn atis(b: &[u8]) -> Outcome {
    read(b, Format::AtisBin, "input.bin")
}

pub fn dat(b: &[u8]) -> Outcome {
    read(b, Format::Dat, "input.dat")
}

pub fn evt2(b: &[u8]) -> Outcome {
    read(b, Format::Evt2, "input.raw")
}

pub fn evt3(b: &[u8]) -> Outcome {
    read(b, Format::Evt3, "input.raw")
}

pub fn npy(b: &[u8]) -> Outcome {
    read(b, Format::Npy, "input.npy")
}
