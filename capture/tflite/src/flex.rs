//! A minimal, bounds-checked FlexBuffers reader for custom-op options: a
//! root map whose values are integers, floats or vectors of integers.

use crate::Error;

fn bad(what: &'static str) -> Error {
    Error::Malformed(what)
}

/// A value read from a FlexBuffers map.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Flex {
    Int(i64),
    Float(f64),
    Ints(Vec<i64>),
    Other,
}

const INT: u8 = 1;
const UINT: u8 = 2;
const FLOAT: u8 = 3;
const INDIRECT_INT: u8 = 6;
const INDIRECT_UINT: u8 = 7;
const INDIRECT_FLOAT: u8 = 8;
const MAP: u8 = 9;
const VECTOR: u8 = 10;
const VECTOR_INT: u8 = 11;
const VECTOR_UINT: u8 = 12;
const BOOL: u8 = 26;

fn read_uint(b: &[u8], pos: usize, width: usize) -> Result<u64, Error> {
    let s = b
        .get(pos..pos.checked_add(width).ok_or(bad("flex offset"))?)
        .ok_or(bad("flex out of range"))?;
    let mut v = [0u8; 8];
    match width {
        1 | 2 | 4 | 8 => v[..width].copy_from_slice(s),
        _ => return Err(bad("flex width")),
    }
    Ok(u64::from_le_bytes(v))
}

fn read_int(b: &[u8], pos: usize, width: usize) -> Result<i64, Error> {
    let u = read_uint(b, pos, width)?;
    let shift = 64 - 8 * width as u32;
    Ok(((u << shift) as i64) >> shift)
}

fn read_float(b: &[u8], pos: usize, width: usize) -> Result<f64, Error> {
    let u = read_uint(b, pos, width)?;
    match width {
        4 => Ok(f32::from_bits(u as u32) as f64),
        8 => Ok(f64::from_bits(u)),
        _ => Err(bad("flex float width")),
    }
}

fn indirect(b: &[u8], pos: usize, width: usize) -> Result<usize, Error> {
    let off = read_uint(b, pos, width)?;
    (pos as u64)
        .checked_sub(off)
        .map(|p| p as usize)
        .ok_or(bad("flex indirect"))
}

/// Reads a value stored at `pos` with the parent's `width` and `packed` type.
fn value(b: &[u8], pos: usize, width: usize, packed: u8) -> Result<Flex, Error> {
    let ty = packed >> 2;
    let child = 1usize << (packed & 3);
    Ok(match ty {
        INT => Flex::Int(read_int(b, pos, width)?),
        UINT | BOOL => Flex::Int(read_uint(b, pos, width)? as i64),
        FLOAT => Flex::Float(read_float(b, pos, width)?),
        INDIRECT_INT => Flex::Int(read_int(b, indirect(b, pos, width)?, child)?),
        INDIRECT_UINT => Flex::Int(read_uint(b, indirect(b, pos, width)?, child)? as i64),
        INDIRECT_FLOAT => Flex::Float(read_float(b, indirect(b, pos, width)?, child)?),
        VECTOR_INT | VECTOR_UINT | VECTOR => {
            let vpos = indirect(b, pos, width)?;
            let len = read_uint(b, vpos.checked_sub(child).ok_or(bad("flex vec"))?, child)?;
            let len = usize::try_from(len).map_err(|_| bad("flex len"))?;
            if len > b.len() {
                return Err(bad("flex vector length"));
            }
            let mut out = Vec::with_capacity(len);
            for i in 0..len {
                let epos = vpos + i * child;
                let ety = if ty == VECTOR {
                    let t = *b.get(vpos + len * child + i).ok_or(bad("flex types"))?;
                    t >> 2
                } else if ty == VECTOR_INT {
                    INT
                } else {
                    UINT
                };
                out.push(match ety {
                    INT => read_int(b, epos, child)?,
                    UINT => read_uint(b, epos, child)? as i64,
                    _ => return Err(bad("flex vector element type")),
                });
            }
            Flex::Ints(out)
        }
        _ => Flex::Other,
    })
}

/// Reads the root map of a FlexBuffer into `(key, value)` pairs.
pub(crate) fn root_map(b: &[u8]) -> Result<Vec<(String, Flex)>, Error> {
    if b.len() < 3 {
        return Err(bad("flex too short"));
    }
    let root_width = b[b.len() - 1] as usize;
    let packed = b[b.len() - 2];
    let root_pos = (b.len() - 2)
        .checked_sub(root_width)
        .ok_or(bad("flex root"))?;
    if packed >> 2 != MAP {
        return Err(bad("flex root is not a map"));
    }
    let bw = 1usize << (packed & 3);
    let map = indirect(b, root_pos, root_width)?;
    let len = read_uint(b, map.checked_sub(bw).ok_or(bad("flex map"))?, bw)? as usize;
    if len > b.len() {
        return Err(bad("flex map length"));
    }
    let kpos_field = map.checked_sub(3 * bw).ok_or(bad("flex map keys"))?;
    let keys = indirect(b, kpos_field, bw)?;
    let kbw = read_uint(b, kpos_field + bw, bw)? as usize;
    let mut out = Vec::with_capacity(len);
    for i in 0..len {
        let kp = indirect(b, keys + i * kbw, kbw)?;
        let rest = b.get(kp..).ok_or(bad("flex key"))?;
        let end = rest
            .iter()
            .position(|&c| c == 0)
            .ok_or(bad("flex key end"))?;
        let key = std::str::from_utf8(&rest[..end]).map_err(|_| bad("flex key utf8"))?;
        let t = *b.get(map + len * bw + i).ok_or(bad("flex map types"))?;
        out.push((key.to_string(), value(b, map + i * bw, bw, t)?));
    }
    Ok(out)
}
