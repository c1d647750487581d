//! The HTTP API and pages: `/` (a live status page), `/healthz`, `/api/status`.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use axum::{Json, Router};

use crate::bus::PoseBus;
use crate::clock::now_us;
use crate::status::{ServerStatus, StatusReport};

#[derive(Clone)]
struct AppState {
    bus: Arc<PoseBus>,
    status: Arc<ServerStatus>,
}

pub fn router(bus: Arc<PoseBus>, status: Arc<ServerStatus>) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { Html(include_str!("../assets/index.html")) }),
        )
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/api/status", get(api_status))
        .with_state(AppState { bus, status })
}

async fn api_status(State(state): State<AppState>) -> Json<StatusReport> {
    Json(state.status.report(&state.bus, now_us()))
}
