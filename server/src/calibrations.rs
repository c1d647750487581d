//! Each performer's calibration: applied to every raw frame, measured by captures run over the
//! HTTP API or the CLI, kept in `<data dir>/calibration/<performer>.json` and reloaded on start.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use anyhow::Context;
use kagura_calibration::procedures::{CalibrationCapture, CalibrationKind, PerformerCalibration};
use kagura_protocol::{PerformerId, PoseFrame};

use crate::bus::PoseBus;
use crate::status::lock;

/// Longest countdown or capture accepted, seconds.
pub const MAX_SECONDS: f32 = 30.0;

struct PerformerCalibrationState {
    file: PathBuf,
    calibration: RwLock<PerformerCalibration>,
    /// The capture in progress, fed by the performer's source.
    capture: Mutex<Option<CalibrationCapture>>,
}

/// All performers' calibrations, indexed by performer id.
pub struct Calibrations {
    performers: Vec<PerformerCalibrationState>,
}

impl Calibrations {
    /// Loads what is saved in `data_dir`; performers without a file start uncalibrated.
    pub fn load(data_dir: &Path, bus: &PoseBus) -> anyhow::Result<Self> {
        let dir = data_dir.join("calibration");
        let performers = bus
            .performers()
            .iter()
            .map(|p| {
                let file = dir.join(format!("{}.json", file_stem(&p.name)));
                let calibration = match std::fs::read(&file) {
                    Ok(bytes) => serde_json::from_slice(&bytes)
                        .with_context(|| format!("reading calibration {}", file.display()))?,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        PerformerCalibration::default()
                    }
                    Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
                };
                Ok(PerformerCalibrationState {
                    file,
                    calibration: RwLock::new(calibration),
                    capture: Mutex::new(None),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Calibrations { performers })
    }

    /// For each raw frame from a source: feeds a capture in progress, then applies the
    /// performer's calibration in place.
    pub fn process(&self, frame: &mut PoseFrame) {
        let Some(state) = self.performers.get(frame.performer.0 as usize) else {
            return;
        };
        if let Some(capture) = lock(&state.capture).as_mut() {
            capture.add(frame);
        }
        state
            .calibration
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .apply(frame);
    }

    pub fn get(&self, performer: PerformerId) -> Option<PerformerCalibration> {
        let state = self.performers.get(performer.0 as usize)?;
        Some(
            state
                .calibration
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }

    /// Runs a calibration: waits `countdown` (the performer gets into pose), captures for
    /// `duration`, then stores and saves the result. One capture per performer at a time.
    pub async fn run(
        &self,
        performer: PerformerId,
        kind: CalibrationKind,
        countdown: Duration,
        duration: Duration,
    ) -> anyhow::Result<PerformerCalibration> {
        let state = self
            .performers
            .get(performer.0 as usize)
            .context("no such performer")?;
        if kind.captures() {
            anyhow::ensure!(
                lock(&state.capture).is_none(),
                "a calibration is already running for this performer"
            );
            tokio::time::sleep(countdown).await;
            *lock(&state.capture) = Some(CalibrationCapture::new(kind));
            tokio::time::sleep(duration).await;
        }
        let capture = lock(&state.capture)
            .take()
            .unwrap_or_else(|| CalibrationCapture::new(kind));
        let current = state
            .calibration
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let updated = capture.finish(&current)?;
        save(&state.file, &updated)?;
        *state.calibration.write().unwrap_or_else(|e| e.into_inner()) = updated.clone();
        Ok(updated)
    }
}

fn save(file: &Path, calibration: &PerformerCalibration) -> anyhow::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let json = serde_json::to_vec_pretty(calibration)?;
    // Write then rename, so a crash never leaves half a file.
    let temporary = file.with_extension("json.tmp");
    std::fs::write(&temporary, json).with_context(|| format!("writing {}", temporary.display()))?;
    std::fs::rename(&temporary, file).with_context(|| format!("saving {}", file.display()))?;
    Ok(())
}

/// A file name for a performer name: letters, digits, `-` and `_` kept, anything else as hex.
fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_string()
            } else {
                format!("%{:x}", c as u32)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems_are_safe() {
        assert_eq!(file_stem("alice-2"), "alice-2");
        assert_eq!(file_stem("../x"), "%2e%2e%2fx");
        assert_eq!(file_stem("神楽"), "%795e%697d");
    }
}
