//! Rokoko Studio Live (Smartsuit Pro, Smartgloves, face from the iPhone app), JSON v3 over
//! UDP, LZ4-framed or plain ([`parser`]): actors' 63 body and finger joints in world space
//! against Studio's T-pose ([`skeleton`]), 52 face blendshapes, Studio 2's newtons and
//! characters (named joint lists with parents). Unity's axes, converted in [`convention`].

pub mod convention;
pub mod fixture;
pub mod parser;
pub mod skeleton;
mod source;

pub use parser::{RokokoError, RokokoFrame, parse};
pub use source::{
    ActorMap, DEFAULT_ROKOKO_PORT, MAX_ACTOR_PERFORMERS, RokokoConfig, RokokoSource, RokokoStats,
};
