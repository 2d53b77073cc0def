//! A small HDF5 *writer* for the SHD layout and NIR graphs, byte-compatible with what libhdf5/h5py
//! write by default (superblock version 0, version-1 object headers, symbol-table groups,
//! variable-length data in global-heap collections, contiguous storage; datasets of any rank,
//! scalars included).
//!
//! Why our own: the SHD files store spike times as variable-length **float16**, and no pure-Rust
//! HDF5 crate we could find encodes a 2-byte float (`hdf5-writer` 0.12 refuses the width,
//! `hdf5-pure` 0.47 writes no numeric variable-length data). Reading stays with `hdf5-reader`.
//! The output is checked against h5py in `tools/check_h5_layout.py` and against our reader in tests.
//!
//! Format reference: the HDF5 File Format Specification, version 2.0 (sections II.A superblock,
//! III.A.1 B-tree v1, III.B symbol table node, III.D local heap, III.E global heap, IV.A.1 object
//! header v1, IV.A.2 messages 0x0001 dataspace, 0x0003 datatype, 0x0005 fill value, 0x0008 layout,
//! 0x0011 symbol table). Offsets and lengths are 8 bytes; all numbers little-endian.

/// Element type of a dataset or of a variable-length sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    /// Unsigned 8-bit integer.
    U8,
    /// Unsigned 16-bit integer.
    U16,
    /// Unsigned 32-bit integer.
    U32,
    /// Signed 64-bit integer.
    I64,
    /// IEEE half precision (binary16).
    F16,
    /// IEEE single precision.
    F32,
    /// IEEE double precision.
    F64,
}

impl Elem {
    fn size(self) -> usize {
        match self {
            Elem::U8 => 1,
            Elem::U16 | Elem::F16 => 2,
            Elem::U32 | Elem::F32 => 4,
            Elem::I64 | Elem::F64 => 8,
        }
    }

    /// Datatype message (version 1), unpadded.
    fn message(self) -> Vec<u8> {
        let size = self.size() as u32;
        let mut m = Vec::with_capacity(20);
        let float = |m: &mut Vec<u8>, exp_loc: u8, exp_size: u8, mant_size: u8, bias: u32| {
            let sign = size * 8 - 1;
            // class 1, version 1; flags: little-endian, implied-MSB mantissa (bits 4-5 = 2), sign bit.
            m.push(0x11);
            m.push(0x20);
            m.push(sign as u8);
            m.push(0);
            m.extend_from_slice(&size.to_le_bytes());
            m.extend_from_slice(&0u16.to_le_bytes());
            m.extend_from_slice(&((size * 8) as u16).to_le_bytes());
            m.extend_from_slice(&[exp_loc, exp_size, 0, mant_size]);
            m.extend_from_slice(&bias.to_le_bytes());
        };
        match self {
            Elem::U8 | Elem::U16 | Elem::U32 | Elem::I64 => {
                // class 0, version 1, little-endian; bit 3: signed
                m.extend_from_slice(&[0x10, if self == Elem::I64 { 0x08 } else { 0 }, 0, 0]);
                m.extend_from_slice(&size.to_le_bytes());
                m.extend_from_slice(&0u16.to_le_bytes());
                m.extend_from_slice(&((size * 8) as u16).to_le_bytes());
            }
            Elem::F16 => float(&mut m, 10, 5, 10, 15),
            Elem::F32 => float(&mut m, 23, 8, 23, 127),
            Elem::F64 => float(&mut m, 52, 11, 52, 1023),
        }
        m
    }
}

/// What a dataset holds, in row-major order (its shape is given with it, or one-dimensional).
#[derive(Debug, Clone)]
pub enum Data {
    /// Fixed-size elements, little-endian bytes (`len = n · elem size`).
    Fixed(Elem, Vec<u8>),
    /// One variable-length sequence per element, each as little-endian bytes.
    VlenSeq(Elem, Vec<Vec<u8>>),
    /// Variable-length UTF-8 strings.
    VlenStr(Vec<String>),
}

impl Data {
    fn len(&self, elem_size: usize) -> usize {
        match self {
            Data::Fixed(_, b) => b.len() / elem_size,
            Data::VlenSeq(_, v) => v.len(),
            Data::VlenStr(v) => v.len(),
        }
    }

    fn datatype(&self) -> Vec<u8> {
        let vlen = |kind: u8, base: Vec<u8>| {
            let mut m = vec![0x19, kind, if kind == 1 { 0x01 } else { 0 }, 0];
            m.extend_from_slice(&16u32.to_le_bytes()); // length + heap address + index
            m.extend_from_slice(&base);
            m
        };
        match self {
            Data::Fixed(e, _) => e.message(),
            Data::VlenSeq(e, _) => vlen(0, e.message()),
            // String kind (bits 0-3 = 1), null-terminated, UTF-8 (bits 8-11 = 1) over 1-byte unsigned.
            Data::VlenStr(_) => vlen(1, Elem::U8.message()),
        }
    }
}

const UNDEF: u64 = u64::MAX;
/// libhdf5's end-of-free-list marker in a local heap (`H5HL_FREE_NULL`).
const FREE_NULL: u64 = 1;
/// Group B-tree K (internal) and symbol-table-node K (leaf), libhdf5's defaults.
const BTREE_K: usize = 16;
const LEAF_K: usize = 4;
/// Objects per global-heap collection (the index is 16 bits).
const GCOL_MAX_OBJECTS: usize = 8192;

#[derive(Default)]
struct Group {
    groups: Vec<(String, Group)>,
    /// Each dataset with its shape (`None`: one-dimensional, as long as the data).
    datasets: Vec<(String, Data, Option<Vec<u64>>)>,
}

/// Collects datasets under slash-separated paths, then encodes the whole file at once.
#[derive(Default)]
pub struct H5Writer {
    root: Group,
}

impl H5Writer {
    /// An empty file.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a dataset at `path` (`"a/b/name"`); intermediate groups are created.
    ///
    /// # Panics
    /// Never; a duplicate path is kept twice and rejected by [`H5Writer::finish`].
    pub fn dataset(&mut self, path: &str, data: Data) {
        self.push(path, data, None);
    }

    /// Adds a dataset of shape `shape` at `path` (`[]`: a scalar); the element count must be the
    /// shape's product ([`H5Writer::finish`] checks).
    pub fn dataset_shaped(&mut self, path: &str, data: Data, shape: &[usize]) {
        self.push(path, data, Some(shape.iter().map(|&d| d as u64).collect()));
    }

    fn push(&mut self, path: &str, data: Data, shape: Option<Vec<u64>>) {
        let mut parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let name = parts.pop().unwrap_or_default().to_string();
        let mut g = &mut self.root;
        for p in parts {
            let i = match g.groups.iter().position(|(n, _)| n == p) {
                Some(i) => i,
                None => {
                    g.groups.push((p.to_string(), Group::default()));
                    g.groups.len() - 1
                }
            };
            g = &mut g.groups[i].1;
        }
        g.datasets.push((name, data, shape));
    }

    /// Encodes the file.
    ///
    /// # Errors
    /// A message naming the problem: duplicate or empty names, more than 256 entries in one group,
    /// a byte length that is not a multiple of the element size, a shape that does not hold the
    /// data, or a string with a NUL byte.
    pub fn finish(self) -> Result<Vec<u8>, String> {
        let mut f = File { buf: vec![0; 96] };
        let (root, btree, heap) = f.group(&self.root)?;
        // Superblock version 0.
        let b = &mut f.buf;
        b[..8].copy_from_slice(b"\x89HDF\r\n\x1a\n");
        b[8..16].copy_from_slice(&[0, 0, 0, 0, 0, 8, 8, 0]);
        b[16..18].copy_from_slice(&(LEAF_K as u16).to_le_bytes());
        b[18..20].copy_from_slice(&(BTREE_K as u16).to_le_bytes());
        // 20..24 consistency flags = 0; 24..32 base address = 0.
        b[32..40].copy_from_slice(&UNDEF.to_le_bytes());
        let eof = b.len() as u64;
        b[40..48].copy_from_slice(&eof.to_le_bytes());
        b[48..56].copy_from_slice(&UNDEF.to_le_bytes());
        // Root symbol-table entry: name offset 0, header, cache type 1 with B-tree and heap.
        b[56..64].copy_from_slice(&0u64.to_le_bytes());
        b[64..72].copy_from_slice(&root.to_le_bytes());
        b[72..76].copy_from_slice(&1u32.to_le_bytes());
        b[80..88].copy_from_slice(&btree.to_le_bytes());
        b[88..96].copy_from_slice(&heap.to_le_bytes());
        Ok(f.buf)
    }
}

struct File {
    buf: Vec<u8>,
}

fn pad8(v: &mut Vec<u8>) {
    while !v.len().is_multiple_of(8) {
        v.push(0);
    }
}

impl File {
    fn here(&self) -> u64 {
        self.buf.len() as u64
    }

    fn put(&mut self, bytes: &[u8]) -> u64 {
        let at = self.here();
        self.buf.extend_from_slice(bytes);
        pad8(&mut self.buf);
        at
    }

    /// Writes a version-1 object header holding `msgs` (type, body) and returns its address.
    fn object_header(&mut self, msgs: &[(u16, Vec<u8>)]) -> u64 {
        let mut body = Vec::new();
        for (ty, m) in msgs {
            let mut m = m.clone();
            pad8(&mut m);
            body.extend_from_slice(&ty.to_le_bytes());
            body.extend_from_slice(&(m.len() as u16).to_le_bytes());
            body.extend_from_slice(&[0, 0, 0, 0]); // flags + reserved
            body.extend_from_slice(&m);
        }
        let mut h = vec![1u8, 0];
        h.extend_from_slice(&(msgs.len() as u16).to_le_bytes());
        h.extend_from_slice(&1u32.to_le_bytes()); // reference count
        h.extend_from_slice(&(body.len() as u32).to_le_bytes());
        h.extend_from_slice(&[0; 4]); // align the messages to 8 bytes
        h.extend_from_slice(&body);
        self.put(&h)
    }

    /// Stores `objects` in global-heap collections; returns (collection address, index) for each,
    /// or (0, 0) for an empty object, as libhdf5 does.
    fn global_heap(&mut self, objects: &[&[u8]]) -> Vec<(u64, u32)> {
        let mut ids = Vec::with_capacity(objects.len());
        for chunk in objects.chunks(GCOL_MAX_OBJECTS) {
            let mut c = b"GCOL\x01\0\0\0".to_vec();
            c.extend_from_slice(&[0; 8]); // size, patched below
            let at = self.here();
            let mut index = 0u16;
            for o in chunk {
                if o.is_empty() {
                    ids.push((0, 0));
                    continue;
                }
                index += 1;
                ids.push((at, u32::from(index)));
                c.extend_from_slice(&index.to_le_bytes());
                c.extend_from_slice(&[0; 6]); // reference count, reserved
                c.extend_from_slice(&(o.len() as u64).to_le_bytes());
                c.extend_from_slice(o);
                pad8(&mut c);
            }
            // Free-space object (index 0) filling the collection up to libhdf5's 4096-byte minimum.
            let size = (c.len() + 16).max(4096);
            let free = (size - c.len()) as u64;
            c.extend_from_slice(&[0; 8]);
            c.extend_from_slice(&free.to_le_bytes());
            c.resize(size, 0);
            c[8..16].copy_from_slice(&(size as u64).to_le_bytes());
            if index > 0 {
                self.put(&c);
            }
        }
        ids
    }

    fn dataset(&mut self, name: &str, data: &Data, shape: Option<&[u64]>) -> Result<u64, String> {
        let esize = match data {
            Data::Fixed(e, b) => {
                if b.len() % e.size() != 0 {
                    return Err(format!("dataset '{name}': {} bytes is not a whole number of elements", b.len()));
                }
                e.size()
            }
            _ => 16,
        };
        let n = data.len(esize);
        let raw: Vec<u8> = match data {
            Data::Fixed(_, b) => b.clone(),
            Data::VlenSeq(e, items) => {
                if let Some(bad) = items.iter().find(|s| s.len() % e.size() != 0) {
                    return Err(format!("dataset '{name}': sequence of {} bytes is not a whole number of elements", bad.len()));
                }
                let objs: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
                let lens: Vec<u32> = items.iter().map(|s| (s.len() / e.size()) as u32).collect();
                vlen_refs(&lens, &self.global_heap(&objs))
            }
            Data::VlenStr(items) => {
                if items.iter().any(|s| s.contains('\0')) {
                    return Err(format!("dataset '{name}': strings must not contain NUL"));
                }
                let objs: Vec<&[u8]> = items.iter().map(|s| s.as_bytes()).collect();
                let lens: Vec<u32> = items.iter().map(|s| s.len() as u32).collect();
                vlen_refs(&lens, &self.global_heap(&objs))
            }
        };
        let dims: Vec<u64> = shape.map_or_else(|| vec![n as u64], <[u64]>::to_vec);
        if dims.iter().product::<u64>() != n as u64 {
            return Err(format!("dataset '{name}': shape {dims:?} does not hold its {n} elements"));
        }
        let addr = if raw.is_empty() { UNDEF } else { self.put(&raw) };
        // Dataspace message v1: rank (0 = scalar), no maximum dimensions.
        let mut space = vec![1u8, dims.len() as u8, 0, 0, 0, 0, 0, 0];
        for d in &dims {
            space.extend_from_slice(&d.to_le_bytes());
        }
        // Fill value message v2: allocation late, write-time "if set", no value defined.
        let fill = vec![2u8, 2, 2, 0];
        let mut layout = vec![3u8, 1];
        layout.extend_from_slice(&addr.to_le_bytes());
        layout.extend_from_slice(&(raw.len() as u64).to_le_bytes());
        Ok(self.object_header(&[(0x0001, space), (0x0003, data.datatype()), (0x0005, fill), (0x0008, layout)]))
    }

    /// Writes a group and everything below it; returns (object header, B-tree, local heap).
    fn group(&mut self, g: &Group) -> Result<(u64, u64, u64), String> {
        let mut children: Vec<(String, u64)> = Vec::new();
        for (name, sub) in &g.groups {
            children.push((name.clone(), self.group(sub)?.0));
        }
        for (name, d, shape) in &g.datasets {
            children.push((name.clone(), self.dataset(name, d, shape.as_deref())?));
        }
        children.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        if let Some(w) = children.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(format!("duplicate name '{}'", w[0].0));
        }
        if children.iter().any(|(n, _)| n.is_empty() || n.contains('\0')) {
            return Err("empty name or NUL in a name".into());
        }
        // one symbol-table node per 2·LEAF_K entries, all children of one B-tree leaf
        let max = 2 * LEAF_K * 2 * BTREE_K;
        if children.len() > max {
            return Err(format!("a group holds at most {max} entries here, got {}", children.len()));
        }
        // Local heap: "" at offset 0, then the names, then one 16-byte free block.
        let mut seg = vec![0u8; 8];
        let mut offsets = Vec::new();
        for (name, _) in &children {
            offsets.push(seg.len() as u64);
            seg.extend_from_slice(name.as_bytes());
            seg.push(0);
            pad8(&mut seg);
        }
        let free_at = seg.len() as u64;
        seg.extend_from_slice(&FREE_NULL.to_le_bytes());
        seg.extend_from_slice(&16u64.to_le_bytes());
        let seg_addr = self.put(&seg);
        let mut heap = b"HEAP\0\0\0\0".to_vec();
        heap.extend_from_slice(&(seg.len() as u64).to_le_bytes());
        heap.extend_from_slice(&free_at.to_le_bytes());
        heap.extend_from_slice(&seg_addr.to_le_bytes());
        let heap_addr = self.put(&heap);
        // Symbol table nodes with room for 2·LEAF_K entries each (at least one, for an empty group).
        let mut leaves: Vec<(u64, u64)> = Vec::new(); // (node address, heap offset of its last name)
        let entries: Vec<((String, u64), u64)> = children.into_iter().zip(offsets).collect();
        let chunks: Vec<&[((String, u64), u64)]> = if entries.is_empty() { vec![&[][..]] } else { entries.chunks(2 * LEAF_K).collect() };
        for chunk in chunks {
            let mut snod = b"SNOD\x01\0".to_vec();
            snod.extend_from_slice(&(chunk.len() as u16).to_le_bytes());
            for ((_, obj), off) in chunk {
                snod.extend_from_slice(&off.to_le_bytes());
                snod.extend_from_slice(&obj.to_le_bytes());
                snod.extend_from_slice(&[0; 24]); // cache type 0, reserved, scratch
            }
            snod.resize(8 + 2 * LEAF_K * 40, 0);
            leaves.push((self.put(&snod), chunk.last().map_or(0, |e| e.1)));
        }
        // B-tree v1 leaf for a group (type 0), sized for 2·BTREE_K children: key 0 (the empty
        // name), then per child its address and the last name it holds.
        let mut bt = b"TREE\0\0".to_vec();
        bt.extend_from_slice(&(leaves.len() as u16).to_le_bytes());
        bt.extend_from_slice(&UNDEF.to_le_bytes());
        bt.extend_from_slice(&UNDEF.to_le_bytes());
        bt.extend_from_slice(&0u64.to_le_bytes());
        for (addr, last) in &leaves {
            bt.extend_from_slice(&addr.to_le_bytes());
            bt.extend_from_slice(&last.to_le_bytes());
        }
        bt.resize(24 + (2 * BTREE_K + 1) * 8 + 2 * BTREE_K * 8, 0);
        let bt_addr = self.put(&bt);
        let mut stab = Vec::new();
        stab.extend_from_slice(&bt_addr.to_le_bytes());
        stab.extend_from_slice(&heap_addr.to_le_bytes());
        let oh = self.object_header(&[(0x0011, stab)]);
        Ok((oh, bt_addr, heap_addr))
    }
}

/// The 16-byte on-disk form of variable-length elements: length, collection address, index.
fn vlen_refs(lens: &[u32], ids: &[(u64, u32)]) -> Vec<u8> {
    let mut raw = Vec::with_capacity(16 * lens.len());
    for (len, (addr, idx)) in lens.iter().zip(ids) {
        raw.extend_from_slice(&len.to_le_bytes());
        raw.extend_from_slice(&addr.to_le_bytes());
        raw.extend_from_slice(&idx.to_le_bytes());
    }
    raw
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdf5_reader::Hdf5File;

    fn f32s(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn shaped_scalar_signed_and_large_groups_read_back() {
        let mut w = H5Writer::new();
        let m: Vec<f32> = (0..12).map(|i| i as f32 * 0.5).collect();
        w.dataset_shaped("g/matrix", Data::Fixed(Elem::F32, f32s(&m)), &[3, 4]);
        w.dataset_shaped("g/dt", Data::Fixed(Elem::F64, 1e-3f64.to_le_bytes().to_vec()), &[]);
        w.dataset_shaped("g/type", Data::VlenStr(vec!["CubaLIF".into()]), &[]);
        w.dataset("g/shape", Data::Fixed(Elem::I64, [-3i64, 700].iter().flat_map(|x| x.to_le_bytes()).collect()));
        w.dataset_shaped("g/edges", Data::VlenStr(["input", "fc", "fc", "lif", "lif", "output"].map(String::from).to_vec()), &[3, 2]);
        // 40 entries: five symbol-table nodes under one B-tree leaf
        for i in 0..40 {
            w.dataset(&format!("many/n{i:02}"), Data::Fixed(Elem::U32, (i as u32).to_le_bytes().to_vec()));
        }
        let bytes = w.finish().unwrap();
        let f = Hdf5File::from_bytes(&bytes).unwrap();
        let d = f.dataset("g/matrix").unwrap();
        assert_eq!(d.shape(), &[3, 4]);
        assert_eq!(d.read_array::<f32>().unwrap().iter().copied().collect::<Vec<_>>(), m);
        let dt = f.dataset("g/dt").unwrap();
        assert_eq!(dt.ndim(), 0);
        assert_eq!(dt.read_array::<f64>().unwrap().iter().copied().collect::<Vec<_>>(), vec![1e-3]);
        assert_eq!(f.dataset("g/type").unwrap().read_string().unwrap(), "CubaLIF");
        assert_eq!(f.dataset("g/shape").unwrap().read_array::<i64>().unwrap().iter().copied().collect::<Vec<_>>(), vec![-3, 700]);
        let e = f.dataset("g/edges").unwrap();
        assert_eq!(e.shape(), &[3, 2]);
        assert_eq!(e.read_strings().unwrap(), ["input", "fc", "fc", "lif", "lif", "output"]);
        let (_, names) = f.group("many").unwrap().member_names().unwrap();
        assert_eq!(names.len(), 40);
        for i in [0u32, 7, 8, 23, 39] {
            let v = f.dataset(&format!("many/n{i:02}")).unwrap().read_array::<u32>().unwrap();
            assert_eq!(v.iter().copied().collect::<Vec<_>>(), vec![i]);
        }
    }

    #[test]
    fn shapes_that_do_not_hold_the_data_and_oversized_groups_are_refused() {
        let mut w = H5Writer::new();
        w.dataset_shaped("x", Data::Fixed(Elem::F32, f32s(&[1.0, 2.0, 3.0])), &[2, 2]);
        assert!(w.finish().unwrap_err().contains("shape [2, 2] does not hold its 3 elements"));
        let mut w = H5Writer::new();
        for i in 0..257 {
            w.dataset(&format!("g/d{i}"), Data::Fixed(Elem::U8, vec![0]));
        }
        assert!(w.finish().unwrap_err().contains("at most 256 entries"));
    }
}
