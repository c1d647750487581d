//! OpenSeeFace (`facetracker.py`): webcam face tracking sent as fixed 1785-byte little-endian
//! records over UDP, several faces per datagram. Its camera-frame pose is converted in
//! [`convention`] only.

pub mod convention;
mod packet;
mod source;

pub use packet::{FEATURE_COUNT, Feature, OsfError, OsfRecord, RECORD_LEN, records};
pub use source::{DEFAULT_OSF_PORT, OpenSeeFaceConfig, OpenSeeFaceSource, OsfStats};
