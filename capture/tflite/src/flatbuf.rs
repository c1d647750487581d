//! A minimal, bounds-checked FlatBuffers reader: just enough to walk the
//! TFLite schema (tables, vectors of scalars/tables, strings). Every read
//! checks its range and returns [`Error::Malformed`] instead of panicking.

use crate::Error;

fn bad(what: &'static str) -> Error {
    Error::Malformed(what)
}

/// A view over the whole flatbuffer.
#[derive(Clone, Copy)]
pub(crate) struct Buf<'a> {
    pub(crate) bytes: &'a [u8],
}

impl<'a> Buf<'a> {
    fn slice(&self, pos: usize, len: usize) -> Result<&'a [u8], Error> {
        let end = pos.checked_add(len).ok_or(bad("offset overflow"))?;
        self.bytes.get(pos..end).ok_or(bad("offset out of range"))
    }
    pub(crate) fn u8(&self, pos: usize) -> Result<u8, Error> {
        Ok(self.slice(pos, 1)?[0])
    }
    pub(crate) fn u16(&self, pos: usize) -> Result<u16, Error> {
        let s = self.slice(pos, 2)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    pub(crate) fn u32(&self, pos: usize) -> Result<u32, Error> {
        let s = self.slice(pos, 4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    pub(crate) fn i32(&self, pos: usize) -> Result<i32, Error> {
        Ok(self.u32(pos)? as i32)
    }
    pub(crate) fn u64(&self, pos: usize) -> Result<u64, Error> {
        let s = self.slice(pos, 8)?;
        let mut b = [0u8; 8];
        b.copy_from_slice(s);
        Ok(u64::from_le_bytes(b))
    }
    /// Follows a `uoffset_t` stored at `pos`.
    fn follow(&self, pos: usize) -> Result<usize, Error> {
        let off = self.u32(pos)? as usize;
        let target = pos.checked_add(off).ok_or(bad("offset overflow"))?;
        if target >= self.bytes.len() {
            return Err(bad("offset out of range"));
        }
        Ok(target)
    }
    /// The root table of the buffer.
    pub(crate) fn root(&self) -> Result<Table<'a>, Error> {
        let pos = self.follow(0)?;
        Table::at(*self, pos)
    }
}

/// A table: its position and its vtable.
#[derive(Clone, Copy)]
pub(crate) struct Table<'a> {
    buf: Buf<'a>,
    pos: usize,
    vtable: usize,
    vtable_len: usize,
}

impl<'a> Table<'a> {
    fn at(buf: Buf<'a>, pos: usize) -> Result<Self, Error> {
        let soff = buf.i32(pos)? as i64;
        let vtable = pos as i64 - soff;
        if vtable < 0 || vtable as usize >= buf.bytes.len() {
            return Err(bad("vtable out of range"));
        }
        let vtable = vtable as usize;
        let vtable_len = buf.u16(vtable)? as usize;
        if vtable_len < 4 || !vtable_len.is_multiple_of(2) {
            return Err(bad("vtable length"));
        }
        buf.slice(vtable, vtable_len)?;
        Ok(Table {
            buf,
            pos,
            vtable,
            vtable_len,
        })
    }

    /// Absolute position of field `id`, if present.
    fn field(&self, id: usize) -> Result<Option<usize>, Error> {
        let entry = 4 + 2 * id;
        if entry + 2 > self.vtable_len {
            return Ok(None);
        }
        let off = self.buf.u16(self.vtable + entry)? as usize;
        if off == 0 {
            return Ok(None);
        }
        Ok(Some(self.pos.checked_add(off).ok_or(bad("field offset"))?))
    }

    pub(crate) fn u8_or(&self, id: usize, default: u8) -> Result<u8, Error> {
        match self.field(id)? {
            Some(p) => self.buf.u8(p),
            None => Ok(default),
        }
    }
    pub(crate) fn i32_or(&self, id: usize, default: i32) -> Result<i32, Error> {
        match self.field(id)? {
            Some(p) => self.buf.i32(p),
            None => Ok(default),
        }
    }
    pub(crate) fn u32_or(&self, id: usize, default: u32) -> Result<u32, Error> {
        match self.field(id)? {
            Some(p) => self.buf.u32(p),
            None => Ok(default),
        }
    }
    pub(crate) fn u64_or(&self, id: usize, default: u64) -> Result<u64, Error> {
        match self.field(id)? {
            Some(p) => self.buf.u64(p),
            None => Ok(default),
        }
    }
    pub(crate) fn table(&self, id: usize) -> Result<Option<Table<'a>>, Error> {
        match self.field(id)? {
            Some(p) => Ok(Some(Table::at(self.buf, self.buf.follow(p)?)?)),
            None => Ok(None),
        }
    }
    /// A vector field: `(position of first element, element count)`, with
    /// `count * elem_size` checked to lie inside the buffer.
    fn vector(&self, id: usize, elem_size: usize) -> Result<Option<(usize, usize)>, Error> {
        let Some(p) = self.field(id)? else {
            return Ok(None);
        };
        let vpos = self.buf.follow(p)?;
        let len = self.buf.u32(vpos)? as usize;
        let start = vpos + 4;
        let bytes = len.checked_mul(elem_size).ok_or(bad("vector size"))?;
        self.buf.slice(start, bytes)?;
        Ok(Some((start, len)))
    }
    pub(crate) fn bytes(&self, id: usize) -> Result<Option<&'a [u8]>, Error> {
        match self.vector(id, 1)? {
            Some((start, len)) => Ok(Some(self.buf.slice(start, len)?)),
            None => Ok(None),
        }
    }
    pub(crate) fn string(&self, id: usize) -> Result<Option<&'a str>, Error> {
        match self.bytes(id)? {
            Some(b) => Ok(Some(
                std::str::from_utf8(b).map_err(|_| bad("string not UTF-8"))?,
            )),
            None => Ok(None),
        }
    }
    pub(crate) fn i32s(&self, id: usize) -> Result<Option<I32s<'a>>, Error> {
        Ok(self.vector(id, 4)?.map(|(start, len)| I32s {
            buf: self.buf,
            start,
            len,
        }))
    }
    pub(crate) fn tables(&self, id: usize) -> Result<Option<Tables<'a>>, Error> {
        Ok(self.vector(id, 4)?.map(|(start, len)| Tables {
            buf: self.buf,
            start,
            len,
        }))
    }
}

/// A vector of `int32` (bounds already checked).
#[derive(Clone, Copy)]
pub(crate) struct I32s<'a> {
    buf: Buf<'a>,
    start: usize,
    len: usize,
}

impl I32s<'_> {
    pub(crate) fn get(&self, i: usize) -> Result<i32, Error> {
        if i >= self.len {
            return Err(bad("vector index"));
        }
        self.buf.i32(self.start + 4 * i)
    }
    pub(crate) fn to_vec(self) -> Result<Vec<i32>, Error> {
        (0..self.len).map(|i| self.get(i)).collect()
    }
}

/// A vector of tables (bounds of the offset array already checked).
#[derive(Clone, Copy)]
pub(crate) struct Tables<'a> {
    buf: Buf<'a>,
    start: usize,
    len: usize,
}

impl<'a> Tables<'a> {
    pub(crate) fn len(&self) -> usize {
        self.len
    }
    pub(crate) fn get(&self, i: usize) -> Result<Table<'a>, Error> {
        if i >= self.len {
            return Err(bad("vector index"));
        }
        let pos = self.buf.follow(self.start + 4 * i)?;
        Table::at(self.buf, pos)
    }
}
