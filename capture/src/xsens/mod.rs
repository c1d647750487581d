//! Xsens MVN (Analyze/Animate) network streamer: big-endian `MXTP` datagrams over UDP
//! (`packet`), type 02 (global segment positions and quaternions, 23 body segments, 1-based),
//! several characters per port, samples split over datagrams put back together. Z-up converted
//! once ([`convention`]); metres or centimetres as each sample says.

pub mod convention;
pub mod fixture;
pub mod packet;
pub mod skeleton;
mod source;

pub use packet::{Header, SegmentPose, XsensError, parse_header, pose_segments};
pub use source::{DEFAULT_XSENS_PORT, XsensConfig, XsensSource, XsensStats};
