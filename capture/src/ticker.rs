//! [`Ticker`]: the deadlines of a source that makes frames on its own (the demo, file playback),
//! one period apart on a fixed grid.

/// A fixed-rate grid of deadlines, µs. Pure: time is passed in.
#[derive(Clone, Debug)]
pub struct Ticker {
    period_us: u64,
    next_us: Option<u64>,
}

impl Ticker {
    /// Ticks every `period_us` (at least 1), the first at once.
    pub fn new(period_us: u64) -> Self {
        Ticker {
            period_us: period_us.max(1),
            next_us: None,
        }
    }

    /// When the next tick is due (at once before the first).
    pub fn poll_timeout(&self) -> u64 {
        self.next_us.unwrap_or(0)
    }

    /// Whether a tick is due at `now_us`. If so the next one is set after `now_us` on the same
    /// grid: ticks missed while the caller was late are skipped, never made up in a burst.
    pub fn tick(&mut self, now_us: u64) -> bool {
        let due = self.next_us.unwrap_or(now_us);
        if now_us < due {
            return false;
        }
        let missed = (now_us - due) / self.period_us;
        self.next_us = Some(due + (missed + 1) * self.period_us);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_on_its_grid_and_skips_what_was_missed() {
        let mut ticker = Ticker::new(10_000);
        assert_eq!(ticker.poll_timeout(), 0);
        assert!(ticker.tick(1_000_000));
        assert_eq!(ticker.poll_timeout(), 1_010_000);
        assert!(!ticker.tick(1_005_000), "early");
        assert!(ticker.tick(1_045_000), "late by 3.5 periods: one tick");
        assert_eq!(ticker.poll_timeout(), 1_050_000);
    }
}
