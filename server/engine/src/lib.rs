//! Kagura's per-frame path, pure enough to run under a virtual clock:
//!
//! ```text
//! per source stream:  mounting ─► its own filter            (StreamRoute)
//! per performer:      merge ─► heading, proportions, face ─► publish   (Performer)
//!                     publish ─► PoseBus ─► every FrameSink
//! ```
//!
//! - [`engine::Engine`]: the performers (added and removed while running, with stable ids),
//!   the routes of source streams into them, and the timer that lets silence be noticed.
//! - [`bus::PoseBus`]: each performer's newest frame, encoded once, offered to subscribers.
//! - [`filters::FilterControl`]: live filter settings per kind of source.
//! - [`triggers::Triggers`]: expressions fired from outside, rising, holding and falling over
//!   tracking.
//!
//! Architecture invariant: no tokio, no sockets, no clock. Time is an argument (`now_us`, on
//! the server's monotonic clock); time-driven work is asked for with
//! [`engine::Engine::poll_timeout`] and done in [`engine::Engine::handle_timeout`]. The same
//! frames at the same times give the same bytes.

pub mod bus;
pub mod engine;
pub mod filters;
pub mod rate;
pub mod triggers;

pub use bus::{FrameSink, PerformerSlot, PoseBus, PublishedFrame};
pub use engine::{Engine, MergeTiming, Performer, StreamRoute};
pub use filters::FilterControl;

/// Locks, recovering the data if a panicking thread poisoned the lock: one failed frame must
/// never take the server down.
pub fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
