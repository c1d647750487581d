//! Configuration: built-in defaults, overridden by a TOML file, overridden by command-line flags.
//!
//! Sources are one kind-tagged list, `[[source]]` with `kind = "vmc" | "bvh" | "demo" | …`; each
//! kind's fields are its own config section in `kagura-capture`. The older `[[vmc]]` and
//! `[[bvh]]` tables are still read, as if written `[[source]] kind = "vmc"` / `"bvh"`.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use anyhow::{Context, bail};
use kagura_capture::SourceConfig;
use kagura_capture::bvh::BvhConfig;
use kagura_capture::vmc::{DEFAULT_VMC_PORT, VmcConfig};
use kagura_engine::{FilterControl, MergeTiming};
use serde::Deserialize;

/// The older names of the VMC and BVH config sections.
pub type VmcSourceConfig = VmcConfig;
pub type BvhSourceConfig = BvhConfig;
pub use kagura_capture::vmc::VmcSenderConfig;

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
    /// Where state lives (certificate, calibrations). `None`: the platform's data directory.
    pub data_dir: Option<PathBuf>,
    /// Every source, tagged by `kind`. When none is a VMC source, the default VMC port
    /// (39539) drives the performer `main`.
    pub source: Vec<SourceConfig>,
    /// `[[vmc]]`, read as `[[source]] kind = "vmc"`.
    pub vmc: Vec<VmcConfig>,
    /// `[[bvh]]`, read as `[[source]] kind = "bvh"`.
    pub bvh: Vec<BvhConfig>,
    /// The avatar (.vrm) for performers without their own; default: the bundled mannequin.
    pub avatar: Option<PathBuf>,
    /// Avatars by performer name.
    pub avatars: BTreeMap<String, PathBuf>,
    /// Pose filtering (One Euro), on by default with a preset per kind of source.
    pub filters: FiltersConfig,
    /// How a performer fed by several sources moves between them.
    pub merging: MergingConfig,
    /// Per performer, VRM presets derived from ARKit channels differently from the defaults:
    /// `[expression_maps.alice] happy = { mouthSmileLeft = 0.6, mouthSmileRight = 0.6 }`
    /// (an empty table turns a preset off). See `kagura_calibration::ExpressionMap`.
    pub expression_maps:
        BTreeMap<String, BTreeMap<kagura_protocol::Expression, kagura_calibration::ExpressionRule>>,
    /// VMC targets: `[[vmc_out]] target = "127.0.0.1:39539"`, `performer = "main"`, optional
    /// `rate_hz` (60) and `names` (`vrm0`, `vrm1`, `arkit`, `all`).
    pub vmc_out: Vec<crate::vmc_out::VmcOutConfig>,
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

impl MergingConfig {
    pub fn timing(&self) -> MergeTiming {
        MergeTiming {
            hold_us: u64::from(self.hold_ms) * 1000,
            ease_us: u64::from(self.ease_ms) * 1000,
        }
    }
}

/// `[filters]`: `enabled = false` turns filtering off everywhere (like `--no-filter`);
/// `[filters.<kind>]` overrides that kind's preset, naming only what changes, e.g.
/// `head = { min_cutoff_hz = 0.8 }` or `predict_us = 8000`. An unknown kind is an error.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct FiltersConfig {
    pub enabled: bool,
    #[serde(flatten)]
    pub kinds: BTreeMap<String, toml::Table>,
}

impl Default for FiltersConfig {
    fn default() -> Self {
        FiltersConfig {
            enabled: true,
            kinds: BTreeMap::new(),
        }
    }
}

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
            source: Vec::new(),
            vmc: Vec::new(),
            bvh: Vec::new(),
            avatar: None,
            avatars: Default::default(),
            filters: FiltersConfig::default(),
            merging: MergingConfig::default(),
            expression_maps: BTreeMap::new(),
            vmc_out: Vec::new(),
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
        if !config.vmc.is_empty() || !config.bvh.is_empty() {
            tracing::info!(
                "{}: [[vmc]] and [[bvh]] are read as [[source]] entries with kind = \"vmc\" / \"bvh\"",
                path.display()
            );
        }
        Ok(config)
    }

    /// Every source in force, in order: `[[source]]` entries, then the older `[[vmc]]` and
    /// `[[bvh]]` tables; plus the default VMC port when no VMC source is configured.
    pub fn sources(&self) -> Vec<SourceConfig> {
        let mut all = self.source.clone();
        all.extend(self.vmc.iter().cloned().map(SourceConfig::Vmc));
        all.extend(self.bvh.iter().cloned().map(SourceConfig::Bvh));
        if !all.iter().any(|s| matches!(s, SourceConfig::Vmc(_))) {
            all.push(SourceConfig::Vmc(VmcConfig::on_port(
                DEFAULT_VMC_PORT,
                DEFAULT_PERFORMER,
            )));
        }
        all
    }

    /// Sets the first VMC source's port (`--vmc-port`), adding the default VMC source if none
    /// is configured.
    pub fn set_vmc_port(&mut self, port: u16) {
        let first = self.source.iter_mut().find_map(|s| match s {
            SourceConfig::Vmc(vmc) => Some(vmc),
            _ => None,
        });
        match first.or(self.vmc.first_mut()) {
            Some(vmc) => vmc.port = port,
            None => self.source.push(SourceConfig::Vmc(VmcConfig::on_port(
                port,
                DEFAULT_PERFORMER,
            ))),
        }
    }

    /// Every performer the sources name, in order, each once.
    pub fn performer_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for name in self.sources().iter().flat_map(|s| s.performers()) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    /// The filter settings in force at start: each kind's preset, then the config's overrides.
    pub fn filter_control(&self) -> anyhow::Result<FilterControl> {
        let control = FilterControl::new(kagura_capture::source_kinds(), !self.filters.enabled);
        for (kind, table) in &self.filters.kinds {
            let patch = serde_json::to_value(table)?;
            control
                .update(kind, &patch)
                .with_context(|| format!("config [filters.{kind}]"))?;
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expression_maps_read_as_the_readme_writes_them() {
        use kagura_protocol::Expression;
        let c: Config = toml::from_str(
            r#"
            [expression_maps.main]
            happy = { mouthSmileLeft = 0.7, mouthSmileRight = 0.7 }
            angry = {}
            "#,
        )
        .unwrap();
        let main = &c.expression_maps["main"];
        assert_eq!(main[&Expression::Happy][&Expression::MouthSmileRight], 0.7);
        assert!(main[&Expression::Angry].is_empty());
        let e = toml::from_str::<Config>("[expression_maps.main]\nhappy = { smile = 1.0 }");
        assert!(e.unwrap_err().to_string().contains("smile"));
    }

    #[test]
    fn defaults_and_file_overrides() {
        let c = Config::default();
        assert_eq!((c.quic_port, c.http_port), (4433, 8080));
        assert_eq!(c.performer_names(), vec!["main"]);
        assert!(matches!(&c.sources()[..], [SourceConfig::Vmc(v)] if v.port == 39539));
        let c: Config = toml::from_str(
            r#"
            http_port = 9000
            [[source]]
            kind = "vmc"
            port = 39540
            senders = [{ address = "192.168.1.20", performer = "alice" },
                       { address = "192.168.1.21:5000", performer = "bob" }]
            "#,
        )
        .unwrap();
        assert_eq!(c.http_port, 9000);
        assert_eq!(c.quic_port, 4433);
        assert_eq!(c.performer_names(), vec!["alice", "bob"]);
    }

    #[test]
    fn older_vmc_and_bvh_tables_are_read_as_sources() {
        let c: Config = toml::from_str(
            r#"
            [[vmc]]
            port = 39541
            performer = "old"
            [[bvh]]
            file = "dance.bvh"
            performer = "recorded"
            [[source]]
            kind = "demo"
            performer = "demo"
            "#,
        )
        .unwrap();
        let kinds: Vec<&str> = c.sources().iter().map(|s| s.kind()).collect();
        assert_eq!(kinds, ["demo", "vmc", "bvh"]);
        assert_eq!(c.performer_names(), ["demo", "old", "recorded"]);
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
        assert_eq!(config.performer_names(), vec!["main", "alice", "bob"]);
        config.filter_control().unwrap();
    }

    #[test]
    fn the_readme_vmc_out_example_parses_with_its_defaults() {
        let readme = include_str!("../../README.md");
        let example = readme
            .split("```toml\n")
            .find(|block| block.starts_with("[[vmc_out]]"))
            .and_then(|rest| rest.split("```").next())
            .expect("README has a [[vmc_out]] example");
        let config: Config = toml::from_str(example).expect("README [[vmc_out]] example parses");
        let [out] = &config.vmc_out[..] else {
            panic!("one target: {:?}", config.vmc_out)
        };
        assert_eq!(out.target, "127.0.0.1:39541");
        assert_eq!(out.performer, "main");
        assert_eq!(out.names, kagura_capture::vmc::VmcNames::Vrm0);
        let c: Config =
            toml::from_str("[[vmc_out]]\ntarget = \"h:1\"\nperformer = \"p\"\nnames = \"all\"")
                .unwrap();
        assert_eq!(c.vmc_out[0].rate_hz, crate::vmc_out::DEFAULT_RATE_HZ);
        assert_eq!(c.vmc_out[0].names, kagura_capture::vmc::VmcNames::All);
        let e = toml::from_str::<Config>(
            "[[vmc_out]]\ntarget = \"h:1\"\nperformer = \"p\"\nname = \"all\"",
        );
        assert!(e.is_err(), "unknown keys are refused");
    }

    #[test]
    fn filter_overrides_apply_to_every_kind_and_unknown_kinds_are_refused() {
        let c: Config = toml::from_str(
            r#"
            [filters.bvh]
            head = { min_cutoff_hz = 0.25 }
            "#,
        )
        .unwrap();
        assert_eq!(
            c.filter_control().unwrap().get("bvh").head.min_cutoff_hz,
            0.25
        );
        let c: Config = toml::from_str("[filters.webcma]\npredict_us = 1").unwrap();
        let e = format!("{:#}", c.filter_control().err().expect("an unknown kind"));
        assert!(e.contains("unknown source kind \"webcma\""), "{e}");
        assert!(toml::from_str::<Config>("unknown_key = 1").is_err());
    }

    #[test]
    fn an_unknown_source_kind_names_the_known_ones() {
        let e = toml::from_str::<Config>("[[source]]\nkind = \"mocapi\"").unwrap_err();
        assert!(e.to_string().contains("vmc"), "{e}");
    }
}
