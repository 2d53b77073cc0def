//! Every format written and read back; truncated, corrupted and absurd inputs refused with an
//! error (never a panic); detection by magic and extension.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use spikeflux_events::{aedat3, aedat4, atis, npy, prophesee, read_bytes, Error, Events, Format};

/// A small deterministic generator (xorshift), so the tests need no RNG crate.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// `n` time-ordered events on a `w × h` sensor, times from `t0` in steps of up to `dt` µs.
fn events(n: usize, w: u16, h: u16, t0: i64, dt: u64, seed: u64) -> Events {
    let mut g = Gen(seed | 1);
    let mut e = Events::default();
    let mut t = t0;
    for _ in 0..n {
        t += (g.next() % (dt + 1)) as i64;
        e.push(t, (g.next() % w as u64) as u16, (g.next() % h as u64) as u16, g.next().is_multiple_of(2));
    }
    e
}

fn origin() -> &'static Path {
    Path::new("input")
}

/// A written file: its format, the events written, the bytes, the sensor size it states.
type Written = (Format, Events, Vec<u8>, Option<(u16, u16)>);

/// Each writer with what it can store.
fn written() -> Vec<Written> {
    // long gaps: the AEDAT 3.1 overflow (2^31 µs), EVT 3.0's 24-bit wrap, ATIS markers
    let mut gaps = events(300, 128, 128, 0, 50, 7);
    for i in 150..300 {
        gaps.t[i] += 3_000_000_000;
    }
    let dvs = events(5000, 128, 128, 0, 200, 1);
    let big = events(4000, 1280, 720, 10_000_000, 30, 2);
    let mut evt3_wraps = events(2000, 640, 480, 0, 40_000, 3); // ~40 s: two wraps
    evt3_wraps.t.iter_mut().for_each(|t| *t += 5);
    let nmnist = events(3000, 34, 34, 0, 8000, 4); // past 2^23 µs: overflow markers
    vec![
        (Format::Aedat31, dvs.clone(), aedat3::write(&dvs, "DVS128", 1000).unwrap(), Some((128, 128))),
        (Format::Aedat31, gaps.clone(), aedat3::write(&gaps, "DVS128", 64).unwrap(), Some((128, 128))),
        (Format::Aedat4, big.clone(), aedat4::write(&big, 1280, 720, 700, aedat4::Compression::Lz4).unwrap(), Some((1280, 720))),
        (Format::Aedat4, dvs.clone(), aedat4::write(&dvs, 128, 128, 5000, aedat4::Compression::None).unwrap(), Some((128, 128))),
        (Format::Aedat4, dvs.clone(), aedat4::write(&dvs, 128, 128, 900, aedat4::Compression::Zstd).unwrap(), Some((128, 128))),
        (Format::AtisBin, nmnist.clone(), atis::write(&nmnist).unwrap(), None),
        (Format::Dat, big.clone(), prophesee::dat::write(&big, 1280, 720).unwrap(), Some((1280, 720))),
        (Format::Evt2, big.clone(), prophesee::evt2::write(&big, 1280, 720).unwrap(), Some((1280, 720))),
        (Format::Evt3, big.clone(), prophesee::evt3::write(&big, 1280, 720).unwrap(), Some((1280, 720))),
        (Format::Evt3, evt3_wraps.clone(), prophesee::evt3::write(&evt3_wraps, 640, 480).unwrap(), Some((640, 480))),
        (Format::Npy, dvs.clone(), npy::write_events(&dvs), None),
    ]
}

#[test]
fn every_writer_reads_back_exactly() {
    for (format, ev, bytes, sensor) in written() {
        let detected = spikeflux_events::detect(Path::new("x.raw"), &bytes).or(Some(format));
        let r = read_bytes(&bytes, format, origin()).unwrap_or_else(|e| panic!("{format}: {e}"));
        assert_eq!(r.format, format);
        assert_eq!(r.sensor, sensor, "{format}");
        assert_eq!(r.events, ev, "{format}");
        assert_eq!(detected, Some(format), "{format} detected from its bytes (a .raw name for the Prophesee ones)");
    }
}

#[test]
fn atis_overflow_markers_are_written_and_counted() {
    let (_, ev, bytes, _) = written().into_iter().find(|w| w.0 == Format::AtisBin).unwrap();
    assert!(*ev.t.last().unwrap() >= 1 << 23);
    assert!(bytes.len() > ev.len() * 5, "markers were written");
}

#[test]
fn truncated_files_are_refused_with_the_offset_or_read_as_a_prefix() {
    for (format, ev, bytes, _) in written() {
        let mut refused = 0;
        let cuts: Vec<usize> = (0..bytes.len()).step_by((bytes.len() / 97).max(1)).chain([bytes.len() - 1]).collect();
        for &cut in &cuts {
            match read_bytes(&bytes[..cut], format, origin()) {
                Ok(r) => {
                    // formats without lengths (ATIS, EVT) end at any whole word: what they read is
                    // a prefix of the events
                    let n = r.events.len();
                    assert!(n <= ev.len() && r.events.t[..] == ev.t[..n] && r.events.x[..] == ev.x[..n], "{format} cut at {cut}");
                }
                Err(Error::Invalid { why, .. }) => {
                    refused += 1;
                    assert!(!why.is_empty());
                }
                Err(e) => panic!("{format} cut at {cut}: {e}"),
            }
        }
        if matches!(format, Format::Aedat31 | Format::Aedat4 | Format::Npy) {
            assert_eq!(refused, cuts.len(), "{format}: every cut of a length-prefixed format is refused");
        }
    }
}

#[test]
fn corrupted_files_never_panic() {
    let mut g = Gen(99);
    for (format, _, bytes, _) in written() {
        for _ in 0..400 {
            let mut b = bytes.clone();
            for _ in 0..1 + g.next() % 8 {
                let i = (g.next() % b.len() as u64) as usize;
                b[i] = g.next() as u8;
            }
            let _ = read_bytes(&b, format, origin());
        }
        // every format's reader also on every other format's bytes
        for other in Format::ALL {
            let _ = read_bytes(&bytes, other, origin());
        }
    }
}

#[test]
fn absurd_sizes_are_refused_before_allocating() {
    // an AEDAT 3.1 packet claiming 2^31 − 1 events of 8 bytes
    let mut a = b"#!AER-DAT3.1\r\n#!END-HEADER\r\n".to_vec();
    for v in [1i32 | (1 << 16), 8, 4, 0, i32::MAX, i32::MAX, i32::MAX] {
        a.extend_from_slice(&v.to_le_bytes());
    }
    let e = read_bytes(&a, Format::Aedat31, origin()).unwrap_err().to_string();
    assert!(e.contains("truncated") && e.contains("2147483647 events"), "{e}");
    // an NPY claiming 10^15 records
    let n = npy::write_plain("<i8", &[1_000_000_000_000_000], &[0; 64]);
    let e = read_bytes(&n, Format::Npy, origin()).unwrap_err().to_string();
    assert!(e.contains("truncated") || e.contains("overflows"), "{e}");
    // an AEDAT 4 header of 4 GiB
    let mut h = aedat4::MAGIC.to_vec();
    h.extend_from_slice(&u32::MAX.to_le_bytes());
    let e = read_bytes(&h, Format::Aedat4, origin()).unwrap_err().to_string();
    assert!(e.contains("truncated"), "{e}");
}

#[test]
fn npy_reads_tonic_gesture_arrays_and_other_field_orders() {
    // tonic's cached DVS Gesture sample: (N, 4) x, y, p, t in ms
    let rows: [[f64; 4]; 3] = [[1.0, 2.0, 1.0, 0.5], [127.0, 0.0, 0.0, 1.25], [5.0, 6.0, 1.0, 3.0]];
    let bytes: Vec<u8> = rows.iter().flatten().flat_map(|v| v.to_le_bytes()).collect();
    let r = read_bytes(&npy::write_plain("<f8", &[3, 4], &bytes), Format::Npy, origin()).unwrap();
    assert_eq!(r.events.t, [500, 1250, 3000]);
    assert_eq!((r.events.x, r.events.y, r.events.p), (vec![1, 127, 5], vec![2, 0, 6], vec![true, false, true]));
    // a wrong shape names what is needed
    let e = read_bytes(&npy::write_plain("<f8", &[4, 3], &bytes), Format::Npy, origin()).unwrap_err().to_string();
    assert!(e.contains("(N, 4)"), "{e}");
}

#[test]
fn unknown_formats_are_named() {
    let e = spikeflux_events::read(Path::new("/nonexistent/file.aedat")).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mystery.xyz");
    std::fs::write(&p, b"hello").unwrap();
    let e = spikeflux_events::read(&p).unwrap_err().to_string();
    assert!(e.contains("unknown event file format") && e.contains(".aedat4"), "{e}");
}

/// The columns of `ev` as little-endian bytes: x, y as u16, t as i64, p as u8.
fn column_bytes(ev: &Events) -> [Vec<u8>; 4] {
    [
        ev.x.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ev.y.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ev.t.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ev.p.iter().map(|&v| v as u8).collect(),
    ]
}

#[test]
fn hdf5_columns_at_the_root_or_in_events_read_back() {
    use spikeflux_core::data::h5write::{Data, Elem, H5Writer};
    let ev = events(700, 346, 260, 100, 90, 11);
    for group in ["", "events/"] {
        let [x, y, t, p] = column_bytes(&ev);
        let mut w = H5Writer::new();
        w.dataset(&format!("{group}x"), Data::Fixed(Elem::U16, x));
        w.dataset(&format!("{group}y"), Data::Fixed(Elem::U16, y));
        w.dataset(&format!("{group}t"), Data::Fixed(Elem::I64, t));
        w.dataset(&format!("{group}p"), Data::Fixed(Elem::U8, p));
        let bytes = w.finish().unwrap();
        assert_eq!(spikeflux_events::detect(Path::new("a.h5"), &bytes), Some(Format::Hdf5));
        let r = read_bytes(&bytes, Format::Hdf5, origin()).unwrap();
        assert_eq!(r.events, ev, "group {group:?}");
    }
    // a missing column is named
    let [x, ..] = column_bytes(&ev);
    let mut w = H5Writer::new();
    w.dataset("x", Data::Fixed(Elem::U16, x));
    let e = read_bytes(&w.finish().unwrap(), Format::Hdf5, origin()).unwrap_err().to_string();
    assert!(e.contains("no dataset `y`"), "{e}");
}

#[test]
fn npz_of_columns_stored_or_deflated_and_of_one_structured_array() {
    use std::io::Write;
    let ev = events(900, 240, 180, 0, 70, 13);
    let [x, y, t, p] = column_bytes(&ev);
    let n = ev.len();
    for method in [zip::CompressionMethod::Stored, zip::CompressionMethod::Deflated] {
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(method);
        for (name, descr, data) in [("x", "<u2", &x), ("y", "<u2", &y), ("t", "<i8", &t), ("p", "|u1", &p)] {
            z.start_file(format!("{name}.npy"), opts).unwrap();
            z.write_all(&npy::write_plain(descr, &[n], data)).unwrap();
        }
        let bytes = z.finish().unwrap().into_inner();
        assert_eq!(read_bytes(&bytes, Format::Npz, origin()).unwrap().events, ev, "{method:?}");
    }
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    z.start_file("arr_0.npy", zip::write::SimpleFileOptions::default()).unwrap();
    z.write_all(&npy::write_events(&ev)).unwrap();
    let bytes = z.finish().unwrap().into_inner();
    assert_eq!(read_bytes(&bytes, Format::Npz, origin()).unwrap().events, ev);
}
