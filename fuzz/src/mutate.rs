//! Input generation: input `i` of a run with seed `s` is a deterministic function of (s, i) — a
//! ChaCha8 stream numbered `i` feeds an [`arbitrary::Unstructured`], whose choices pick a seed file
//! and stack 1–8 mutations on it. A finding is therefore reproduced from its index alone, and the
//! supervisor can rebuild the input a crashed worker was running.
//!
//! Byte mutations aim at what breaks binary readers: length and offset fields (integers of 1, 2, 4
//! and 8 bytes in either byte order set to boundary values or nudged by a few units), truncation,
//! deletion, duplication and splicing between seeds. Targets with structure (TOML configs) bring
//! their own mutator ([`crate::targets::config`]) and use these only as a last layer.

use arbitrary::{Result, Unstructured};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Bytes of entropy behind one input's choices.
const ENTROPY: usize = 512;

/// The entropy of input `index` of a run seeded with `seed`.
pub fn entropy(seed: u64, index: u64) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    let mut b = vec![0u8; ENTROPY];
    rng.fill_bytes(&mut b);
    b
}

/// Integers that sit on the edges of what length fields hold.
fn boundary(u: &mut Unstructured, len: usize) -> Result<u64> {
    Ok(match u.int_in_range(0..=15)? {
        0 => 0,
        1 => 1,
        2 => 2,
        3 => 0x7f,
        4 => 0xff,
        5 => 0x7fff,
        6 => 0xffff,
        7 => 0x7fff_ffff,
        8 => 0xffff_ffff,
        9 => i64::MAX as u64,
        10 => u64::MAX,
        11 => 500_000_000,
        12 => len as u64,
        13 => 2 * len as u64 + 1,
        14 => 1 << u.int_in_range(0..=63)?,
        _ => u.arbitrary::<u64>()?,
    })
}

/// Where headers and metadata live: half the mutations land in the first this many bytes.
const HEAD: usize = 4096;

fn pos(u: &mut Unstructured, len: usize) -> Result<usize> {
    pos_in(u, len, HEAD)
}

fn pos_in(u: &mut Unstructured, len: usize, head: usize) -> Result<usize> {
    if len == 0 {
        return Ok(0);
    }
    if u.ratio(1, 2)? {
        u.int_in_range(0..=len.min(head) - 1)
    } else {
        u.int_in_range(0..=len - 1)
    }
}

/// One mutation of `b`; `others` are the target's seeds, for splicing.
pub fn mutate_once(u: &mut Unstructured, b: &mut Vec<u8>, others: &[Vec<u8>]) -> Result<()> {
    let len = b.len();
    match u.int_in_range(0..=9)? {
        0 if len > 0 => {
            let p = pos(u, len)?;
            b[p] ^= 1 << u.int_in_range(0..=7)?;
        }
        1 if len > 0 => {
            let p = pos(u, len)?;
            b[p] = *u.choose(&[0u8, 1, 0x7f, 0x80, 0xff])?;
        }
        2 | 3 if len > 0 => {
            // an integer field of 1, 2, 4 or 8 bytes, either byte order
            let w = *u.choose(&[1usize, 2, 4, 8])?;
            let p = pos(u, len)?;
            let v = boundary(u, len)?;
            // the low `w` bytes of v, in the chosen byte order
            let (le, be) = (v.to_le_bytes(), v.to_be_bytes());
            let src = if u.arbitrary::<bool>()? { &le[..w] } else { &be[8 - w..] };
            for (k, &x) in src.iter().enumerate() {
                if p + k < len {
                    b[p + k] = x;
                }
            }
        }
        4 if len >= 4 => {
            // nudge a little-endian u32 (lengths and offsets off by a few)
            let p = pos(u, len - 3)?;
            let v = u32::from_le_bytes([b[p], b[p + 1], b[p + 2], b[p + 3]]);
            let d = u.int_in_range(-16i32..=16)?;
            b[p..p + 4].copy_from_slice(&v.wrapping_add_signed(d).to_le_bytes());
        }
        5 if len > 0 => {
            let p = pos(u, len)?;
            b.truncate(p);
        }
        6 if len > 1 => {
            let p = pos(u, len)?;
            let n = u.int_in_range(1..=(len - p).min(256))?;
            b.drain(p..p + n);
        }
        7 => {
            let p = pos(u, len + 1)?.min(len);
            let n = u.int_in_range(1..=64)?;
            let ins: Vec<u8> = (0..n).map(|_| u.arbitrary::<u8>()).collect::<Result<_>>()?;
            b.splice(p..p, ins);
        }
        8 if len > 1 => {
            // duplicate a range in place
            let p = pos(u, len)?;
            let n = u.int_in_range(1..=(len - p).min(1024))?;
            let chunk = b[p..p + n].to_vec();
            let at = pos(u, len)?;
            b.splice(at..at, chunk);
        }
        _ if !others.is_empty() => {
            // splice a range of another seed over this one
            let o = u.choose(others)?;
            if !o.is_empty() && len > 0 {
                let from = pos(u, o.len())?;
                let n = u.int_in_range(1..=(o.len() - from).min(512))?;
                let at = pos(u, len)?;
                let end = (at + n).min(len);
                b[at..end].copy_from_slice(&o[from..from + (end - at)]);
            }
        }
        _ => {}
    }
    Ok(())
}

/// For formats whose data is checksummed but whose header is not (FLAC: CRCs on every frame, none
/// on the metadata blocks): half the inputs get 1–4 header mutations only (values of 1–8-byte
/// fields and bit flips within the first `head` bytes), so they pass the checksums and reach the
/// decoder with an inconsistent header; the other half are [`bytes`].
pub fn header_bytes(entropy: &[u8], seeds: &[Vec<u8>], head: usize) -> Vec<u8> {
    let mut u = Unstructured::new(entropy);
    if !u.ratio(1, 2).unwrap_or(false) {
        return bytes(&entropy[1..], seeds);
    }
    let mut b = u.choose(seeds).cloned().unwrap_or_default();
    for _ in 0..u.int_in_range(1..=4).unwrap_or(1) {
        let r = (|| -> Result<()> {
            let len = b.len();
            if len == 0 {
                return Ok(());
            }
            let p = pos_in(&mut u, len, head)?;
            if u.arbitrary::<bool>()? {
                b[p] ^= 1 << u.int_in_range(0..=7)?;
            } else {
                let w = *u.choose(&[1usize, 2, 3, 4, 8])?;
                let v = boundary(&mut u, len)?.to_be_bytes();
                for k in 0..w.min(len - p) {
                    b[p + k] = v[8 - w + k];
                }
            }
            Ok(())
        })();
        if r.is_err() {
            break;
        }
    }
    b
}

/// A seed with 1–8 byte mutations stacked on it (1 in 64 inputs are random bytes instead).
pub fn bytes(entropy: &[u8], seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut u = Unstructured::new(entropy);
    let mut b = match u.ratio(1, 64) {
        Ok(true) => {
            let n = u.int_in_range(0..=256).unwrap_or(0);
            (0..n).map(|_| u.arbitrary::<u8>().unwrap_or(0)).collect()
        }
        _ => u.choose(seeds).cloned().unwrap_or_default(),
    };
    let n = u.int_in_range(1..=8).unwrap_or(1);
    for _ in 0..n {
        // running out of entropy ends the stack early; the input is still valid
        if mutate_once(&mut u, &mut b, seeds).is_err() {
            break;
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_a_function_of_seed_and_index() {
        let seeds = vec![b"hello world, a seed file".to_vec(), vec![0u8; 100]];
        let a = bytes(&entropy(7, 12345), &seeds);
        let b = bytes(&entropy(7, 12345), &seeds);
        assert_eq!(a, b);
        let distinct: std::collections::HashSet<Vec<u8>> = (0..200).map(|i| bytes(&entropy(7, i), &seeds)).collect();
        assert!(distinct.len() > 150, "only {} distinct inputs of 200", distinct.len());
        assert_ne!(bytes(&entropy(8, 12345), &seeds), a);
    }
}
