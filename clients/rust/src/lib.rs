//! A QUIC subscriber for Kagura: connect, pin the server's certificate, subscribe to performers,
//! receive [`PoseFrame`]s.
//!
//! Frames arrive as unreliable QUIC datagrams, never queued behind a lost one (they may arrive
//! out of order: compare `seq`); control messages travel on one reliable stream, on which the
//! server sends a fresh [`ServerInfo`] whenever its performers change. This crate is what
//! `kagura watch` uses, and what a native renderer links.

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
    /// The newest ServerInfo, kept up to date by a task reading the control stream.
    info: tokio::sync::watch::Receiver<ServerInfo>,
    /// Datagrams that did not decode as frames (another wire version, corruption).
    pub undecodable_datagrams: u64,
    /// Whether the server's control stream is still open.
    control_open: bool,
    // Kept open: closing it would tell the server we are gone.
    _send: quinn::SendStream,
}

/// What [`Subscriber::next_event`] returns.
// Frames are the common case and stay unboxed: boxing would allocate once per frame.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum SubscriberEvent {
    Frame(PoseFrame),
    /// The server's performers changed; this is the new description.
    Info(ServerInfo),
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
        let (updates, info) = tokio::sync::watch::channel(info);
        tokio::spawn(async move {
            // Ends when the stream or the subscriber goes.
            while let Ok(ServerMessage::Info(info)) = read_control::<ServerMessage>(&mut recv).await
            {
                if updates.send(info).is_err() {
                    break;
                }
            }
        });
        Ok(Subscriber {
            endpoint,
            connection,
            info,
            undecodable_datagrams: 0,
            control_open: true,
            _send: send,
        })
    }

    /// The server's newest description, including performer names by id.
    pub fn info(&self) -> ServerInfo {
        self.info.borrow().clone()
    }

    /// The name of a performer id, if the server announced it.
    pub fn performer_name(&self, id: kagura_protocol::PerformerId) -> Option<String> {
        self.info
            .borrow()
            .performers
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.clone())
    }

    /// The factor by which to multiply `performer`'s hips and root positions so that its feet
    /// meet the floor of an avatar whose hips stand `avatar_hips_height_m` above it: the
    /// avatar's hips height over the performer's (`PerformerInfo::hips_height_m`).
    pub fn position_scale(
        &self,
        performer: kagura_protocol::PerformerId,
        avatar_hips_height_m: f32,
    ) -> Option<f32> {
        let info = self.info.borrow();
        let reference = info
            .performers
            .iter()
            .find(|p| p.id == performer)?
            .hips_height_m;
        (reference > 0.0).then(|| avatar_hips_height_m / reference)
    }

    /// The next frame or change of the server's performers, whichever comes first.
    pub async fn next_event(&mut self) -> anyhow::Result<SubscriberEvent> {
        loop {
            tokio::select! {
                datagram = self.connection.read_datagram() => {
                    match wire::decode(&datagram?) {
                        Ok(frame) => return Ok(SubscriberEvent::Frame(frame)),
                        Err(_) => self.undecodable_datagrams += 1,
                    }
                }
                changed = self.info.changed(), if self.control_open => {
                    if changed.is_ok() {
                        return Ok(SubscriberEvent::Info(self.info.borrow_and_update().clone()));
                    }
                    // The control stream ended; frames may still come.
                    self.control_open = false;
                }
            }
        }
    }

    /// The next datagram as it came off the wire.
    pub async fn next_datagram(&self) -> anyhow::Result<Bytes> {
        Ok(self.connection.read_datagram().await?)
    }

    /// The next frame; datagrams that do not decode are counted and skipped, and performer
    /// changes only update [`Subscriber::info`].
    pub async fn next_frame(&mut self) -> anyhow::Result<PoseFrame> {
        loop {
            if let SubscriberEvent::Frame(frame) = self.next_event().await? {
                return Ok(frame);
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
