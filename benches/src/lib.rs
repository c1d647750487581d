//! Shared pieces of Kagura's benchmarks: the benchmark pose, latency percentiles, a clock.

use std::sync::OnceLock;
use std::time::Instant;

use kagura_protocol::{PerformerId, PoseFrame};

/// Microseconds since the first call in this process: one monotonic clock shared by senders and
/// receivers, so latencies need no clock sync.
pub fn bench_now_us() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_micros() as u64
}

/// The end-to-end tests' full pose (55 bones, root, hips, every expression) for `performer`;
/// its frame `index` is recoverable with [`pose_index`].
pub fn bench_pose(performer: PerformerId, index: u32) -> PoseFrame {
    let mut frame = kagura_tests::test_pose(index);
    frame.performer = performer;
    frame
}

pub use kagura_tests::pose_index;

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
