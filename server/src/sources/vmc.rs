//! The VMC listener: one UDP socket; each configured stream (a sender, or any sender) has its
//! own [`VmcDecoder`] and a [`Route`] into its performer's pipeline.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use kagura_capture::vmc::VmcDecoder;
use kagura_protocol::PoseFrame;
use tokio::net::UdpSocket;

use crate::bus::PoseBus;
use crate::clock::now_us;
use crate::config::{SenderMatch, VmcSourceConfig};
use crate::pipeline::{Pipelines, Route};
use crate::rate::RateMeter;
use crate::status::{ServerStatus, SourceStatus, StreamStatus, lock};

/// One stream of a VMC port: who sends it, how it is decoded, where it goes.
struct Stream {
    /// `None`: any sender.
    sender: Option<SenderMatch>,
    decoder: VmcDecoder,
    route: Route,
}

/// A bound VMC socket, ready to run.
pub struct VmcSource {
    socket: UdpSocket,
    streams: Vec<Stream>,
    status: Arc<Mutex<SourceStatus>>,
}

impl VmcSource {
    /// Binds the port; `streams` come from the config's route plan.
    pub async fn bind(
        bind: std::net::IpAddr,
        config: &VmcSourceConfig,
        streams: Vec<(Option<SenderMatch>, Route)>,
        bus: &PoseBus,
        status: &ServerStatus,
    ) -> anyhow::Result<Self> {
        let socket = UdpSocket::bind((bind, config.port))
            .await
            .map_err(|e| anyhow::anyhow!("binding VMC UDP port {}:{}: {e}", bind, config.port))?;
        let status = status.add_source(SourceStatus {
            kind: "vmc",
            address: socket.local_addr()?.to_string(),
            unknown_senders: 0,
            streams: streams
                .iter()
                .map(|(_, route)| StreamStatus {
                    performer: bus.name_of(route.performer).to_string(),
                    last_sender: None,
                    frames: RateMeter::default(),
                    vmc: None,
                    filtered: route.filtered,
                })
                .collect(),
        });
        let streams = streams
            .into_iter()
            .map(|(sender, route)| Stream {
                sender,
                decoder: VmcDecoder::new(route.performer),
                route,
            })
            .collect();
        Ok(VmcSource {
            socket,
            streams,
            status,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Receives until the socket fails. Every datagram is decoded as it arrives and each whole
    /// frame goes through its performer's pipeline at once: there is no buffering between the
    /// socket and the bus.
    pub async fn run(mut self, pipelines: Arc<Pipelines>) {
        // Large enough for any UDP datagram, so oversized ones are seen and counted.
        let mut buf = vec![0u8; 65536];
        let mut frames: Vec<PoseFrame> = Vec::new();
        loop {
            let (len, from) = match self.socket.recv_from(&mut buf).await {
                Ok(received) => received,
                Err(e) => {
                    // ICMP errors surface here on some platforms; keep serving.
                    tracing::debug!("VMC receive error: {e}");
                    continue;
                }
            };
            let now = now_us();
            let Some(index) = self
                .streams
                .iter()
                .position(|s| s.sender.is_none_or(|m| m.matches(from)))
            else {
                lock(&self.status).unknown_senders += 1;
                continue;
            };
            let stream = &mut self.streams[index];
            stream
                .decoder
                .handle_datagram(&buf[..len], now, &mut frames);
            let emitted = frames.len();
            for frame in frames.drain(..) {
                pipelines.submit(&stream.route, frame, now);
            }
            let mut status = lock(&self.status);
            let st = &mut status.streams[index];
            st.last_sender = Some(from);
            for _ in 0..emitted {
                st.frames.record(now);
            }
            st.vmc = Some((*stream.decoder.stats(), *stream.decoder.sender_status()));
        }
    }
}
