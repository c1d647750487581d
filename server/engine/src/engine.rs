//! [`Engine`]: performers, the routes of source streams into them, and the timer.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use kagura_calibration::{
    CalibrationCapture, CalibrationKind, ExpressionMap, PerformerCalibration,
};

use crate::triggers::{ExpressionTrigger, Triggers};
use kagura_capture::{SourceFrame, StreamSpec};
use kagura_filter::PoseFilter;
use kagura_merge::PoseMerger;
use kagura_protocol::PerformerId;
use kagura_skeleton::body_solver::{BodyProportions, BodySolver, TrackerCalibration, is_body_set};
use kagura_skeleton::solve::solve_sensors;

use crate::bus::{PerformerSlot, PoseBus};
use crate::filters::FilterControl;
use crate::lock;

/// How a performer moves between sources: a silent source's parts hold for `hold_us`, then
/// ease to the next source (or rest) over `ease_us`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MergeTiming {
    pub hold_us: u64,
    pub ease_us: u64,
}

/// One performer: the merge of its sources and its calibration, publishing to its bus slot.
pub struct Performer {
    pub id: PerformerId,
    pub name: String,
    slot: Arc<PerformerSlot>,
    state: Mutex<PerformerState>,
}

struct PerformerState {
    merger: PoseMerger,
    calibration: PerformerCalibration,
    /// The first standing hips height a stream declared (its frames' units).
    declared_hips: Option<f32>,
    /// Hips heights of the first frames, while nothing better is known.
    observed_hips: Vec<f32>,
    /// A calibration capture in progress, fed every raw source frame.
    capture: Option<CalibrationCapture>,
    /// Whether a calibration procedure holds this performer (its countdown included).
    calibrating: bool,
    /// VRM presets derived from ARKit channels.
    expression_map: ExpressionMap,
    /// Counts calibration changes, so that routes know when to reload theirs.
    calibration_generation: u64,
    /// Expressions fired from outside, over tracking.
    triggers: Triggers,
}

/// Frames whose hips height is averaged (median) when nothing better tells the standing hips
/// height: one second at 60 Hz.
const OBSERVED_HIPS_SAMPLES: usize = 60;

impl PerformerState {
    /// The leg proportions the body solver places hips with: the measured leg, else the
    /// height, else the hips height a source declared, else the default table's adult.
    fn body_proportions(&self) -> BodyProportions {
        let c = &self.calibration;
        c.leg_length_m
            .map(BodyProportions::from_leg_length)
            .or(c.height_m.map(BodyProportions::from_height))
            .or(self.declared_hips.map(BodyProportions::from_hips_height))
            .unwrap_or_default()
    }

    /// The standing hips height in the frames' units: calibrated, else declared by a source,
    /// else the median of the first frames' hips heights, else the bus's default.
    fn hips_reference(&self) -> Option<f32> {
        self.calibration
            .standing_hips_height_m()
            .or(self.declared_hips)
            .or_else(|| {
                let mut seen = self.observed_hips.clone();
                seen.sort_by(f32::total_cmp);
                seen.get(seen.len() / 2).copied()
            })
    }
}

impl PerformerState {
    /// When the performer's pose next changes without a frame: a merge hold or fade stepping,
    /// or a fired expression moving.
    fn next_change_us(&self) -> Option<u64> {
        match (self.merger.next_change_us(), self.triggers.next_change_us()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl Performer {
    /// Tells the bus (and so subscribers) the performer's standing hips height.
    fn publish_hips_reference(&self, bus: &PoseBus, state: &PerformerState) {
        if let Some(h) = state.hips_reference() {
            bus.set_hips_height(self.id, h);
        }
    }

    /// Merges what the sources have at `now_us`, calibrates and publishes.
    fn compose_and_publish(&self, state: &mut PerformerState, now_us: u64) {
        let mut out = state.merger.compose(now_us);
        out.performer = self.id;
        state.calibration.apply_performer(&mut out);
        state.expression_map.apply(&mut out);
        state.triggers.apply(&mut out, now_us);
        self.slot.publish(&out, now_us);
    }

    /// How this performer's VRM presets are derived from ARKit channels.
    pub fn expression_map(&self) -> ExpressionMap {
        lock(&self.state).expression_map.clone()
    }

    /// Replaces the expression map; the next frame uses it.
    pub fn set_expression_map(&self, map: ExpressionMap) {
        lock(&self.state).expression_map = map;
    }

    pub fn calibration(&self) -> PerformerCalibration {
        lock(&self.state).calibration.clone()
    }

    /// Replaces the calibration. The caller tells the bus of a changed hips height with
    /// [`Engine::set_calibration`]; this is the engine-internal half.
    fn replace_calibration(&self, calibration: PerformerCalibration) -> Option<f32> {
        let mut state = lock(&self.state);
        state.calibration = calibration;
        state.calibration_generation += 1;
        state.hips_reference()
    }

    /// Claims the performer for a calibration procedure; `false` if one is running already.
    /// The claim ends with [`Performer::end_calibration`].
    pub fn begin_calibration(&self) -> bool {
        let mut state = lock(&self.state);
        !std::mem::replace(&mut state.calibrating, true)
    }

    /// Starts feeding raw frames to a capture of `kind`.
    pub fn start_capture(&self, kind: CalibrationKind) {
        lock(&self.state).capture = Some(CalibrationCapture::new(kind));
    }

    /// Ends the procedure: returns the capture (if one ran) and releases the claim.
    pub fn end_calibration(&self) -> Option<CalibrationCapture> {
        let mut state = lock(&self.state);
        state.calibrating = false;
        state.capture.take()
    }

    /// Whether a calibration procedure holds the performer now (read only: claims nothing).
    pub fn is_calibrating(&self) -> bool {
        lock(&self.state).calibrating
    }

    /// The performer's bus slot (its newest frame, its subscribers).
    pub fn slot(&self) -> &Arc<PerformerSlot> {
        &self.slot
    }
}

/// One source stream's way into its performer, owned by the source's shell: the per-source
/// chain (sensors solved to bones, mounting, then this stream's own filter state) and its merge
/// slot. Dropping it
/// removes the stream from the performer, whose parts then move on as if it had gone silent.
///
/// Sensors are solved by the simple placement (`solve_sensors`: each sensed bone where its
/// sensor says, the others as the frame has them) until a frame's sensors form a body set
/// (`kagura_skeleton::body_solver::is_body_set`: a thigh or shin and three torso or leg
/// trackers, as a SlimeVR suit sends); from then on the stream has its own `BodySolver` (every
/// body bone, hips over the feet, lost trackers eased), kept while the route lives so that a
/// tracker dropping out eases rather than switching solvers.
pub struct StreamRoute {
    performer: Arc<Performer>,
    /// The stream's stable key: its mounting is kept under it.
    key: String,
    merge_slot: usize,
    kind: &'static str,
    filtered: bool,
    filter: PoseFilter,
    /// The body solver, once the stream's sensors formed a body set, and the performer's
    /// calibration generation it was given.
    body: Option<(Box<BodySolver>, u64)>,
}

impl StreamRoute {
    pub fn performer(&self) -> &Arc<Performer> {
        &self.performer
    }
}

impl Drop for StreamRoute {
    fn drop(&mut self) {
        lock(&self.performer.state)
            .merger
            .remove_source(self.merge_slot);
    }
}

/// All performers and their pipelines. See the crate documentation for the path.
pub struct Engine {
    bus: Arc<PoseBus>,
    filters: Arc<FilterControl>,
    timing: MergeTiming,
    /// The deadline [`Engine::poll_timeout`] last gave (µs; `u64::MAX`: none), so that a frame
    /// that makes an earlier one can wake the timer.
    timer_due: AtomicU64,
    /// Called when a deadline earlier than `timer_due` appears.
    wake_timer: Mutex<Option<Box<dyn Fn() + Send + Sync>>>,
    /// By id; the bus keeps the order performers were added in.
    performers: RwLock<BTreeMap<PerformerId, Arc<Performer>>>,
}

impl Engine {
    pub fn new(bus: Arc<PoseBus>, filters: Arc<FilterControl>, timing: MergeTiming) -> Self {
        Engine {
            bus,
            filters,
            timing,
            timer_due: AtomicU64::new(u64::MAX),
            wake_timer: Mutex::new(None),
            performers: RwLock::new(BTreeMap::new()),
        }
    }

    /// Registers what wakes the timer's shell when a frame makes a deadline earlier than the
    /// one [`Engine::poll_timeout`] last gave (the shell then polls again). Without it, the
    /// shell must poll after every frame.
    pub fn on_earlier_deadline(&self, wake: impl Fn() + Send + Sync + 'static) {
        *lock(&self.wake_timer) = Some(Box::new(wake));
    }

    /// Tells the timer's shell of `performer`'s next deadline if it is the earliest.
    fn note_deadline(&self, state: &PerformerState) {
        if let Some(due) = state.next_change_us()
            && due < self.timer_due.load(Ordering::Acquire)
        {
            self.timer_due.store(due, Ordering::Release);
            if let Some(wake) = &*lock(&self.wake_timer) {
                wake();
            }
        }
    }

    pub fn bus(&self) -> &Arc<PoseBus> {
        &self.bus
    }

    pub fn filters(&self) -> &Arc<FilterControl> {
        &self.filters
    }

    /// The performer named `name`, added if new. Its id is derived from its name (so it does
    /// not depend on config order and stays the same across restarts), moved to the next free
    /// id only if another performer holds it.
    pub fn add_performer(&self, name: &str) -> Arc<Performer> {
        let mut performers = self.performers.write().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = performers.values().find(|p| p.name == name) {
            return p.clone();
        }
        let mut id = id_for_name(name);
        while performers.contains_key(&PerformerId(id)) {
            id = id.wrapping_add(1);
        }
        let id = PerformerId(id);
        let performer = Arc::new(Performer {
            id,
            name: name.to_string(),
            slot: self.bus.add(id, name),
            state: Mutex::new(PerformerState {
                merger: PoseMerger::new(id, Vec::new(), self.timing.hold_us, self.timing.ease_us),
                calibration: PerformerCalibration::default(),
                declared_hips: None,
                observed_hips: Vec::new(),
                capture: None,
                calibrating: false,
                expression_map: ExpressionMap::default(),
                calibration_generation: 0,
                triggers: Triggers::default(),
            }),
        });
        performers.insert(id, performer.clone());
        performer
    }

    /// Removes a performer: its subscribers lose it, its routes keep running into nothing
    /// until their sources are dropped.
    pub fn remove_performer(&self, id: PerformerId) -> bool {
        let removed = self
            .performers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id)
            .is_some();
        if removed {
            self.bus.remove(id);
        }
        removed
    }

    pub fn performer(&self, id: PerformerId) -> Option<Arc<Performer>> {
        self.performers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned()
    }

    pub fn performer_named(&self, name: &str) -> Option<Arc<Performer>> {
        self.bus.id_of(name).and_then(|id| self.performer(id))
    }

    /// Fires an expression for `performer` at `now_us` (see [`Triggers`]); the engine's timer
    /// moves it even while no source sends.
    pub fn trigger_expression(
        &self,
        performer: &Performer,
        trigger: ExpressionTrigger,
        now_us: u64,
    ) {
        let mut state = lock(&performer.state);
        state.triggers.fire(trigger, now_us);
        self.note_deadline(&state);
    }

    /// Sets a performer's calibration (its standing hips height goes to subscribers).
    pub fn set_calibration(&self, performer: &Performer, calibration: PerformerCalibration) {
        if let Some(h) = performer.replace_calibration(calibration) {
            self.bus.set_hips_height(performer.id, h);
        }
    }

    /// Routes a source's stream into its performer (added if new).
    pub fn attach_stream(&self, spec: &StreamSpec, kind: &'static str) -> StreamRoute {
        let performer = self.add_performer(&spec.performer);
        let merge_slot = {
            let mut state = lock(&performer.state);
            if state.declared_hips.is_none() {
                state.declared_hips = spec.hips_height_m;
                performer.publish_hips_reference(&self.bus, &state);
            }
            state.merger.add_source(spec.role.clone())
        };
        StreamRoute {
            performer,
            key: spec.key.clone(),
            merge_slot,
            kind,
            filtered: spec.filtered,
            filter: PoseFilter::default(),
            body: None,
        }
    }

    /// Whether `route`'s frames are filtered now (its own switch and its kind's settings).
    pub fn is_filtered(&self, route: &StreamRoute) -> bool {
        route.filtered && self.filters.get(route.kind).enabled
    }

    /// One whole frame of a source stream, through its chain and its performer, published.
    /// `now_us` is the server's monotonic clock.
    pub fn submit(&self, route: &mut StreamRoute, frame: SourceFrame, now_us: u64) {
        let SourceFrame {
            mut pose,
            arrival_us,
            sensors,
        } = frame;
        pose.performer = route.performer.id;
        let performer = route.performer.clone();
        let mut state = lock(&performer.state);
        let state = &mut *state;
        if let Some(capture) = &mut state.capture {
            capture.add_source(&route.key, &pose, &sensors);
        }
        if route.body.is_some() || is_body_set(&sensors) {
            let generation = state.calibration_generation;
            let tracker_calibration = || {
                let m = state.calibration.source(&route.key);
                TrackerCalibration::new(&m.sensor_mountings, &m.sensor_headings)
            };
            let (body, seen) = route.body.get_or_insert_with(|| {
                let solver = BodySolver::new(state.body_proportions(), tracker_calibration());
                (Box::new(solver), generation)
            });
            if *seen != generation {
                body.set_calibration(tracker_calibration());
                body.set_proportions(state.body_proportions());
                *seen = generation;
            }
            body.solve(&sensors, arrival_us, &mut pose);
        } else {
            solve_sensors(
                &sensors,
                state.calibration.sensor_mountings(&route.key),
                &mut pose,
            );
        }
        if let Some(hips) = pose.hips_position
            && state.observed_hips.len() < OBSERVED_HIPS_SAMPLES
            && (0.2..=3.0).contains(&hips.y)
        {
            state.observed_hips.push(hips.y);
            if matches!(state.observed_hips.len(), 10 | OBSERVED_HIPS_SAMPLES) {
                performer.publish_hips_reference(&self.bus, state);
            }
        }
        state.calibration.apply_mounting(&route.key, &mut pose);
        if let Some(capture) = &mut state.capture {
            capture.add_mounted(&pose);
        }
        if route.filtered {
            route.filter.apply(&mut pose, &self.filters.get(route.kind));
        }
        state.merger.update(route.merge_slot, pose, arrival_us);
        performer.compose_and_publish(state, now_us);
        self.note_deadline(state);
    }

    /// When [`Engine::handle_timeout`] is next due, µs: a hold running out or a cross-fade
    /// stepping, for any performer. `None`: not until a frame arrives.
    pub fn poll_timeout(&self) -> Option<u64> {
        let due = self
            .performers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter_map(|p| lock(&p.state).next_change_us())
            .min();
        self.timer_due
            .store(due.unwrap_or(u64::MAX), Ordering::Release);
        due
    }

    /// Recomposes and publishes every performer whose pose changes by `now_us` without a frame
    /// (a silent source holding, then easing to the next source or to rest).
    pub fn handle_timeout(&self, now_us: u64) {
        let performers: Vec<Arc<Performer>> = self
            .performers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        for performer in performers {
            let mut state = lock(&performer.state);
            if state.next_change_us().is_some_and(|t| t <= now_us) {
                performer.compose_and_publish(&mut state, now_us);
            }
            self.note_deadline(&state);
        }
    }
}

/// A performer's preferred id: FNV-1a of its name, folded to 16 bits.
fn id_for_name(name: &str) -> u16 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in name.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    ((hash >> 16) ^ (hash & 0xffff)) as u16
}

#[cfg(test)]
mod tests;
