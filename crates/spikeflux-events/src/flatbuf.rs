//! The few reads of a FlatBuffers table that AEDAT 4 needs, each checked against the buffer's
//! bounds (the generated FlatBuffers code trusts offsets unless verified; here every offset is
//! verified where it is followed).

use crate::bytes::{le_i64, le_u16, le_u32};
use crate::Bad;

fn bad(what: &str, detail: impl std::fmt::Display) -> Bad {
    Bad::Invalid(format!("corrupt {what}: {detail}"))
}

/// A table in a buffer: its position and its vtable's.
pub(crate) struct Table<'a> {
    buf: &'a [u8],
    pos: usize,
    vt: usize,
    vt_len: usize,
    what: &'a str,
}

fn get_u32(buf: &[u8], at: usize, what: &str) -> Result<u32, Bad> {
    if at.checked_add(4).is_none_or(|e| e > buf.len()) {
        return Err(bad(what, format!("an offset at {at} points beyond its {} bytes", buf.len())));
    }
    Ok(le_u32(buf, at))
}

impl<'a> Table<'a> {
    /// The root table of `buf` (its first 4 bytes are the root's offset).
    pub(crate) fn root(buf: &'a [u8], what: &'a str) -> Result<Self, Bad> {
        let pos = get_u32(buf, 0, what)? as usize;
        Self::at(buf, pos, what)
    }

    fn at(buf: &'a [u8], pos: usize, what: &'a str) -> Result<Self, Bad> {
        let soff = get_u32(buf, pos, what)? as i32 as i64;
        let vt = pos as i64 - soff;
        if vt < 0 || vt as usize + 4 > buf.len() {
            return Err(bad(what, format!("the vtable of the table at {pos} lies outside the buffer")));
        }
        let vt = vt as usize;
        let vt_len = le_u16(buf, vt) as usize;
        if vt_len < 4 || vt + vt_len > buf.len() || !vt_len.is_multiple_of(2) {
            return Err(bad(what, format!("the vtable at {vt} has size {vt_len}")));
        }
        let tbl_len = le_u16(buf, vt + 2) as usize;
        if pos + tbl_len.max(4) > buf.len() {
            return Err(bad(what, format!("the table at {pos} ({tbl_len} bytes) runs beyond the buffer")));
        }
        Ok(Table { buf, pos, vt, vt_len, what })
    }

    /// Where field `i` is stored (absolute), `None` if absent (the default applies).
    fn field(&self, i: usize, size: usize) -> Result<Option<usize>, Bad> {
        let e = 4 + 2 * i;
        if e + 2 > self.vt_len {
            return Ok(None);
        }
        let off = le_u16(self.buf, self.vt + e) as usize;
        if off == 0 {
            return Ok(None);
        }
        let at = self.pos + off;
        if at + size > self.buf.len() {
            return Err(bad(self.what, format!("field {i} at {at} runs beyond the buffer")));
        }
        Ok(Some(at))
    }

    pub(crate) fn i32(&self, i: usize, default: i32) -> Result<i32, Bad> {
        Ok(self.field(i, 4)?.map_or(default, |at| le_u32(self.buf, at) as i32))
    }

    pub(crate) fn i64(&self, i: usize, default: i64) -> Result<i64, Bad> {
        Ok(self.field(i, 8)?.map_or(default, |at| le_i64(self.buf, at)))
    }

    /// Field `i` as a vector of `elem`-byte elements: the elements' bytes and their count.
    pub(crate) fn vector(&self, i: usize, elem: usize) -> Result<Option<(&'a [u8], usize)>, Bad> {
        let Some(at) = self.field(i, 4)? else { return Ok(None) };
        let start = at + le_u32(self.buf, at) as usize;
        let n = get_u32(self.buf, start, self.what)? as usize;
        let bytes = n.checked_mul(elem).ok_or_else(|| bad(self.what, format!("a vector of {n} elements")))?;
        let data = start + 4;
        if data.checked_add(bytes).is_none_or(|e| e > self.buf.len()) {
            return Err(bad(self.what, format!("a vector of {n} × {elem} bytes at {data} runs beyond the buffer's {} bytes", self.buf.len())));
        }
        Ok(Some((&self.buf[data..data + bytes], n)))
    }

    /// Field `i` as a UTF-8 string.
    pub(crate) fn string(&self, i: usize) -> Result<Option<&'a str>, Bad> {
        match self.vector(i, 1)? {
            None => Ok(None),
            Some((b, _)) => std::str::from_utf8(b).map(Some).map_err(|e| bad(self.what, format!("a string is not UTF-8 ({e})"))),
        }
    }
}
