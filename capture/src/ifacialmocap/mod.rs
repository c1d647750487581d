//! iFacialMocap's UDP text protocol, as sent by iFacialMocap, Facemotion3d and MeowFace (its
//! compatible mode): ARKit blend shapes in percent, head and eye Euler angles in degrees
//! (Unity's convention, converted in [`convention`] only), head position in metres.

pub mod convention;
mod parser;
mod source;

pub use parser::{IfmItems, MAX_DATAGRAM_LEN, ParseError, parse};
pub use source::{
    DEFAULT_IFM_PORT, IFacialMocapConfig, IFacialMocapSource, IfmStats, IfmVersion,
    START_STRING_V1, START_STRING_V2,
};
