//! The QUIC transport: subscribers connect, say hello and subscribe on one stream, and receive
//! each subscribed performer's frames as datagrams.
//!
//! Each subscribed performer gets one [`QuicSink`] on the bus (however often the subscription
//! names it), which hands every published frame straight to `send_datagram`. When performers
//! come or go the subscriber is sent a fresh `Info`, and a subscription to all performers gets
//! the new ones' frames too. That never blocks: if a peer cannot keep up, quinn drops the
//! oldest datagram in that connection's small send buffer. So a slow or dead subscriber delays
//! no one, and its own backlog is bounded by [`DATAGRAM_SEND_BUFFER`].

use std::collections::BTreeSet;
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
/// Most performers one subscription may name (names repeated count once).
pub const MAX_NAMED_PERFORMERS: usize = 256;

/// Changes to the performer list, as a counter the bus bumps (see [`PoseBus::on_change`]).
pub type PerformerChanges = tokio::sync::watch::Receiver<u64>;

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
pub async fn run(
    endpoint: quinn::Endpoint,
    bus: Arc<PoseBus>,
    status: Arc<ServerStatus>,
    changes: PerformerChanges,
) {
    while let Some(incoming) = endpoint.accept().await {
        let (bus, status, changes) = (bus.clone(), status.clone(), changes.clone());
        tokio::spawn(async move {
            let remote = incoming.remote_address();
            if let Err(e) = serve_subscriber(incoming, bus, status, changes).await {
                tracing::info!("QUIC subscriber {remote}: {e:#}");
            }
        });
    }
}

async fn serve_subscriber(
    incoming: quinn::Incoming,
    bus: Arc<PoseBus>,
    status: Arc<ServerStatus>,
    mut changes: PerformerChanges,
) -> anyhow::Result<()> {
    let connection = incoming.await.context("QUIC handshake")?;
    let subscribed = tokio::time::timeout(HANDSHAKE_TIMEOUT, subscribe(&connection, &bus))
        .await
        .context("no subscription within the handshake timeout")?;
    let (client, wanted, performers, mut control) = match subscribed {
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
    let attach = |id: PerformerId| {
        let sink = QuicSink {
            connection: connection.clone(),
            subscriber: subscriber.clone(),
        };
        bus.attach(id, Arc::new(sink));
    };
    let mut attached = performers;
    for id in &attached {
        attach(*id);
    }
    changes.mark_unchanged();
    loop {
        tokio::select! {
            _ = connection.closed() => break,
            changed = changes.changed() => {
                if changed.is_err() {
                    break;
                }
                // New performers it wants (all, or a named one that came back).
                for slot in bus.performers() {
                    let wants = wanted.as_ref().is_none_or(|names| names.contains(&slot.name));
                    if wants && attached.insert(slot.id) {
                        attach(slot.id);
                    }
                }
                attached.retain(|id| bus.slot(*id).is_some());
                if write_control(&mut control.0, &ServerMessage::Info(server_info(&bus)))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        }
    }
    status.remove_subscriber(subscriber.id);
    drop(control.0.finish());
    Ok(())
}

/// What the server tells subscribers about itself and its performers now.
fn server_info(bus: &PoseBus) -> ServerInfo {
    ServerInfo {
        server: concat!("kagura ", env!("CARGO_PKG_VERSION")).into(),
        control_version: CONTROL_VERSION,
        wire_version: wire::WIRE_VERSION,
        performers: bus
            .performers()
            .iter()
            .map(|p| PerformerInfo {
                id: p.id,
                name: p.name.clone(),
                hips_height_m: p.hips_height_m(),
            })
            .collect(),
    }
}

/// Reads Hello and Subscribe, answers with ServerInfo; returns the client's name, the names it
/// wants (`None`: every performer, later ones too), the performers it gets now (each once), and
/// the control stream (kept open for later ServerInfo updates).
async fn subscribe(
    connection: &quinn::Connection,
    bus: &PoseBus,
) -> anyhow::Result<(
    String,
    Option<BTreeSet<String>>,
    BTreeSet<PerformerId>,
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
    let (wanted, performers) = match read_control(&mut recv).await? {
        ClientMessage::Subscribe(Subscription::All) => {
            (None, bus.performers().iter().map(|p| p.id).collect())
        }
        ClientMessage::Subscribe(Subscription::Named(names)) => {
            let names: BTreeSet<String> = names.into_iter().collect();
            if names.len() > MAX_NAMED_PERFORMERS {
                let reason = format!("more than {MAX_NAMED_PERFORMERS} performers named");
                return Err(refuse(&mut send, reason).await);
            }
            let mut ids = BTreeSet::new();
            for name in &names {
                let Some(id) = bus.id_of(name) else {
                    return Err(refuse(&mut send, format!("no performer named {name:?}")).await);
                };
                ids.insert(id);
            }
            (Some(names), ids)
        }
        other => bail!("expected Subscribe, got {other:?}"),
    };
    write_control(&mut send, &ServerMessage::Info(server_info(bus))).await?;
    Ok((client, wanted, performers, (send, recv)))
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
