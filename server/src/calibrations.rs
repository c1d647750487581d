//! Each performer's calibration: applied to every raw frame, measured by captures run over the
//! HTTP API or the CLI, kept in `<data dir>/calibration/<performer>.json` and reloaded on start.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use kagura_calibration::{CalibrationCapture, CalibrationKind, PerformerCalibration};
use kagura_engine::{Engine, Performer};

/// Longest countdown or capture accepted, seconds.
pub const MAX_SECONDS: f32 = 30.0;

/// Where calibrations are kept, and the procedure that measures them.
pub struct Calibrations {
    dir: PathBuf,
}

impl Calibrations {
    pub fn new(data_dir: &Path) -> Self {
        Calibrations {
            dir: data_dir.join("calibration"),
        }
    }

    fn file(&self, performer: &str) -> PathBuf {
        self.dir.join(format!("{}.json", file_stem(performer)))
    }

    /// Loads what is saved for every performer of `engine`; those without a file stay
    /// uncalibrated.
    pub fn load_all(&self, engine: &Engine) -> anyhow::Result<()> {
        for slot in engine.bus().performers() {
            let Some(performer) = engine.performer(slot.id) else {
                continue;
            };
            let file = self.file(&performer.name);
            match std::fs::read(&file) {
                Ok(bytes) => engine.set_calibration(
                    &performer,
                    serde_json::from_slice(&bytes)
                        .with_context(|| format!("reading calibration {}", file.display()))?,
                ),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
            }
        }
        Ok(())
    }

    /// Runs a calibration: waits `countdown` (the performer gets into pose), captures for
    /// `duration`, then stores and saves the result. One procedure per performer at a time; if
    /// the caller goes away (the future is dropped) the procedure ends with nothing changed.
    pub async fn run(
        &self,
        engine: &Engine,
        performer: Arc<Performer>,
        kind: CalibrationKind,
        countdown: Duration,
        duration: Duration,
    ) -> anyhow::Result<PerformerCalibration> {
        anyhow::ensure!(
            performer.begin_calibration(),
            "a calibration is already running for this performer"
        );
        let claim = Claim(&performer);
        if kind.captures() {
            tokio::time::sleep(countdown).await;
            performer.start_capture(kind);
            tokio::time::sleep(duration).await;
        }
        let capture = claim
            .release()
            .unwrap_or_else(|| CalibrationCapture::new(kind));
        let updated = capture.finish(&performer.calibration())?;
        save(&self.file(&performer.name), &updated)?;
        engine.set_calibration(&performer, updated.clone());
        Ok(updated)
    }
}

/// A performer claimed for a calibration procedure; dropping it (the request went away)
/// releases the performer and discards the capture.
struct Claim<'a>(&'a Performer);

impl Claim<'_> {
    fn release(self) -> Option<CalibrationCapture> {
        let capture = self.0.end_calibration();
        std::mem::forget(self);
        capture
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.0.end_calibration();
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
/// A performer's name as a safe file name (ASCII letters, digits, `-` and `_` kept; anything
/// else `%hex`).
pub(crate) fn file_stem(name: &str) -> String {
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

    fn engine() -> Engine {
        use kagura_engine::{FilterControl, MergeTiming, PoseBus};
        Engine::new(
            Arc::new(PoseBus::new()),
            Arc::new(FilterControl::new(Vec::new(), false)),
            MergeTiming {
                hold_us: 0,
                ease_us: 0,
            },
        )
    }

    #[tokio::test]
    async fn one_procedure_at_a_time_and_a_caller_that_goes_away_releases_the_performer() {
        let dir = std::env::temp_dir().join(format!("kagura-cal-{}", std::process::id()));
        let calibrations = Arc::new(Calibrations::new(&dir));
        let engine = Arc::new(engine());
        let performer = engine.add_performer("p");
        let long = Duration::from_secs(60);
        let first = tokio::spawn({
            let (calibrations, performer, engine) =
                (calibrations.clone(), performer.clone(), engine.clone());
            async move {
                calibrations
                    .run(&engine, performer, CalibrationKind::TPose, long, long)
                    .await
            }
        });
        // Wait until the first holds the performer (no sleep: the claim is observable).
        while performer.begin_calibration() {
            performer.end_calibration();
            tokio::task::yield_now().await;
        }
        let second = calibrations
            .run(&engine, performer.clone(), CalibrationKind::Yaw, long, long)
            .await
            .unwrap_err();
        assert!(second.to_string().contains("already running"), "{second}");
        // The first caller disconnects mid-countdown: its future is dropped.
        first.abort();
        let _ = first.await;
        let reset = calibrations
            .run(&engine, performer, CalibrationKind::Reset, long, long)
            .await;
        assert!(reset.is_ok(), "{reset:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
