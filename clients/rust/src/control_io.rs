//! Reading and writing [`kagura_protocol::control`] messages on a QUIC stream.

use anyhow::Context;
use kagura_protocol::control::{control_body_len, decode_control, encode_control};
use serde::{Serialize, de::DeserializeOwned};

/// Writes one length-prefixed control message.
pub async fn write_control<T: Serialize>(
    send: &mut quinn::SendStream,
    message: &T,
) -> anyhow::Result<()> {
    let bytes = encode_control(message)?;
    send.write_all(&bytes)
        .await
        .context("writing a control message")?;
    Ok(())
}

/// Reads one length-prefixed control message; the length is checked before allocating.
pub async fn read_control<T: DeserializeOwned>(recv: &mut quinn::RecvStream) -> anyhow::Result<T> {
    let mut prefix = [0u8; 4];
    recv.read_exact(&mut prefix)
        .await
        .context("reading a control message length")?;
    let mut body = vec![0u8; control_body_len(prefix)?];
    recv.read_exact(&mut body)
        .await
        .context("reading a control message body")?;
    Ok(decode_control(&body)?)
}
