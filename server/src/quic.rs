//! The QUIC transport: subscribers connect, say hello and subscribe on one stream, and receive
//! each subscribed performer's frames as datagrams.
//!
//! Each subscribed performer gets a [`QuicSink`] on the bus, which hands every published frame
//! straight to `send_datagram`. That never blocks: if a peer cannot keep up, quinn drops the
//! oldest datagram in that connection's small send buffer. So a slow or dead subscriber delays
//! no one, and its own backlog is bounded by [`DATAGRAM_SEND_BUFFER`].

use std::sync::Arc;
use std::time::Duration;

use crate::clock::now_us;
use crate::identity::Identity;
use crate::status::{ServerStatus, SubscriberStatus};
use anyhow::{Context, bail};
use kagura_client::{ALPN, read_control, write_control};
use kagura_engine::{FrameSink, PoseBus, PublishedFrame};
use kagura_protocol::control::{
    CONTROL_VERSION, ClientMessage, PerformerInfo, ServerInfo, ServerMessage, Subscription,
};
use kagura_protocol::{PerformerId, wire};

/// Bytes of datagrams quinn holds per connection before dropping the oldest: a few frames.
pub const DATAGRAM_SEND_BUFFER: usize = 8 * wire::MAX_FRAME_LEN;
/// How long a new connection may take to say hello and subscribe.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

pub fn server_config(identity: &Identity) -> anyhow::Result<quinn::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(vec![identity.certificate.clone()], identity.key.clone_key())
        .context("loading the server certificate")?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls)?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    // Ask subscribers to acknowledge every 16th packet (or within 25 ms) instead of every other
    // one: frames are unreliable datagrams, so ACKs only feed congestion control, and with many
    // subscribers the ACK flood would cost the server more than the frames do.
    let mut acks = quinn::AckFrequencyConfig::default();
    acks.ack_eliciting_threshold(quinn::VarInt::from_u32(16))
        .max_ack_delay(Some(Duration::from_millis(25)));
    let mut transport = quinn::TransportConfig::default();
    transport
        .ack_frequency_config(Some(acks))
        .datagram_send_buffer_size(DATAGRAM_SEND_BUFFER)
        .max_idle_timeout(Some(Duration::from_secs(10).try_into()?));
    config.transport_config(Arc::new(transport));
    Ok(config)
}

/// Accepts subscribers until the endpoint closes.
pub async fn run(endpoint: quinn::Endpoint, bus: Arc<PoseBus>, status: Arc<ServerStatus>) {
    while let Some(incoming) = endpoint.accept().await {
        let (bus, status) = (bus.clone(), status.clone());
        tokio::spawn(async move {
            let remote = incoming.remote_address();
            if let Err(e) = serve_subscriber(incoming, bus, status).await {
                tracing::info!("QUIC subscriber {remote}: {e:#}");
            }
        });
    }
}

async fn serve_subscriber(
    incoming: quinn::Incoming,
    bus: Arc<PoseBus>,
    status: Arc<ServerStatus>,
) -> anyhow::Result<()> {
    let connection = incoming.await.context("QUIC handshake")?;
    let subscribed = tokio::time::timeout(HANDSHAKE_TIMEOUT, subscribe(&connection, &bus))
        .await
        .context("no subscription within the handshake timeout")?;
    let (client, performers, mut control) = match subscribed {
        Ok(subscribed) => subscribed,
        Err(e) => {
            // Let the client read why before the connection goes.
            let _ = tokio::time::timeout(HANDSHAKE_TIMEOUT, connection.closed()).await;
            return Err(e);
        }
    };

    let names = performers.iter().map(|id| bus.name_of(*id)).collect();
    let subscriber =
        status.add_subscriber("quic", connection.remote_address(), client, names, now_us());
    for id in performers {
        let sink = QuicSink {
            connection: connection.clone(),
            subscriber: subscriber.clone(),
        };
        bus.attach(id, Arc::new(sink));
    }
    connection.closed().await;
    status.remove_subscriber(subscriber.id);
    drop(control.0.finish());
    Ok(())
}

/// Reads Hello and Subscribe, answers with ServerInfo; returns the client's name, the
/// performers it gets, and the control stream (kept open for later ServerInfo updates).
async fn subscribe(
    connection: &quinn::Connection,
    bus: &PoseBus,
) -> anyhow::Result<(
    String,
    Vec<PerformerId>,
    (quinn::SendStream, quinn::RecvStream),
)> {
    let (mut send, mut recv) = connection.accept_bi().await?;
    let client = match read_control(&mut recv).await? {
        ClientMessage::Hello {
            control_version,
            client,
        } if control_version == CONTROL_VERSION => client,
        ClientMessage::Hello {
            control_version, ..
        } => {
            let reason =
                format!("control version {control_version}, server speaks {CONTROL_VERSION}");
            return Err(refuse(&mut send, reason).await);
        }
        other => bail!("expected Hello, got {other:?}"),
    };
    let performers = match read_control(&mut recv).await? {
        ClientMessage::Subscribe(Subscription::All) => {
            bus.performers().iter().map(|p| p.id).collect()
        }
        ClientMessage::Subscribe(Subscription::Named(names)) => {
            let mut ids = Vec::new();
            for name in names {
                let Some(id) = bus.id_of(&name) else {
                    return Err(refuse(&mut send, format!("no performer named {name:?}")).await);
                };
                ids.push(id);
            }
            ids
        }
        other => bail!("expected Subscribe, got {other:?}"),
    };
    let info = ServerInfo {
        server: concat!("kagura ", env!("CARGO_PKG_VERSION")).into(),
        control_version: CONTROL_VERSION,
        wire_version: wire::WIRE_VERSION,
        performers: bus
            .performers()
            .iter()
            .map(|p| PerformerInfo {
                id: p.id,
                name: p.name.clone(),
            })
            .collect(),
    };
    write_control(&mut send, &ServerMessage::Info(info)).await?;
    Ok((client, performers, (send, recv)))
}

/// Tells the client why it is refused (best effort) and returns the reason as an error.
async fn refuse(send: &mut quinn::SendStream, reason: String) -> anyhow::Error {
    let _ = write_control(
        send,
        &ServerMessage::Refused {
            reason: reason.clone(),
        },
    )
    .await;
    anyhow::anyhow!(reason)
}

/// A subscriber's connection as a bus sink for one performer.
struct QuicSink {
    connection: quinn::Connection,
    subscriber: Arc<SubscriberStatus>,
}

impl FrameSink for QuicSink {
    fn offer(&self, frame: &PublishedFrame) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        match self.connection.send_datagram(frame.wire.clone()) {
            Ok(()) => {
                self.subscriber.frames_sent.fetch_add(1, Relaxed);
                true
            }
            Err(quinn::SendDatagramError::ConnectionLost(_)) => false,
            Err(e) => {
                self.subscriber.send_errors.fetch_add(1, Relaxed);
                tracing::debug!("datagram to {}: {e}", self.connection.remote_address());
                true
            }
        }
    }
}
