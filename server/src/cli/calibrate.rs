//! `kagura calibrate`: runs a calibration on a running server through its HTTP API.

use std::net::SocketAddr;

use anyhow::{Context, bail};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(clap::Args)]
pub struct CalibrateArgs {
    /// The server's HTTP address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    http: SocketAddr,
    /// Whose calibration.
    #[arg(long)]
    performer: String,
    /// t_pose, a_pose, yaw, reset, face_neutral, face_range, height (with --height) or
    /// leg_length (with --leg-length).
    #[arg(long)]
    kind: String,
    /// Seconds to get into pose before the capture.
    #[arg(long, default_value_t = 3.0)]
    countdown: f32,
    /// Seconds to hold the pose.
    #[arg(long, default_value_t = 1.0)]
    duration: f32,
    /// Standing height in metres, for --kind height.
    #[arg(long)]
    height: Option<f32>,
    /// Measured hip-to-ankle length in metres, for --kind leg_length.
    #[arg(long)]
    leg_length: Option<f32>,
}

pub async fn calibrate(args: CalibrateArgs) -> anyhow::Result<()> {
    let mut body =
        json!({ "kind": args.kind, "countdown_s": args.countdown, "duration_s": args.duration });
    if let Some(height) = args.height {
        body["height_m"] = json!(height);
    }
    if let Some(leg) = args.leg_length {
        body["leg_length_m"] = json!(leg);
    }
    if args.countdown > 0.0 {
        println!(
            "Get into pose: capturing in {} s, for {} s…",
            args.countdown, args.duration
        );
    }
    let path = format!("/api/performers/{}/calibrate", args.performer);
    let (code, response) = post_json(args.http, &path, &body.to_string()).await?;
    if code != 200 {
        bail!("calibration failed ({code}): {}", response.trim());
    }
    println!("{response}");
    Ok(())
}

/// A minimal HTTP/1.1 POST; returns the status code and the body.
async fn post_json(addr: SocketAddr, path: &str, body: &str) -> anyhow::Result<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .context("malformed HTTP response")?;
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .context("no HTTP status")?;
    Ok((code, body.to_string()))
}
