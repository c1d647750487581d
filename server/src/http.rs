//! The HTTP side: pages, avatars, the status API, WebRTC signalling and the WebSocket fallback.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | live status page |
//! | `GET /obs?performer=NAME` | the OBS browser-source avatar page (built from clients/web) |
//! | `GET /avatars/{performer}.vrm`, `/avatars/default.vrm` | the performer's avatar |
//! | `GET /healthz`, `GET /api/status`, `GET /api/time` | health, status JSON, server clock |
//! | `POST /api/webrtc/{performer}` | SDP offer in, SDP answer out (WHEP-style) |
//! | `GET /ws?performer=NAME` | WebSocket fallback carrying the same frames |
//! | `GET /api/filters`, `PUT /api/filters/{kind}` | filter settings; PUT takes a partial JSON object |
//! | `GET /api/performers/{name}/calibration` | the performer's calibration |
//! | `GET /api/vmc-out`, `POST /api/vmc-out`, `DELETE /api/vmc-out/{id}` | VMC targets: list, add (`{"target": "HOST:PORT", "performer": "main", "rate_hz": 60, "names": "vrm0"}` → `{"id": 1}`), remove |
//! | `POST /api/performers/{name}/calibrate` | run one (`{"kind": "t_pose", "countdown_s": 3, "duration_s": 1}`); answers when done |

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State, WebSocketUpgrade};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use kagura_protocol::PerformerId;
use serde::Deserialize;

use kagura_engine::{Engine, PoseBus, lock};

use crate::calibrations::{Calibrations, MAX_SECONDS};
use crate::clock::now_us;
use crate::status::{ServerStatus, StatusReport};
use crate::webrtc::WebRtcEgress;

mod assets {
    include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));
}

/// Why `/obs` is a placeholder page, if it is: the build had no Node.js, or `KAGURA_SKIP_WEB`
/// was set (server/build.rs).
pub fn web_page_not_built() -> Option<&'static str> {
    assets::WEB_PAGE_NOT_BUILT
}

/// Avatar files (VRM/GLB bytes) the server hands out.
pub struct Avatars {
    /// Served for performers without their own, and at `/avatars/default.vrm`.
    pub default: Bytes,
    pub per_performer: HashMap<String, Bytes>,
}

/// What the HTTP handlers share: the server's parts they read or drive.
#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub status: Arc<ServerStatus>,
    pub webrtc: Arc<WebRtcEgress>,
    pub avatars: Arc<Avatars>,
    pub calibrations: Arc<Calibrations>,
    pub expression_maps: Arc<crate::expression_maps::ExpressionMaps>,
    pub sensor_assignments: Arc<crate::sensor_assignments::SensorAssignments>,
    pub events: crate::events::Events,
    pub input_latency: crate::input_latency::InputLatency,
    pub vmc_out: Arc<crate::vmc_out::VmcOut>,
    pub shutdown: crate::shutdown::Shutdown,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { Html(include_str!("../assets/index.html")) }),
        )
        .route("/obs", get(|| async { web_asset("obs.html") }))
        .route(
            "/assets/{*path}",
            get(|Path(path): Path<String>| async move { web_asset(&format!("assets/{path}")) }),
        )
        .route("/avatars/{file}", get(avatar))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/api/status", get(api_status))
        .route(
            "/api/time",
            get(|| async { Json(serde_json::json!({ "server_us": now_us() })) }),
        )
        .route("/api/webrtc/{performer}", post(webrtc_offer))
        .route("/ws", get(websocket))
        .route(
            "/api/filters",
            get(|State(state): State<AppState>| async move { Json(state.engine.filters().all()) }),
        )
        .route("/api/filters/{kind}", put(update_filters))
        .route("/api/performers/{name}/calibration", get(calibration))
        .route("/api/performers/{name}/calibrate", post(calibrate))
        .route("/api/sources/{index}/sensors", put(assign_sensor))
        .route("/api/events", get(events))
        .route("/metrics", get(metrics))
        .route(
            "/api/performers/{name}/expressions",
            post(trigger_expression),
        )
        .route(
            "/api/performers/{name}/expression-map",
            get(expression_map).put(set_expression_map),
        )
        .route(
            "/api/vmc-out",
            get(|State(state): State<AppState>| async move { Json(state.vmc_out.report()) })
                .post(add_vmc_out),
        )
        .route("/api/vmc-out/{id}", delete(remove_vmc_out))
        .with_state(state)
}

/// `POST /api/vmc-out`: starts sending a performer to a VMC receiver; answers `{"id": …}`.
async fn add_vmc_out(
    State(state): State<AppState>,
    Json(config): Json<crate::vmc_out::VmcOutConfig>,
) -> Response {
    match state.vmc_out.add(config).await {
        Ok(id) => (StatusCode::CREATED, Json(serde_json::json!({ "id": id }))).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, format!("{e:#}\n")).into_response(),
    }
}

/// `DELETE /api/vmc-out/{id}`: stops sending to that target.
async fn remove_vmc_out(State(state): State<AppState>, Path(id): Path<u64>) -> Response {
    if state.vmc_out.remove(id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (StatusCode::NOT_FOUND, format!("no VMC target {id}\n")).into_response()
    }
}

fn web_asset(path: &str) -> Response {
    let Some((_, bytes)) = assets::WEB_ASSETS.iter().find(|(p, _)| *p == path) else {
        return (StatusCode::NOT_FOUND, "no such page").into_response();
    };
    let content_type = match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        Some("css") => "text/css",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    };
    ([(header::CONTENT_TYPE, content_type)], *bytes).into_response()
}

async fn api_status(State(state): State<AppState>) -> Json<StatusReport> {
    Json(state.status.report(&state.engine, now_us()))
}

async fn avatar(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some(name) = file.strip_suffix(".vrm") else {
        return (StatusCode::NOT_FOUND, "avatars are named {performer}.vrm").into_response();
    };
    let bytes = state
        .avatars
        .per_performer
        .get(name)
        .unwrap_or(&state.avatars.default)
        .clone();
    (
        [
            (header::CONTENT_TYPE, "model/gltf-binary"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        bytes,
    )
        .into_response()
}

/// The named performer, or the first one when no name is given.
fn performer_named(bus: &PoseBus, name: Option<&str>) -> Result<PerformerId, (StatusCode, String)> {
    let found = match name {
        Some(name) => bus.id_of(name),
        None => bus.performers().first().map(|p| p.id),
    };
    found.ok_or_else(|| {
        (
            StatusCode::NOT_FOUND,
            format!("no performer named {:?}\n", name.unwrap_or("")),
        )
    })
}

async fn webrtc_offer(
    State(state): State<AppState>,
    Path(performer): Path<String>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    offer: String,
) -> Response {
    let id = match performer_named(state.engine.bus(), Some(&performer)) {
        Ok(id) => id,
        Err(refusal) => return refusal.into_response(),
    };
    match state.webrtc.answer(id, offer, remote).await {
        Ok(answer) => (
            StatusCode::CREATED,
            [(header::CONTENT_TYPE, "application/sdp")],
            answer,
        )
            .into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, format!("{e:#}\n")).into_response(),
    }
}

async fn update_filters(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    Json(patch): Json<serde_json::Value>,
) -> Response {
    let updated = state.engine.filters().update(&kind, &patch);
    match updated {
        Ok(settings) => Json(settings).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, format!("{e:#}\n")).into_response(),
    }
}

async fn calibration(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    match performer_named(state.engine.bus(), Some(&name)) {
        Ok(id) => match state.engine.performer(id) {
            Some(performer) => Json(performer.calibration()).into_response(),
            None => (StatusCode::NOT_FOUND, "performer removed\n").into_response(),
        },
        Err(refusal) => refusal.into_response(),
    }
}

/// `GET /api/performers/{name}/expression-map`: every VRM preset's rule (ARKit channel →
/// weight).
async fn expression_map(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    match performer_named(state.engine.bus(), Some(&name)) {
        Ok(id) => match state.engine.performer(id) {
            Some(performer) => Json(performer.expression_map().rules().clone()).into_response(),
            None => (StatusCode::NOT_FOUND, "performer removed\n").into_response(),
        },
        Err(refusal) => refusal.into_response(),
    }
}

/// `PUT /api/performers/{name}/expression-map`: replaces the rules of the presets named (the
/// others go back to the defaults); an empty rule turns a preset off. Kept across restarts.
async fn set_expression_map(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Json(overrides): Json<crate::expression_maps::ExpressionOverrides>,
) -> Response {
    let performer = match performer_named(state.engine.bus(), Some(&name)) {
        Ok(id) => match state.engine.performer(id) {
            Some(performer) => performer,
            None => return (StatusCode::NOT_FOUND, "performer removed\n").into_response(),
        },
        Err(refusal) => return refusal.into_response(),
    };
    match kagura_calibration::ExpressionMap::with_overrides(&overrides) {
        Ok(map) => {
            if let Err(e) = state.expression_maps.save(&performer.name, &overrides) {
                return (StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}\n")).into_response();
            }
            performer.set_expression_map(map.clone());
            Json(map.rules().clone()).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    }
}

/// `POST /api/performers/{name}/expressions`: fires an expression over the performer's tracking
/// (a chat bot's reaction, a stream deck button): `{"expression": "happy", "weight": 1,
/// "fade_in_ms": 150, "hold_ms": 1000, "fade_out_ms": 300}` (all but `expression` optional, as
/// here). Any VRM preset or ARKit name.
#[derive(Deserialize)]
struct TriggerRequest {
    expression: kagura_protocol::Expression,
    weight: Option<f32>,
    fade_in_ms: Option<u32>,
    hold_ms: Option<u32>,
    fade_out_ms: Option<u32>,
}

/// Longest fade or hold a trigger takes, milliseconds.
const MAX_TRIGGER_MS: u32 = 60_000;

async fn trigger_expression(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Json(request): Json<TriggerRequest>,
) -> Response {
    let performer = match performer_named(state.engine.bus(), Some(&name)) {
        Ok(id) => match state.engine.performer(id) {
            Some(performer) => performer,
            None => return (StatusCode::NOT_FOUND, "performer removed\n").into_response(),
        },
        Err(refusal) => return refusal.into_response(),
    };
    let weight = request.weight.unwrap_or(1.0);
    let times = [
        request.fade_in_ms.unwrap_or(150),
        request.hold_ms.unwrap_or(1000),
        request.fade_out_ms.unwrap_or(300),
    ];
    if !(0.0..=1.0).contains(&weight) || times.iter().any(|t| *t > MAX_TRIGGER_MS) {
        return (
            StatusCode::BAD_REQUEST,
            format!("weight must be 0–1 and each time 0–{MAX_TRIGGER_MS} ms\n"),
        )
            .into_response();
    }
    let [fade_in, hold, fade_out] = times.map(|ms| u64::from(ms) * 1000);
    let trigger = kagura_engine::triggers::ExpressionTrigger {
        expression: request.expression,
        weight,
        fade_in_us: fade_in,
        hold_us: hold,
        fade_out_us: fade_out,
    };
    state
        .engine
        .trigger_expression(&performer, trigger, crate::clock::now_us());
    state.events.emit(crate::events::ServerEvent::TriggerFired {
        performer: performer.name.clone(),
        trigger,
    });
    (StatusCode::ACCEPTED, Json(trigger)).into_response()
}

/// `GET /metrics`: Prometheus text (`crate::metrics`).
async fn metrics(State(state): State<AppState>) -> Response {
    let report = state.status.report(&state.engine, crate::clock::now_us());
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        crate::metrics::encode(&report, &state.input_latency),
    )
        .into_response()
}

/// `GET /api/events`: the server's events as a WebSocket of JSON objects (`crate::events`).
async fn events(State(state): State<AppState>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |socket| async move {
        tokio::select! {
            () = state.events.serve(socket) => {}
            () = state.shutdown.wait() => {}
        }
    })
}

/// `PUT /api/sources/{index}/sensors`: `{"sensor": "AA:BB:CC:DD:EE:FF/0", "bone": "leftUpperLeg"}`
/// (`"bone": null` unassigns) straps a source's sensor to a bone; kept across restarts.
#[derive(Deserialize)]
struct SensorAssignment {
    sensor: String,
    bone: Option<kagura_protocol::HumanoidBone>,
}

async fn assign_sensor(
    State(state): State<AppState>,
    Path(index): Path<usize>,
    Json(request): Json<SensorAssignment>,
) -> Response {
    let Some(source) = state.status.source(index) else {
        return (StatusCode::NOT_FOUND, format!("no source {index}\n")).into_response();
    };
    let assigned = lock(&source).assign_sensor(&request.sensor, request.bone);
    if let Err(e) = assigned {
        return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response();
    }
    match state
        .sensor_assignments
        .save(&source, &request.sensor, request.bone)
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("assigned, but not kept: {e:#}\n"),
        )
            .into_response(),
    }
}

/// A calibration kind as the API names it (`t_pose`, `yaw`, …).
fn calibration_kind_name(kind: &kagura_calibration::CalibrationKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v["kind"].as_str().map(str::to_string))
        .unwrap_or_default()
}

/// `POST /api/performers/{name}/calibrate`.
#[derive(Deserialize)]
struct CalibrateRequest {
    #[serde(flatten)]
    kind: kagura_calibration::CalibrationKind,
    /// Seconds to get into pose (default 3 for captures).
    countdown_s: Option<f32>,
    /// Seconds to hold it (default 1).
    duration_s: Option<f32>,
}

async fn calibrate(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Json(request): Json<CalibrateRequest>,
) -> Response {
    let id = match performer_named(state.engine.bus(), Some(&name)) {
        Ok(id) => id,
        Err(refusal) => return refusal.into_response(),
    };
    let seconds = |value: Option<f32>, default: f32| {
        let s = value.unwrap_or(default);
        (s.is_finite() && (0.0..=MAX_SECONDS).contains(&s))
            .then(|| std::time::Duration::from_secs_f32(s))
    };
    let (Some(countdown), Some(duration)) = (
        seconds(request.countdown_s, 3.0),
        seconds(request.duration_s, 1.0),
    ) else {
        return (
            StatusCode::BAD_REQUEST,
            format!("countdown_s and duration_s must be 0–{MAX_SECONDS} s\n"),
        )
            .into_response();
    };
    let Some(performer) = state.engine.performer(id) else {
        return (StatusCode::NOT_FOUND, "performer removed\n").into_response();
    };
    use crate::events::ServerEvent;
    let (name, kind) = (performer.name.clone(), calibration_kind_name(&request.kind));
    state.events.emit(ServerEvent::CalibrationStarted {
        performer: name.clone(),
        kind: kind.clone(),
    });
    let result = state
        .calibrations
        .run(&state.engine, performer, request.kind, countdown, duration)
        .await;
    state.events.emit(ServerEvent::CalibrationFinished {
        performer: name,
        kind,
        ok: result.is_ok(),
    });
    match result {
        Ok(calibration) => Json(calibration).into_response(),
        Err(e) => (StatusCode::CONFLICT, format!("{e:#}\n")).into_response(),
    }
}

#[derive(Deserialize)]
struct WebSocketQuery {
    performer: Option<String>,
}

async fn websocket(
    State(state): State<AppState>,
    Query(query): Query<WebSocketQuery>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let id = match performer_named(state.engine.bus(), query.performer.as_deref()) {
        Ok(id) => id,
        Err(refusal) => return refusal.into_response(),
    };
    upgrade.on_upgrade(move |socket| async move {
        let serving =
            crate::websocket::serve(socket, id, remote, state.engine.bus().clone(), state.status);
        tokio::select! {
            () = serving => {}
            () = state.shutdown.wait() => {}
        }
    })
}
