//! [`RateMeter`]: events per second over one-second windows, for the status page.

/// Counts events in consecutive one-second windows and reports the last complete window's rate.
/// Time is passed in (µs), so it is deterministic.
#[derive(Clone, Copy, Debug, Default)]
pub struct RateMeter {
    window_start_us: u64,
    count: u64,
    last_rate_hz: f64,
    last_event_us: Option<u64>,
}

const WINDOW_US: u64 = 1_000_000;

impl RateMeter {
    pub fn record(&mut self, now_us: u64) {
        self.roll(now_us);
        self.count += 1;
        self.last_event_us = Some(now_us);
    }

    /// Events per second over the last complete window; 0 once events stop for two windows.
    pub fn rate_hz(&self, now_us: u64) -> f64 {
        if now_us.saturating_sub(self.window_start_us) >= 2 * WINDOW_US {
            0.0
        } else {
            self.last_rate_hz
        }
    }

    /// When the last event happened, µs since the Unix epoch.
    pub fn last_event_us(&self) -> Option<u64> {
        self.last_event_us
    }

    fn roll(&mut self, now_us: u64) {
        let elapsed = now_us.saturating_sub(self.window_start_us);
        if elapsed >= WINDOW_US {
            self.last_rate_hz = if elapsed < 2 * WINDOW_US {
                self.count as f64 * 1e6 / elapsed as f64
            } else {
                0.0
            };
            self.window_start_us = now_us;
            self.count = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_sixty_hertz_reads_sixty() {
        let mut m = RateMeter::default();
        let start = 10_000_000;
        for i in 0..180 {
            m.record(start + i * 1_000_000 / 60);
        }
        let now = start + 3_000_000;
        assert!((m.rate_hz(now) - 60.0).abs() < 1.5, "{}", m.rate_hz(now));
        assert_eq!(m.rate_hz(now + 5_000_000), 0.0);
    }
}
