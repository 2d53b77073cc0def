//! Plain event files: the columns `x`, `y`, `t` (µs), `p` stored as arrays.
//!
//! - **HDF5**: datasets `x`, `y`, `t`, `p` at the root or in a group `events` (`t` may be named
//!   `ts`/`timestamp(s)`, `p` `polarity`/`pol`); any integer or float type.
//! - **NPY**: a structured array with those fields (expelliarmus's and tonic's event arrays), or
//!   an `(N, 4)` numeric array in the column order of tonic's cached DVS128 Gesture files: x, y,
//!   p, t in **milliseconds** (tonic multiplies by 1000 on loading, and so does this reader).
//! - **NPZ** (`np.savez`, stored or deflated): arrays `x`, `y`, `t`, `p`, or one structured array.
//!
//! Coordinates must be whole numbers in 0..=65535, times finite (float times are rounded to the
//! µs); a polarity above 0 is ON (so 0/1 and −1/+1 both read).

use std::io::Read;

use hdf5_reader::{ByteOrder, Datatype, Hdf5File, OpenOptions};

use crate::npy::{Array, Column, Num};
use crate::{check_events, Bad, Decoded, Events, Format, Recording};

/// The four columns and the factor that takes `t` to µs.
struct Columns<'a> {
    x: Column<'a>,
    y: Column<'a>,
    t: Column<'a>,
    p: Column<'a>,
    t_to_us: f64,
    n: usize,
}

fn coord(v: f64, name: &str, i: usize) -> Result<u16, Bad> {
    if v.fract() == 0.0 && (0.0..=65535.0).contains(&v) {
        Ok(v as u16)
    } else {
        Err(Bad::Invalid(format!("event {i} has {name} = {v} (a pixel index in 0..=65535 is needed)")))
    }
}

/// A stored time times `to_us`, rounded to the µs.
fn time(v: f64, to_us: f64, i: usize) -> Result<i64, Bad> {
    let t = (v * to_us).round();
    if !t.is_finite() || t.abs() > 9.0e15 {
        return Err(Bad::Invalid(format!("event {i} has the time {v} (not a finite time in µs)")));
    }
    Ok(t as i64)
}

fn events_of(c: Columns) -> Decoded<Events> {
    let mut e = Events::with_capacity(check_events(c.n as u64, "the arrays")?);
    for i in 0..c.n {
        e.push(time(c.t.get(i), c.t_to_us, i)?, coord(c.x.get(i), "x", i)?, coord(c.y.get(i), "y", i)?, c.p.get(i) > 0.0);
    }
    Ok(e)
}

const T_NAMES: [&str; 4] = ["t", "ts", "timestamp", "timestamps"];
const P_NAMES: [&str; 3] = ["p", "polarity", "pol"];

/// The columns of a structured array.
fn structured<'a>(a: &Array<'a>) -> Decoded<Columns<'a>> {
    let field = |names: &[&str]| names.iter().find_map(|n| a.field(n));
    let names: Vec<&str> = a.fields.iter().map(|f| f.0.as_str()).collect();
    let missing = |which: &str| Bad::Invalid(format!("the structured array has the fields {names:?}, no `{which}`"));
    if a.shape.len() != 1 {
        return Err(Bad::Invalid(format!("a structured event array of shape {:?} (one dimension is needed)", a.shape)));
    }
    Ok(Columns {
        x: field(&["x"]).ok_or_else(|| missing("x"))?,
        y: field(&["y"]).ok_or_else(|| missing("y"))?,
        t: field(&T_NAMES).ok_or_else(|| missing("t"))?,
        p: field(&P_NAMES).ok_or_else(|| missing("p"))?,
        t_to_us: 1.0,
        n: a.len(),
    })
}

/// Decodes an NPY file.
pub(crate) fn decode_npy(bytes: &[u8]) -> Decoded<Recording> {
    let a = Array::parse(bytes)?;
    let cols = if !a.fields.is_empty() {
        structured(&a)?
    } else {
        match (a.col(0), a.col(1), a.col(2), a.col(3), a.shape.as_slice()) {
            (Some(x), Some(y), Some(p), Some(t), [n, 4]) => Columns { x, y, t, p, t_to_us: 1000.0, n: *n },
            _ => {
                return Err(Bad::Invalid(format!(
                    "a numeric array of shape {:?}: an (N, 4) array (tonic's x, y, p, t in ms) or a structured array with fields x, y, t, p is needed",
                    a.shape
                )))
            }
        }
    };
    Ok(Recording { format: Format::Npy, sensor: None, events: events_of(cols)? })
}

/// The most bytes one NPZ member may inflate to.
const MAX_MEMBER_BYTES: u64 = 4 << 30;

fn flat<'a>(a: &Array<'a>, name: &str) -> Decoded<Column<'a>> {
    a.flat().ok_or_else(|| Bad::Invalid(format!("`{name}` is not a 1-D numeric array")))
}

/// Decodes an NPZ archive.
pub(crate) fn decode_npz(bytes: &[u8]) -> Decoded<Recording> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| Bad::Invalid(format!("not a readable zip archive ({e})")))?;
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    // an archive of one member is read as one structured array, whatever its name
    let single = zip.len() == 1;
    for i in 0..zip.len().min(64) {
        let mut f = zip.by_index(i).map_err(|e| Bad::Invalid(format!("member {i} cannot be read ({e})")))?;
        let name = f.name().trim_end_matches(".npy").to_string();
        let wanted = ["x", "y"].contains(&name.as_str()) || T_NAMES.contains(&name.as_str()) || P_NAMES.contains(&name.as_str()) || single;
        if !wanted {
            continue;
        }
        let claim = f.size();
        // an inflated member can be far larger than its compressed bytes: the claim is checked
        // first, and the reader stops at the claim whatever the data say
        if claim > MAX_MEMBER_BYTES {
            return Err(Bad::TooLarge(format!("member `{name}` ({claim} bytes inflated)"), format!("{MAX_MEMBER_BYTES} bytes")));
        }
        let mut buf = Vec::with_capacity(claim.min(bytes.len() as u64 * 8 + 1024) as usize);
        (&mut f).take(claim).read_to_end(&mut buf).map_err(|e| Bad::Invalid(format!("member `{name}` does not inflate ({e})")))?;
        members.push((name, buf));
    }
    let get = |names: &[&str]| members.iter().find(|(n, _)| names.contains(&n.as_str())).map(|(_, b)| b);
    let events = match (get(&["x"]), get(&["y"]), get(&T_NAMES), get(&P_NAMES)) {
        (Some(x), Some(y), Some(t), Some(p)) => {
            let arrays = [x, y, t, p].map(|b| Array::parse(b));
            let [x, y, t, p] = arrays;
            let (x, y, t, p) = (x?, y?, t?, p?);
            let n = x.len();
            if [y.len(), t.len(), p.len()].iter().any(|&m| m != n) {
                return Err(Bad::Invalid(format!("the arrays have different lengths: x {n}, y {}, t {}, p {}", y.len(), t.len(), p.len())));
            }
            let cols = Columns { x: flat(&x, "x")?, y: flat(&y, "y")?, t: flat(&t, "t")?, p: flat(&p, "p")?, t_to_us: 1.0, n };
            events_of(cols)?
        }
        _ => match members.first() {
            Some((_, b)) if single => events_of(structured(&Array::parse(b)?)?)?,
            _ => {
                let names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
                return Err(Bad::Invalid(format!("the archive has no arrays x, y, t, p (of the members read: {names:?}), nor is it one structured array")));
            }
        },
    };
    Ok(Recording { format: Format::Npz, sensor: None, events })
}

fn num_of(dt: &Datatype) -> Option<Num> {
    let le = |o: &ByteOrder| matches!(o, ByteOrder::LittleEndian);
    match dt {
        Datatype::FloatingPoint { size, byte_order } => Num::parse(&format!("{}f{size}", if le(byte_order) { '<' } else { '>' })),
        Datatype::FixedPoint { size, signed, byte_order } => {
            Num::parse(&format!("{}{}{size}", if le(byte_order) { '<' } else { '>' }, if *signed { 'i' } else { 'u' }))
        }
        Datatype::Enum { base, .. } => num_of(base),
        _ => None,
    }
}

/// Decodes an HDF5 file.
pub(crate) fn decode_hdf5(bytes: &[u8]) -> Decoded<Recording> {
    // one read may take twice the file plus 48 MiB (compressed columns); each column is decoded
    // into the events as soon as it is read and its raw bytes dropped, so the peak is the events
    // plus one raw column
    let options = OpenOptions { max_read_bytes: usize::try_from((bytes.len() as u64).saturating_mul(2).saturating_add(48 << 20)).unwrap_or(usize::MAX), ..OpenOptions::default() };
    let file = Hdf5File::from_bytes_with_options(bytes, options).map_err(|e| Bad::Invalid(format!("not a readable HDF5 file ({e})")))?;
    let find = |names: &[&str]| {
        ["", "events/"].iter().flat_map(|g| names.iter().map(move |n| format!("{g}{n}"))).find_map(|p| file.dataset(&p).ok().map(|d| (p, d)))
    };
    let mut found = Vec::new();
    for (what, names) in [("x", &["x"][..]), ("y", &["y"][..]), ("t", &T_NAMES[..]), ("p", &P_NAMES[..])] {
        let (path, ds) = find(names).ok_or_else(|| Bad::Invalid(format!("no dataset `{what}` at the root or in `events/` (x, y, t, p are needed)")))?;
        let num = num_of(ds.dtype()).ok_or_else(|| Bad::Invalid(format!("`{path}` has the type {:?}, not a number type", ds.dtype())))?;
        let n = ds.num_elements().map_err(|e| Bad::Invalid(format!("`{path}` has no valid shape ({e})")))?;
        check_events(n, &format!("`{path}`"))?;
        found.push((path, ds, num, n as usize));
    }
    let n = found[0].3;
    if found.iter().any(|f| f.3 != n) {
        let lens: Vec<String> = found.iter().map(|f| format!("{} {}", f.0, f.3)).collect();
        return Err(Bad::Invalid(format!("the datasets have different lengths: {}", lens.join(", "))));
    }
    let mut events = Events::default();
    for (k, (path, ds, num, _)) in found.iter().enumerate() {
        let raw = ds.read_raw_bytes().map_err(|e| Bad::Invalid(format!("`{path}` cannot be read ({e})")))?;
        if raw.len() as u64 != n as u64 * num.size as u64 {
            return Err(Bad::Invalid(format!("`{path}` holds {} bytes for {n} values of {} bytes", raw.len(), num.size)));
        }
        let col = Column { data: &raw, num: *num, stride: num.size, offset: 0 };
        match k {
            0 => events.x = (0..n).map(|i| coord(col.get(i), "x", i)).collect::<Result<_, _>>()?,
            1 => events.y = (0..n).map(|i| coord(col.get(i), "y", i)).collect::<Result<_, _>>()?,
            2 => events.t = (0..n).map(|i| time(col.get(i), 1.0, i)).collect::<Result<_, _>>()?,
            _ => events.p = (0..n).map(|i| col.get(i) > 0.0).collect(),
        }
    }
    Ok(Recording { format: Format::Hdf5, sensor: None, events })
}
