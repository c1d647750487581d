//! The filter settings in force, per kind of source: each kind's preset (declared by the kind in
//! `kagura-capture`), overridden by the config file's `[filters.<kind>]` tables, adjustable while
//! running through `PUT /api/filters/<kind>`. Overrides are partial: a patch names only what it
//! changes.

use std::collections::BTreeMap;
use std::sync::RwLock;

use anyhow::{Context, bail};
use kagura_filter::FilterSettings;
use serde_json::Value;

/// Live filter settings by kind name, read by every source stream for every frame.
pub struct FilterControl {
    settings: RwLock<BTreeMap<&'static str, FilterSettings>>,
}

impl FilterControl {
    /// The kinds' presets, with `enabled` forced off when `all_off` (`--no-filter`).
    pub fn new(presets: Vec<(&'static str, FilterSettings)>, all_off: bool) -> Self {
        let settings = presets
            .into_iter()
            .map(|(kind, mut s)| {
                s.enabled &= !all_off;
                (kind, s)
            })
            .collect();
        FilterControl {
            settings: RwLock::new(settings),
        }
    }

    /// The settings for a kind; unknown kinds are unfiltered.
    pub fn get(&self, kind: &str) -> FilterSettings {
        let all = self.settings.read().unwrap_or_else(|e| e.into_inner());
        all.get(kind).copied().unwrap_or(FilterSettings {
            enabled: false,
            ..FilterSettings::light()
        })
    }

    pub fn all(&self) -> BTreeMap<&'static str, FilterSettings> {
        self.settings
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The registered name equal to `name`, or an error listing the known kinds.
    pub fn kind(&self, name: &str) -> anyhow::Result<&'static str> {
        let all = self.settings.read().unwrap_or_else(|e| e.into_inner());
        all.keys().copied().find(|k| *k == name).with_context(|| {
            let known: Vec<&str> = all.keys().copied().collect();
            format!("unknown source kind {name:?} (known: {})", known.join(", "))
        })
    }

    /// Applies a partial override (JSON object) to one kind's settings; nothing changes if the
    /// result is invalid.
    pub fn update(&self, kind: &str, patch: &Value) -> anyhow::Result<FilterSettings> {
        let kind = self.kind(kind)?;
        let mut all = self.settings.write().unwrap_or_else(|e| e.into_inner());
        let mut merged = serde_json::to_value(all[kind])?;
        merge(&mut merged, patch)?;
        let updated: FilterSettings = serde_json::from_value(merged).context("filter settings")?;
        updated.validate().map_err(|e| anyhow::anyhow!(e))?;
        all.insert(kind, updated);
        Ok(updated)
    }
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
    use kagura_filter::OneEuroParams;
    use serde_json::json;

    fn presets() -> Vec<(&'static str, FilterSettings)> {
        let mut vmc = FilterSettings::light();
        vmc.head = OneEuroParams::new(0.6, 1.5);
        vec![("vmc", vmc), ("demo", FilterSettings::light())]
    }

    #[test]
    fn partial_updates_merge_and_bad_ones_change_nothing() {
        let control = FilterControl::new(presets(), false);
        let before = control.get("vmc");
        let after = control
            .update(
                "vmc",
                &json!({ "head": { "beta": 2.5 }, "predict_us": 8000 }),
            )
            .unwrap();
        assert_eq!(after.head.beta, 2.5);
        assert_eq!(after.head.min_cutoff_hz, before.head.min_cutoff_hz);
        assert_eq!(after.predict_us, 8000);
        assert!(
            control
                .update("vmc", &json!({ "head": { "beta": -1.0 } }))
                .is_err()
        );
        assert!(control.update("vmc", &json!({ "hed": {} })).is_err());
        assert!(
            control
                .update("vmc", &json!({ "predict_us": 100000 }))
                .is_err()
        );
        assert_eq!(control.get("vmc"), after);
        assert!(!FilterControl::new(presets(), true).get("vmc").enabled);
        assert_eq!(control.kind("demo").unwrap(), "demo");
        let e = control.kind("webcam").unwrap_err().to_string();
        assert!(e.contains("known: demo, vmc"), "{e}");
    }
}
