//! `kagura`: serve, demo, watch, calibrate, face.

mod cli;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "kagura",
    version,
    about = "Real-time motion-capture server for VTubers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Receive tracking (VMC) and serve poses to subscribers (QUIC) and the HTTP API.
    Serve(cli::serve::ServeArgs),
    /// `serve` plus a built-in procedural performer: poses flow with no hardware.
    Demo(cli::serve::DemoArgs),
    /// Subscribe to a server over QUIC and print frame rates and latency, or frames as JSON.
    Watch(cli::watch::WatchArgs),
    /// Calibrate a performer on a running server (T-pose, yaw reset, face, height, reset).
    Calibrate(cli::calibrate::CalibrateArgs),
    /// Track the face in image files or a raw video and print each frame (`--json`: landmarks,
    /// head pose and channels as JSON lines).
    Face(cli::face::FaceArgs),
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,quinn=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => cli::serve::serve(args.into_config()?).await,
            Command::Demo(args) => cli::serve::serve(args.into_config()?).await,
            Command::Watch(args) => cli::watch::watch(args).await,
            Command::Calibrate(args) => cli::calibrate::calibrate(args).await,
            // Tracking runs on this thread; nothing else runs on the runtime meanwhile.
            Command::Face(args) => cli::face::face(args),
        }
    })
}
