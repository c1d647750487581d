//! A small pure-Rust TFLite interpreter for MediaPipe's face models.
//!
//! Doc: see the crate README section below (filled in later).

mod custom;
mod flatbuf;
mod flex;
mod gemm;
mod interp;
mod model;
mod ops;

pub use interp::Interpreter;
pub use model::{MAX_ARENA_ELEMENTS, MAX_NODES, MAX_TENSOR_ELEMENTS, Model};

/// Why a model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes are not a well-formed TFLite flatbuffer (or custom options).
    #[error("malformed model: {0}")]
    Malformed(&'static str),
    /// Well-formed, but uses something this interpreter does not implement.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A size limit was exceeded.
    #[error("limit exceeded: {0}")]
    Limit(&'static str),
    /// A tensor's declared shape differs from the one its operator produces.
    #[error("tensor '{tensor}': declared shape {declared:?}, operator produces {computed:?}")]
    ShapeMismatch {
        tensor: String,
        declared: Vec<usize>,
        computed: Vec<usize>,
    },
    /// A bug in the interpreter's planning (never expected).
    #[error("internal error: {0}")]
    Internal(&'static str),
}
