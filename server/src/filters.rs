//! The filter settings in force, per kind of source: built-in presets, overridden by the config
//! file's `[filters.<kind>]` tables, adjustable while running through `PUT /api/filters/<kind>`.
//! Overrides are partial: a patch names only what it changes.

use std::collections::BTreeMap;
use std::sync::RwLock;

use anyhow::{Context, bail};
use kagura_calibration::filter::{FilterSettings, SourceKind};
use serde_json::Value;

/// Live filter settings, read by the sources for every frame.
pub struct FilterControl {
    settings: RwLock<BTreeMap<SourceKind, FilterSettings>>,
}

pub const SOURCE_KINDS: [SourceKind; 3] = [SourceKind::Vmc, SourceKind::Demo, SourceKind::Bvh];

impl FilterControl {
    /// The presets, with `enabled` forced off when `all_off` (`--no-filter`).
    pub fn new(all_off: bool) -> Self {
        let settings = SOURCE_KINDS
            .iter()
            .map(|kind| {
                let mut s = FilterSettings::for_source(*kind);
                s.enabled &= !all_off;
                (*kind, s)
            })
            .collect();
        FilterControl {
            settings: RwLock::new(settings),
        }
    }

    pub fn get(&self, kind: SourceKind) -> FilterSettings {
        self.settings.read().unwrap_or_else(|e| e.into_inner())[&kind]
    }

    pub fn all(&self) -> BTreeMap<SourceKind, FilterSettings> {
        self.settings
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Applies a partial override (JSON object) to one kind's settings; nothing changes if the
    /// result is invalid.
    pub fn update(&self, kind: SourceKind, patch: &Value) -> anyhow::Result<FilterSettings> {
        let mut all = self.settings.write().unwrap_or_else(|e| e.into_inner());
        let mut merged = serde_json::to_value(all[&kind])?;
        merge(&mut merged, patch)?;
        let updated: FilterSettings = serde_json::from_value(merged).context("filter settings")?;
        updated.validate().map_err(|e| anyhow::anyhow!(e))?;
        all.insert(kind, updated);
        Ok(updated)
    }
}

/// Parses a kind's name as used in URLs and the config (`vmc`, `demo`).
pub fn source_kind(name: &str) -> anyhow::Result<SourceKind> {
    serde_json::from_value(Value::String(name.into()))
        .with_context(|| format!("unknown source kind {name:?} (known: vmc, demo, bvh)"))
}

/// Deep-merges `patch` into `target`; a patch key the target lacks is an error (a typo should
/// not pass silently).
fn merge(target: &mut Value, patch: &Value) -> anyhow::Result<()> {
    let (Some(target), Some(patch)) = (target.as_object_mut(), patch.as_object()) else {
        bail!("filter settings must be an object");
    };
    for (key, value) in patch {
        let Some(slot) = target.get_mut(key) else {
            bail!("unknown filter setting {key:?}");
        };
        if slot.is_object() {
            merge(slot, value)?;
        } else {
            *slot = value.clone();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn partial_updates_merge_and_bad_ones_change_nothing() {
        let control = FilterControl::new(false);
        let before = control.get(SourceKind::Vmc);
        let after = control
            .update(
                SourceKind::Vmc,
                &json!({ "head": { "beta": 2.5 }, "predict_us": 8000 }),
            )
            .unwrap();
        assert_eq!(after.head.beta, 2.5);
        assert_eq!(after.head.min_cutoff_hz, before.head.min_cutoff_hz);
        assert_eq!(after.predict_us, 8000);
        assert!(
            control
                .update(SourceKind::Vmc, &json!({ "head": { "beta": -1.0 } }))
                .is_err()
        );
        assert!(
            control
                .update(SourceKind::Vmc, &json!({ "hed": {} }))
                .is_err()
        );
        assert!(
            control
                .update(SourceKind::Vmc, &json!({ "predict_us": 100000 }))
                .is_err()
        );
        assert_eq!(control.get(SourceKind::Vmc), after);
        assert!(!FilterControl::new(true).get(SourceKind::Vmc).enabled);
        assert_eq!(source_kind("demo").unwrap(), SourceKind::Demo);
        assert!(source_kind("webcam").is_err());
    }
}
