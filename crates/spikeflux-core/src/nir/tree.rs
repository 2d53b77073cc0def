//! NIR files on disk: the HDF5 tree the `nir` package writes (`/version`, then the graph under
//! `/node`), read with `hdf5-reader` and written with our own [`H5Writer`], no libhdf5.
//!
//! The tree is kept as it is in the file: groups of named values, each value an n-dimensional
//! array of floats (f32 or f64, kept as stored so weights round-trip bit for bit), integers
//! (any width, widened to i64) or strings. [`super::graph`] gives it meaning.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hdf5_reader::group::Group;
use hdf5_reader::{Dataset, Datatype, Hdf5File, OpenOptions};

use crate::data::h5write::{Data, Elem, H5Writer};
use crate::data::shd::max_read_bytes;
use crate::error::{Error, Result};

/// The `nir` package version written into `/version` (the format has not changed since 1.0).
pub const NIR_VERSION: &str = "1.0.8";

/// The deepest nesting of groups read (a NIR file nests a graph's nodes two groups below it, so
/// this allows subgraphs seven levels deep); deeper files are refused, not recursed into.
const MAX_DEPTH: usize = 16;

/// The most values in one group (our writer's limit too).
const MAX_ENTRIES: usize = 256;

/// The largest NIR file read (1 GiB: 250 million f32 weights).
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// An n-dimensional array, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// Dimensions (`[]` for a scalar).
    pub shape: Vec<usize>,
    /// The elements.
    pub data: ArrayData,
}

/// The elements of an [`Array`], in the type they are stored in.
#[derive(Debug, Clone, PartialEq)]
pub enum ArrayData {
    /// Single precision.
    F32(Vec<f32>),
    /// Double precision.
    F64(Vec<f64>),
    /// Integers of any stored width and sign.
    I64(Vec<i64>),
    /// UTF-8 strings.
    Str(Vec<String>),
}

/// One entry of a group.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A dataset.
    Array(Array),
    /// A group.
    Group(Tree),
}

/// A group: its entries by name.
pub type Tree = BTreeMap<String, Value>;

impl Array {
    /// A scalar string.
    pub fn str(s: impl Into<String>) -> Self {
        Array { shape: vec![], data: ArrayData::Str(vec![s.into()]) }
    }
    /// A scalar integer.
    pub fn int(v: i64) -> Self {
        Array { shape: vec![], data: ArrayData::I64(vec![v]) }
    }
    /// A scalar double.
    pub fn f64(v: f64) -> Self {
        Array { shape: vec![], data: ArrayData::F64(vec![v]) }
    }
    /// A one-dimensional integer array.
    pub fn ints(v: &[i64]) -> Self {
        Array { shape: vec![v.len()], data: ArrayData::I64(v.to_vec()) }
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.data {
            ArrayData::F32(v) => v.len(),
            ArrayData::F64(v) => v.len(),
            ArrayData::I64(v) => v.len(),
            ArrayData::Str(v) => v.len(),
        }
    }
    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The elements as f64 (floats widened exactly, integers converted); `None` for strings.
    pub fn as_f64(&self) -> Option<Vec<f64>> {
        match &self.data {
            ArrayData::F32(v) => Some(v.iter().map(|&x| f64::from(x)).collect()),
            ArrayData::F64(v) => Some(v.clone()),
            ArrayData::I64(v) => Some(v.iter().map(|&x| x as f64).collect()),
            ArrayData::Str(_) => None,
        }
    }
    /// The strings; `None` for numbers.
    pub fn as_strs(&self) -> Option<&[String]> {
        match &self.data {
            ArrayData::Str(v) => Some(v),
            _ => None,
        }
    }
}

fn bad(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::data_file(path, format!("{what}; is this a NIR file (written by `nir.write`)?"))
}

/// Reads a NIR file: the tree under `/node`, and `/version` if present.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::DataFile`] naming the file and the entry
/// when it is not HDF5, is larger than [`MAX_FILE_BYTES`], nests deeper than 16 groups, or holds a
/// dataset of a type NIR does not use (compound, reference, opaque, half precision).
pub fn read(path: &Path) -> Result<(Tree, Option<String>)> {
    let len = std::fs::metadata(path).map_err(|e| Error::io(PathBuf::from(path), e))?.len();
    if len > MAX_FILE_BYTES {
        return Err(bad(path, format!("{len} bytes is more than the {} MiB a NIR graph may take here", MAX_FILE_BYTES >> 20)));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(PathBuf::from(path), e))?;
    from_bytes(&bytes, path)
}

/// [`read`] on a file held in memory; `origin` names it in errors.
///
/// # Errors
/// As [`read`].
pub fn from_bytes(bytes: &[u8], origin: &Path) -> Result<(Tree, Option<String>)> {
    let options = OpenOptions { max_read_bytes: max_read_bytes(bytes.len() as u64), ..OpenOptions::default() };
    let file = Hdf5File::from_bytes_with_options(bytes, options).map_err(|e| bad(origin, format!("not a readable HDF5 file ({e})")))?;
    let root = file.root_group().map_err(|e| bad(origin, format!("no root group ({e})")))?;
    let node = root.group("node").map_err(|_| bad(origin, "no `/node` group"))?;
    let version = match root.dataset("version") {
        Ok(ds) => Some(ds.read_string().map_err(|e| bad(origin, format!("`/version` is not a string ({e})")))?),
        Err(_) => None,
    };
    let tree = read_group(&node, "node", 0, origin)?;
    Ok((tree, version))
}

fn read_group(g: &Group, at: &str, depth: usize, path: &Path) -> Result<Tree> {
    if depth >= MAX_DEPTH {
        return Err(bad(path, format!("`{at}` nests more than {MAX_DEPTH} groups deep")));
    }
    let (groups, datasets) = g.member_names().map_err(|e| bad(path, format!("cannot list `{at}` ({e})")))?;
    if groups.len() + datasets.len() > MAX_ENTRIES {
        return Err(bad(path, format!("`{at}` has {} entries; NIR nodes have at most {MAX_ENTRIES}", groups.len() + datasets.len())));
    }
    let mut tree = Tree::new();
    for name in groups {
        let sub = g.group(&name).map_err(|e| bad(path, format!("cannot open group `{at}/{name}` ({e})")))?;
        let v = read_group(&sub, &format!("{at}/{name}"), depth + 1, path)?;
        tree.insert(name, Value::Group(v));
    }
    for name in datasets {
        let ds = g.dataset(&name).map_err(|e| bad(path, format!("cannot open dataset `{at}/{name}` ({e})")))?;
        let a = read_dataset(&ds).map_err(|e| bad(path, format!("dataset `{at}/{name}`: {e}")))?;
        tree.insert(name, Value::Array(a));
    }
    Ok(tree)
}

fn read_dataset(ds: &Dataset) -> std::result::Result<Array, String> {
    let shape: Vec<usize> = ds.shape().iter().map(|&d| usize::try_from(d).map_err(|_| "dimension too large".to_string())).collect::<std::result::Result<_, _>>()?;
    let e = |e: hdf5_reader::error::Error| e.to_string();
    let ints = |v: Vec<i64>| Array { shape: shape.clone(), data: ArrayData::I64(v) };
    let dtype = match ds.dtype() {
        Datatype::Enum { base, .. } => base.as_ref().clone(), // h5py's bool: an enum over int8
        d => d.clone(),
    };
    Ok(match dtype {
        Datatype::FloatingPoint { size: 4, .. } => Array { shape, data: ArrayData::F32(ds.read_array::<f32>().map_err(e)?.into_raw_vec_and_offset().0) },
        Datatype::FloatingPoint { size: 8, .. } => Array { shape, data: ArrayData::F64(ds.read_array::<f64>().map_err(e)?.into_raw_vec_and_offset().0) },
        Datatype::FixedPoint { size, signed, .. } => {
            let v: Vec<i64> = match (size, signed) {
                (1, true) => ds.read_array::<i8>().map_err(e)?.iter().map(|&x| i64::from(x)).collect(),
                (1, false) => ds.read_array::<u8>().map_err(e)?.iter().map(|&x| i64::from(x)).collect(),
                (2, true) => ds.read_array::<i16>().map_err(e)?.iter().map(|&x| i64::from(x)).collect(),
                (2, false) => ds.read_array::<u16>().map_err(e)?.iter().map(|&x| i64::from(x)).collect(),
                (4, true) => ds.read_array::<i32>().map_err(e)?.iter().map(|&x| i64::from(x)).collect(),
                (4, false) => ds.read_array::<u32>().map_err(e)?.iter().map(|&x| i64::from(x)).collect(),
                (8, true) => ds.read_array::<i64>().map_err(e)?.into_raw_vec_and_offset().0,
                (8, false) => ds
                    .read_array::<u64>()
                    .map_err(e)?
                    .iter()
                    .map(|&x| i64::try_from(x).map_err(|_| format!("integer {x} is too large")))
                    .collect::<std::result::Result<_, _>>()?,
                _ => return Err(format!("{size}-byte integers are not supported")),
            };
            ints(v)
        }
        Datatype::String { .. } | Datatype::VarLen { .. } => Array { shape, data: ArrayData::Str(ds.read_strings().map_err(e)?) },
        Datatype::FloatingPoint { size, .. } => return Err(format!("{size}-byte floats are not supported (NIR stores f32 or f64)")),
        other => return Err(format!("type {other:?} is not one NIR uses")),
    })
}

/// Encodes a tree as a NIR file: `/version` and the tree under `/node`.
///
/// # Errors
/// [`Error::DataFile`] (naming `origin`) when the tree cannot be encoded: a group with more than
/// 256 entries, an empty name, a string with a NUL byte, an array whose shape does not hold its data.
pub fn to_bytes(tree: &Tree, origin: &Path) -> Result<Vec<u8>> {
    let mut w = H5Writer::new();
    w.dataset_shaped("version", Data::VlenStr(vec![NIR_VERSION.into()]), &[]);
    write_group(&mut w, "node", tree, origin)?;
    w.finish().map_err(|e| Error::data_file(origin, format!("cannot encode the NIR file: {e}")))
}

fn write_group(w: &mut H5Writer, at: &str, tree: &Tree, origin: &Path) -> Result<()> {
    for (name, v) in tree {
        let p = format!("{at}/{name}");
        if name.is_empty() || name.contains('/') {
            return Err(Error::data_file(origin, format!("entry name `{name}` under `{at}` is empty or has a `/`")));
        }
        match v {
            Value::Group(g) => {
                if g.is_empty() {
                    return Err(Error::data_file(origin, format!("group `{p}` is empty (nir skips empty groups; leave it out)")));
                }
                write_group(w, &p, g, origin)?;
            }
            Value::Array(a) => {
                let le = |b: &mut Vec<u8>, x: &[u8]| b.extend_from_slice(x);
                let data = match &a.data {
                    ArrayData::F32(v) => Data::Fixed(Elem::F32, v.iter().fold(Vec::with_capacity(4 * v.len()), |mut b, x| {
                        le(&mut b, &x.to_le_bytes());
                        b
                    })),
                    ArrayData::F64(v) => Data::Fixed(Elem::F64, v.iter().fold(Vec::with_capacity(8 * v.len()), |mut b, x| {
                        le(&mut b, &x.to_le_bytes());
                        b
                    })),
                    ArrayData::I64(v) => Data::Fixed(Elem::I64, v.iter().fold(Vec::with_capacity(8 * v.len()), |mut b, x| {
                        le(&mut b, &x.to_le_bytes());
                        b
                    })),
                    ArrayData::Str(v) => Data::VlenStr(v.clone()),
                };
                w.dataset_shaped(&p, data, &a.shape);
            }
        }
    }
    Ok(())
}
