//! `kagura watch`: a QUIC subscriber that prints what it receives.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use kagura_client::SubscriberEvent;
use kagura_client::{Fingerprint, Subscriber};
use kagura_protocol::control::Subscription;
use kagura_protocol::{PerformerId, PoseFrame};
use kagura_server::clock::now_us;
use serde_json::{Map, Value, json};

#[derive(clap::Args)]
pub struct WatchArgs {
    /// The server's QUIC address.
    #[arg(long, default_value = "127.0.0.1:4433")]
    server: SocketAddr,
    /// The server certificate's SHA-256 fingerprint (printed by `kagura serve`).
    #[arg(long)]
    fingerprint: Option<String>,
    /// Read the server's certificate from its data directory instead (same machine).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Only this performer (repeatable); default: all.
    #[arg(long = "performer")]
    performers: Vec<String>,
    /// Print one JSON object per frame instead of rates.
    #[arg(long)]
    json: bool,
    /// Exit after this many frames.
    #[arg(long)]
    frames: Option<u64>,
}

pub async fn watch(args: WatchArgs) -> anyhow::Result<()> {
    let fingerprint = match (&args.fingerprint, &args.data_dir) {
        (Some(hex), _) => Fingerprint::parse(hex)?,
        (None, Some(dir)) => Fingerprint::from_data_dir(dir)?,
        (None, None) => Fingerprint::from_data_dir(&kagura_server::identity::default_data_dir()?)
            .context("no --fingerprint given and no local server certificate found")?,
    };
    let subscription = if args.performers.is_empty() {
        Subscription::All
    } else {
        Subscription::Named(args.performers.clone())
    };
    let mut subscriber =
        Subscriber::connect(args.server, fingerprint, subscription, "kagura watch").await?;
    let names_of = |info: &kagura_protocol::control::ServerInfo| -> BTreeMap<PerformerId, String> {
        info.performers
            .iter()
            .map(|p| (p.id, p.name.clone()))
            .collect()
    };
    let mut names = names_of(&subscriber.info());
    let mut stats: BTreeMap<PerformerId, PerformerStats> = BTreeMap::new();
    let mut last_report = Instant::now();
    let mut received = 0u64;
    let mut stdout = std::io::stdout().lock();
    while args.frames.is_none_or(|n| received < n) {
        let frame = match subscriber.next_event().await? {
            SubscriberEvent::Frame(frame) => frame,
            SubscriberEvent::Info(info) => {
                // Performers came or went: names by id change with them.
                names = names_of(&info);
                if !args.json {
                    let list: Vec<&str> = names.values().map(String::as_str).collect();
                    writeln!(stdout, "performers now: {}", list.join(", "))?;
                }
                continue;
            }
        };
        let now = now_us();
        received += 1;
        let name = names
            .get(&frame.performer)
            .map(String::as_str)
            .unwrap_or("?");
        if args.json {
            writeln!(stdout, "{}", frame_json(name, &frame))?;
            continue;
        }
        stats
            .entry(frame.performer)
            .or_default()
            .record(&frame, now);
        if last_report.elapsed() >= Duration::from_secs(1) {
            let seconds = last_report.elapsed().as_secs_f64();
            for (id, s) in &mut stats {
                writeln!(
                    stdout,
                    "{}",
                    s.report(names.get(id).map(String::as_str).unwrap_or("?"), seconds)
                )?;
            }
            last_report = Instant::now();
        }
    }
    Ok(())
}

/// Per-performer counters over one reporting interval.
#[derive(Default)]
struct PerformerStats {
    frames: u64,
    skipped: u64,
    last_seq: Option<u32>,
    latencies_us: Vec<u64>,
}

impl PerformerStats {
    fn record(&mut self, frame: &PoseFrame, now_us: u64) {
        if let Some(last) = self.last_seq {
            self.skipped += frame.seq.wrapping_sub(last).saturating_sub(1) as u64;
        }
        self.last_seq = Some(frame.seq);
        self.frames += 1;
        self.latencies_us
            .push(now_us.saturating_sub(frame.capture_us));
    }

    fn report(&mut self, name: &str, seconds: f64) -> String {
        self.latencies_us.sort_unstable();
        let pick = |q: f64| {
            self.latencies_us
                .get(((self.latencies_us.len() as f64 - 1.0) * q).round() as usize)
                .map_or(f64::NAN, |&us| us as f64 / 1000.0)
        };
        let line = format!(
            "{name:<12} {:6.1} fps  latency p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms  skipped {}",
            self.frames as f64 / seconds,
            pick(0.5),
            pick(0.99),
            pick(1.0),
            self.skipped
        );
        *self = PerformerStats {
            last_seq: self.last_seq,
            ..Default::default()
        };
        line
    }
}

/// A frame as JSON, in the internal convention, bones by VRM 1.0 name, expressions by VRM 1.0
/// preset or ARKit name.
pub fn frame_json(performer: &str, frame: &PoseFrame) -> Value {
    let bones: Map<String, Value> = frame
        .bones()
        .map(|(bone, q)| (bone.vrm1_name().to_string(), json!([q.x, q.y, q.z, q.w])))
        .collect();
    let expressions: Map<String, Value> = frame
        .expressions()
        .map(|(e, w)| (e.name().to_string(), json!(w)))
        .collect();
    json!({
        "performer": performer,
        "seq": frame.seq,
        "capture_us": frame.capture_us,
        "bones": bones,
        "hips_position": frame.hips_position.map(|p| [p.x, p.y, p.z]),
        "expressions": expressions,
    })
}
