//! [`SenderClock`]: a sender's own timestamps mapped onto the server's clock.
//!
//! A protocol that carries the sender's capture time (VMC's `/VMC/Ext/T`, mocopi's time code)
//! lets frames keep the spacing they were captured with, so that network bursts and jitter do
//! not look like motion to the filters. The mapping assumes the fastest delivery seen is the
//! true network delay: `capture = sender_time + min(arrival − sender_time)`, with that minimum
//! allowed to creep up by 100 ppm of elapsed time so that a sender clock running slow is
//! followed. A capture time is never later than its arrival.

/// The offset may grow by this much per µs elapsed (100 ppm), to follow clock drift.
const DRIFT_PER_US: f64 = 1e-4;
/// A sender time that jumps by more than this (forwards) or goes backwards restarts the
/// mapping (the sender restarted, or its clock was reset), µs.
const MAX_JUMP_US: i64 = 5_000_000;

/// Maps one sender's timestamps onto ours. Pure: arrival times are passed in.
#[derive(Clone, Debug, Default)]
pub struct SenderClock {
    offset_us: Option<f64>,
    last: Option<(i64, u64)>,
}

impl SenderClock {
    /// The capture time, on our clock, of something the sender stamped `sender_us` (µs on its
    /// clock) that arrived at `arrival_us`. A sender whose clock stands still gets its arrival
    /// time.
    pub fn map(&mut self, sender_us: i64, arrival_us: u64) -> u64 {
        if let Some((last_sender, last_arrival)) = self.last {
            let step = sender_us - last_sender;
            if step == 0 {
                return arrival_us;
            }
            if !(0..=MAX_JUMP_US).contains(&step) {
                self.offset_us = None;
            } else if let Some(offset) = &mut self.offset_us {
                *offset += arrival_us.saturating_sub(last_arrival) as f64 * DRIFT_PER_US;
            }
        }
        self.last = Some((sender_us, arrival_us));
        let observed = arrival_us as f64 - sender_us as f64;
        let offset = self.offset_us.map_or(observed, |o| o.min(observed));
        self.offset_us = Some(offset);
        let capture = sender_us as f64 + offset;
        (capture.max(0.0) as u64).min(arrival_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jittery_arrivals_keep_the_senders_spacing() {
        let mut clock = SenderClock::default();
        let base = 1_000_000_000u64;
        let mut captures = Vec::new();
        for i in 0..100u64 {
            let sent = i as i64 * 16_667;
            // 2 ms delay, plus up to 6 ms of jitter and a burst every tenth frame.
            let jitter = (i * 7919 % 6000) + if i % 10 == 0 { 20_000 } else { 0 };
            let arrival = base + sent as u64 + 2_000 + jitter;
            captures.push(clock.map(sent, arrival));
        }
        // Spacing is the sender's within 2% (the
        // offset creeps up by 100 ppm until a faster delivery pulls it down), while the
        // arrivals themselves are up to 26 ms apart.
        let steps: Vec<u64> = captures.windows(2).skip(20).map(|w| w[1] - w[0]).collect();
        assert!(
            steps.iter().all(|s| (16_330..=17_000).contains(s)),
            "{steps:?}"
        );
    }

    #[test]
    fn a_restarted_or_frozen_sender_clock_falls_back_sensibly() {
        let mut clock = SenderClock::default();
        assert_eq!(clock.map(5_000_000, 100), 100);
        assert_eq!(clock.map(5_010_000, 10_100), 10_100);
        // Frozen: arrival time.
        assert_eq!(clock.map(5_010_000, 20_100), 20_100);
        // Restarted at 0: a new mapping, not a capture time far in the past.
        assert_eq!(clock.map(0, 30_100), 30_100);
        let next = clock.map(16_000, 46_200);
        assert!((46_100..=46_102).contains(&next), "{next}");
    }
}
