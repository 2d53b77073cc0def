//! The SHD reader returns exactly the contents of the h5py-written fixture (compared with its JSON twin).

use spikeflux_core::data::shd::ShdFile;
use spikeflux_core::Error;

use crate::common::fixture;

#[test]
fn reads_the_h5py_fixture_exactly() {
    let f = ShdFile::read(fixture("shd_like_fixture.h5")).unwrap();
    let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(fixture("shd_like_fixture.json")).unwrap()).unwrap();
    let samples = j["samples"].as_array().unwrap();
    assert_eq!(f.times.len(), samples.len());
    for (i, s) in samples.iter().enumerate() {
        let t: Vec<f32> = s["times_f16_as_f32"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
        let u: Vec<u32> = s["units"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect();
        assert_eq!(f.times[i], t, "sample {i} times");
        assert_eq!(f.units[i], u, "sample {i} units");
        assert_eq!(f.labels[i] as u64, s["label"].as_u64().unwrap());
        assert_eq!(f.speakers.as_ref().unwrap()[i] as u64, s["speaker"].as_u64().unwrap());
    }
    let keys: Vec<String> = j["keys"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect();
    assert_eq!(f.keys.as_ref().unwrap(), &keys);
    // binning to the paper's grid keeps only events before 0.7 s
    let ds = f.to_dataset(2e-3, 350, 700, None).unwrap();
    assert_eq!(ds.n_classes, 20);
    let kept: usize = f.times.iter().flatten().filter(|&&t| (t as f64 / 2e-3) < 350.0).count();
    assert!(ds.total_events() <= kept && ds.total_events() > 0);
    // the streaming read that training uses gives the same data set, from a file or from bytes
    let streamed = ShdFile::read_binned(fixture("shd_like_fixture.h5"), 2e-3, 350, 700, None).unwrap();
    assert_eq!(streamed, ds);
    let bytes = std::fs::read(fixture("shd_like_fixture.h5")).unwrap();
    let p = std::path::Path::new("x.h5");
    assert_eq!(ShdFile::binned_from_bytes(&bytes, p, 2e-3, 350, 700, None).unwrap(), ds);
    assert_eq!(ShdFile::from_bytes(&bytes, p).unwrap(), f);
    assert_eq!(f.clone().into_dataset(2e-3, 350, 700, None).unwrap(), ds);
}

/// Our writer's files (with every optional dataset) read back the same through every path.
#[test]
fn every_read_path_agrees_on_our_own_files() {
    use spikeflux_core::data::synthetic::SyntheticShd;
    let dir = tempfile::tempdir().unwrap();
    let mut f = SyntheticShd { samples: 9, classes: 4, channels: 50, background_hz: 20.0, seed: 3 }.generate();
    f.speakers = Some((0..9).map(|i| i % 3).collect());
    f.keys = Some((0..4).map(|k| format!("class {k}")).collect());
    let path = dir.path().join("s.h5");
    f.write(&path).unwrap();
    let back = ShdFile::read(&path).unwrap();
    let ds = back.to_dataset(1e-3, 300, 50, Some(6)).unwrap();
    assert_eq!(ShdFile::read_binned(&path, 1e-3, 300, 50, Some(6)).unwrap(), ds);
    assert_eq!(back.into_dataset(1e-3, 300, 50, Some(6)).unwrap(), ds);
    assert_eq!(ds.speakers.as_deref(), Some(&[0, 1, 2, 0, 1, 2, 0, 1, 2][..]));
}

#[test]
fn missing_truncated_and_wrong_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.h5");
    let e = ShdFile::read(&missing).unwrap_err();
    assert!(matches!(e, Error::Io { .. }) && e.to_string().contains("nope.h5"), "{e}");

    let bytes = std::fs::read(fixture("shd_like_fixture.h5")).unwrap();
    let trunc = dir.path().join("trunc.h5");
    std::fs::write(&trunc, &bytes[..bytes.len() / 2]).unwrap();
    let e = ShdFile::read(&trunc).unwrap_err();
    assert!(matches!(e, Error::DataFile { .. }) && e.to_string().contains("trunc.h5"), "{e}");

    let junk = dir.path().join("junk.h5");
    std::fs::write(&junk, b"this is not hdf5 at all").unwrap();
    let e = ShdFile::read(&junk).unwrap_err();
    assert!(e.to_string().contains("not a readable HDF5 file"), "{e}");
}

#[test]
fn written_files_read_back_exactly() {
    let f = ShdFile::read(fixture("shd_like_fixture.h5")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("copy.h5");
    f.write(&out).unwrap();
    assert_eq!(ShdFile::read(&out).unwrap(), f);
    // a unit that does not fit the SHD layout's uint16 is refused, naming the file
    let mut bad = f.clone();
    bad.units[0][0] = 70_000;
    let e = bad.write(dir.path().join("bad.h5")).unwrap_err();
    assert!(e.to_string().contains("bad.h5") && e.to_string().contains("uint16"), "{e}");
}

/// The writer produces the exact SHD types (vlen float16 times, vlen uint16 units, uint16 labels)
/// and handles empty samples and more samples than fit one global-heap collection.
#[test]
fn writes_the_exact_shd_types_and_many_samples() {
    use hdf5_reader::{Datatype, Hdf5File};
    let n = 20_000;
    let f = ShdFile {
        times: (0..n).map(|i| (0..i % 5).map(|k| half::f16::from_f32(0.013 * k as f32 + 1e-4 * i as f32).to_f32()).collect()).collect(),
        units: (0..n).map(|i| (0..i % 5).map(|k| ((i * 7 + k) % 700) as u32).collect()).collect(),
        labels: (0..n).map(|i| (i % 20) as u32).collect(),
        speakers: Some((0..n).map(|i| (i % 12) as u32).collect()),
        keys: Some(vec!["null".into(), "fünf".into(), "".into()]),
        speaker_names: Some((0..12).map(|i| format!("speaker{i}")).collect()),
        clip_index: Some((0..n).map(|i| (i % 50) as u32).collect()),
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("many.h5");
    f.write(&out).unwrap();
    assert_eq!(ShdFile::read(&out).unwrap(), f);
    let h = Hdf5File::open(&out).unwrap();
    let dt = |p: &str| h.dataset(p).unwrap().dtype().clone();
    match dt("spikes/times") {
        Datatype::VarLen { base, .. } => assert!(matches!(*base, Datatype::FloatingPoint { size: 2, .. }), "{base:?}"),
        other => panic!("times stored as {other:?}"),
    }
    match dt("spikes/units") {
        Datatype::VarLen { base, .. } => assert!(matches!(*base, Datatype::FixedPoint { size: 2, signed: false, .. }), "{base:?}"),
        other => panic!("units stored as {other:?}"),
    }
    assert!(matches!(dt("labels"), Datatype::FixedPoint { size: 2, signed: false, .. }));
    // times are rounded to nearest float16, as SHD's are
    let g = ShdFile { times: vec![vec![0.30001]], units: vec![vec![1]], labels: vec![0], ..Default::default() };
    g.write(&out).unwrap();
    assert_eq!(ShdFile::read(&out).unwrap().times[0][0], half::f16::from_f32(0.30001).to_f32());
}

/// Layouts other writers may use: chunked + deflate labels of another integer width (signed
/// int64), unsigned 32-bit units, float64 times, byte speakers and fixed-length key strings.
#[test]
fn tolerant_of_chunked_deflate_other_widths_and_fixed_strings() {
    use hdf5_writer::{ByteOrder as Bo, DatasetBuilder, Datatype as Dt, FilterDescription, Hdf5Builder, Hdf5Writer, WriteOptions};
    let times: Vec<Vec<u8>> = vec![[0.001f64, 0.5].iter().flat_map(|x| x.to_le_bytes()).collect(), 0.25f64.to_le_bytes().to_vec()];
    let units: Vec<Vec<u8>> = vec![[3u32, 699].iter().flat_map(|x| x.to_le_bytes()).collect(), 7u32.to_le_bytes().to_vec()];
    let labels: Vec<u8> = [1i64, 19].iter().flat_map(|x| x.to_le_bytes()).collect();
    let deflate = FilterDescription { id: hdf5_writer::FILTER_DEFLATE, name: None, client_data: vec![6] };
    let plan = Hdf5Builder::new()
        .dataset(
            DatasetBuilder::vlen_sequence_data("spikes/times", Dt::FloatingPoint { size: 8, byte_order: Bo::LittleEndian }, vec![2], times)
                .unwrap(),
        )
        .dataset(
            DatasetBuilder::vlen_sequence_data("spikes/units", Dt::FixedPoint { size: 4, signed: false, byte_order: Bo::LittleEndian }, vec![2], units)
                .unwrap(),
        )
        .dataset(
            DatasetBuilder::new("labels", Dt::FixedPoint { size: 8, signed: true, byte_order: Bo::LittleEndian }, vec![2])
                .raw_data(labels)
                .chunked(vec![1])
                .filter(deflate),
        )
        .dataset(DatasetBuilder::typed_data("extra/speaker", vec![2], &[4u8, 2]).unwrap())
        .dataset(DatasetBuilder::fixed_string_data("extra/keys", vec![2], &["null", "neun"]).unwrap())
        .into_plan()
        .unwrap();
    let bytes = Hdf5Writer::new(std::io::Cursor::new(Vec::new()), WriteOptions::default()).finish(plan).unwrap().into_inner();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("other.h5");
    std::fs::write(&p, bytes).unwrap();
    let f = ShdFile::read(&p).unwrap();
    assert_eq!(f.times, vec![vec![0.001f32, 0.5], vec![0.25]]);
    assert_eq!(f.units, vec![vec![3, 699], vec![7]]);
    assert_eq!(f.labels, vec![1, 19]);
    assert_eq!(f.speakers, Some(vec![4, 2]));
    assert_eq!(f.keys, Some(vec!["null".to_string(), "neun".to_string()]));
}

/// A dataspace or dimension that claims 5·10⁸ elements in a 12.8 KB file is refused before the read
/// allocates (it used to allocate 7.8 GB and take 18 s): every 8-byte field of the fixture that
/// holds its sample count 6, patched to 5·10⁸, gives an error naming the file, and the element
/// counts are refused by the reader's budget (charged before it allocates), in both read paths.
#[test]
fn size_claims_beyond_the_file_are_refused_before_allocating() {
    let bytes = std::fs::read(fixture("shd_like_fixture.h5")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("claim.h5");
    let mut limited = 0;
    for o in (0..bytes.len() - 8).filter(|&o| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap()) == 6) {
        let mut m = bytes.clone();
        m[o..o + 8].copy_from_slice(&500_000_000u64.to_le_bytes());
        std::fs::write(&p, &m).unwrap();
        let whole = ShdFile::read(&p).err().map(|e| e.to_string());
        let streamed = ShdFile::read_binned(&p, 1e-3, 100, 700, None).err().map(|e| e.to_string());
        for e in [whole, streamed].into_iter().flatten() {
            assert!(e.contains("claim.h5"), "{e}");
            limited += usize::from(e.contains("more than a file of this size can hold"));
        }
    }
    assert!(limited >= 4, "the reader's budget refused {limited} claims");
}
