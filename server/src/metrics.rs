//! `GET /metrics`: Prometheus text (OpenMetrics) through `prometheus-client`, the Prometheus
//! project's own Rust client.
//!
//! Counts are read from what `/api/status` reports at scrape time (frames in per source stream,
//! frames published per performer, errors and unknown senders per source, subscribers, frames
//! sent and send errors per transport); the time each shell spends on one input — decoding and
//! the per-frame path through the engine, or tracking a video frame — is a histogram the shells
//! feed as they go ([`InputLatency`], in its own module so the shells need nothing else of
//! this one).

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::input_latency::InputLatency;
use crate::status::StatusReport;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    kind: String,
    source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StreamLabels {
    kind: String,
    stream: String,
    performer: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PerformerLabels {
    performer: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransportLabels {
    transport: String,
}

/// The metrics as Prometheus text, from a status report and the shells' latencies.
pub fn encode(report: &StatusReport, latency: &InputLatency) -> String {
    let mut registry = Registry::with_prefix("kagura");
    let frames_in = Family::<StreamLabels, Counter>::default();
    let source_errors = Family::<SourceLabels, Counter>::default();
    let unknown = Family::<SourceLabels, Counter>::default();
    for (index, source) in report.sources.iter().enumerate() {
        let labels = SourceLabels {
            kind: source.kind.into(),
            source: index.to_string(),
        };
        source_errors.get_or_create(&labels).inc_by(source.errors);
        unknown
            .get_or_create(&labels)
            .inc_by(source.unknown_senders);
        for stream in &source.streams {
            frames_in
                .get_or_create(&StreamLabels {
                    kind: source.kind.into(),
                    stream: stream.report.key.clone(),
                    performer: stream.report.performer.clone(),
                })
                .inc_by(stream.frames_in);
        }
    }
    let frames_out = Family::<PerformerLabels, Counter>::default();
    let rate = Family::<PerformerLabels, Gauge<f64, AtomicU64>>::default();
    for performer in &report.performers {
        let labels = PerformerLabels {
            performer: performer.name.clone(),
        };
        // Sequence numbers count from 0 per performer: published = last + 1.
        let published = performer.last_seq.map_or(0, |s| u64::from(s) + 1);
        frames_out.get_or_create(&labels).inc_by(published);
        rate.get_or_create(&labels).set(performer.frame_rate_hz);
    }
    let subscribers = Family::<TransportLabels, Gauge>::default();
    let sent = Family::<TransportLabels, Counter>::default();
    let dropped = Family::<TransportLabels, Counter>::default();
    for subscriber in &report.subscribers {
        let labels = TransportLabels {
            transport: subscriber.transport.into(),
        };
        subscribers.get_or_create(&labels).inc();
        sent.get_or_create(&labels).inc_by(subscriber.frames_sent);
        dropped
            .get_or_create(&labels)
            .inc_by(subscriber.send_errors);
    }
    registry.register(
        "source_frames",
        "Whole frames from each source stream",
        frames_in,
    );
    registry.register(
        "source_errors",
        "Bad input counted per source (decode errors)",
        source_errors,
    );
    registry.register(
        "source_unknown_senders",
        "Input from senders no stream takes",
        unknown,
    );
    registry.register(
        "performer_frames",
        "Frames published per performer",
        frames_out,
    );
    registry.register(
        "performer_frame_rate_hz",
        "Frames per second per performer",
        rate,
    );
    registry.register(
        "subscribers",
        "Subscribers connected per transport",
        subscribers,
    );
    registry.register("subscriber_frames", "Frames sent per transport", sent);
    registry.register(
        "subscriber_send_errors",
        "Frames a transport could not send (drops)",
        dropped,
    );
    registry.register(
        "source_input_seconds",
        "Time one input takes through its source and the engine",
        latency.family(),
    );
    let mut text = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &registry) {
        tracing::warn!("encoding /metrics: {e}");
    }
    text
}
