//! NPY arrays (NumPy's `.npy` format, versions 1–3), as far as event files need them: a
//! structured array whose fields include x, y, t, p (any integer, float or bool types, either
//! byte order), or a 2-D numeric array whose columns are the fields. Read with every length
//! checked; written as `t <i8, x <i2, y <i2, p |u1` (the layout of expelliarmus's and tonic's
//! structured event arrays).

use crate::bytes::Cursor;
use crate::{Bad, Events};

/// The first bytes of every NPY file.
pub const MAGIC: &[u8] = b"\x93NUMPY";

/// A stored number type (`descr` such as `<i8`, `|u1`, `>f4`, `|b1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Num {
    /// `b'i'`, `b'u'`, `b'f'` or `b'b'`.
    pub kind: u8,
    /// Bytes per value.
    pub size: usize,
    /// Little-endian (or single-byte).
    pub little: bool,
}

impl Num {
    /// Parses a NumPy type string.
    pub fn parse(descr: &str) -> Option<Num> {
        let b = descr.as_bytes();
        if b.len() < 3 {
            return None;
        }
        let little = match b[0] {
            b'<' | b'|' | b'=' => true,
            b'>' => false,
            _ => return None,
        };
        let size: usize = std::str::from_utf8(&b[2..]).ok()?.parse().ok()?;
        let ok = match b[1] {
            b'i' | b'u' => matches!(size, 1 | 2 | 4 | 8),
            b'f' => matches!(size, 2 | 4 | 8),
            b'b' => size == 1,
            _ => false,
        };
        ok.then_some(Num { kind: b[1], size, little })
    }

    /// The value at the start of `b` (at least `size` bytes), as f64 (integers above 2^53 lose
    /// their low bits; no event field comes near).
    pub fn get(&self, b: &[u8]) -> f64 {
        let mut a = [0u8; 8];
        a[..self.size].copy_from_slice(&b[..self.size]);
        if !self.little {
            a[..self.size].reverse();
        }
        let u = u64::from_le_bytes(a);
        let bits = 8 * self.size as u32;
        match self.kind {
            b'u' | b'b' => u as f64,
            b'i' => ((u << (64 - bits)) as i64 >> (64 - bits)) as f64,
            _ => match self.size {
                2 => half::f16::from_bits(u as u16).to_f64(),
                4 => f32::from_bits(u as u32) as f64,
                _ => f64::from_bits(u),
            },
        }
    }
}

/// One column of values: every `stride` bytes from `offset`.
#[derive(Debug, Clone, Copy)]
pub struct Column<'a> {
    /// The array's data.
    pub data: &'a [u8],
    /// The type.
    pub num: Num,
    /// Bytes from one value to the next.
    pub stride: usize,
    /// Bytes to the first value.
    pub offset: usize,
}

impl Column<'_> {
    /// Value `i` (the caller keeps `i` below the array's count, which the parser checked
    /// against the data's length).
    pub fn get(&self, i: usize) -> f64 {
        self.num.get(&self.data[self.offset + i * self.stride..])
    }
}

/// An array's layout and data.
#[derive(Debug)]
pub struct Array<'a> {
    /// Named fields with their type and byte offset in an element (a structured array), or
    /// empty for a plain numeric array.
    pub fields: Vec<(String, Num, usize)>,
    /// The element type of a plain numeric array.
    pub num: Option<Num>,
    /// The shape.
    pub shape: Vec<usize>,
    /// Bytes per element (record).
    pub itemsize: usize,
    /// The data, exactly `itemsize × product(shape)` bytes.
    pub data: &'a [u8],
}

impl<'a> Array<'a> {
    /// Parses an NPY file's header and checks its data's length.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, Bad> {
        let mut c = Cursor::new(bytes);
        if c.take(6, "the magic")? != MAGIC {
            return Err(Bad::Invalid("not an NPY file (no \\x93NUMPY magic)".into()));
        }
        let [major, _minor] = c.array::<2>("the version")?;
        let hlen = match major {
            1 => c.u16_le("the header length")? as usize,
            2 | 3 => c.u32_le("the header length")? as usize,
            v => return Err(Bad::Invalid(format!("NPY version {v} (1–3 are read)"))),
        };
        if hlen > 1 << 20 {
            return Err(Bad::Invalid(format!("an NPY header of {hlen} bytes (corrupt)")));
        }
        let header = std::str::from_utf8(c.take(hlen, "the header")?).map_err(|_| Bad::Invalid("the NPY header is not text".into()))?;
        let dict = pylit::parse(header).map_err(|e| Bad::Invalid(format!("the NPY header {header:?} does not parse ({e})")))?;
        let get = |k: &str| dict.get(k).ok_or_else(|| Bad::Invalid(format!("the NPY header has no '{k}'")));
        if matches!(get("fortran_order")?, pylit::Value::Bool(true)) {
            return Err(Bad::Invalid("a Fortran-ordered array (save it with np.ascontiguousarray)".into()));
        }
        let shape = match get("shape")? {
            pylit::Value::List(v) => v.iter().map(|d| d.as_usize()).collect::<Option<Vec<_>>>(),
            _ => None,
        }
        .ok_or_else(|| Bad::Invalid("the NPY shape is not a tuple of sizes".into()))?;
        let (fields, num, itemsize) = match get("descr")? {
            pylit::Value::Str(s) => {
                let n = Num::parse(s).ok_or_else(|| Bad::Invalid(format!("the NPY type {s:?} is not a number type read here")))?;
                (Vec::new(), Some(n), n.size)
            }
            pylit::Value::List(items) => {
                let mut fields = Vec::new();
                let mut off = 0usize;
                for it in items {
                    let pylit::Value::List(pair) = it else { return Err(Bad::Invalid("a structured NPY field is not a (name, type) pair".into())) };
                    let (Some(pylit::Value::Str(name)), Some(pylit::Value::Str(t)), 2) = (pair.first(), pair.get(1), pair.len()) else {
                        return Err(Bad::Invalid("a structured NPY field is not a (name, type) pair (sub-arrays are not read)".into()));
                    };
                    // padding fields ('', '|V4') count bytes but are not read
                    let size = match Num::parse(t) {
                        Some(n) => {
                            fields.push((name.clone(), n, off));
                            n.size
                        }
                        None => t.strip_prefix("|V").and_then(|v| v.parse::<usize>().ok()).filter(|_| name.is_empty()).ok_or_else(|| {
                            Bad::Invalid(format!("the NPY field {name:?} has the type {t:?}, not a number type read here"))
                        })?,
                    };
                    off = off.checked_add(size).ok_or_else(|| Bad::Invalid("NPY record size overflows".into()))?;
                }
                (fields, None, off)
            }
            _ => return Err(Bad::Invalid("the NPY 'descr' is neither a type nor a list of fields".into())),
        };
        let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        let need = count.and_then(|n| n.checked_mul(itemsize)).ok_or_else(|| Bad::Invalid(format!("the NPY shape {shape:?} overflows")))?;
        if need > c.remaining() {
            return Err(crate::bytes::truncated(&format!("the NPY data of shape {shape:?}"), c.pos, need, c.remaining()));
        }
        let data = c.take(need, "the data")?;
        Ok(Array { fields, num, shape, itemsize, data })
    }

    /// The named field as a column (structured arrays).
    pub fn field(&self, name: &str) -> Option<Column<'a>> {
        self.fields.iter().find(|f| f.0 == name).map(|&(_, num, offset)| Column { data: self.data, num, stride: self.itemsize, offset })
    }

    /// Column `j` of a 2-D numeric array.
    pub fn col(&self, j: usize) -> Option<Column<'a>> {
        let num = self.num?;
        match self.shape[..] {
            [_, c] if j < c => Some(Column { data: self.data, num, stride: c * num.size, offset: j * num.size }),
            _ => None,
        }
    }

    /// The whole array as one column (1-D numeric arrays).
    pub fn flat(&self) -> Option<Column<'a>> {
        let num = self.num?;
        (self.shape.len() == 1).then_some(Column { data: self.data, num, stride: num.size, offset: 0 })
    }

    /// Number of elements along the first axis.
    pub fn len(&self) -> usize {
        self.shape.first().copied().unwrap_or(1)
    }

    /// Whether the first axis is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Writes `events` as a structured NPY array `[('t','<i8'),('x','<i2'),('y','<i2'),('p','|u1')]`.
pub fn write_events(events: &Events) -> Vec<u8> {
    let dict = format!(
        "{{'descr': [('t', '<i8'), ('x', '<i2'), ('y', '<i2'), ('p', '|u1')], 'fortran_order': False, 'shape': ({},), }}",
        events.len()
    );
    let mut header = dict.into_bytes();
    // the header, with its 10 leading bytes, pads to a multiple of 64 and ends in a newline
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut out = Vec::with_capacity(10 + header.len() + events.len() * 13);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(&header);
    for i in 0..events.len() {
        out.extend_from_slice(&events.t[i].to_le_bytes());
        out.extend_from_slice(&(events.x[i] as i16).to_le_bytes());
        out.extend_from_slice(&(events.y[i] as i16).to_le_bytes());
        out.push(events.p[i] as u8);
    }
    out
}

/// Writes one 1-D or 2-D array of little-endian values of type `descr` (e.g. `<f8`), `bytes`
/// already encoded.
pub fn write_plain(descr: &str, shape: &[usize], bytes: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}").into_bytes();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut out = Vec::with_capacity(10 + header.len() + bytes.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(bytes);
    out
}

/// The Python literals an NPY header is written in: dicts, tuples, lists, strings, integers,
/// booleans.
mod pylit {
    #[derive(Debug)]
    pub(super) enum Value {
        Str(String),
        Int(u64),
        Bool(bool),
        List(Vec<Value>),
        Dict(Vec<(String, Value)>),
    }

    impl Value {
        pub(super) fn as_usize(&self) -> Option<usize> {
            match self {
                Value::Int(i) => usize::try_from(*i).ok(),
                _ => None,
            }
        }
    }

    pub(super) struct Dict(Vec<(String, Value)>);

    impl Dict {
        pub(super) fn get(&self, k: &str) -> Option<&Value> {
            self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v)
        }
    }

    struct P<'a> {
        s: &'a [u8],
        i: usize,
        depth: usize,
    }

    pub(super) fn parse(s: &str) -> Result<Dict, String> {
        let mut p = P { s: s.as_bytes(), i: 0, depth: 0 };
        match p.value()? {
            Value::Dict(d) => Ok(Dict(d)),
            _ => Err("not a dict".into()),
        }
    }

    impl P<'_> {
        fn ws(&mut self) {
            while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
        }

        fn eat(&mut self, c: u8) -> bool {
            self.ws();
            if self.s.get(self.i) == Some(&c) {
                self.i += 1;
                true
            } else {
                false
            }
        }

        fn value(&mut self) -> Result<Value, String> {
            self.ws();
            self.depth += 1;
            if self.depth > 16 {
                return Err("nested too deeply".into());
            }
            let c = *self.s.get(self.i).ok_or("unexpected end")?;
            let v = match c {
                b'{' => {
                    self.i += 1;
                    let mut d = Vec::new();
                    loop {
                        if self.eat(b'}') {
                            break;
                        }
                        let Value::Str(k) = self.value()? else { return Err("a dict key is not a string".into()) };
                        if !self.eat(b':') {
                            return Err("expected ':'".into());
                        }
                        d.push((k, self.value()?));
                        if self.eat(b',') {
                            continue;
                        }
                        if self.eat(b'}') {
                            break;
                        }
                        return Err("expected ',' or '}'".into());
                    }
                    Value::Dict(d)
                }
                b'(' | b'[' => {
                    let close = if c == b'(' { b')' } else { b']' };
                    self.i += 1;
                    let mut v = Vec::new();
                    loop {
                        if self.eat(close) {
                            break;
                        }
                        v.push(self.value()?);
                        if self.eat(b',') {
                            continue;
                        }
                        if self.eat(close) {
                            break;
                        }
                        return Err("expected ',' or a closing bracket".into());
                    }
                    Value::List(v)
                }
                b'\'' | b'"' => {
                    let start = self.i + 1;
                    let end = self.s[start..].iter().position(|&b| b == c).ok_or("unterminated string")? + start;
                    self.i = end + 1;
                    Value::Str(String::from_utf8_lossy(&self.s[start..end]).into_owned())
                }
                b'0'..=b'9' => {
                    let start = self.i;
                    while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
                        self.i += 1;
                    }
                    // NumPy writes `10L` in Python 2 headers
                    let n = std::str::from_utf8(&self.s[start..self.i]).ok().and_then(|t| t.parse().ok()).ok_or("an integer too large")?;
                    if self.s.get(self.i) == Some(&b'L') {
                        self.i += 1;
                    }
                    Value::Int(n)
                }
                _ if self.s[self.i..].starts_with(b"True") => {
                    self.i += 4;
                    Value::Bool(true)
                }
                _ if self.s[self.i..].starts_with(b"False") => {
                    self.i += 5;
                    Value::Bool(false)
                }
                _ => return Err(format!("unexpected {:?}", c as char)),
            };
            self.depth -= 1;
            Ok(v)
        }
    }
}
