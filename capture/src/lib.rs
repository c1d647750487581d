//! Tracking sources as sans-IO cores: bytes (plus their arrival time) in, [`PoseFrame`]s in the
//! internal convention and counted errors out.
//!
//! - [`source`]: the contract every source kind implements ([`source::Source`]).
//! - [`registry`]: every kind, registered in one place; the config's `[[source]]` entries.
//! - One module per kind: [`vmc`], [`bvh`], [`demo`], [`webcam`], the suits [`slimevr`],
//!   [`neuron`], [`mocopi`], [`rokoko`] and [`xsens`], the face trackers [`ifacialmocap`],
//!   [`vtube_studio`] and [`openseeface`] (sharing [`face`]). Each holds its parser, its
//!   convention conversion, its skeleton, its filter preset and its config section.
//!
//! Architecture invariant: no sockets, tasks, clocks or file access here; the server owns
//! those. Only each source's own module knows that source's axes, units and names.
//!
//! [`PoseFrame`]: kagura_protocol::PoseFrame

pub mod bvh;
mod config_section;
pub mod demo;
pub mod face;
pub mod ifacialmocap;
pub mod mocopi;
pub mod neuron;
pub mod openseeface;
pub mod registry;
pub mod rokoko;
pub mod sender_clock;
pub mod slimevr;
pub mod source;
pub mod ticker;
pub mod vmc;
pub mod vtube_studio;
pub mod webcam;
pub mod xsens;

pub use registry::{SourceConfig, source_kinds};
pub use source::{
    BuildEnv, Source, SourceAction, SourceEvent, SourceFrame, SourceInput, SourceIo,
    SourceKindSpec, SourceReport, StreamReport, StreamSpec, Transmit,
};
