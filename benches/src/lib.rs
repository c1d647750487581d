//! Shared pieces of Kagura's benchmarks: the benchmark pose, latency percentiles, a clock.

use std::sync::OnceLock;
use std::time::Instant;

use glam::{EulerRot, Quat, Vec3};
use kagura_protocol::{Expression, HumanoidBone, PerformerId, PoseFrame, RootTransform};

/// Microseconds since the first call in this process: one monotonic clock shared by senders and
/// receivers, so latencies need no clock sync.
pub fn bench_now_us() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_micros() as u64
}

/// A full pose (55 bones, root, hips, every expression: VRM presets and 52 ARKit) whose frame
/// `index` is recoverable from the root's z position (1 cm per index).
pub fn bench_pose(performer: PerformerId, index: u32) -> PoseFrame {
    let t = index as f32 / 120.0;
    let mut f = PoseFrame::new(performer);
    f.root = Some(RootTransform {
        position: Vec3::new(0.0, 0.0, index as f32 * 0.01),
        rotation: Quat::IDENTITY,
    });
    f.hips_position = Some(Vec3::new(0.02 * t.sin(), 0.93, 0.0));
    for (i, bone) in HumanoidBone::ALL.into_iter().enumerate() {
        let k = i as f32;
        f.set_bone(
            bone,
            Quat::from_euler(
                EulerRot::YXZ,
                0.5 * (t + k).sin(),
                0.3 * (t * 1.3 + k).cos(),
                0.2 * (t + 2.0 * k).sin(),
            ),
        );
    }
    for (i, e) in Expression::ALL.into_iter().enumerate() {
        f.set_expression(e, 0.5 + 0.5 * (t * 2.0 + i as f32).sin());
    }
    f
}

/// The index [`bench_pose`] put in a frame.
pub fn pose_index(frame: &PoseFrame) -> Option<u32> {
    frame.root.map(|r| (r.position.z / 0.01).round() as u32)
}

/// Latency samples in µs, summarised as percentiles.
#[derive(Default)]
pub struct Latencies(pub Vec<u64>);

impl Latencies {
    /// The q-quantile (0..=1), in milliseconds.
    pub fn quantile_ms(&mut self, q: f64) -> f64 {
        self.0.sort_unstable();
        if self.0.is_empty() {
            return f64::NAN;
        }
        let i = ((self.0.len() - 1) as f64 * q).round() as usize;
        self.0[i] as f64 / 1000.0
    }

    pub fn summary(&mut self) -> String {
        format!(
            "p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms  (n={})",
            self.quantile_ms(0.5),
            self.quantile_ms(0.99),
            self.quantile_ms(1.0),
            self.0.len()
        )
    }
}
