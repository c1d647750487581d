//! Sensors strapped to bones over the API (`PUT /api/sources/{index}/sensors`), kept in
//! `<data dir>/sensors/<source key>.json` (sensor key → bone, `null` for unassigned) and applied
//! when the source starts, over its config.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use kagura_engine::lock;
use kagura_protocol::HumanoidBone;

use crate::calibrations::file_stem;
use crate::sources::SharedSource;

/// One source's assignments: sensor key → bone.
pub type Assignments = BTreeMap<String, Option<HumanoidBone>>;

pub struct SensorAssignments {
    dir: PathBuf,
}

impl SensorAssignments {
    pub fn new(data_dir: &Path) -> Self {
        SensorAssignments {
            dir: data_dir.join("sensors"),
        }
    }

    /// A source's file: by its first stream's key, which stays the same across restarts.
    fn file(&self, source: &SharedSource) -> Option<PathBuf> {
        let key = lock(source).stream_key()?;
        Some(self.dir.join(format!("{}.json", file_stem(&key))))
    }

    fn load(&self, file: &Path) -> anyhow::Result<Assignments> {
        match std::fs::read(file) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("reading sensor assignments {}", file.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Assignments::new()),
            Err(e) => Err(e).with_context(|| format!("reading {}", file.display())),
        }
    }

    /// Applies what is saved for `source`. A sensor the source no longer takes is logged.
    pub fn apply_saved(&self, source: &SharedSource) -> anyhow::Result<()> {
        let Some(file) = self.file(source) else {
            return Ok(());
        };
        for (sensor, bone) in self.load(&file)? {
            if let Err(e) = lock(source).assign_sensor(&sensor, bone) {
                tracing::warn!("{}: {e}", file.display());
            }
        }
        Ok(())
    }

    /// Keeps one sensor's assignment (made with `RunningSource::assign_sensor`).
    pub fn save(
        &self,
        source: &SharedSource,
        sensor: &str,
        bone: Option<HumanoidBone>,
    ) -> anyhow::Result<()> {
        let file = self
            .file(source)
            .context("the source has no stream to key it by")?;
        let mut saved = self.load(&file)?;
        saved.insert(sensor.to_string(), bone);
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let partial = file.with_extension("json.partial");
        std::fs::write(&partial, serde_json::to_vec_pretty(&saved)?)
            .with_context(|| format!("writing {}", partial.display()))?;
        std::fs::rename(&partial, &file).with_context(|| format!("saving {}", file.display()))
    }
}
