//! A small, pure-Rust TFLite interpreter for MediaPipe's face models:
//! BlazeFace short range (`face_detection_short_range`), the face mesh
//! (`face_landmark`) and the mesh with attention (`face_landmark_with_attention`,
//! 478 points through its lips/eyes/iris heads).
//!
//! ```no_run
//! # fn main() -> Result<(), kagura_tflite::Error> {
//! # let bytes: Vec<u8> = Vec::new(); let pixels = vec![0.0f32; 192 * 192 * 3];
//! use kagura_tflite::{Interpreter, Model};
//! let model = Model::from_bytes(&bytes)?; // sans-IO: the caller reads the file
//! let mut interp = Interpreter::new(&model)?; // the only allocation
//! interp.input_mut(0).copy_from_slice(&pixels); // NHWC f32
//! interp.invoke()?; // allocates nothing
//! let mesh: &[f32] = interp.output(0);
//! let shape = interp.output_shape(0);
//! # let _ = (mesh, shape, interp.output_names()); Ok(()) }
//! ```
//!
//! # Why it exists
//! `tract-tflite` cannot load these models (no fp16 `DEQUANTIZE`, no
//! `PRELU`), and Google's LiteRT needs a C++ shared library that the default
//! build cannot assume. This crate has no C/C++ and one dependency
//! (`thiserror`).
//!
//! # What it supports
//! Subgraph 0 of a TFLite flatbuffer (read by a small bounds-checked reader
//! with the field ids of `tensorflow/lite/schema/schema.fbs`), f32
//! activations, and these operators:
//! `CONV_2D`, `DEPTHWISE_CONV_2D` (any multiplier), `MAX_POOL_2D` (SAME /
//! VALID, strides, dilation, fused NONE / RELU / RELU_N1_TO_1 / RELU6),
//! `ADD`, `MUL`, `PRELU` (numpy broadcasting), `RELU`, `RELU_N1_TO_1`,
//! `RELU6`, `PAD`, `RESHAPE`, `CONCATENATION`, `STRIDED_SLICE` (masks except
//! ellipsis / new axis), `DEQUANTIZE` of constant FLOAT16 tensors (folded at
//! load), and MediaPipe's custom `Landmarks2TransformMatrix`,
//! `TransformTensorBilinear` and `TransformLandmarks` (version 2, options
//! read from FlexBuffers). Anything else is [`Error::Unsupported`].
//!
//! # Layout and execution
//! Tensors are NHWC f32. At load, fp16 constants become f32, convolution
//! weights are packed into 16-column panels of a `(ky, kx, ci) × co` matrix,
//! `CONV_2D → ADD → PRELU` chains (the models' residual blocks) are fused
//! into one step whose GEMM epilogue adds bias, residual and PReLU, and all
//! activations are placed in one arena by lifetime (tensors alive at the
//! same time never share memory). 1×1 convolutions are a GEMM straight on
//! the input; other convolutions go through im2col in blocks of 96 rows;
//! depthwise convolutions accumulate each pixel's taps for 8 channels in
//! registers. Kernels are plain Rust written for auto-vectorisation and
//! built twice, portable and AVX2+FMA (chosen at run time). Single-threaded.
//!
//! # Totality
//! Any bytes give a [`Model`] or an [`Error`], never a panic: every offset,
//! index and size is checked before use, declared shapes must equal the
//! shapes the operators compute, and tensors, arena and node counts are
//! capped ([`MAX_TENSOR_ELEMENTS`], [`MAX_ARENA_ELEMENTS`], [`MAX_NODES`]).
//! A model that loads runs without panicking.

mod custom;
mod flatbuf;
mod flex;
mod gemm;
mod interp;
mod model;
mod ops;
mod simd;

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
