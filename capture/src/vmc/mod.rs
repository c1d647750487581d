//! VMC (Virtual Motion Capture protocol, OSC over UDP), as sent by VSeeFace, XR Animator, the
//! VMC app, Webcam Motion Capture and SlimeVR. Unity space, converted in [`unity`] only.

mod decoder;
mod encoder;
mod framing;
mod message;
pub mod osc;
mod source;
pub mod unity;

pub use decoder::{MAX_DATAGRAM_LEN, VmcDecoder, VmcSenderStatus, VmcStats};
pub use encoder::{
    BONES_PER_BUNDLE, MAX_VMC_DATAGRAM, VmcNames, encode_vmc_frame, encode_vmc_frame_named,
};
pub use message::{ArgumentError, DeviceKind, VmcMessage};
pub use source::{DEFAULT_VMC_PORT, SenderMatch, VmcConfig, VmcSenderConfig, VmcSource};
