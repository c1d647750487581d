//! Little-endian bit packing (least significant bit first) for the wire format.

/// Appends bit fields to a byte vector. Unused bits of the last byte are zero.
pub(crate) struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    filled: u32,
}

impl<'a> BitWriter<'a> {
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        BitWriter {
            out,
            acc: 0,
            filled: 0,
        }
    }

    /// Writes the low `bits` bits of `value` (`bits` ≤ 56, so that it fits the accumulator).
    pub(crate) fn write(&mut self, value: u64, bits: u32) {
        debug_assert!(bits <= 56 && value >> bits == 0);
        self.acc |= value << self.filled;
        self.filled += bits;
        while self.filled >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.filled -= 8;
        }
    }

    /// Flushes the partial last byte.
    pub(crate) fn finish(self) {
        if self.filled > 0 {
            self.out.push(self.acc as u8);
        }
    }
}

/// Reads bit fields written by [`BitWriter`]. Reading past the end is an error, never a panic.
pub(crate) struct BitReader<'a> {
    bytes: &'a [u8],
    bit: usize,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        BitReader { bytes, bit: 0 }
    }

    /// Reads `bits` bits (≤ 56), or `None` past the end of the input.
    pub(crate) fn read(&mut self, bits: u32) -> Option<u64> {
        let end = self.bit.checked_add(bits as usize)?;
        if end > self.bytes.len() * 8 {
            return None;
        }
        let mut value = 0u64;
        for i in 0..bits as usize {
            let bit = self.bit + i;
            let set = (self.bytes[bit / 8] >> (bit % 8)) & 1;
            value |= (set as u64) << i;
        }
        self.bit = end;
        Some(value)
    }

    /// Whether every remaining bit is padding: at most seven zero bits in the last byte.
    pub(crate) fn only_padding_left(&self) -> bool {
        let whole_bytes = self.bit.div_ceil(8);
        whole_bytes == self.bytes.len()
            && (self.bit.is_multiple_of(8) || self.bytes[self.bit / 8] >> (self.bit % 8) == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_and_overrun_is_none() {
        let mut out = Vec::new();
        let mut w = BitWriter::new(&mut out);
        w.write(0b101, 3);
        w.write(0x3fff, 14);
        w.write(0xdead_beef, 32);
        w.finish();
        assert_eq!(out.len(), 7);
        let mut r = BitReader::new(&out);
        assert_eq!(r.read(3), Some(0b101));
        assert_eq!(r.read(14), Some(0x3fff));
        assert_eq!(r.read(32), Some(0xdead_beef));
        assert!(r.only_padding_left());
        assert_eq!(r.read(8), None);
    }
}
