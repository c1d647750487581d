//! The Kagura server: the only crate that knows tokio, quinn and axum.
//!
//! [`Server::start`] binds every socket, then runs one task per source, one accept loop per
//! transport, and the HTTP API, all around the [`bus::PoseBus`].

pub mod bus;
pub mod calibrations;
pub mod clock;
pub mod config;
pub mod filters;
pub mod http;
pub mod identity;
pub mod pipeline;
pub mod quic;
pub mod rate;
pub mod sources;
pub mod status;
pub mod webrtc;
pub mod websocket;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use kagura_client::Fingerprint;
use tokio::task::JoinSet;

use crate::bus::PoseBus;
use crate::config::Config;
use crate::status::ServerStatus;

/// A running server. Dropping it stops every task.
pub struct Server {
    pub vmc_addrs: Vec<SocketAddr>,
    pub quic_addr: SocketAddr,
    pub http_addr: SocketAddr,
    pub fingerprint: Fingerprint,
    pub data_dir: PathBuf,
    pub bus: Arc<PoseBus>,
    tasks: JoinSet<()>,
}

impl Server {
    /// Binds every socket (port 0 picks a free one) and starts serving.
    pub async fn start(config: Config) -> anyhow::Result<Server> {
        let data_dir = match &config.data_dir {
            Some(dir) => dir.clone(),
            None => identity::default_data_dir()?,
        };
        let identity = identity::load_or_create(&data_dir)?;
        let names = config.performer_names()?;
        let routes = config.routes(&names)?;
        let bus = Arc::new(PoseBus::new(&names));
        let filters = Arc::new(config.filter_control()?);
        let calibrations = Arc::new(calibrations::Calibrations::load(&data_dir, &bus)?);
        let status = Arc::new(ServerStatus::new(clock::now_us()));
        let merging = config.merging;
        let pipelines = Arc::new(pipeline::Pipelines::new(
            routes.roles,
            u64::from(merging.hold_ms) * 1000,
            u64::from(merging.ease_ms) * 1000,
            bus.clone(),
            calibrations.clone(),
            filters.clone(),
        ));
        let mut tasks = JoinSet::new();

        let mut vmc_addrs = Vec::new();
        for (source, streams) in config.vmc.iter().zip(routes.vmc) {
            let source =
                sources::vmc::VmcSource::bind(config.bind, source, streams, &bus, &status).await?;
            vmc_addrs.push(source.local_addr()?);
            tasks.spawn(source.run(pipelines.clone()));
        }
        for (source, route) in config.bvh.iter().zip(routes.bvh) {
            let player = sources::bvh::BvhSource::load(&source.file)?;
            tasks.spawn(player.run(
                route,
                source.performer.clone(),
                pipelines.clone(),
                status.clone(),
            ));
        }
        if let (Some(route), Some(name)) = (routes.demo, &config.demo_performer) {
            tasks.spawn(sources::demo::run(
                route,
                name.clone(),
                pipelines.clone(),
                status.clone(),
            ));
        }

        let quic_bind = SocketAddr::new(config.bind, config.quic_port);
        let endpoint = quinn::Endpoint::server(quic::server_config(&identity)?, quic_bind)
            .with_context(|| format!("binding QUIC UDP port {quic_bind}"))?;
        let quic_addr = endpoint.local_addr()?;
        tasks.spawn(quic::run(endpoint, bus.clone(), status.clone()));

        let http_bind = SocketAddr::new(config.bind, config.http_port);
        let listener = tokio::net::TcpListener::bind(http_bind)
            .await
            .with_context(|| format!("binding HTTP TCP port {http_bind}"))?;
        let http_addr = listener.local_addr()?;
        let webrtc = Arc::new(webrtc::WebRtcEgress::new(
            config.bind,
            bus.clone(),
            status.clone(),
        ));
        let app = http::router(http::AppState {
            bus: bus.clone(),
            status: status.clone(),
            webrtc,
            avatars: Arc::new(config.load_avatars()?),
            filters,
            calibrations,
        })
        .into_make_service_with_connect_info::<SocketAddr>();
        tasks.spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("HTTP server stopped: {e}");
            }
        });

        Ok(Server {
            vmc_addrs,
            quic_addr,
            http_addr,
            fingerprint: identity.fingerprint,
            data_dir,
            bus,
            tasks,
        })
    }

    /// Runs until one of the server's tasks ends (which only happens on a fatal error).
    pub async fn run_until_stopped(mut self) {
        self.tasks.join_next().await;
    }
}
