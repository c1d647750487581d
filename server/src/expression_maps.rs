//! Each performer's expression-map overrides set over the API (`PUT
//! /api/performers/{name}/expression-map`), kept in `<data dir>/expression_maps/<performer>.json`
//! and applied on start after the config's `[expression_maps.NAME]` (the newer word wins).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use kagura_calibration::{ExpressionMap, ExpressionRule};
use kagura_engine::Engine;
use kagura_protocol::Expression;

use crate::calibrations::file_stem;

/// The overrides as the API takes them: preset → rule.
pub type ExpressionOverrides = BTreeMap<Expression, ExpressionRule>;

/// Where the overrides are kept.
pub struct ExpressionMaps {
    dir: PathBuf,
}

impl ExpressionMaps {
    pub fn new(data_dir: &Path) -> Self {
        ExpressionMaps {
            dir: data_dir.join("expression_maps"),
        }
    }

    fn file(&self, performer: &str) -> PathBuf {
        self.dir.join(format!("{}.json", file_stem(performer)))
    }

    /// Applies what is saved to every performer of `engine` that has a file.
    pub fn load_all(&self, engine: &Engine) -> anyhow::Result<()> {
        for slot in engine.bus().performers() {
            let Some(performer) = engine.performer(slot.id) else {
                continue;
            };
            let file = self.file(&performer.name);
            let bytes = match std::fs::read(&file) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
            };
            let overrides: ExpressionOverrides = serde_json::from_slice(&bytes)
                .with_context(|| format!("reading expression map {}", file.display()))?;
            let map = ExpressionMap::with_overrides(&overrides)
                .map_err(|e| anyhow::anyhow!("expression map {}: {e}", file.display()))?;
            performer.set_expression_map(map);
        }
        Ok(())
    }

    /// Keeps a performer's overrides (written whole, then renamed into place).
    pub fn save(&self, performer: &str, overrides: &ExpressionOverrides) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let file = self.file(performer);
        let partial = file.with_extension("json.partial");
        std::fs::write(&partial, serde_json::to_vec_pretty(overrides)?)
            .with_context(|| format!("writing {}", partial.display()))?;
        std::fs::rename(&partial, &file).with_context(|| format!("saving {}", file.display()))
    }
}
