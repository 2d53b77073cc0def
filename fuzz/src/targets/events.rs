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

/// The columns of `ev` as little-endian bytes: x, y as u16, t as i64, p as u8.
fn columns(ev: &Events) -> [Vec<u8>; 4] {
    [
        ev.x.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ev.y.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ev.t.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ev.p.iter().map(|&v| v as u8).collect(),
    ]
}

/// x/y/t/p datasets at the root and in `events/`, written by the project's HDF5 writer.
pub fn h5_seeds() -> Vec<Vec<u8>> {
    use spikeflux_core::data::h5write::{Data, Elem, H5Writer};
    ["", "events/"]
        .iter()
        .map(|g| {
            let [x, y, t, p] = columns(&events(120, 346, 260, 0));
            let mut w = H5Writer::new();
            w.dataset(&format!("{g}x"), Data::Fixed(Elem::U16, x));
            w.dataset(&format!("{g}y"), Data::Fixed(Elem::U16, y));
            w.dataset(&format!("{g}t"), Data::Fixed(Elem::I64, t));
            w.dataset(&format!("{g}p"), Data::Fixed(Elem::U8, p));
            w.finish().expect("our writer encodes a valid file")
        })
        .collect()
}

/// NPZ archives: x/y/t/p members stored and deflated, and one structured member.
pub fn npz_seeds() -> Vec<Vec<u8>> {
    use std::io::Write;
    let ev = events(120, 128, 128, 0);
    let [x, y, t, p] = columns(&ev);
    let n = ev.len();
    let mut seeds = Vec::new();
    for method in [zip::CompressionMethod::Stored, zip::CompressionMethod::Deflated] {
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(method);
        for (name, descr, data) in [("x", "<u2", &x), ("y", "<u2", &y), ("t", "<i8", &t), ("p", "|u1", &p)] {
            z.start_file(format!("{name}.npy"), opts).expect("in memory");
            z.write_all(&npy::write_plain(descr, &[n], data)).expect("in memory");
        }
        seeds.push(z.finish().expect("in memory").into_inner());
    }
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    z.start_file("arr_0.npy", zip::write::SimpleFileOptions::default()).expect("in memory");
    z.write_all(&npy::write_events(&ev)).expect("in memory");
    seeds.push(z.finish().expect("in memory").into_inner());
    seeds
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

pub fn h5(b: &[u8]) -> Outcome {
    read(b, Format::Hdf5, "input.h5")
}

pub fn npz(b: &[u8]) -> Outcome {
    read(b, Format::Npz, "input.npz")
}
