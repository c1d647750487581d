//! The shells around sources: each owns a source's IO (a UDP socket, a TCP connection it opens,
//! video frames, or only its timer), feeds the sans-IO [`Source`] with input and the time it
//! arrived, sends what it asks to send, wakes it when it asks to be woken, and hands its frames
//! to the engine through each stream's [`StreamRoute`]. One shell per kind of IO ([`SourceIo`]), not per kind of source: a new
//! source kind needs no code here.

pub mod frames;
pub mod tcp;
mod udp;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use kagura_calibration::CalibrationKind;
use kagura_capture::{
    BuildEnv, Source, SourceAction, SourceConfig, SourceEvent, SourceIo, SourceReport,
};
use kagura_engine::rate::RateMeter;
use kagura_engine::{Engine, StreamRoute, lock};
use serde::Serialize;
use tokio::task::JoinSet;

use crate::calibrations::Calibrations;
use crate::clock::{instant_at, now_us};

/// A source with its routes into the engine: what its shell drives and the status page reads.
pub struct RunningSource {
    source: Box<dyn Source>,
    /// One per stream of the source, in its order.
    streams: Vec<RunningStream>,
    /// Time per input through the source and the engine (`/metrics`).
    latency: crate::input_latency::InputLatency,
    /// Where it listens, once bound.
    pub address: Option<SocketAddr>,
    actions: ActionRunner,
    /// A TCP client source's connection (its shell keeps it).
    pub connection: Option<tcp::ConnectionStatus>,
}

pub type SharedSource = Arc<Mutex<RunningSource>>;

/// One stream of a running source: its route into the engine and what `/api/status` counts.
struct RunningStream {
    route: StreamRoute,
    rate: RateMeter,
    /// Whole frames it has made.
    frames_in: u64,
}

impl RunningStream {
    fn new(route: StreamRoute) -> Self {
        RunningStream {
            route,
            rate: RateMeter::default(),
            frames_in: 0,
        }
    }
}

impl RunningSource {
    /// Takes one input, hands what it made to the engine, and returns the datagrams to send;
    /// the time it took goes to `/metrics`.
    fn feed(
        &mut self,
        input: kagura_capture::SourceInput<'_>,
        engine: &Engine,
        now_us: u64,
    ) -> Vec<kagura_capture::Transmit> {
        let started = std::time::Instant::now();
        self.source.handle_input(input, now_us);
        let transmits = self.drain(engine, now_us);
        self.latency
            .observe(self.source.kind(), started.elapsed().as_secs_f64());
        transmits
    }

    /// Hands every pending event to the engine and returns the datagrams to send.
    fn drain(&mut self, engine: &Engine, now_us: u64) -> Vec<kagura_capture::Transmit> {
        while let Some(event) = self.source.poll_event() {
            match event {
                SourceEvent::Frame { stream, frame } => {
                    if let Some(stream) = self.streams.get_mut(stream) {
                        engine.submit(&mut stream.route, frame, now_us);
                        stream.rate.record(now_us);
                        stream.frames_in += 1;
                    }
                }
                SourceEvent::StreamAdded { stream } => {
                    // Streams are added at the end, so `stream` is the next route.
                    if let Some(spec) = self.source.streams().get(stream)
                        && stream == self.streams.len()
                    {
                        tracing::info!(
                            "{} source: new stream {} for performer {:?}",
                            self.source.kind(),
                            spec.key,
                            spec.performer
                        );
                        let route = engine.attach_stream(spec, self.source.kind());
                        self.streams.push(RunningStream::new(route));
                    }
                }
                SourceEvent::Action { stream, action } => {
                    if let Some(stream) = self.streams.get(stream) {
                        self.actions.run(stream.route.performer().clone(), action);
                    }
                }
            }
        }
        std::iter::from_fn(|| self.source.poll_transmit()).collect()
    }

    /// Its first stream's key (`slimevr@6969`), stable across restarts.
    pub fn stream_key(&self) -> Option<String> {
        self.source.streams().first().map(|s| s.key.clone())
    }

    /// See [`kagura_capture::Source::assign_sensor`].
    pub fn assign_sensor(
        &mut self,
        key: &str,
        bone: Option<kagura_protocol::HumanoidBone>,
    ) -> Result<(), String> {
        self.source.assign_sensor(key, bone)
    }

    /// What `/api/status` shows of this source.
    pub fn report(&self, engine: &Engine, now_us: u64) -> SourceStatus {
        let SourceReport {
            unknown_senders,
            errors,
            counters,
            sender,
            streams,
        } = self.source.report();
        let age_ms = |t: Option<u64>| t.map(|t| now_us.saturating_sub(t) as f64 / 1000.0);
        let streams: Vec<StreamStatus> = streams
            .into_iter()
            .zip(&self.streams)
            .map(|(report, stream)| StreamStatus {
                frames_in: stream.frames_in,
                frame_rate_hz: stream.rate.rate_hz(now_us),
                last_seen_ms_ago: age_ms(stream.rate.last_event_us()),
                filtered: engine.is_filtered(&stream.route),
                report,
            })
            .collect();
        SourceStatus {
            kind: self.source.kind(),
            address: self
                .address
                .map_or_else(|| self.source.describe(), |a| a.to_string()),
            frame_rate_hz: streams.iter().map(|s| s.frame_rate_hz).sum(),
            last_seen_ms_ago: streams
                .iter()
                .filter_map(|s| s.last_seen_ms_ago)
                .min_by(f64::total_cmp),
            errors,
            unknown_senders,
            counters,
            sender,
            connection: self.connection.clone().map(|status| ConnectionReport {
                since_ms_ago: now_us.saturating_sub(status.since_us) as f64 / 1000.0,
                status,
            }),
            streams,
        }
    }
}

/// One source in `/api/status`.
#[derive(Serialize)]
pub struct SourceStatus {
    pub kind: &'static str,
    pub address: String,
    pub frame_rate_hz: f64,
    pub last_seen_ms_ago: Option<f64>,
    pub errors: u64,
    pub unknown_senders: u64,
    /// The source's own counters and sender information, where it has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counters: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender: Option<serde_json::Value>,
    /// A TCP client source's connection: state, peer, last error, connections made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection: Option<ConnectionReport>,
    pub streams: Vec<StreamStatus>,
}

/// A TCP client source's connection in `/api/status`.
#[derive(Serialize)]
pub struct ConnectionReport {
    #[serde(flatten)]
    pub status: tcp::ConnectionStatus,
    /// Since when it is in this state.
    pub since_ms_ago: f64,
}

/// One stream of a source in `/api/status`.
#[derive(Serialize)]
pub struct StreamStatus {
    #[serde(flatten)]
    pub report: kagura_capture::StreamReport,
    pub frame_rate_hz: f64,
    /// Whole frames it has made since the server started.
    pub frames_in: u64,
    pub last_seen_ms_ago: Option<f64>,
    /// Whether its frames are filtered now (its own switch and its kind's settings).
    pub filtered: bool,
}

/// Runs the calibrations a source's devices ask for ([`SourceEvent::Action`]): the same
/// procedure `POST /api/performers/{name}/calibrate` runs, with its default countdown (3 s to
/// get into pose after pressing the button) and capture (1 s), on its own task.
struct ActionRunner {
    engine: Arc<Engine>,
    calibrations: Arc<Calibrations>,
    runtime: tokio::runtime::Handle,
}

/// Seconds to get into pose after a device's reset button, and to hold it (the API's defaults).
const ACTION_COUNTDOWN: std::time::Duration = std::time::Duration::from_secs(3);
const ACTION_CAPTURE: std::time::Duration = std::time::Duration::from_secs(1);

impl ActionRunner {
    fn run(&self, performer: Arc<kagura_engine::Performer>, action: SourceAction) {
        // SlimeVR's full and mounting resets measure how each tracker sits on its bone, which
        // Kagura's T-pose capture does; its yaw reset is the heading reset.
        let kind = match action {
            SourceAction::FullReset | SourceAction::MountingReset => CalibrationKind::TPose,
            SourceAction::YawReset => CalibrationKind::Yaw,
        };
        tracing::info!(
            "{action:?} from a device: calibrating {} ({kind:?}) in {} s",
            performer.name,
            ACTION_COUNTDOWN.as_secs()
        );
        let (engine, calibrations) = (self.engine.clone(), self.calibrations.clone());
        self.runtime.spawn(async move {
            let name = performer.name.clone();
            let result = calibrations
                .run(&engine, performer, kind, ACTION_COUNTDOWN, ACTION_CAPTURE)
                .await;
            match result {
                Ok(_) => tracing::info!("{name}: {kind:?} calibration done"),
                Err(e) => tracing::warn!("{name}: {kind:?} calibration from a device: {e:#}"),
            }
        });
    }
}

/// Builds a configured source, binds what it needs and starts its shell in `tasks`.
/// `calibrations` runs what its devices ask for.
pub async fn start(
    config: &SourceConfig,
    bind: IpAddr,
    engine: &Arc<Engine>,
    calibrations: &Arc<Calibrations>,
    latency: &crate::input_latency::InputLatency,
    tasks: &mut JoinSet<()>,
) -> anyhow::Result<SharedSource> {
    let read_file = |path: &std::path::Path| std::fs::read(path);
    let face_model = |name: &str| crate::face_models::FaceModelFiles::embedded_file(name);
    let source = config
        .build(&BuildEnv {
            read_file: &read_file,
            face_model: &face_model,
        })
        .map_err(|e| anyhow::anyhow!("{} source: {e}", config.kind()))?;
    for stream in source.report().streams {
        for warning in stream.warnings {
            tracing::warn!("{} source: {warning}", config.kind());
        }
    }
    let streams: Vec<RunningStream> = source
        .streams()
        .iter()
        .map(|spec| RunningStream::new(engine.attach_stream(spec, source.kind())))
        .collect();
    let running = Arc::new(Mutex::new(RunningSource {
        streams,
        latency: latency.clone(),
        source,
        address: None,
        actions: ActionRunner {
            engine: engine.clone(),
            calibrations: calibrations.clone(),
            runtime: tokio::runtime::Handle::current(),
        },
        connection: None,
    }));
    match config.io() {
        SourceIo::Udp { port } => {
            let socket = udp::bind(SocketAddr::new(bind, port)).await?;
            let local = socket.local_addr()?;
            {
                let mut running = lock(&running);
                running.address = Some(local);
                running.source.handle_bound(local);
            }
            tasks.spawn(udp::run(socket, running.clone(), engine.clone()));
        }
        SourceIo::Timer => {
            tasks.spawn(run_timer(running.clone(), engine.clone()));
        }
        SourceIo::Frames(feed) => {
            tasks.spawn(frames::spawn(feed, running.clone(), engine.clone())?);
        }
        SourceIo::TcpClient { addr } => {
            lock(&running).connection = Some(tcp::ConnectionStatus::new(&addr));
            tasks.spawn(tcp::run(addr, running.clone(), engine.clone()));
        }
    }
    Ok(running)
}

/// The shell of a source with no input: wakes it when it asks.
async fn run_timer(running: SharedSource, engine: Arc<Engine>) {
    loop {
        let due = lock(&running).source.poll_timeout();
        match due {
            Some(due) => tokio::time::sleep_until(instant_at(due).into()).await,
            None => std::future::pending::<()>().await,
        }
        let now = now_us();
        let mut source = lock(&running);
        source.source.handle_timeout(now);
        source.drain(&engine, now);
    }
}

/// Runs the engine's own timer: holds running out and cross-fades stepping, so a performer
/// whose sources all went silent still eases to rest. It sleeps until the engine's next
/// deadline; a frame that makes an earlier one wakes it.
pub async fn run_engine_timer(engine: Arc<Engine>) {
    let earlier = Arc::new(tokio::sync::Notify::new());
    let wake = earlier.clone();
    engine.on_earlier_deadline(move || wake.notify_one());
    loop {
        let now = now_us();
        match engine.poll_timeout() {
            Some(due) if due <= now => engine.handle_timeout(now),
            Some(due) => {
                tokio::select! {
                    () = tokio::time::sleep_until(instant_at(due).into()) => {}
                    () = earlier.notified() => {}
                }
            }
            None => earlier.notified().await,
        }
    }
}
