//! `GET /metrics` in Prometheus text while a VMC sender drives a performer and a QUIC subscriber
//! watches: frames in per source stream, frames out per performer, subscribers per transport,
//! and the per-input latency histogram all count what happened.

use kagura_protocol::control::Subscription;
use kagura_tests::*;

/// The value of the first sample named `name` whose labels contain every `(key, value)`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_frames_in_and_out_subscribers_and_input_latency() {
    let server = start_server(test_config("metrics")).await.unwrap();
    let sender = VmcTestSender::new(LOCALHOST, server.vmc_addrs[0])
        .await
        .unwrap();
    let mut subscriber = subscribe(&server, Subscription::All).await.unwrap();
    warm_up(&sender, &mut subscriber).await.unwrap();
    let seen = send_until_seen(&sender, &mut subscriber, 5).await.unwrap();

    let (code, text) = http_get(server.http_addr, "/metrics").await.unwrap();
    assert_eq!(code, 200);
    assert!(
        text.trim_end().ends_with("# EOF"),
        "OpenMetrics text:\n{text}"
    );
    let frames_in = sample(
        &text,
        "kagura_source_frames_total",
        &[("kind", "vmc"), ("performer", "main")],
    );
    assert!(frames_in.is_some_and(|n| n >= 2.0), "{text}");
    let frames_out = sample(
        &text,
        "kagura_performer_frames_total",
        &[("performer", "main")],
    )
    .unwrap();
    assert!(
        frames_out >= f64::from(seen.seq) + 1.0,
        "{frames_out} published, seq {}",
        seen.seq
    );
    assert_eq!(
        sample(&text, "kagura_subscribers", &[("transport", "quic")]),
        Some(1.0)
    );
    let inputs = sample(
        &text,
        "kagura_source_input_seconds_count",
        &[("kind", "vmc")],
    )
    .unwrap();
    assert!(
        inputs >= 2.0 * 6.0,
        "a VMC frame is six datagrams, each timed: {inputs}"
    );
    let fast = sample(
        &text,
        "kagura_source_input_seconds_bucket",
        &[("kind", "vmc"), ("le", "+Inf")],
    );
    assert_eq!(fast, Some(inputs));
    assert_eq!(
        sample(&text, "kagura_source_errors_total", &[("kind", "vmc")]),
        Some(0.0)
    );
}
