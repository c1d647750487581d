//! Sony mocopi: six IMUs fused on a phone into a 27-bone body, sent as boxes over UDP
//! (`packet`): a skeleton definition (rest offsets) and frames (local rotations, the root's
//! position, the phone's time). Retargeted from the phone's own skeleton ([`skeleton`]); its
//! axes are glTF's already ([`convention`]).

pub mod convention;
pub mod fixture;
pub mod packet;
pub mod skeleton;
mod source;

pub use packet::{MocopiError, Packet, parse};
pub use source::{DEFAULT_MOCOPI_PORT, MocopiConfig, MocopiSource, MocopiStats};
