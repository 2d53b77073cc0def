//! A bounds-checked cursor over a file's bytes: every read either returns the value or says at
//! which byte the file ended and how many bytes were wanted.

use crate::Bad;

/// Position in a byte slice.
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, pos: 0 }
    }

    pub(crate) fn at(bytes: &'a [u8], pos: usize) -> Self {
        Cursor { bytes, pos }
    }

    /// Bytes not yet read.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    /// The next `n` bytes, or an error naming `what` and where the file ended.
    pub(crate) fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], Bad> {
        if n > self.remaining() {
            return Err(truncated(what, self.pos, n, self.remaining()));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(crate) fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], Bad> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub(crate) fn u16_le(&mut self, what: &str) -> Result<u16, Bad> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u32_le(&mut self, what: &str) -> Result<u32, Bad> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn i32_le(&mut self, what: &str) -> Result<i32, Bad> {
        Ok(i32::from_le_bytes(self.array(what)?))
    }

    /// A text line ending in `\n` (without it, and without a trailing `\r`), or `None` at the end.
    pub(crate) fn line(&mut self) -> Option<&'a [u8]> {
        if self.remaining() == 0 {
            return None;
        }
        let rest = &self.bytes[self.pos..];
        let n = rest.iter().position(|&b| b == b'\n').map_or(rest.len(), |i| i + 1);
        self.pos += n;
        let mut l = &rest[..n];
        if let Some(s) = l.strip_suffix(b"\n") {
            l = s;
        }
        if let Some(s) = l.strip_suffix(b"\r") {
            l = s;
        }
        Some(l)
    }

    /// The next byte without consuming it.
    pub(crate) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }
}

/// "truncated: <what> at byte <pos> needs <n> bytes but <left> remain (…)".
pub(crate) fn truncated(what: &str, pos: usize, n: usize, left: usize) -> Bad {
    Bad::Invalid(format!(
        "truncated: {what} at byte {pos} needs {n} bytes but {left} remain (the file was cut short: copy or download it again)"
    ))
}

/// Little-endian u16/u32/u64 at `off` of a slice known to be long enough.
pub(crate) fn le_u16(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

pub(crate) fn le_u32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

pub(crate) fn le_i64(b: &[u8], off: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    i64::from_le_bytes(a)
}
