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
//! weights are packed into column panels of a `(ky, kx, ci) × co` matrix (16
//! output channels per panel, the last one 8 wide when that covers the
//! rest), `CONV_2D → ADD → RELU → PRELU` chains (the models' residual
//! blocks; any suffix may be missing) are fused into one step whose GEMM
//! epilogue adds bias, residual and applies the activations and PReLU, and
//! all activations are placed in one arena by lifetime (tensors alive at
//! the same time never share memory). Single-threaded.
//!
//! # Kernels
//! On x86-64 with AVX2 and FMA (detected at run time) the hot kernels are
//! explicit `std::arch` code; `unsafe` is confined to them, each block with
//! a `SAFETY` comment, behind safe wrappers that assert the slice sizes.
//! Elsewhere portable Rust kernels with the same blocking run, and unit
//! tests check the two agree.
//! - GEMM: a 6 × 16 tile of the output (pixels × output channels) in twelve
//!   `ymm` registers; the K loop loads one panel row (two vectors),
//!   broadcasts one input value per pixel and issues two FMAs each; the
//!   epilogue runs on the registers before a single (masked, at the edges)
//!   store.
//! - Convolutions: 1×1 is a GEMM straight on the input. Others read the GEMM
//!   operand straight from the input in each output row's interior (one
//!   contiguous run of `kw · ci` values per kernel row, no im2col copy);
//!   only border pixels and horizontally dilated convolutions use im2col.
//! - Depthwise: 8 channels per vector; the interior of 3×3 / 5×5 (strides 1
//!   and 2) keeps the weights in registers and computes four pixels at a
//!   time, loading each input vector once for all the pixels it feeds;
//!   borders and channel tails take a clipped, masked path.
//! - Max pool: the taps of each pixel reduced in a register.
//!
//! Median ms per invoke, one thread, on the (shared, loaded) development
//! machine, `cargo bench -p kagura-tflite`, with LiteRT 1-thread XNNPACK in
//! the same run for comparison:
//!
//! | model | before these kernels | now | LiteRT |
//! |---|---|---|---|
//! | `face_detection_short_range` | 2.51 | 1.14 | 1.02 |
//! | `face_landmark` | 3.45 | 1.25 | 1.15 |
//! | `face_landmark_with_attention` | 6.91 | 1.60 | — |
//!
//! `cargo run --release --example profile -- MODEL.tflite` prints the median
//! time of each kind of step.
//!
//! # Totality
//! Any bytes give a [`Model`] or an [`Error`], never a panic: every offset,
//! index and size is checked before use, declared shapes must equal the
//! shapes the operators compute, and tensors, arena and node counts are
//! capped ([`MAX_TENSOR_ELEMENTS`], [`MAX_ARENA_ELEMENTS`], [`MAX_NODES`]).
//! A model that loads runs without panicking.

mod act;
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
