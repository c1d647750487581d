//! A QUIC subscriber for Kagura: connect, pin the server's certificate, subscribe to performers,
//! receive [`PoseFrame`]s.
//!
//! Frames arrive as unreliable QUIC datagrams, newest first and never queued behind a lost
//! one; control messages travel on one reliable stream. This crate is what `kagura watch`
//! uses, and what a native renderer links.

mod control_io;
mod trust;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use kagura_protocol::control::{
    CONTROL_VERSION, ClientMessage, ServerInfo, ServerMessage, Subscription,
};
use kagura_protocol::{PoseFrame, wire};

pub use control_io::{read_control, write_control};
pub use trust::{CERT_FILE, Fingerprint, KEY_FILE};

/// The ALPN protocol name of Kagura's QUIC transport.
pub const ALPN: &[u8] = b"kagura/1";

/// A connection to a Kagura server, subscribed to some performers.
pub struct Subscriber {
    endpoint: quinn::Endpoint,
    connection: quinn::Connection,
    info: ServerInfo,
    /// Datagrams that did not decode as frames (another wire version, corruption).
    pub undecodable_datagrams: u64,
    // Kept open: the server sends updated ServerInfo here.
    _control: (quinn::SendStream, quinn::RecvStream),
}

impl Subscriber {
    /// Connects to `server`, accepting only the certificate with `fingerprint`, and subscribes.
    pub async fn connect(
        server: SocketAddr,
        fingerprint: Fingerprint,
        subscription: Subscription,
        client_name: &str,
    ) -> anyhow::Result<Self> {
        let bind: SocketAddr = if server.is_ipv6() {
            "[::]:0"
        } else {
            "0.0.0.0:0"
        }
        .parse()?;
        let mut endpoint = quinn::Endpoint::client(bind).context("opening a UDP socket")?;
        endpoint.set_default_client_config(client_config(fingerprint)?);
        let connection = endpoint
            .connect(server, "kagura")?
            .await
            .with_context(|| format!("connecting to {server} over QUIC"))?;
        let (mut send, mut recv) = connection.open_bi().await?;
        write_control(
            &mut send,
            &ClientMessage::Hello {
                control_version: CONTROL_VERSION,
                client: client_name.into(),
            },
        )
        .await?;
        write_control(&mut send, &ClientMessage::Subscribe(subscription)).await?;
        let info = match read_control::<ServerMessage>(&mut recv).await? {
            ServerMessage::Info(info) => info,
            ServerMessage::Refused { reason } => bail!("server refused the subscription: {reason}"),
        };
        Ok(Subscriber {
            endpoint,
            connection,
            info,
            undecodable_datagrams: 0,
            _control: (send, recv),
        })
    }

    /// The server's description, including performer names by id.
    pub fn info(&self) -> &ServerInfo {
        &self.info
    }

    /// The name of a performer id, if the server announced it.
    pub fn performer_name(&self, id: kagura_protocol::PerformerId) -> Option<&str> {
        self.info
            .performers
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.as_str())
    }

    /// The next datagram as it came off the wire.
    pub async fn next_datagram(&self) -> anyhow::Result<Bytes> {
        Ok(self.connection.read_datagram().await?)
    }

    /// The next frame; datagrams that do not decode are counted and skipped.
    pub async fn next_frame(&mut self) -> anyhow::Result<PoseFrame> {
        loop {
            let datagram = self.next_datagram().await?;
            match wire::decode(&datagram) {
                Ok(frame) => return Ok(frame),
                Err(_) => self.undecodable_datagrams += 1,
            }
        }
    }

    /// Transport counters of the connection (bytes and datagrams on the wire).
    pub fn connection_stats(&self) -> quinn::ConnectionStats {
        self.connection.stats()
    }

    /// Closes the connection and waits until the server has been told.
    pub async fn close(self) {
        self.connection.close(0u32.into(), b"bye");
        self.endpoint.wait_idle().await;
    }
}

fn client_config(fingerprint: Fingerprint) -> anyhow::Result<quinn::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(trust::PinnedCertificate {
        fingerprint,
        provider: provider.clone(),
    });
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    tls.alpn_protocols = vec![ALPN.to_vec()];
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls)?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    transport.keep_alive_interval(Some(Duration::from_secs(2)));
    config.transport_config(Arc::new(transport));
    Ok(config)
}
