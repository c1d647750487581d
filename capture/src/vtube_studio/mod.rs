//! VTube Studio's phone tracking protocol (VTube Studio on iOS and Android, MeowFace): Kagura
//! asks the phone for data with a small JSON request, the phone answers with one JSON object
//! per frame: ARKit blend shapes 0..1, head and eye angles in degrees (Unity's convention,
//! converted in [`convention`] only), a face-found flag and its own timestamp.

pub mod convention;
mod parser;
mod source;

pub use parser::{MAX_DATAGRAM_LEN, VtsData, VtsParseError, parse};
pub use source::{
    DEFAULT_VTS_PHONE_PORT, DEFAULT_VTS_PORT, REQUEST_INTERVAL_US, VtsStats, VtubeStudioConfig,
    VtubeStudioSource, request,
};
