//! Configuration: built-in defaults, overridden by a TOML file, overridden by command-line flags.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::{Context, bail};
use kagura_calibration::filter::SourceKind;
use kagura_calibration::merge::{BodyPart, SourceRole};
use kagura_protocol::PerformerId;
use serde::Deserialize;

use crate::pipeline::Route;

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
    /// BVH files played as performers (recorded motion capture, retargeted to the humanoid).
    pub bvh: Vec<BvhSourceConfig>,
    /// Run the built-in demo performer under this name.
    pub demo_performer: Option<String>,
    /// The avatar (.vrm) for performers without their own; default: the bundled mannequin.
    pub avatar: Option<PathBuf>,
    /// Avatars by performer name.
    pub avatars: std::collections::BTreeMap<String, PathBuf>,
    /// Pose filtering (One Euro), on by default with a preset per kind of source.
    pub filters: FiltersConfig,
    /// How a performer fed by several sources moves between them.
    pub merging: MergingConfig,
}

/// `[merging]`: when a source goes silent, its parts hold for `hold_ms`, then ease to the next
/// source by priority (or to rest) over `ease_ms`; a returning source eases back in as fast.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MergingConfig {
    pub hold_ms: u32,
    pub ease_ms: u32,
}

impl Default for MergingConfig {
    fn default() -> Self {
        MergingConfig {
            hold_ms: 300,
            ease_ms: 500,
        }
    }
}

/// Every source's routes, planned from the config before anything binds.
pub struct PlannedRoutes {
    /// Per performer id, its sources' roles in slot order.
    pub roles: Vec<Vec<SourceRole>>,
    /// Per VMC source, its streams: which senders (`None`: any) go where.
    pub vmc: Vec<Vec<(Option<SenderMatch>, Route)>>,
    /// Per BVH source, its route.
    pub bvh: Vec<Route>,
    pub demo: Option<Route>,
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
    pub bvh: Option<toml::Table>,
}

impl Default for FiltersConfig {
    fn default() -> Self {
        FiltersConfig {
            enabled: true,
            vmc: None,
            demo: None,
            bvh: None,
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
    /// The body parts the port-level performer's sender drives (default: all), when several
    /// sources feed one performer.
    #[serde(default)]
    pub parts: Option<Vec<BodyPart>>,
    /// Higher wins where sources' parts overlap.
    #[serde(default)]
    pub priority: i32,
}

fn yes() -> bool {
    true
}

/// `[[bvh]]`: a BVH file played as a performer, looping.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BvhSourceConfig {
    pub file: PathBuf,
    pub performer: String,
    #[serde(default = "yes")]
    pub filter: bool,
    #[serde(default)]
    pub parts: Option<Vec<BodyPart>>,
    #[serde(default)]
    pub priority: i32,
}

/// A sender, matched by IP address (any port) or by `IP:port`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmcSenderConfig {
    pub address: String,
    pub performer: String,
    /// The body parts this sender drives (default: all).
    #[serde(default)]
    pub parts: Option<Vec<BodyPart>>,
    /// Higher wins where sources' parts overlap.
    #[serde(default)]
    pub priority: i32,
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
            bvh: Vec::new(),
            vmc: vec![VmcSourceConfig {
                port: DEFAULT_VMC_PORT,
                performer: Some(DEFAULT_PERFORMER.into()),
                senders: Vec::new(),
                filter: true,
                parts: None,
                priority: 0,
            }],
            demo_performer: None,
            avatar: None,
            avatars: Default::default(),
            filters: FiltersConfig::default(),
            merging: MergingConfig::default(),
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

    /// Every performer, in the order their ids are assigned: the demo first (so that a page
    /// opened without `performer` shows it), then VMC sources and BVH files in order. A
    /// performer fed by several sources appears once (their frames are merged).
    pub fn performer_names(&self) -> anyhow::Result<Vec<String>> {
        let mut names: Vec<String> = Vec::new();
        let mut add = |name: &str| {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        };
        if let Some(demo) = &self.demo_performer {
            add(demo);
        }
        for source in &self.vmc {
            if source.senders.is_empty() {
                let Some(name) = &source.performer else {
                    bail!(
                        "VMC port {} names neither a performer nor senders",
                        source.port
                    );
                };
                add(name);
            } else {
                for sender in &source.senders {
                    SenderMatch::parse(&sender.address)?;
                    add(&sender.performer);
                }
            }
        }
        for bvh in &self.bvh {
            add(&bvh.performer);
        }
        if names.len() > u16::MAX as usize {
            bail!("too many performers");
        }
        Ok(names)
    }

    /// Plans every source's route: performer, merge slot, role, filtering.
    pub fn routes(&self, names: &[String]) -> anyhow::Result<PlannedRoutes> {
        let id_of = |name: &str| {
            names
                .iter()
                .position(|n| n == name)
                .map(|i| PerformerId(i as u16))
                .with_context(|| format!("unknown performer {name:?}"))
        };
        let mut roles: Vec<Vec<SourceRole>> = vec![Vec::new(); names.len()];
        let mut slot = |performer: PerformerId, parts: &Option<Vec<BodyPart>>, priority: i32| {
            let parts = parts.clone().unwrap_or_else(|| BodyPart::ALL.to_vec());
            let list = &mut roles[performer.0 as usize];
            list.push(SourceRole { parts, priority });
            list.len() - 1
        };
        let mut vmc = Vec::new();
        for source in &self.vmc {
            let mut streams = Vec::new();
            let route = |performer, slot| Route {
                performer,
                slot,
                kind: SourceKind::Vmc,
                filtered: source.filter,
            };
            if source.senders.is_empty() {
                let performer = id_of(source.performer.as_deref().unwrap_or_default())?;
                streams.push((
                    None,
                    route(performer, slot(performer, &source.parts, source.priority)),
                ));
            } else {
                for sender in &source.senders {
                    let performer = id_of(&sender.performer)?;
                    let matcher = SenderMatch::parse(&sender.address)?;
                    streams.push((
                        Some(matcher),
                        route(performer, slot(performer, &sender.parts, sender.priority)),
                    ));
                }
            }
            vmc.push(streams);
        }
        let mut bvh = Vec::new();
        for source in &self.bvh {
            let performer = id_of(&source.performer)?;
            let slot = slot(performer, &source.parts, source.priority);
            bvh.push(Route {
                performer,
                slot,
                kind: SourceKind::Bvh,
                filtered: source.filter,
            });
        }
        let demo = match &self.demo_performer {
            Some(name) => {
                let performer = id_of(name)?;
                let slot = slot(performer, &None, 0);
                Some(Route {
                    performer,
                    slot,
                    kind: SourceKind::Demo,
                    filtered: true,
                })
            }
            None => None,
        };
        Ok(PlannedRoutes {
            roles,
            vmc,
            bvh,
            demo,
        })
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
    fn a_performer_fed_twice_gets_two_merge_slots() {
        let c: Config = toml::from_str(
            r#"
            [[vmc]]
            port = 39539
            performer = "main"
            parts = ["face", "head"]
            priority = 10
            [[vmc]]
            port = 39540
            performer = "main"
            "#,
        )
        .unwrap();
        let names = c.performer_names().unwrap();
        assert_eq!(names, vec!["main"]);
        let routes = c.routes(&names).unwrap();
        assert_eq!(routes.roles[0].len(), 2);
        assert_eq!(routes.roles[0][0].priority, 10);
        assert_eq!((routes.vmc[0][0].1.slot, routes.vmc[1][0].1.slot), (0, 1));
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
