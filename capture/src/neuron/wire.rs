//! Axis' two BVH broadcast formats, read totally: any bytes give frames or counted errors.
//!
//! **String** (TCP; Axis is the server, port 7001 by default): one frame is
//! `<avatar index> <avatar name> v1 … vN ||` and a line end (`\r\n` from Axis and `bvhsend`,
//! `\n` from others). Receivers take a frame to end at the first `|`, `\r` or `\n` (the
//! Perception Neuron UE4 controller); so does [`TextFramer`]. NUL bytes appear in real streams
//! (`bvhsend` sends its `"0 Avatarname "` prefix and `" ||\r\n"` suffix with their C string
//! terminators, so a NUL comes before the values and after each line end): outside a frame they
//! are skipped, inside one they separate values like a space.
//!
//! **Binary** (UDP, 7002 in the public receivers): a 64-byte little-endian header, then
//! `DataCount` × f32 LE.
//!
//! | Offset | Size | Field |
//! |---|---|---|
//! | 0 | 2 | token `0xDDFF` |
//! | 2 | 4 | data version bytes (`00 00 01 01` = 1.1.0.0) |
//! | 6 | 2 | DataCount |
//! | 8 | 1 | WithDisp |
//! | 9 | 1 | WithReference |
//! | 10 | 4 | AvatarIndex |
//! | 14 | 32 | AvatarName (NUL-padded) |
//! | 46 | 4 | FrameIndex |
//! | 50 | 12 | reserved |
//! | 62 | 2 | token `0xEEFF` |
//!
//! This is the layout two independent receivers read on the wire (a 1480-byte datagram for 354
//! values). Noitom's SDK header declares DataCount as u32 and the flags as 32-bit booleans, with
//! no frame index; for any count below 65536 the count reads the same either way, so Kagura
//! trusts only the tokens, the count and `len == 64 + 4·DataCount`, and takes displacement and
//! reference from the count (as the string mode must), reporting the flag bytes as sent. On macOS
//! Axis Neuron splits a frame into a 1024-byte datagram and the rest; [`BinaryAssembler`] joins
//! such pieces.

use std::fmt;

/// Longest text frame accepted, bytes (59 joints × 6 values is about 4 KB; a 512-joint custom
/// skeleton under 40 KB).
pub const MAX_TEXT_FRAME: usize = 64 * 1024;
/// Most values one frame may carry (a 512-joint skeleton with displacement and reference).
pub const MAX_VALUES: usize = 6 * 512 + 6;
/// The binary header's length.
pub const BINARY_HEADER_LEN: usize = 64;
/// The binary header's first and last tokens, as little-endian u16.
pub const TOKEN_START: u16 = 0xDDFF;
pub const TOKEN_END: u16 = 0xEEFF;

/// Why bytes are not a frame. Each kind is counted on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// A text frame longer than the limit; the framer drops it and resynchronises at the next
    /// frame's start.
    Oversized,
    /// A text frame without `<index> <name>` before its values.
    NoHeader,
    /// A value that is not a finite number.
    BadNumber,
    /// More values than any skeleton has.
    TooManyValues,
    /// A binary frame without its tokens.
    BadTokens,
    /// A binary frame whose length disagrees with its DataCount.
    BadLength,
}

impl FrameError {
    /// Its name in the counters.
    pub fn name(self) -> &'static str {
        match self {
            FrameError::Oversized => "oversized",
            FrameError::NoHeader => "no_header",
            FrameError::BadNumber => "bad_number",
            FrameError::TooManyValues => "too_many_values",
            FrameError::BadTokens => "bad_tokens",
            FrameError::BadLength => "bad_length",
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn is_terminator(b: u8) -> bool {
    matches!(b, b'|' | b'\r' | b'\n')
}

fn is_separator(b: u8) -> bool {
    b == 0 || b.is_ascii_whitespace()
}

/// Cuts a byte stream into text frames, whatever the reads' sizes. Bounded: at most `max`
/// bytes are held.
#[derive(Debug)]
pub struct TextFramer {
    buf: Vec<u8>,
    max: usize,
    /// After an oversized frame: skipping to the next terminator.
    discarding: bool,
}

/// One step of [`TextFramer::push`]'s output.
#[derive(Debug, PartialEq, Eq)]
pub enum Framed<'a> {
    Frame(&'a [u8]),
    Oversized,
}

impl TextFramer {
    pub fn new(max: usize) -> Self {
        TextFramer {
            buf: Vec::new(),
            max: max.max(1),
            discarding: false,
        }
    }

    /// Forgets a partial frame (the connection ended).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.discarding = false;
    }

    /// Bytes held for a frame not yet ended.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Takes the next bytes of the stream and calls `out` for each frame they complete (its
    /// bytes without the terminator, leading NULs and spaces trimmed) and each oversized frame.
    pub fn push(&mut self, bytes: &[u8], mut out: impl FnMut(Framed<'_>)) {
        let mut rest = bytes;
        while !rest.is_empty() {
            let end = rest.iter().position(|b| is_terminator(*b));
            let (chunk, terminated) = match end {
                Some(at) => (&rest[..at], true),
                None => (rest, false),
            };
            rest = match end {
                Some(at) => &rest[at + 1..],
                None => &[],
            };
            if !self.discarding {
                let chunk = if self.buf.is_empty() {
                    let start = chunk.iter().position(|b| !is_separator(*b));
                    start.map_or(&chunk[..0], |s| &chunk[s..])
                } else {
                    chunk
                };
                if self.buf.len() + chunk.len() > self.max {
                    self.buf.clear();
                    self.discarding = true;
                    out(Framed::Oversized);
                } else {
                    self.buf.extend_from_slice(chunk);
                }
            }
            if terminated {
                if !self.discarding && !self.buf.is_empty() {
                    out(Framed::Frame(&self.buf));
                }
                self.buf.clear();
                self.discarding = false;
            }
        }
    }
}

/// The `<index> <name>` a text frame starts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextHeader {
    pub avatar_index: u32,
    pub avatar_name: String,
}

/// Reads one text frame (as [`TextFramer`] cuts it) into its header and `values` (cleared
/// first; at most [`MAX_VALUES`]).
pub fn parse_text_frame(frame: &[u8], values: &mut Vec<f32>) -> Result<TextHeader, FrameError> {
    values.clear();
    let mut tokens = frame
        .split(|b| is_separator(*b))
        .filter(|token| !token.is_empty());
    let index = tokens
        .next()
        .and_then(|t| std::str::from_utf8(t).ok())
        .and_then(|t| t.parse::<u32>().ok())
        .ok_or(FrameError::NoHeader)?;
    let name = tokens.next().ok_or(FrameError::NoHeader)?;
    // A name that reads as a number means the index and name are missing (a bare motion line,
    // or the tail of a frame joined mid-stream).
    if number(name).is_some() {
        return Err(FrameError::NoHeader);
    }
    for token in tokens {
        if values.len() == MAX_VALUES {
            values.clear();
            return Err(FrameError::TooManyValues);
        }
        match number(token) {
            Some(v) => values.push(v),
            None => {
                values.clear();
                return Err(FrameError::BadNumber);
            }
        }
    }
    Ok(TextHeader {
        avatar_index: index,
        avatar_name: String::from_utf8_lossy(name).into_owned(),
    })
}

fn number(token: &[u8]) -> Option<f32> {
    std::str::from_utf8(token)
        .ok()?
        .parse::<f32>()
        .ok()
        .filter(|v| v.is_finite())
}

/// The binary header's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinaryHeader {
    pub version: [u8; 4],
    pub data_count: u16,
    pub with_displacement: u8,
    pub with_reference: u8,
    pub avatar_index: u32,
    pub avatar_name: String,
    pub frame_index: u32,
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// The length a binary frame starting with `bytes` has, once its header is there.
fn binary_frame_len(bytes: &[u8]) -> Option<usize> {
    (bytes.len() >= 8 && u16_at(bytes, 0) == TOKEN_START)
        .then(|| BINARY_HEADER_LEN + 4 * usize::from(u16_at(bytes, 6)))
}

/// Reads one whole binary frame into its header and `values` (cleared first). A value that is
/// not finite is [`FrameError::BadNumber`].
pub fn parse_binary_frame(bytes: &[u8], values: &mut Vec<f32>) -> Result<BinaryHeader, FrameError> {
    values.clear();
    if bytes.len() < BINARY_HEADER_LEN {
        return Err(if bytes.len() >= 2 && u16_at(bytes, 0) == TOKEN_START {
            FrameError::BadLength
        } else {
            FrameError::BadTokens
        });
    }
    if u16_at(bytes, 0) != TOKEN_START || u16_at(bytes, 62) != TOKEN_END {
        return Err(FrameError::BadTokens);
    }
    let data_count = u16_at(bytes, 6);
    if bytes.len() != BINARY_HEADER_LEN + 4 * usize::from(data_count) {
        return Err(FrameError::BadLength);
    }
    if usize::from(data_count) > MAX_VALUES {
        return Err(FrameError::TooManyValues);
    }
    for chunk in bytes[BINARY_HEADER_LEN..].chunks_exact(4) {
        let v = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        if !v.is_finite() {
            values.clear();
            return Err(FrameError::BadNumber);
        }
        values.push(v);
    }
    let name = &bytes[14..46];
    let name = &name[..name.iter().position(|b| *b == 0).unwrap_or(name.len())];
    Ok(BinaryHeader {
        version: [bytes[2], bytes[3], bytes[4], bytes[5]],
        data_count,
        with_displacement: bytes[8],
        with_reference: bytes[9],
        avatar_index: u32_at(bytes, 10),
        avatar_name: String::from_utf8_lossy(name).into_owned(),
        frame_index: u32_at(bytes, 46),
    })
}

/// Joins a binary frame sent in two datagrams (Axis Neuron on macOS: 1024 bytes, then the
/// rest). A datagram that starts a frame and is short of its length is held (bounded by the
/// largest frame, 64 + 4·65535 bytes) until the next datagram completes it; anything else is
/// passed through whole.
#[derive(Debug, Default)]
pub struct BinaryAssembler {
    pending: Vec<u8>,
    expected: usize,
}

impl BinaryAssembler {
    /// Takes one datagram; calls `out` with each whole frame it makes (with what was held) and
    /// with [`FrameError::BadLength`] for a held piece whose rest never came or did not fit.
    pub fn push(&mut self, datagram: &[u8], mut out: impl FnMut(Result<&[u8], FrameError>)) {
        if !self.pending.is_empty() {
            let fits = self.pending.len() + datagram.len() <= self.expected;
            if fits && binary_frame_len(datagram).is_none() {
                self.pending.extend_from_slice(datagram);
                if self.pending.len() == self.expected {
                    out(Ok(&self.pending));
                    self.pending.clear();
                }
                return;
            }
            // The held piece's rest was lost (a new frame starts, or this does not fit).
            self.pending.clear();
            out(Err(FrameError::BadLength));
            if binary_frame_len(datagram).is_none() {
                return;
            }
        }
        match binary_frame_len(datagram) {
            Some(len) if datagram.len() < len && datagram.len() >= BINARY_HEADER_LEN => {
                self.pending.extend_from_slice(datagram);
                self.expected = len;
            }
            _ => out(Ok(datagram)),
        }
    }
}
