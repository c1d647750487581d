//! The Kagura server: the only crate that knows tokio, quinn, webrtc and axum.
//!
//! [`Server::start`] builds the engine (`kagura-engine`), starts every configured source in its
//! shell ([`sources`]), and serves subscribers over QUIC ([`quic`]), WebRTC ([`webrtc`]) and
//! WebSocket ([`websocket`]), with the HTTP API ([`http`]) beside them.

pub mod calibrations;
pub mod clock;
pub mod config;
pub mod events;
pub mod expression_maps;
pub mod face_models;
pub mod http;
pub mod identity;
pub mod input_latency;
pub mod metrics;
pub mod quic;
pub mod sensor_assignments;
pub mod shutdown;
pub mod slot;
pub mod sources;
pub mod status;
pub mod vmc_out;
pub mod webrtc;
pub mod websocket;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use kagura_client::Fingerprint;
use kagura_engine::{Engine, PoseBus, lock};
use tokio::task::JoinSet;

use crate::config::Config;
use crate::status::ServerStatus;

/// A running server. Dropping it stops every task and closes every socket.
pub struct Server {
    /// The UDP address of each VMC source, in config order.
    pub vmc_addrs: Vec<SocketAddr>,
    pub quic_addr: SocketAddr,
    pub http_addr: SocketAddr,
    pub fingerprint: Fingerprint,
    pub data_dir: PathBuf,
    pub engine: Arc<Engine>,
    pub bus: Arc<PoseBus>,
    /// VMC targets (`[[vmc_out]]`, `/api/vmc-out`).
    pub vmc_out: Arc<vmc_out::VmcOut>,
    endpoint: quinn::Endpoint,
    tasks: JoinSet<()>,
    /// Fires when the server is dropped: connection tasks end with it.
    _shutdown: shutdown::ShutdownTrigger,
}

impl Server {
    /// Binds every socket (port 0 picks a free one) and starts serving.
    pub async fn start(config: Config) -> anyhow::Result<Server> {
        let data_dir = match &config.data_dir {
            Some(dir) => dir.clone(),
            None => identity::default_data_dir()?,
        };
        let identity = identity::load_or_create(&data_dir)?;
        let bus = Arc::new(PoseBus::new());
        let filters = Arc::new(config.filter_control()?);
        let engine = Arc::new(Engine::new(bus.clone(), filters, config.merging.timing()));
        // Performers in config order, so that "the first performer" is the first named.
        for name in config.performer_names() {
            engine.add_performer(&name);
        }
        for (name, overrides) in &config.expression_maps {
            let map = kagura_calibration::ExpressionMap::with_overrides(overrides)
                .map_err(|e| anyhow::anyhow!("[expression_maps.{name}]: {e}"))?;
            engine.add_performer(name).set_expression_map(map);
        }
        let calibrations = Arc::new(calibrations::Calibrations::new(&data_dir));
        calibrations.load_all(&engine)?;
        let expression_maps = Arc::new(expression_maps::ExpressionMaps::new(&data_dir));
        expression_maps.load_all(&engine)?;
        let status = Arc::new(ServerStatus::new(clock::now_us()));
        let (shutdown_trigger, shutdown) = shutdown::channel();
        let mut tasks = JoinSet::new();

        let sensor_assignments = Arc::new(sensor_assignments::SensorAssignments::new(&data_dir));
        let input_latency = input_latency::InputLatency::default();
        let mut vmc_addrs = Vec::new();
        for source in config.sources() {
            let running = sources::start(
                &source,
                config.bind,
                &engine,
                &calibrations,
                &input_latency,
                &mut tasks,
            )
            .await?;
            if source.kind() == "vmc"
                && let Some(addr) = lock(&running).address
            {
                vmc_addrs.push(addr);
            }
            sensor_assignments.apply_saved(&running)?;
            status.add_source(running);
        }
        tasks.spawn(sources::run_engine_timer(engine.clone()));
        let events = events::Events::default();
        tasks.spawn(events.clone().watch(engine.clone(), status.clone()));

        let quic_bind = SocketAddr::new(config.bind, config.quic_port);
        let endpoint = quinn::Endpoint::server(quic::server_config(&identity)?, quic_bind)
            .with_context(|| format!("binding QUIC UDP port {quic_bind}"))?;
        let quic_addr = endpoint.local_addr()?;
        let (performer_changes, changes) = tokio::sync::watch::channel(0u64);
        bus.on_change(move || performer_changes.send_modify(|n| *n += 1));
        let vmc_out = Arc::new(vmc_out::VmcOut::new(
            bus.clone(),
            changes.clone(),
            shutdown.clone(),
        ));
        for target in &config.vmc_out {
            vmc_out
                .add(target.clone())
                .await
                .with_context(|| format!("[[vmc_out]] target {:?}", target.target))?;
        }
        status.set_vmc_out(vmc_out.clone());
        tasks.spawn(quic::run(
            endpoint.clone(),
            bus.clone(),
            status.clone(),
            changes,
        ));

        let http_bind = SocketAddr::new(config.bind, config.http_port);
        let listener = tokio::net::TcpListener::bind(http_bind)
            .await
            .with_context(|| format!("binding HTTP TCP port {http_bind}"))?;
        let http_addr = listener.local_addr()?;
        if let Some(reason) = http::web_page_not_built() {
            tracing::warn!(
                "this kagura was built without its OBS page ({reason}): /obs serves a \
                 placeholder; install Node.js and npm and build kagura again"
            );
        }
        let webrtc = Arc::new(webrtc::WebRtcEgress::new(
            config.bind,
            bus.clone(),
            status.clone(),
            shutdown.clone(),
        ));
        let app = http::router(http::AppState {
            engine: engine.clone(),
            status: status.clone(),
            webrtc,
            avatars: Arc::new(config.load_avatars()?),
            calibrations,
            expression_maps,
            sensor_assignments,
            events,
            input_latency,
            vmc_out: vmc_out.clone(),
            shutdown: shutdown.clone(),
        })
        .into_make_service_with_connect_info::<SocketAddr>();
        // Not in `tasks`: on shutdown it must run on to close its connections, then it ends.
        let http_shutdown = shutdown.clone();
        tokio::spawn(async move {
            let serving = axum::serve(listener, app).with_graceful_shutdown(http_shutdown.wait());
            if let Err(e) = serving.await {
                tracing::error!("HTTP server stopped: {e}");
            }
        });

        Ok(Server {
            vmc_addrs,
            quic_addr,
            http_addr,
            fingerprint: identity.fingerprint,
            data_dir,
            engine,
            bus,
            vmc_out,
            endpoint,
            tasks,
            _shutdown: shutdown_trigger,
        })
    }

    /// Runs until one of the server's tasks ends (which only happens on a fatal error).
    pub async fn run_until_stopped(mut self) {
        self.tasks.join_next().await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // The tasks in `tasks` are aborted when it drops; connections live on their own, so
        // close them: subscribers are told the server is gone at once.
        self.endpoint
            .close(quinn::VarInt::from_u32(0), b"server stopped");
    }
}
