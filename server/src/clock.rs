//! The server's one clock: monotonic, on the scale of the Unix epoch. Sans-IO cores never read
//! it; the shells pass its value in.
//!
//! It reads the wall clock once, at first use, and from then on only counts a monotonic
//! `Instant`: stepping the system clock while the server runs changes no timestamp, no hold, no
//! ease and no filter. Timestamps stay comparable with other machines' Unix time as long as the
//! clocks agreed at start.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

struct Anchor {
    instant: Instant,
    unix_us: u64,
}

static ANCHOR: OnceLock<Anchor> = OnceLock::new();

/// Microseconds on the server's monotonic clock (Unix time at its first use, plus the time
/// elapsed since).
pub fn now_us() -> u64 {
    let anchor = ANCHOR.get_or_init(|| Anchor {
        instant: Instant::now(),
        unix_us: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0),
    });
    anchor.unix_us + anchor.instant.elapsed().as_micros() as u64
}

/// The `Instant` at which [`now_us`] reads `us` (for sleeping until a deadline).
pub fn instant_at(us: u64) -> Instant {
    let now = now_us();
    let now_instant = Instant::now();
    if us >= now {
        now_instant + std::time::Duration::from_micros(us - now)
    } else {
        now_instant
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn never_runs_backwards() {
        let mut last = super::now_us();
        for _ in 0..10_000 {
            let now = super::now_us();
            assert!(now >= last);
            last = now;
        }
    }
}
