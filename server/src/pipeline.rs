//! Each performer's per-frame path, from the sources' raw frames to the bus:
//!
//! ```text
//! source frame ─► merge (when several sources feed the performer) ─► calibrate ─► filter ─► bus
//! ```
//!
//! Every stage is a sans-IO value from `kagura-calibration`; this module only holds them per
//! performer and runs them in order. A source submits through its [`Route`].

use std::sync::{Arc, Mutex};

use kagura_calibration::filter::{PoseFilter, SourceKind};
use kagura_calibration::merge::{PoseMerger, SourceRole};
use kagura_protocol::{PerformerId, PoseFrame};

use crate::bus::PoseBus;
use crate::calibrations::Calibrations;
use crate::filters::FilterControl;
use crate::status::lock;

/// Where one source's frames go: a performer, and the source's place among that performer's.
#[derive(Clone, Copy, Debug)]
pub struct Route {
    pub performer: PerformerId,
    /// Index of this source among the performer's sources (its merge slot).
    pub slot: usize,
    pub kind: SourceKind,
    /// Whether this source's frames are filtered.
    pub filtered: bool,
}

struct PerformerPipeline {
    /// Present when more than one source feeds the performer.
    merger: Option<PoseMerger>,
    filter: PoseFilter,
}

/// All performers' pipelines.
pub struct Pipelines {
    performers: Vec<Mutex<PerformerPipeline>>,
    bus: Arc<PoseBus>,
    calibrations: Arc<Calibrations>,
    filters: Arc<FilterControl>,
}

impl Pipelines {
    /// `roles[p]` lists performer `p`'s sources in slot order.
    pub fn new(
        roles: Vec<Vec<SourceRole>>,
        hold_us: u64,
        ease_us: u64,
        bus: Arc<PoseBus>,
        calibrations: Arc<Calibrations>,
        filters: Arc<FilterControl>,
    ) -> Self {
        let performers = roles
            .into_iter()
            .enumerate()
            .map(|(p, roles)| {
                let merger = (roles.len() > 1)
                    .then(|| PoseMerger::new(PerformerId(p as u16), roles, hold_us, ease_us));
                Mutex::new(PerformerPipeline {
                    merger,
                    filter: PoseFilter::default(),
                })
            })
            .collect();
        Pipelines {
            performers,
            bus,
            calibrations,
            filters,
        }
    }

    /// Runs one raw frame through its performer's pipeline and publishes the result.
    pub fn submit(&self, route: &Route, frame: PoseFrame, now_us: u64) {
        let Some(pipeline) = self.performers.get(route.performer.0 as usize) else {
            return;
        };
        let mut pipeline = lock(pipeline);
        let mut frame = match &mut pipeline.merger {
            Some(merger) => {
                merger.update(route.slot, frame);
                merger.compose(now_us)
            }
            None => frame,
        };
        self.calibrations.process(&mut frame);
        if route.filtered {
            pipeline
                .filter
                .apply(&mut frame, &self.filters.get(route.kind));
        }
        self.bus.publish(&frame, now_us);
    }
}
