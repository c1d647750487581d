//! The VMC listener: one UDP socket, one [`VmcDecoder`] per performer on it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use kagura_calibration::filter::{PoseFilter, SourceKind};
use kagura_capture::vmc::VmcDecoder;
use kagura_protocol::PoseFrame;
use tokio::net::UdpSocket;

use crate::bus::PoseBus;
use crate::calibrations::Calibrations;
use crate::clock::now_us;
use crate::config::{SenderMatch, VmcSourceConfig};
use crate::filters::FilterControl;
use crate::rate::RateMeter;
use crate::status::{ServerStatus, SourceStatus, StreamStatus, lock};

/// Which performer a datagram's sender drives.
enum Routes {
    /// Every sender drives stream 0.
    AnySender,
    /// Listed senders only, each to its stream.
    Listed(Vec<(SenderMatch, usize)>),
}

impl Routes {
    fn route(&self, from: SocketAddr) -> Option<usize> {
        match self {
            Routes::AnySender => Some(0),
            Routes::Listed(list) => list.iter().find(|(m, _)| m.matches(from)).map(|(_, s)| *s),
        }
    }
}

/// A bound VMC socket, ready to run.
pub struct VmcSource {
    socket: UdpSocket,
    routes: Routes,
    decoders: Vec<VmcDecoder>,
    /// One filter per performer (stream), when this source is filtered.
    pose_filters: Option<Vec<PoseFilter>>,
    status: Arc<Mutex<SourceStatus>>,
}

impl VmcSource {
    /// Binds the port and resolves its performers on `bus`.
    pub async fn bind(
        bind: std::net::IpAddr,
        config: &VmcSourceConfig,
        bus: &PoseBus,
        status: &ServerStatus,
    ) -> anyhow::Result<Self> {
        let socket = UdpSocket::bind((bind, config.port))
            .await
            .map_err(|e| anyhow::anyhow!("binding VMC UDP port {}:{}: {e}", bind, config.port))?;
        let mut performers: Vec<String> = Vec::new();
        let routes = if config.senders.is_empty() {
            performers.extend(config.performer.clone());
            Routes::AnySender
        } else {
            let mut list = Vec::new();
            for sender in &config.senders {
                let stream = match performers.iter().position(|p| *p == sender.performer) {
                    Some(i) => i,
                    None => {
                        performers.push(sender.performer.clone());
                        performers.len() - 1
                    }
                };
                list.push((SenderMatch::parse(&sender.address)?, stream));
            }
            Routes::Listed(list)
        };
        let decoders = performers
            .iter()
            .map(|name| {
                let id = bus
                    .id_of(name)
                    .ok_or_else(|| anyhow::anyhow!("unknown performer {name}"))?;
                Ok(VmcDecoder::new(id))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let status = status.add_source(SourceStatus {
            kind: "vmc",
            address: socket.local_addr()?.to_string(),
            unknown_senders: 0,
            streams: performers
                .into_iter()
                .map(|performer| StreamStatus {
                    performer,
                    last_sender: None,
                    frames: RateMeter::default(),
                    vmc: None,
                    filtered: config.filter,
                })
                .collect(),
        });
        let pose_filters = config
            .filter
            .then(|| vec![PoseFilter::default(); decoders.len()]);
        Ok(VmcSource {
            socket,
            routes,
            decoders,
            pose_filters,
            status,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Receives until the socket fails. Every datagram is decoded as it arrives and each whole
    /// frame published at once: there is no buffering between the socket and the bus.
    pub async fn run(
        mut self,
        bus: Arc<PoseBus>,
        filters: Arc<FilterControl>,
        calibrations: Arc<Calibrations>,
    ) {
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
            let Some(stream) = self.routes.route(from) else {
                lock(&self.status).unknown_senders += 1;
                continue;
            };
            let decoder = &mut self.decoders[stream];
            decoder.handle_datagram(&buf[..len], now, &mut frames);
            for frame in &mut frames {
                calibrations.process(frame);
            }
            if let Some(pose_filters) = &mut self.pose_filters
                && !frames.is_empty()
            {
                let settings = filters.get(SourceKind::Vmc);
                for frame in &mut frames {
                    pose_filters[stream].apply(frame, &settings);
                }
            }
            for frame in &frames {
                bus.publish(frame, now);
            }
            let mut status = lock(&self.status);
            let st = &mut status.streams[stream];
            st.last_sender = Some(from);
            for _ in frames.drain(..) {
                st.frames.record(now);
            }
            st.vmc = Some((*decoder.stats(), *decoder.sender_status()));
        }
    }
}
