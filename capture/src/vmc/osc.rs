//! A zero-copy OSC 1.0 reader for VMC datagrams: messages are read in place, nothing is
//! allocated, and a packet is checked whole (every bundle element, every argument's length)
//! before any of it is used.
//!
//! OSC 1.0 (opensoundcontrol.org/spec-1_0): a packet is a message or a bundle. A bundle is
//! `#bundle\0`, an 8-byte time tag, then elements, each a big-endian `i32` size and a packet.
//! A message is an address (`/…`), a type-tag string (`,` then one tag per argument), then the
//! arguments, big-endian; strings are NUL-terminated and padded to 4 bytes. Kagura reads tags
//! `i f s d h t S b c r m T F N I [ ]`; VMC uses `s f i`.

/// Deepest bundle nesting accepted. VMC apps nest one level (the VMC app's root bundle).
pub const MAX_BUNDLE_DEPTH: usize = 8;
/// Deepest argument-array nesting accepted. VMC uses no arrays.
pub const MAX_ARRAY_DEPTH: usize = 4;

/// Why bytes are not an OSC packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OscError {
    #[error("the packet ends inside an element")]
    Truncated,
    #[error("a string is not NUL-terminated UTF-8")]
    BadString,
    #[error("an address does not start with '/' or has no type tags")]
    NotAMessage,
    #[error("unknown type tag {0:?}")]
    UnknownTag(char),
    #[error("bundles or arrays nested too deep")]
    TooDeep,
}

/// One argument, borrowed from the packet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OscArg<'a> {
    Int(i32),
    Float(f32),
    Double(f64),
    Long(i64),
    Str(&'a str),
    /// Anything else (blobs, booleans, nil, arrays…): present, but not used by VMC.
    Other,
}

/// One message, borrowed from the packet; its arguments were checked when it was read.
#[derive(Clone, Copy, Debug)]
pub struct OscMessageRef<'a> {
    pub address: &'a str,
    tags: &'a [u8],
    data: &'a [u8],
}

impl<'a> OscMessageRef<'a> {
    /// Its arguments, in order.
    pub fn args(&self) -> impl Iterator<Item = OscArg<'a>> + 'a {
        let (mut tags, mut data) = (self.tags, self.data);
        std::iter::from_fn(move || {
            let (&tag, rest) = tags.split_first()?;
            tags = rest;
            // Checked when the message was read, so every step succeeds.
            let (arg, len) = argument(tag, data).ok()?;
            data = &data[len..];
            Some(arg)
        })
    }

    /// Argument `i`, if there is one.
    pub fn arg(&self, i: usize) -> Option<OscArg<'a>> {
        self.args().nth(i)
    }
}

/// Reads `bytes` as one OSC packet and calls `visit` for each message, in order, once the
/// whole packet has been checked. On an error `visit` is never called.
pub fn read_packet<'a>(
    bytes: &'a [u8],
    mut visit: impl FnMut(OscMessageRef<'a>),
) -> Result<(), OscError> {
    walk(bytes, 0, &mut |_| {})?;
    walk(bytes, 0, &mut visit)
}

fn walk<'a>(
    bytes: &'a [u8],
    depth: usize,
    visit: &mut dyn FnMut(OscMessageRef<'a>),
) -> Result<(), OscError> {
    if depth > MAX_BUNDLE_DEPTH {
        return Err(OscError::TooDeep);
    }
    if let Some(body) = bytes.strip_prefix(b"#bundle\0") {
        let mut rest = body.get(8..).ok_or(OscError::Truncated)?;
        while !rest.is_empty() {
            let size = rest.get(..4).ok_or(OscError::Truncated)?;
            let size = u32::from_be_bytes([size[0], size[1], size[2], size[3]]) as usize;
            let element = rest.get(4..4 + size).ok_or(OscError::Truncated)?;
            walk(element, depth + 1, visit)?;
            rest = &rest[4 + size..];
        }
        return Ok(());
    }
    visit(message(bytes)?);
    Ok(())
}

fn message(bytes: &[u8]) -> Result<OscMessageRef<'_>, OscError> {
    let (address, rest) = padded_str(bytes)?;
    if !address.starts_with('/') {
        return Err(OscError::NotAMessage);
    }
    let (tags, data) = match padded_str(rest) {
        Ok((tags, data)) if tags.starts_with(',') => (&tags.as_bytes()[1..], data),
        // OSC 1.0 allows a message without type tags only for old senders: no arguments.
        _ if rest.is_empty() => (&[][..], rest),
        _ => return Err(OscError::NotAMessage),
    };
    // Check every argument now, so that reading them later cannot fail.
    let (mut left, mut depth) = (data, 0usize);
    for &tag in tags {
        match tag {
            b'[' => depth += 1,
            b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > MAX_ARRAY_DEPTH {
            return Err(OscError::TooDeep);
        }
        let (_, len) = argument(tag, left)?;
        left = &left[len..];
    }
    Ok(OscMessageRef {
        address,
        tags,
        data,
    })
}

/// The argument with type tag `tag` at the start of `data`, and its length in bytes.
fn argument(tag: u8, data: &[u8]) -> Result<(OscArg<'_>, usize), OscError> {
    let word = |n: usize| data.get(..n).ok_or(OscError::Truncated);
    Ok(match tag {
        b'i' => {
            let b = word(4)?;
            (OscArg::Int(i32::from_be_bytes([b[0], b[1], b[2], b[3]])), 4)
        }
        b'f' => {
            let b = word(4)?;
            (
                OscArg::Float(f32::from_be_bytes([b[0], b[1], b[2], b[3]])),
                4,
            )
        }
        b'd' | b'h' | b't' => {
            let b: [u8; 8] = word(8)?.try_into().map_err(|_| OscError::Truncated)?;
            let arg = match tag {
                b'd' => OscArg::Double(f64::from_be_bytes(b)),
                b'h' => OscArg::Long(i64::from_be_bytes(b)),
                _ => OscArg::Other,
            };
            (arg, 8)
        }
        b's' | b'S' => {
            let (s, rest) = padded_str(data)?;
            (OscArg::Str(s), data.len() - rest.len())
        }
        b'b' => {
            let b = word(4)?;
            let len = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
            let padded = len.checked_add(3).ok_or(OscError::Truncated)? & !3;
            let total = 4usize.checked_add(padded).ok_or(OscError::Truncated)?;
            word(total)?;
            (OscArg::Other, total)
        }
        b'c' | b'r' | b'm' => {
            word(4)?;
            (OscArg::Other, 4)
        }
        b'T' | b'F' | b'N' | b'I' | b'[' | b']' => (OscArg::Other, 0),
        other => return Err(OscError::UnknownTag(other as char)),
    })
}

/// A NUL-terminated string padded to 4 bytes at the start of `bytes`, and what follows it.
fn padded_str(bytes: &[u8]) -> Result<(&str, &[u8]), OscError> {
    let end = bytes
        .iter()
        .position(|&b| b == 0)
        .ok_or(OscError::BadString)?;
    let s = std::str::from_utf8(&bytes[..end]).map_err(|_| OscError::BadString)?;
    let padded = (end + 4) & !3;
    let rest = bytes.get(padded..).ok_or(OscError::Truncated)?;
    Ok((s, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rosc::{OscBundle, OscMessage, OscPacket, OscTime, OscType, encoder};

    fn collect(bytes: &[u8]) -> Result<Vec<(String, Vec<String>)>, OscError> {
        let mut out = Vec::new();
        read_packet(bytes, |m| {
            out.push((
                m.address.to_string(),
                m.args().map(|a| format!("{a:?}")).collect(),
            ))
        })?;
        Ok(out)
    }

    #[test]
    fn reads_what_rosc_writes_bundles_nested_and_every_argument_kind() {
        let message = |addr: &str, args: Vec<OscType>| {
            OscPacket::Message(OscMessage {
                addr: addr.into(),
                args,
            })
        };
        let inner = OscPacket::Bundle(OscBundle {
            timetag: OscTime::from((0, 1)),
            content: vec![message(
                "/b",
                vec![OscType::Long(-7), OscType::Blob(vec![1, 2, 3])],
            )],
        });
        let packet = OscPacket::Bundle(OscBundle {
            timetag: OscTime::from((0, 1)),
            content: vec![
                message(
                    "/VMC/Ext/Bone/Pos",
                    vec![
                        OscType::String("Hips".into()),
                        OscType::Float(0.5),
                        OscType::Int(-3),
                        OscType::Double(2.25),
                        OscType::Bool(true),
                        OscType::Nil,
                    ],
                ),
                inner,
                message("/c", vec![]),
            ],
        });
        let bytes = encoder::encode(&packet).unwrap();
        let got = collect(&bytes).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].0, "/VMC/Ext/Bone/Pos");
        assert_eq!(
            got[0].1,
            [
                "Str(\"Hips\")",
                "Float(0.5)",
                "Int(-3)",
                "Double(2.25)",
                "Other",
                "Other"
            ]
        );
        assert_eq!(got[1].1, ["Long(-7)", "Other"]);
        assert_eq!(got[2], ("/c".to_string(), vec![]));
        // Cut anywhere inside, it is refused whole.
        for cut in 1..bytes.len() {
            let mut seen = 0;
            if read_packet(&bytes[..cut], |_| seen += 1).is_err() {
                assert_eq!(seen, 0, "nothing visited from a refused packet");
            }
        }
        assert!(collect(&bytes[..bytes.len() - 3]).is_err());
    }

    #[test]
    fn deep_nesting_and_junk_are_errors() {
        let mut deep = Vec::new();
        for _ in 0..200 {
            deep.extend_from_slice(b"#bundle\0\0\0\0\0\0\0\0\x01");
            deep.extend_from_slice(&1000u32.to_be_bytes());
        }
        assert!(collect(&deep).is_err());
        assert_eq!(collect(b"not osc at all\0\0"), Err(OscError::NotAMessage));
        assert_eq!(collect(b"/a\0\0,q\0\0"), Err(OscError::UnknownTag('q')));
        assert_eq!(collect(b"/a\0\0,[[[[[[\0\0"), Err(OscError::TooDeep));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = collect(&bytes);
        }
    }
}
