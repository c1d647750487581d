//! [`CycleFramer`]: where one VMC sender's frames end, learned from the sender itself.
//!
//! VMC marks no frame boundary, and senders differ: the VMC app sends each frame as bone
//! bundles of 13, then the blendshape bundle ending in `Blend/Apply`, then, last, the root
//! bundle with `Root/Pos`, the leftover bones, `OK` and `T`; VSeeFace sends one bundle per
//! frame; SlimeVR one bundle with no blendshapes; some senders send every message in its own
//! datagram. Publishing at `Apply` tears the VMC app's frames (its root and leftover bones
//! belong to the frame after), so instead the framer learns each sender's cycle:
//!
//! 1. Every datagram gets a key: the addresses and names of its messages, not their values
//!    (devices and camera are left out: their number varies). The same part of a frame has the
//!    same key every frame.
//! 2. The cycle is the shortest period P (≤ [`MAX_PERIOD`] datagrams) over which the last 2·P
//!    keys repeat.
//! 3. The datagram of the cycle that ends it is the one carrying `T` (the VMC app and most
//!    senders stamp a frame last); else the one carrying `Apply`; else the one before the
//!    datagram that starts with the hips (bones go out in `HumanBodyBones` order); else the
//!    one followed by the longest pause.
//!
//! From then on a frame ends at that datagram, with no added delay. Until a cycle is learned
//! (two cycles after a sender appears) nothing is published, so no subscriber sees a
//! half-updated first frame. A sender whose datagrams never repeat is framed by its `T`, else
//! its `Apply`, else per datagram, after [`LEARNING_LIMIT`] datagrams. A learned end that stops
//! coming (the sender changed what it sends) is forgotten and the cycle learned again.

use std::collections::VecDeque;

/// The longest cycle recognised, in datagrams (55 bones in 13s, blendshapes, root: 6 for the
/// VMC app; one per message for unbundled senders with a few bones).
pub const MAX_PERIOD: usize = 96;
/// Datagrams after which a sender whose cycle cannot be learned is framed by markers.
pub const LEARNING_LIMIT: usize = 4 * MAX_PERIOD;

/// What the framer needs to know of one datagram.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DatagramShape {
    /// Hash of its messages' addresses and names.
    pub key: u64,
    /// It carries `/VMC/Ext/T`.
    pub has_time: bool,
    /// It carries `/VMC/Ext/Blend/Apply`.
    pub has_apply: bool,
    /// Its first bone message is the hips.
    pub starts_with_hips: bool,
}

#[derive(Clone, Copy, Debug)]
struct Seen {
    shape: DatagramShape,
    arrival_us: u64,
}

/// Learns and follows one sender's cycle. Pure: arrival times are passed in.
#[derive(Clone, Debug, Default)]
pub struct CycleFramer {
    history: VecDeque<Seen>,
    /// The learned cycle: its length and the key of the datagram that ends it.
    cycle: Option<(usize, u64)>,
    since_end: usize,
    unlearned_for: usize,
    sends_time: bool,
    sends_apply: bool,
}

impl CycleFramer {
    /// Takes the next datagram's shape; `true` if the frame ends with it.
    pub fn observe(&mut self, shape: DatagramShape, arrival_us: u64) -> bool {
        self.sends_time |= shape.has_time;
        self.sends_apply |= shape.has_apply;
        if self.history.len() == 2 * MAX_PERIOD {
            self.history.pop_front();
        }
        self.history.push_back(Seen { shape, arrival_us });
        self.since_end += 1;
        if let Some((period, end)) = self.cycle {
            if shape.key == end {
                self.since_end = 0;
                return true;
            }
            if self.since_end > 2 * period + 2 {
                self.cycle = None;
            } else {
                return false;
            }
        }
        self.cycle = self.learn();
        match self.cycle {
            // Learned just now, at the end of a second repetition: this datagram ends a frame
            // if it is the cycle's end.
            Some((_, end)) => {
                self.unlearned_for = 0;
                let ends = shape.key == end;
                if ends {
                    self.since_end = 0;
                }
                ends
            }
            None => {
                self.unlearned_for += 1;
                self.unlearned_for > LEARNING_LIMIT && self.marker_ends(&shape)
            }
        }
    }

    /// The learned cycle length in datagrams, if any.
    pub fn period(&self) -> Option<usize> {
        self.cycle.map(|(p, _)| p)
    }

    fn marker_ends(&self, shape: &DatagramShape) -> bool {
        if self.sends_time {
            shape.has_time
        } else if self.sends_apply {
            shape.has_apply
        } else {
            true
        }
    }

    fn learn(&self) -> Option<(usize, u64)> {
        let n = self.history.len();
        let key = |i: usize| self.history[i].shape.key;
        let period = (1..=MAX_PERIOD.min(n / 2))
            .find(|&p| (0..p).all(|i| key(n - 1 - i) == key(n - 1 - i - p)))?;
        let cycle: Vec<usize> = (n - period..n).collect();
        let pick = |f: &dyn Fn(&DatagramShape) -> bool| {
            cycle.iter().copied().find(|&i| f(&self.history[i].shape))
        };
        let end = pick(&|s| s.has_time)
            .or_else(|| pick(&|s| s.has_apply))
            .or_else(|| {
                // The datagram before the one that starts with the hips (cyclically).
                let start = pick(&|s| s.starts_with_hips)?;
                Some(if start == n - period {
                    n - 1
                } else {
                    start - 1
                })
            })
            .unwrap_or_else(|| {
                // The one followed by the longest pause, over the previous repetition.
                (n - 2 * period..n - period)
                    .max_by_key(|&i| self.history[i + 1].arrival_us - self.history[i].arrival_us)
                    .map_or(n - 1, |i| i + period)
            });
        Some((period, key(end)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(key: u64) -> DatagramShape {
        DatagramShape {
            key,
            ..Default::default()
        }
    }

    /// Feeds `cycles` repetitions of `cycle` starting at `skip` into it; returns the positions
    /// (within the cycle) of the datagrams that ended frames.
    fn ends(cycle: &[DatagramShape], skip: usize, cycles: usize) -> Vec<usize> {
        let mut framer = CycleFramer::default();
        let mut out = Vec::new();
        let mut t = 0;
        for k in skip..skip + cycles * cycle.len() {
            let i = k % cycle.len();
            // Datagrams of a frame 0.1 ms apart, frames 16 ms apart.
            t += if i == 0 { 16_000 } else { 100 };
            if framer.observe(cycle[i], t) {
                out.push(i);
            }
        }
        out
    }

    #[test]
    fn the_vmc_app_order_ends_at_the_root_bundle_whatever_the_first_datagram() {
        let mut app: Vec<DatagramShape> = (1..=4).map(shape).collect();
        app[0].starts_with_hips = true;
        app.push(DatagramShape {
            key: 5,
            has_apply: true,
            ..Default::default()
        });
        app.push(DatagramShape {
            key: 6,
            has_time: true,
            ..Default::default()
        });
        for skip in 0..app.len() {
            let e = ends(&app, skip, 10);
            assert!(e.len() >= 7, "learned within two cycles: {e:?}");
            assert!(e.iter().all(|&i| i == 5), "skip {skip}: {e:?}");
        }
    }

    #[test]
    fn without_time_or_apply_the_hips_start_a_frame() {
        let mut bones: Vec<DatagramShape> = (1..=3).map(shape).collect();
        bones[0].starts_with_hips = true;
        for skip in 0..3 {
            assert!(ends(&bones, skip, 6).iter().all(|&i| i == 2));
        }
        let mut unbundled: Vec<DatagramShape> = (1..=5).map(shape).collect();
        unbundled[4].has_apply = true;
        assert!(ends(&unbundled, 2, 6).iter().all(|&i| i == 4));
        // Nothing to go by but the pause between frames.
        let plain: Vec<DatagramShape> = (1..=4).map(shape).collect();
        assert!(ends(&plain, 1, 6).iter().all(|&i| i == 3));
    }

    #[test]
    fn one_bundle_senders_end_a_frame_every_datagram_after_the_second() {
        assert_eq!(ends(&[shape(9)], 0, 5), [0, 0, 0, 0]);
    }

    #[test]
    fn a_sender_that_changes_its_cycle_is_learned_again() {
        let mut framer = CycleFramer::default();
        let mut t = 0;
        let mut feed = |framer: &mut CycleFramer, keys: &[u64], times: usize| {
            let mut ended = 0;
            for _ in 0..times {
                for (i, k) in keys.iter().enumerate() {
                    t += 1000;
                    let s = DatagramShape {
                        key: *k,
                        has_time: i == keys.len() - 1,
                        ..Default::default()
                    };
                    ended += usize::from(framer.observe(s, t));
                }
            }
            ended
        };
        assert!(feed(&mut framer, &[1, 2, 3], 10) >= 8);
        assert_eq!(framer.period(), Some(3));
        // The sender starts tracking more bones: the bundles after the first change shape.
        assert!(feed(&mut framer, &[1, 2, 4, 5, 7], 10) >= 7);
        assert_eq!(framer.period(), Some(5));
    }
}
