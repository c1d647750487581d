//! [`Triggers`]: expressions fired from outside (a chat bot, a stream deck) that rise, hold and
//! fall over a performer's live tracking.
//!
//! A fired expression's weight follows an envelope: from 0 to `weight` over `fade_in`
//! (smoothstep), `weight` for `hold`, back to 0 over `fade_out`. It layers over tracking by the
//! larger of the two, so a trigger never dims what the face tracker shows and the tracked face
//! shows through once it falls. Firing the same expression again restarts it. Pure: times are
//! arguments; while a trigger runs, [`Triggers::next_change_us`] asks for a frame every
//! [`kagura_merge::FADE_TICK_US`] so the envelope moves even when no source sends.

use kagura_merge::FADE_TICK_US;
use kagura_protocol::{Expression, PoseFrame};
use serde::{Deserialize, Serialize};

/// At most this many triggers run at once per performer; firing another replaces the oldest.
pub const MAX_ACTIVE: usize = 32;

/// What to fire. Times in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExpressionTrigger {
    pub expression: Expression,
    /// Peak weight, 0..1.
    pub weight: f32,
    pub fade_in_us: u64,
    pub hold_us: u64,
    pub fade_out_us: u64,
}

impl ExpressionTrigger {
    /// Its weight `elapsed_us` after it was fired; `None` once it has fallen.
    fn weight_at(&self, elapsed_us: u64) -> Option<f32> {
        let smooth = |x: f32| x * x * (3.0 - 2.0 * x);
        let fraction = |t: u64, span: u64| {
            if span == 0 {
                1.0
            } else {
                t as f32 / span as f32
            }
        };
        let (rise_end, hold_end) = (self.fade_in_us, self.fade_in_us + self.hold_us);
        let end = hold_end + self.fade_out_us;
        let level = if elapsed_us < rise_end {
            smooth(fraction(elapsed_us, self.fade_in_us))
        } else if elapsed_us < hold_end {
            1.0
        } else if elapsed_us < end {
            1.0 - smooth(fraction(elapsed_us - hold_end, self.fade_out_us))
        } else {
            return None;
        };
        Some(self.weight * level)
    }

    fn duration_us(&self) -> u64 {
        self.fade_in_us + self.hold_us + self.fade_out_us
    }
}

/// The triggers running for one performer.
#[derive(Clone, Debug, Default)]
pub struct Triggers {
    active: Vec<(ExpressionTrigger, u64)>,
    /// When the envelopes were last applied.
    applied_us: u64,
}

impl Triggers {
    /// Fires `trigger` at `now_us` (restarting one of the same expression).
    pub fn fire(&mut self, trigger: ExpressionTrigger, now_us: u64) {
        self.active
            .retain(|(t, _)| t.expression != trigger.expression);
        if self.active.len() == MAX_ACTIVE {
            self.active.remove(0);
        }
        self.active.push((trigger, now_us));
        self.applied_us = self.applied_us.min(now_us);
    }

    /// Layers the running triggers over `frame` at `now_us` and forgets those that have
    /// fallen. A trigger's last step publishes its expression at 0.
    pub fn apply(&mut self, frame: &mut PoseFrame, now_us: u64) {
        self.applied_us = now_us;
        self.active.retain(|(trigger, fired_us)| {
            let elapsed = now_us.saturating_sub(*fired_us);
            let weight = trigger.weight_at(elapsed).unwrap_or(0.0);
            let tracked = frame.expression(trigger.expression).unwrap_or(0.0);
            frame.set_expression(trigger.expression, tracked.max(weight));
            elapsed < trigger.duration_us()
        });
    }

    /// When the frame must next be recomposed for the envelopes to move: a tick after the
    /// last application, at the latest when a trigger ends. `None` with none running.
    pub fn next_change_us(&self) -> Option<u64> {
        self.active
            .iter()
            .map(|(trigger, fired_us)| {
                let end = fired_us + trigger.duration_us();
                if self.applied_us < *fired_us {
                    *fired_us
                } else {
                    (self.applied_us + FADE_TICK_US).min(end.max(self.applied_us + 1))
                }
            })
            .min()
    }

    pub fn is_empty(&self) -> bool {
        self.active.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kagura_protocol::PerformerId;

    const MS: u64 = 1000;

    fn surprised() -> ExpressionTrigger {
        ExpressionTrigger {
            expression: Expression::Surprised,
            weight: 0.8,
            fade_in_us: 200 * MS,
            hold_us: 300 * MS,
            fade_out_us: 200 * MS,
        }
    }

    #[test]
    fn an_expression_rises_holds_and_falls_over_tracking_then_stops_asking_for_frames() {
        let mut triggers = Triggers::default();
        let t0 = 5_000 * MS;
        triggers.fire(surprised(), t0);
        assert_eq!(triggers.next_change_us(), Some(t0));
        let at = |triggers: &mut Triggers, ms: u64, tracked: Option<f32>| {
            let mut frame = PoseFrame::new(PerformerId(0));
            if let Some(w) = tracked {
                frame.set_expression(Expression::Surprised, w);
            }
            triggers.apply(&mut frame, t0 + ms * MS);
            frame.expression(Expression::Surprised).unwrap()
        };
        assert_eq!(at(&mut triggers, 0, None), 0.0);
        assert!(
            (at(&mut triggers, 100, None) - 0.4).abs() < 1e-6,
            "half way up"
        );
        assert_eq!(at(&mut triggers, 200, None), 0.8);
        assert_eq!(at(&mut triggers, 450, None), 0.8);
        assert_eq!(
            at(&mut triggers, 450, Some(0.95)),
            0.95,
            "tracking above shows through"
        );
        assert_eq!(
            triggers.next_change_us(),
            Some(t0 + 450 * MS + FADE_TICK_US)
        );
        assert!(
            (at(&mut triggers, 600, None) - 0.4).abs() < 1e-6,
            "half way down"
        );
        assert_eq!(
            at(&mut triggers, 690, Some(0.3)),
            0.3,
            "nearly down: tracking shows"
        );
        assert_eq!(triggers.next_change_us(), Some(t0 + 700 * MS));
        assert_eq!(
            at(&mut triggers, 700, None),
            0.0,
            "the last step publishes 0"
        );
        assert!(triggers.is_empty());
        assert_eq!(triggers.next_change_us(), None);
    }

    #[test]
    fn firing_again_restarts_and_the_count_is_bounded() {
        let mut triggers = Triggers::default();
        triggers.fire(surprised(), 0);
        triggers.fire(surprised(), 100 * MS);
        assert_eq!(triggers.active.len(), 1);
        for (i, e) in Expression::ALL.into_iter().take(MAX_ACTIVE + 5).enumerate() {
            triggers.fire(
                ExpressionTrigger {
                    expression: e,
                    ..surprised()
                },
                i as u64,
            );
        }
        assert_eq!(triggers.active.len(), MAX_ACTIVE);
    }
}
