//! Shared helpers: the committed fixtures (`tests/fixtures/`, listed in its README) and reading the
//! reference `.npz` files.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::Read;
use std::path::PathBuf;

/// The committed cochlea reference data (`tests/fixtures/cochlea/`).
pub fn data_dir() -> PathBuf {
    fixtures().join("cochlea")
}

/// The committed fixtures of this crate (`tests/fixtures/`: `cochlea/`, `fsdd/`, the FLAC file).
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// One array of an `.npz` file as f64 values with its shape.
pub fn npz(file: &str, name: &str) -> (Vec<f64>, Vec<u64>) {
    let f = std::fs::File::open(data_dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut z = zip::ZipArchive::new(f).unwrap();
    let mut bytes = Vec::new();
    z.by_name(&format!("{name}.npy")).unwrap().read_to_end(&mut bytes).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    let shape = npy.shape().to_vec();
    let v: Vec<f64> = match npy.dtype() {
        npyz::DType::Plain(t) if t.type_char() == npyz::TypeChar::Float => npy.into_vec::<f64>().unwrap(),
        npyz::DType::Plain(t) if t.size_field() == 2 => npy.into_vec::<u16>().unwrap().into_iter().map(f64::from).collect(),
        npyz::DType::Plain(t) if t.type_char() == npyz::TypeChar::Int => npy.into_vec::<i64>().unwrap().into_iter().map(|x| x as f64).collect(),
        other => panic!("unexpected dtype {other:?}"),
    };
    (v, shape)
}
