//! Control messages between a subscriber and the server, on a reliable stream.
//!
//! Each message is a u32 little-endian length followed by that many bytes of postcard-encoded
//! serde data. Pose frames never travel here: they go as datagrams in the [`crate::wire`]
//! format. The exchange is: the client sends [`ClientMessage::Hello`] then
//! [`ClientMessage::Subscribe`]; the server answers with [`ServerMessage::Info`] and sends a
//! fresh `Info` whenever its performers change.

use serde::{Deserialize, Serialize};

use crate::PerformerId;

/// The control protocol version; a server refuses a client with another. Version 2 added
/// [`PerformerInfo::hips_height_m`].
pub const CONTROL_VERSION: u16 = 2;

/// The largest control message body accepted, bytes. Bounds what a peer can make us allocate.
pub const MAX_CONTROL_LEN: usize = 64 * 1024;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ClientMessage {
    Hello {
        control_version: u16,
        client: String,
    },
    Subscribe(Subscription),
}

/// Which performers a subscriber wants frames of.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Subscription {
    /// Every performer, including ones that appear later.
    All,
    /// These performers, by name.
    Named(Vec<String>),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ServerMessage {
    Info(ServerInfo),
    /// The server refuses the client (e.g. another control version) and will close.
    Refused {
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerInfo {
    pub server: String,
    pub control_version: u16,
    pub wire_version: u8,
    pub performers: Vec<PerformerInfo>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PerformerInfo {
    pub id: PerformerId,
    pub name: String,
    /// The performer's standing hips height in the units of its frames' hips and root
    /// positions. A renderer multiplies those positions by `avatar hips height / this`, so the
    /// performer's feet meet its own avatar's floor whatever the avatar's size.
    pub hips_height_m: f32,
}

/// Why control bytes are not a message.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("control message of {0} bytes exceeds the {MAX_CONTROL_LEN}-byte limit")]
    TooLong(usize),
    #[error("malformed control message: {0}")]
    Malformed(#[from] postcard::Error),
}

/// Encodes `message` with its length prefix.
pub fn encode_control<T: Serialize>(message: &T) -> Result<Vec<u8>, ControlError> {
    let body = postcard::to_stdvec(message)?;
    if body.len() > MAX_CONTROL_LEN {
        return Err(ControlError::TooLong(body.len()));
    }
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Reads a length prefix and checks it against [`MAX_CONTROL_LEN`] before anything is allocated.
pub fn control_body_len(prefix: [u8; 4]) -> Result<usize, ControlError> {
    let len = u32::from_le_bytes(prefix) as usize;
    if len > MAX_CONTROL_LEN {
        return Err(ControlError::TooLong(len));
    }
    Ok(len)
}

/// Decodes a message body (the bytes after the length prefix).
pub fn decode_control<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ControlError> {
    Ok(postcard::from_bytes(body)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn messages_round_trip_with_length_prefix() {
        let hello = ClientMessage::Hello {
            control_version: CONTROL_VERSION,
            client: "t".into(),
        };
        let bytes = encode_control(&hello).unwrap();
        let len = control_body_len(bytes[..4].try_into().unwrap()).unwrap();
        assert_eq!(len, bytes.len() - 4);
        assert_eq!(decode_control::<ClientMessage>(&bytes[4..]).unwrap(), hello);
        assert!(control_body_len((MAX_CONTROL_LEN as u32 + 1).to_le_bytes()).is_err());
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_control::<ClientMessage>(&bytes);
            let _ = decode_control::<ServerMessage>(&bytes);
        }
    }
}
