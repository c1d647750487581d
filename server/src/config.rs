//! Configuration: built-in defaults, overridden by a TOML file, overridden by command-line flags.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::{Context, bail};
use serde::Deserialize;

/// The whole server configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address every listener binds to.
    pub bind: IpAddr,
    /// UDP port of the QUIC endpoint (pose subscribers).
    pub quic_port: u16,
    /// TCP port of the HTTP API and pages.
    pub http_port: u16,
    /// Where state lives (the QUIC certificate). `None`: the platform's data directory.
    pub data_dir: Option<PathBuf>,
    /// VMC receivers, one per UDP port.
    pub vmc: Vec<VmcSourceConfig>,
    /// Run the built-in demo performer under this name.
    pub demo_performer: Option<String>,
    /// The avatar (.vrm) for performers without their own; default: the bundled mannequin.
    pub avatar: Option<PathBuf>,
    /// Avatars by performer name.
    pub avatars: std::collections::BTreeMap<String, PathBuf>,
    /// Pose filtering (One Euro), on by default with a preset per kind of source.
    pub filters: FiltersConfig,
}

/// `[filters]`: `enabled = false` turns filtering off everywhere (like `--no-filter`);
/// `[filters.vmc]` and `[filters.demo]` override that kind's preset, naming only what changes,
/// e.g. `head = { min_cutoff_hz = 0.8 }` or `predict_us = 8000`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FiltersConfig {
    pub enabled: bool,
    pub vmc: Option<toml::Table>,
    pub demo: Option<toml::Table>,
}

impl Default for FiltersConfig {
    fn default() -> Self {
        FiltersConfig {
            enabled: true,
            vmc: None,
            demo: None,
        }
    }
}

/// One VMC listening port and who performs on it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmcSourceConfig {
    pub port: u16,
    /// The performer every sender on this port drives, when `senders` is empty.
    #[serde(default)]
    pub performer: Option<String>,
    /// Known senders and their performers. When non-empty, datagrams from other addresses are
    /// ignored and counted.
    #[serde(default)]
    pub senders: Vec<VmcSenderConfig>,
    /// Filter this source's frames (default true; `[filters]` decides how).
    #[serde(default = "yes")]
    pub filter: bool,
}

fn yes() -> bool {
    true
}

/// A sender, matched by IP address (any port) or by `IP:port`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmcSenderConfig {
    pub address: String,
    pub performer: String,
}

/// VMC's standard Performer → Marionette port.
pub const DEFAULT_VMC_PORT: u16 = 39539;
pub const DEFAULT_QUIC_PORT: u16 = 4433;
pub const DEFAULT_HTTP_PORT: u16 = 8080;
/// The performer that the default VMC port drives.
pub const DEFAULT_PERFORMER: &str = "main";

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            quic_port: DEFAULT_QUIC_PORT,
            http_port: DEFAULT_HTTP_PORT,
            data_dir: None,
            vmc: vec![VmcSourceConfig {
                port: DEFAULT_VMC_PORT,
                performer: Some(DEFAULT_PERFORMER.into()),
                senders: Vec::new(),
                filter: true,
            }],
            demo_performer: None,
            avatar: None,
            avatars: Default::default(),
            filters: FiltersConfig::default(),
        }
    }
}

/// How a VMC source matches a sender address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SenderMatch {
    Ip(IpAddr),
    Exact(SocketAddr),
}

impl SenderMatch {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        if let Ok(addr) = text.parse::<SocketAddr>() {
            Ok(SenderMatch::Exact(addr))
        } else {
            let ip = text
                .parse::<IpAddr>()
                .with_context(|| format!("sender address {text:?} is neither IP nor IP:port"))?;
            Ok(SenderMatch::Ip(ip))
        }
    }

    pub fn matches(&self, addr: SocketAddr) -> bool {
        match self {
            SenderMatch::Ip(ip) => addr.ip() == *ip,
            SenderMatch::Exact(exact) => addr == *exact,
        }
    }
}

impl Config {
    /// Reads a TOML file; keys it omits keep their defaults.
    pub fn from_file(path: &std::path::Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        let config: Config = toml::from_str(&text)
            .with_context(|| format!("parsing config file {}", path.display()))?;
        Ok(config)
    }

    /// The filter settings in force at start: presets, then the config's overrides.
    pub fn filter_control(&self) -> anyhow::Result<crate::filters::FilterControl> {
        use kagura_calibration::filter::SourceKind;
        let control = crate::filters::FilterControl::new(!self.filters.enabled);
        for (kind, table) in [
            (SourceKind::Vmc, &self.filters.vmc),
            (SourceKind::Demo, &self.filters.demo),
        ] {
            if let Some(table) = table {
                let patch = serde_json::to_value(table)?;
                control
                    .update(kind, &patch)
                    .with_context(|| format!("config [filters.{kind:?}]"))?;
            }
        }
        Ok(control)
    }

    /// Reads the configured avatar files; the bundled mannequin stands in where none is given.
    pub fn load_avatars(&self) -> anyhow::Result<crate::http::Avatars> {
        let read = |path: &PathBuf| -> anyhow::Result<bytes::Bytes> {
            let bytes = std::fs::read(path)
                .with_context(|| format!("reading avatar {}", path.display()))?;
            if !bytes.starts_with(b"glTF") {
                bail!(
                    "avatar {} is not a VRM/GLB file (no glTF header)",
                    path.display()
                );
            }
            Ok(bytes.into())
        };
        let default = match &self.avatar {
            Some(path) => read(path)?,
            None => kagura_avatar::mannequin_vrm().into(),
        };
        let mut per_performer = std::collections::HashMap::new();
        for (performer, path) in &self.avatars {
            per_performer.insert(performer.clone(), read(path)?);
        }
        Ok(crate::http::Avatars {
            default,
            per_performer,
        })
    }

    /// Every performer, in the order their ids are assigned: VMC sources in order, then the demo.
    pub fn performer_names(&self) -> anyhow::Result<Vec<String>> {
        let mut names: Vec<String> = Vec::new();
        let mut add = |name: &str, owner: String| -> anyhow::Result<()> {
            if names.iter().any(|n| n == name) {
                bail!(
                    "performer {name:?} is fed by more than one source ({owner}); \
                     merging several sources into one performer is not supported yet"
                );
            }
            names.push(name.to_string());
            Ok(())
        };
        for source in &self.vmc {
            if source.senders.is_empty() {
                let Some(name) = &source.performer else {
                    bail!(
                        "VMC port {} names neither a performer nor senders",
                        source.port
                    );
                };
                add(name, format!("VMC port {}", source.port))?;
            } else {
                let mut seen: Vec<&str> = Vec::new();
                for sender in &source.senders {
                    SenderMatch::parse(&sender.address)?;
                    if !seen.contains(&sender.performer.as_str()) {
                        seen.push(&sender.performer);
                        add(&sender.performer, format!("VMC port {}", source.port))?;
                    }
                }
            }
        }
        if let Some(demo) = &self.demo_performer {
            add(demo, "the demo".into())?;
        }
        if names.len() > u16::MAX as usize {
            bail!("too many performers");
        }
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_file_overrides() {
        let c = Config::default();
        assert_eq!(
            (c.quic_port, c.http_port, c.vmc[0].port),
            (4433, 8080, 39539)
        );
        assert_eq!(c.performer_names().unwrap(), vec!["main"]);
        let c: Config = toml::from_str(
            r#"
            http_port = 9000
            [[vmc]]
            port = 39540
            senders = [{ address = "192.168.1.20", performer = "alice" },
                       { address = "192.168.1.21:5000", performer = "bob" }]
            "#,
        )
        .unwrap();
        assert_eq!(c.http_port, 9000);
        assert_eq!(c.quic_port, 4433);
        assert_eq!(c.performer_names().unwrap(), vec!["alice", "bob"]);
    }

    #[test]
    fn the_readme_example_parses() {
        let readme = include_str!("../../README.md");
        let example = readme
            .split("```toml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("README has a TOML example");
        let config: Config = toml::from_str(example).expect("README TOML example parses");
        assert_eq!(
            config.performer_names().unwrap(),
            vec!["main", "alice", "bob"]
        );
    }

    #[test]
    fn a_performer_fed_twice_is_refused() {
        let c = Config {
            demo_performer: Some(DEFAULT_PERFORMER.into()),
            ..Config::default()
        };
        assert!(c.performer_names().is_err());
        assert!(toml::from_str::<Config>("unknown_key = 1").is_err());
    }

    #[test]
    fn sender_matching() {
        let ip = SenderMatch::parse("10.0.0.1").unwrap();
        assert!(ip.matches("10.0.0.1:1234".parse().unwrap()));
        let exact = SenderMatch::parse("10.0.0.1:5").unwrap();
        assert!(!exact.matches("10.0.0.1:6".parse().unwrap()));
        assert!(SenderMatch::parse("nonsense").is_err());
    }
}
