//! `kagura serve` and `kagura demo`.

use std::net::IpAddr;
use std::path::PathBuf;

use kagura_capture::SourceConfig;
use kagura_capture::demo::{DEMO_RATE_HZ, DemoConfig};
use kagura_server::Server;
use kagura_server::config::Config;

/// Where the configuration comes from; flags override the file, which overrides the defaults.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to bind every listener to.
    #[arg(long)]
    bind: Option<IpAddr>,
    /// UDP port for VMC input (replaces the first VMC source's port).
    #[arg(long)]
    vmc_port: Option<u16>,
    /// UDP port for QUIC subscribers.
    #[arg(long)]
    quic_port: Option<u16>,
    /// TCP port for the HTTP API.
    #[arg(long)]
    http_port: Option<u16>,
    /// Directory for state (the QUIC certificate). Default: the platform's data directory.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Avatar (.vrm, VRM 0.x or 1.0) served to the browser page instead of the bundled one.
    #[arg(long)]
    avatar: Option<PathBuf>,
    /// Turn pose filtering off for every source (frames pass through as received).
    #[arg(long)]
    no_filter: bool,
}

#[derive(clap::Args)]
pub struct DemoArgs {
    #[command(flatten)]
    serve: ServeArgs,
    /// Name of the demo performer.
    #[arg(long, default_value = "demo")]
    performer: String,
}

impl ServeArgs {
    pub fn into_config(self) -> anyhow::Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        if let Some(bind) = self.bind {
            config.bind = bind;
        }
        if let Some(port) = self.vmc_port {
            config.set_vmc_port(port);
        }
        if let Some(port) = self.quic_port {
            config.quic_port = port;
        }
        if let Some(port) = self.http_port {
            config.http_port = port;
        }
        if let Some(dir) = self.data_dir {
            config.data_dir = Some(dir);
        }
        if let Some(avatar) = self.avatar {
            config.avatar = Some(avatar);
        }
        if self.no_filter {
            config.filters.enabled = false;
        }
        Ok(config)
    }
}

impl DemoArgs {
    pub fn into_config(self) -> anyhow::Result<Config> {
        let mut config = self.serve.into_config()?;
        // First, so that a page opened without `performer` shows the demo.
        config.source.insert(
            0,
            SourceConfig::Demo(DemoConfig {
                performer: self.performer,
                rate_hz: DEMO_RATE_HZ,
            }),
        );
        Ok(config)
    }
}

pub async fn serve(config: Config) -> anyhow::Result<()> {
    let server = Server::start(config).await?;
    for addr in &server.vmc_addrs {
        println!("VMC input       udp://{addr}");
    }
    println!("QUIC pose feed  {}  (ALPN kagura/1)", server.quic_addr);
    println!("HTTP            http://{}/  (status)", server.http_addr);
    println!(
        "OBS page        http://{}/obs?performer={}",
        server.http_addr,
        server
            .bus
            .performers()
            .first()
            .map_or(String::new(), |p| p.name.clone())
    );
    println!("Certificate     SHA-256 {}", server.fingerprint);
    println!("Data directory  {}", server.data_dir.display());
    let performers: Vec<String> = server
        .bus
        .performers()
        .iter()
        .map(|p| p.name.clone())
        .collect();
    println!("Performers      {}", performers.join(", "));
    println!(
        "Watch with      kagura watch --server 127.0.0.1:{} --fingerprint {}",
        server.quic_addr.port(),
        server.fingerprint
    );
    tokio::select! {
        _ = server.run_until_stopped() => anyhow::bail!("a server task stopped unexpectedly"),
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}
