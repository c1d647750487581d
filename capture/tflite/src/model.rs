//! Loading: parse the flatbuffer, validate every shape and index, fold the
//! fp16 → f32 DEQUANTIZE of constants, pack weights, fuse conv → add →
//! PReLU chains, and plan one arena for all activations.

use std::collections::HashMap;

use crate::Error;
use crate::act::Act;
use crate::custom::{L2tm, Tl, Ttb};
use crate::flatbuf::{Buf, Table};
use crate::gemm::PackedB;
use crate::ops::{self, Bcast, BinOp, RANK, Window};

/// Largest number of elements in one tensor.
pub const MAX_TENSOR_ELEMENTS: usize = 1 << 24;
/// Largest arena (all activations, in f32 elements).
pub const MAX_ARENA_ELEMENTS: usize = 1 << 26;
/// Largest number of tensors or operators in a subgraph.
pub const MAX_NODES: usize = 1 << 14;
/// Largest kernel / stride / dilation / padding accepted.
const MAX_WINDOW: usize = 1 << 12;

fn bad(what: &'static str) -> Error {
    Error::Malformed(what)
}

/// Where a tensor's values live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Loc {
    /// Before planning: tensor index in the subgraph.
    Tensor(usize),
    /// After planning: offset in the arena.
    Arena(usize),
    /// Index into [`Model::consts`].
    Const(usize),
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Val {
    pub(crate) loc: Loc,
    pub(crate) len: usize,
}

#[derive(Debug)]
pub(crate) enum Kind {
    Conv {
        g: Window,
        w: PackedB,
        bias: Vec<f32>,
        act: Act,
        /// `ins[1]` is a residual added after `act`, then `post_act`.
        residual: bool,
        post_act: Act,
        prelu: Option<Vec<f32>>,
    },
    Depthwise {
        g: Window,
        w: Vec<f32>,
        bias: Vec<f32>,
        act: Act,
    },
    MaxPool {
        g: Window,
        act: Act,
    },
    Binary {
        op: BinOp,
        bc: Bcast,
        act: Act,
    },
    Unary(Act),
    Pad {
        in_shape: [usize; RANK],
        out_shape: [usize; RANK],
        before: [usize; RANK],
    },
    Copy,
    Concat {
        outer: usize,
        inners: Vec<usize>,
    },
    Slice {
        in_shape: [usize; RANK],
        out_shape: [usize; RANK],
        begin: [usize; RANK],
        step: [isize; RANK],
    },
    L2tm(L2tm),
    Ttb(Ttb),
    Tl(Tl),
}

#[derive(Debug)]
pub(crate) struct Step {
    pub(crate) ins: Vec<Val>,
    pub(crate) out: Val,
    pub(crate) kind: Kind,
}

/// A graph input or output.
#[derive(Clone, Debug)]
pub(crate) struct Port {
    pub(crate) name: String,
    pub(crate) shape: Vec<usize>,
    pub(crate) val: Val,
}

/// A loaded, validated and planned model. Immutable; share it between
/// [`crate::Interpreter`]s.
#[derive(Debug)]
pub struct Model {
    pub(crate) consts: Vec<Vec<f32>>,
    pub(crate) steps: Vec<Step>,
    pub(crate) inputs: Vec<Port>,
    pub(crate) outputs: Vec<Port>,
    pub(crate) arena_len: usize,
    pub(crate) scratch_len: usize,
    pub(crate) ops_seen: Vec<String>,
}

struct TensorDesc<'a> {
    shape: Vec<usize>,
    ty: i8,
    data: Option<&'a [u8]>,
    name: &'a str,
}

const FLOAT32: i8 = 0;
const FLOAT16: i8 = 1;
const INT32: i8 = 2;

fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let man = (h & 0x3ff) as u32;
    let bits = if exp == 0 {
        if man == 0 {
            sign
        } else {
            // Subnormal: value = man · 2^-24.
            let v = man as f32 * (1.0 / 16_777_216.0);
            return if sign != 0 { -v } else { v };
        }
    } else if exp == 31 {
        sign | 0x7f80_0000 | (man << 13)
    } else {
        sign | ((exp + 112) << 23) | (man << 13)
    };
    f32::from_bits(bits)
}

fn act_of(code: u8) -> Result<Act, Error> {
    Ok(match code {
        0 => Act::None,
        1 => Act::Relu,
        2 => Act::ReluN1To1,
        3 => Act::Relu6,
        _ => return Err(Error::Unsupported(format!("fused activation {code}"))),
    })
}

fn window_dim(v: i32, what: &'static str) -> Result<usize, Error> {
    if v < 1 || v as usize > MAX_WINDOW {
        return Err(bad(what));
    }
    Ok(v as usize)
}

/// Output size and leading padding (TFLite's SAME/VALID rules).
fn out_and_pad(
    input: usize,
    k: usize,
    stride: usize,
    dil: usize,
    same: bool,
) -> Result<(usize, usize), Error> {
    let eff = (k - 1) * dil + 1;
    let out = if same {
        input.div_ceil(stride)
    } else {
        if input < eff {
            return Err(bad("VALID window larger than input"));
        }
        (input - eff) / stride + 1
    };
    let total = ((out - 1) * stride + eff).saturating_sub(input);
    Ok((out, total / 2))
}

struct Builder<'a> {
    tensors: Vec<TensorDesc<'a>>,
    consts: Vec<Vec<f32>>,
    /// Tensor index → constant index (f32 constants, including folded ones).
    const_of: HashMap<usize, usize>,
    /// Tensor has a value: constant, graph input, or produced by an earlier op.
    defined: Vec<bool>,
    steps: Vec<Step>,
    scratch_len: usize,
}

impl<'a> Builder<'a> {
    fn tensor(&self, t: i32) -> Result<&TensorDesc<'a>, Error> {
        usize::try_from(t)
            .ok()
            .and_then(|t| self.tensors.get(t))
            .ok_or(bad("tensor index out of range"))
    }
    fn shape(&self, t: i32) -> Result<&[usize], Error> {
        Ok(&self.tensor(t)?.shape)
    }

    /// A constant f32 tensor, materialised once.
    fn constant(&mut self, t: i32) -> Result<Option<usize>, Error> {
        let d = self.tensor(t)?;
        let ti = t as usize;
        if let Some(&c) = self.const_of.get(&ti) {
            return Ok(Some(c));
        }
        let Some(data) = d.data else { return Ok(None) };
        if d.ty != FLOAT32 {
            return Err(Error::Unsupported(format!(
                "constant tensor '{}' of type {}",
                d.name, d.ty
            )));
        }
        if data.len() != numel(&d.shape) * 4 {
            return Err(bad("constant buffer size does not match its shape"));
        }
        let v = data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        self.consts.push(v);
        self.const_of.insert(ti, self.consts.len() - 1);
        Ok(Some(self.consts.len() - 1))
    }

    fn const_f32(&mut self, t: i32, what: &'static str) -> Result<Vec<f32>, Error> {
        match self.constant(t)? {
            Some(c) => Ok(self.consts[c].clone()),
            None => Err(Error::Unsupported(format!("{what} must be a constant"))),
        }
    }

    fn const_i32(&self, t: i32) -> Result<Vec<i32>, Error> {
        let d = self.tensor(t)?;
        match (d.ty, d.data) {
            (INT32, Some(data)) if data.len() == numel(&d.shape) * 4 => Ok(data
                .chunks_exact(4)
                .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()),
            _ => Err(Error::Unsupported(
                "expected a constant INT32 tensor".into(),
            )),
        }
    }

    /// A value an op reads: a constant or an already-defined f32 activation.
    fn read(&mut self, t: i32) -> Result<Val, Error> {
        let len = numel(self.shape(t)?);
        if let Some(c) = self.constant(t)? {
            return Ok(Val {
                loc: Loc::Const(c),
                len,
            });
        }
        let ti = t as usize;
        if !self.defined[ti] {
            return Err(bad("operator reads a tensor before it is written"));
        }
        if self.tensors[ti].ty != FLOAT32 {
            return Err(Error::Unsupported("non-float activation".into()));
        }
        Ok(Val {
            loc: Loc::Tensor(ti),
            len,
        })
    }

    /// The value an op writes; its declared shape must equal `expect` (if given).
    fn write(&mut self, t: i32, expect: Option<&[usize]>) -> Result<Val, Error> {
        let d = self.tensor(t)?;
        let ti = t as usize;
        if d.data.is_some() || self.defined[ti] || self.const_of.contains_key(&ti) {
            return Err(bad("operator output is a constant or already written"));
        }
        if d.ty != FLOAT32 {
            return Err(Error::Unsupported("non-float output".into()));
        }
        if let Some(e) = expect
            && d.shape != e
        {
            return Err(Error::ShapeMismatch {
                tensor: d.name.to_string(),
                declared: d.shape.clone(),
                computed: e.to_vec(),
            });
        }
        let len = numel(&d.shape);
        self.defined[ti] = true;
        Ok(Val {
            loc: Loc::Tensor(ti),
            len,
        })
    }

    fn push(&mut self, ins: Vec<Val>, out: Val, kind: Kind) {
        self.steps.push(Step { ins, out, kind });
    }
}

fn input(ins: &[i32], i: usize) -> Result<i32, Error> {
    ins.get(i)
        .copied()
        .ok_or(bad("operator has too few inputs"))
}

fn rank4(s: &[usize]) -> Result<[usize; 4], Error> {
    s.try_into()
        .map_err(|_| Error::Unsupported("expected a 4-D NHWC tensor".into()))
}

fn broadcast_shape(a: &[usize], b: &[usize]) -> Result<[usize; RANK], Error> {
    let (pa, pb) = (ops::pad_shape(a), ops::pad_shape(b));
    let mut out = [1; RANK];
    for d in 0..RANK {
        out[d] = match (pa[d], pb[d]) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return Err(bad("shapes do not broadcast")),
        };
    }
    Ok(out)
}

fn plan_bcast(a: &[usize], b: &[usize], out: &[usize; RANK]) -> Bcast {
    let (pa, pb) = (ops::pad_shape(a), ops::pad_shape(b));
    let c = out[RANK - 1];
    if pa == *out && pb == *out {
        Bcast::Same
    } else if pa == *out && numel(b) == 1 {
        Bcast::ScalarB
    } else if pa == *out && pb[RANK - 1] == c && numel(b) == c {
        Bcast::ChannelB
    } else {
        Bcast::General {
            out: *out,
            sa: ops::broadcast_strides(&pa, out),
            sb: ops::broadcast_strides(&pb, out),
        }
    }
}

impl Model {
    /// Parses and prepares a `.tflite` model. Any bytes give either a model
    /// or an error; nothing is allocated beyond bounds checked against the
    /// input and the `MAX_*` limits.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, Error> {
        let buf = Buf { bytes };
        if bytes.len() >= 8 && &bytes[4..8] != b"TFL3" {
            return Err(bad("not a TFLite model (identifier is not TFL3)"));
        }
        let root = buf.root()?;
        let codes = root.tables(1)?.ok_or(bad("no operator codes"))?;
        let subgraphs = root.tables(2)?.ok_or(bad("no subgraphs"))?;
        let buffers = root.tables(4)?.ok_or(bad("no buffers"))?;
        if subgraphs.len() == 0 {
            return Err(bad("no subgraphs"));
        }
        let sg = subgraphs.get(0)?;
        let tensors_t = sg.tables(0)?.ok_or(bad("no tensors"))?;
        let ops_t = sg.tables(3)?.ok_or(bad("no operators"))?;
        if tensors_t.len() > MAX_NODES || ops_t.len() > MAX_NODES {
            return Err(Error::Limit("too many tensors or operators"));
        }

        let mut tensors = Vec::with_capacity(tensors_t.len());
        for i in 0..tensors_t.len() {
            let t = tensors_t.get(i)?;
            let shape = match t.i32s(0)? {
                Some(s) => s.to_vec()?,
                None => Vec::new(),
            };
            if shape.len() > RANK {
                return Err(Error::Unsupported(format!(
                    "tensor of rank {}",
                    shape.len()
                )));
            }
            let mut n: usize = 1;
            let mut dims = Vec::with_capacity(shape.len());
            for &d in &shape {
                if d < 1 {
                    return Err(Error::Unsupported(
                        "dynamic or empty tensor dimension".into(),
                    ));
                }
                n = n
                    .checked_mul(d as usize)
                    .ok_or(Error::Limit("tensor too large"))?;
                if n > MAX_TENSOR_ELEMENTS {
                    return Err(Error::Limit("tensor too large"));
                }
                dims.push(d as usize);
            }
            let ty = t.u8_or(1, 0)? as i8;
            let bi = t.u32_or(2, 0)? as usize;
            let data = if bi == 0 {
                None
            } else {
                if bi >= buffers.len() {
                    return Err(bad("buffer index out of range"));
                }
                buffer_data(&buffers.get(bi)?, bytes)?
            };
            let name = t.string(3)?.unwrap_or("");
            tensors.push(TensorDesc {
                shape: dims,
                ty,
                data,
                name,
            });
        }

        let graph_inputs = sg.i32s(1)?.ok_or(bad("no inputs"))?.to_vec()?;
        let graph_outputs = sg.i32s(2)?.ok_or(bad("no outputs"))?.to_vec()?;
        let mut b = Builder {
            defined: vec![false; tensors.len()],
            tensors,
            consts: Vec::new(),
            const_of: HashMap::new(),
            steps: Vec::new(),
            scratch_len: 0,
        };
        let mut inputs = Vec::new();
        for &t in &graph_inputs {
            let d = b.tensor(t)?;
            if d.ty != FLOAT32 || d.data.is_some() {
                return Err(Error::Unsupported(
                    "graph input must be a float activation".into(),
                ));
            }
            if b.defined[t as usize] {
                return Err(bad("graph input listed twice"));
            }
            let (name, shape) = (d.name.to_string(), d.shape.clone());
            b.defined[t as usize] = true;
            let len = numel(&shape);
            inputs.push(Port {
                name,
                shape,
                val: Val {
                    loc: Loc::Tensor(t as usize),
                    len,
                },
            });
        }

        let mut ops_seen: Vec<String> = Vec::new();
        for i in 0..ops_t.len() {
            let op = ops_t.get(i)?;
            let ci = op.u32_or(0, 0)? as usize;
            if ci >= codes.len() {
                return Err(bad("opcode index out of range"));
            }
            let code = codes.get(ci)?;
            let builtin = (code.u8_or(0, 0)? as i8 as i32).max(code.i32_or(3, 0)?);
            let version = code.i32_or(2, 1)?;
            let ins = op
                .i32s(1)?
                .map(|v| v.to_vec())
                .transpose()?
                .unwrap_or_default();
            let outs = op
                .i32s(2)?
                .map(|v| v.to_vec())
                .transpose()?
                .unwrap_or_default();
            if outs.len() != 1 {
                return Err(Error::Unsupported(
                    "operator with other than one output".into(),
                ));
            }
            let name = if builtin == 32 {
                code.string(1)?.unwrap_or("CUSTOM").to_string()
            } else {
                format!("builtin {builtin}")
            };
            if !ops_seen.contains(&name) {
                ops_seen.push(name.clone());
            }
            build_op(&mut b, builtin, &name, version, &op, &ins, outs[0])?;
        }

        let mut outputs = Vec::new();
        for &t in &graph_outputs {
            let val = b.read(t)?;
            let d = b.tensor(t)?;
            outputs.push(Port {
                name: d.name.to_string(),
                shape: d.shape.clone(),
                val,
            });
        }

        fuse(&mut b.steps, &outputs, &b.consts);
        let arena_len = plan(&mut b.steps, &mut inputs, &mut outputs, b.tensors.len())?;
        Ok(Model {
            consts: b.consts,
            steps: b.steps,
            inputs,
            outputs,
            arena_len,
            scratch_len: b.scratch_len,
            ops_seen,
        })
    }

    /// Number of graph inputs.
    pub fn input_count(&self) -> usize {
        self.inputs.len()
    }
    /// Number of graph outputs.
    pub fn output_count(&self) -> usize {
        self.outputs.len()
    }
    /// Shape of graph input `i`.
    pub fn input_shape(&self, i: usize) -> &[usize] {
        &self.inputs[i].shape
    }
    /// Name of graph input `i`.
    pub fn input_name(&self, i: usize) -> &str {
        &self.inputs[i].name
    }
    /// Shape of graph output `i`.
    pub fn output_shape(&self, i: usize) -> &[usize] {
        &self.outputs[i].shape
    }
    /// Names of the graph outputs, in order.
    pub fn output_names(&self) -> impl Iterator<Item = &str> {
        self.outputs.iter().map(|p| p.name.as_str())
    }
    /// Operators the model uses (builtins as `builtin N`, custom by name).
    pub fn operators(&self) -> &[String] {
        &self.ops_seen
    }
    /// Number of kernel steps one invoke runs (after folding and fusion).
    pub fn step_count(&self) -> usize {
        self.steps.len()
    }
}

fn buffer_data<'a>(buffer: &Table<'a>, bytes: &'a [u8]) -> Result<Option<&'a [u8]>, Error> {
    if let Some(d) = buffer.bytes(0)? {
        return Ok(if d.is_empty() { None } else { Some(d) });
    }
    let off = buffer.u64_or(1, 0)?;
    let size = buffer.u64_or(2, 0)?;
    if off > 1 && size > 0 {
        let end = off.checked_add(size).ok_or(bad("buffer offset"))?;
        if end > bytes.len() as u64 {
            return Err(bad("buffer out of range"));
        }
        return Ok(Some(&bytes[off as usize..end as usize]));
    }
    Ok(None)
}

fn options<'a>(op: &Table<'a>, ty: u8) -> Result<Option<Table<'a>>, Error> {
    if op.u8_or(3, 0)? != ty {
        return Ok(None);
    }
    op.table(4)
}

fn build_op(
    b: &mut Builder,
    code: i32,
    name: &str,
    version: i32,
    op: &Table,
    ins: &[i32],
    out: i32,
) -> Result<(), Error> {
    match code {
        // DEQUANTIZE of a constant fp16 tensor: folded now.
        6 => {
            let src = b.tensor(input(ins, 0)?)?;
            let (FLOAT16, Some(data)) = (src.ty, src.data) else {
                return Err(Error::Unsupported(
                    "DEQUANTIZE of anything but a constant FLOAT16".into(),
                ));
            };
            if data.len() != numel(&src.shape) * 2 {
                return Err(bad("FLOAT16 buffer size does not match its shape"));
            }
            let shape = src.shape.clone();
            let v: Vec<f32> = data
                .chunks_exact(2)
                .map(|h| f16_to_f32(u16::from_le_bytes([h[0], h[1]])))
                .collect();
            let d = b.tensor(out)?;
            if d.shape != shape
                || d.ty != FLOAT32
                || d.data.is_some()
                || b.const_of.contains_key(&(out as usize))
            {
                return Err(bad("DEQUANTIZE output does not match its input"));
            }
            b.consts.push(v);
            b.const_of.insert(out as usize, b.consts.len() - 1);
            Ok(())
        }
        // CONV_2D
        3 => {
            let o = options(op, 1)?.ok_or(bad("CONV_2D without options"))?;
            let x = input(ins, 0)?;
            let [n, ih, iw, ic] = rank4(b.shape(x)?)?;
            let wt = input(ins, 1)?;
            let [oc, kh, kw, wic] = rank4(b.shape(wt)?)?;
            if wic != ic {
                return Err(Error::Unsupported("grouped CONV_2D".into()));
            }
            let same = o.u8_or(0, 0)? == 0;
            let sw = window_dim(o.i32_or(1, 0)?, "stride")?;
            let sh = window_dim(o.i32_or(2, 0)?, "stride")?;
            let act = act_of(o.u8_or(3, 0)?)?;
            let dw = window_dim(o.i32_or(4, 1)?, "dilation")?;
            let dh = window_dim(o.i32_or(5, 1)?, "dilation")?;
            let (oh, pad_t) = out_and_pad(ih, kh, sh, dh, same)?;
            let (ow, pad_l) = out_and_pad(iw, kw, sw, dw, same)?;
            let g = Window {
                batch: n,
                ih,
                iw,
                ic,
                oh,
                ow,
                oc,
                kh,
                kw,
                sh,
                sw,
                dh,
                dw,
                pad_t,
                pad_l,
            };
            let weights = b.const_f32(wt, "CONV_2D weights")?;
            let bias = bias_of(b, ins, 2, oc)?;
            let k = kh * kw * ic;
            let w = PackedB::pack(k, oc, |kk, j| weights[j * k + kk]);
            if !ops::conv_is_pointwise(&g) {
                b.scratch_len = b.scratch_len.max(ops::IM2COL_ROWS * k);
            }
            let xv = b.read(x)?;
            let ov = b.write(out, Some(&[n, oh, ow, oc]))?;
            b.push(
                vec![xv],
                ov,
                Kind::Conv {
                    g,
                    w,
                    bias,
                    act,
                    residual: false,
                    post_act: Act::None,
                    prelu: None,
                },
            );
            Ok(())
        }
        // DEPTHWISE_CONV_2D
        4 => {
            let o = options(op, 2)?.ok_or(bad("DEPTHWISE_CONV_2D without options"))?;
            let x = input(ins, 0)?;
            let [n, ih, iw, ic] = rank4(b.shape(x)?)?;
            let wt = input(ins, 1)?;
            let [one, kh, kw, oc] = rank4(b.shape(wt)?)?;
            if one != 1 || oc % ic != 0 {
                return Err(bad("DEPTHWISE_CONV_2D weights shape"));
            }
            let same = o.u8_or(0, 0)? == 0;
            let sw = window_dim(o.i32_or(1, 0)?, "stride")?;
            let sh = window_dim(o.i32_or(2, 0)?, "stride")?;
            let act = act_of(o.u8_or(4, 0)?)?;
            let dw = window_dim(o.i32_or(5, 1)?, "dilation")?;
            let dh = window_dim(o.i32_or(6, 1)?, "dilation")?;
            let (oh, pad_t) = out_and_pad(ih, kh, sh, dh, same)?;
            let (ow, pad_l) = out_and_pad(iw, kw, sw, dw, same)?;
            let g = Window {
                batch: n,
                ih,
                iw,
                ic,
                oh,
                ow,
                oc,
                kh,
                kw,
                sh,
                sw,
                dh,
                dw,
                pad_t,
                pad_l,
            };
            let w = b.const_f32(wt, "DEPTHWISE_CONV_2D weights")?;
            let bias = bias_of(b, ins, 2, oc)?;
            let xv = b.read(x)?;
            let ov = b.write(out, Some(&[n, oh, ow, oc]))?;
            b.push(vec![xv], ov, Kind::Depthwise { g, w, bias, act });
            Ok(())
        }
        // MAX_POOL_2D
        17 => {
            let o = options(op, 5)?.ok_or(bad("MAX_POOL_2D without options"))?;
            let x = input(ins, 0)?;
            let [n, ih, iw, c] = rank4(b.shape(x)?)?;
            let same = o.u8_or(0, 0)? == 0;
            let sw = window_dim(o.i32_or(1, 0)?, "stride")?;
            let sh = window_dim(o.i32_or(2, 0)?, "stride")?;
            let kw = window_dim(o.i32_or(3, 0)?, "filter size")?;
            let kh = window_dim(o.i32_or(4, 0)?, "filter size")?;
            let act = act_of(o.u8_or(5, 0)?)?;
            let (oh, pad_t) = out_and_pad(ih, kh, sh, 1, same)?;
            let (ow, pad_l) = out_and_pad(iw, kw, sw, 1, same)?;
            let g = Window {
                batch: n,
                ih,
                iw,
                ic: c,
                oh,
                ow,
                oc: c,
                kh,
                kw,
                sh,
                sw,
                dh: 1,
                dw: 1,
                pad_t,
                pad_l,
            };
            let xv = b.read(x)?;
            let ov = b.write(out, Some(&[n, oh, ow, c]))?;
            b.push(vec![xv], ov, Kind::MaxPool { g, act });
            Ok(())
        }
        // ADD, MUL, PRELU
        0 | 18 | 54 => {
            let (bop, act) = match code {
                0 => (
                    BinOp::Add,
                    act_of(
                        options(op, 11)?
                            .map(|o| o.u8_or(0, 0))
                            .transpose()?
                            .unwrap_or(0),
                    )?,
                ),
                18 => (
                    BinOp::Mul,
                    act_of(
                        options(op, 21)?
                            .map(|o| o.u8_or(0, 0))
                            .transpose()?
                            .unwrap_or(0),
                    )?,
                ),
                _ => (BinOp::Prelu, Act::None),
            };
            let (mut x, mut y) = (input(ins, 0)?, input(ins, 1)?);
            let out_shape = broadcast_shape(b.shape(x)?, b.shape(y)?)?;
            // Put the full-size operand first when that enables a fast path.
            if bop != BinOp::Prelu && ops::pad_shape(b.shape(x)?) != out_shape {
                std::mem::swap(&mut x, &mut y);
            }
            let bc = plan_bcast(b.shape(x)?, b.shape(y)?, &out_shape);
            let declared = b.shape(out)?.to_vec();
            if ops::pad_shape(&declared) != out_shape
                || declared.len() < b.shape(x)?.len().max(b.shape(y)?.len())
            {
                return Err(bad("binary op output shape"));
            }
            let (xv, yv) = (b.read(x)?, b.read(y)?);
            let ov = b.write(out, None)?;
            b.push(vec![xv, yv], ov, Kind::Binary { op: bop, bc, act });
            Ok(())
        }
        // RELU, RELU_N1_TO_1, RELU6
        19..=21 => {
            let act = match code {
                19 => Act::Relu,
                20 => Act::ReluN1To1,
                _ => Act::Relu6,
            };
            let x = input(ins, 0)?;
            let shape = b.shape(x)?.to_vec();
            let xv = b.read(x)?;
            let ov = b.write(out, Some(&shape))?;
            b.push(vec![xv], ov, Kind::Unary(act));
            Ok(())
        }
        // RESHAPE
        22 => {
            let x = input(ins, 0)?;
            let xv = b.read(x)?;
            let ov = b.write(out, None)?;
            if xv.len != ov.len {
                return Err(bad("RESHAPE changes the element count"));
            }
            b.push(vec![xv], ov, Kind::Copy);
            Ok(())
        }
        // PAD
        34 => {
            let x = input(ins, 0)?;
            let shape = b.shape(x)?.to_vec();
            let p = b.const_i32(input(ins, 1)?)?;
            if p.len() != 2 * shape.len()
                || p.iter().any(|&v| !(0..=MAX_WINDOW as i32).contains(&v))
            {
                return Err(bad("PAD paddings"));
            }
            let mut out_shape = shape.clone();
            for d in 0..shape.len() {
                out_shape[d] += (p[2 * d] + p[2 * d + 1]) as usize;
            }
            if numel(&out_shape) > MAX_TENSOR_ELEMENTS {
                return Err(Error::Limit("tensor too large"));
            }
            let mut before = [0; RANK];
            for d in 0..shape.len() {
                before[RANK - shape.len() + d] = p[2 * d] as usize;
            }
            let xv = b.read(x)?;
            let ov = b.write(out, Some(&out_shape))?;
            let kind = Kind::Pad {
                in_shape: ops::pad_shape(&shape),
                out_shape: ops::pad_shape(&out_shape),
                before,
            };
            b.push(vec![xv], ov, kind);
            Ok(())
        }
        // CONCATENATION
        2 => {
            let o = options(op, 10)?.ok_or(bad("CONCATENATION without options"))?;
            if act_of(o.u8_or(1, 0)?)? != Act::None {
                return Err(Error::Unsupported(
                    "CONCATENATION with an activation".into(),
                ));
            }
            let first = b.shape(input(ins, 0)?)?.to_vec();
            let rank = first.len() as i32;
            let mut axis = o.i32_or(0, 0)?;
            if axis < 0 {
                axis += rank;
            }
            if !(0..rank).contains(&axis) {
                return Err(bad("CONCATENATION axis"));
            }
            let axis = axis as usize;
            let outer: usize = first[..axis].iter().product();
            let tail: usize = first[axis + 1..].iter().product();
            let mut out_shape = first.clone();
            out_shape[axis] = 0;
            let (mut vals, mut inners) = (Vec::new(), Vec::new());
            for &t in ins {
                let s = b.shape(t)?.to_vec();
                if s.len() != first.len() || (0..s.len()).any(|d| d != axis && s[d] != first[d]) {
                    return Err(bad("CONCATENATION input shapes"));
                }
                out_shape[axis] += s[axis];
                inners.push(s[axis] * tail);
                vals.push(b.read(t)?);
            }
            let ov = b.write(out, Some(&out_shape))?;
            b.push(vals, ov, Kind::Concat { outer, inners });
            Ok(())
        }
        // STRIDED_SLICE
        45 => {
            let o = options(op, 32)?.ok_or(bad("STRIDED_SLICE without options"))?;
            let x = input(ins, 0)?;
            let shape = b.shape(x)?.to_vec();
            let r = shape.len();
            let begin = b.const_i32(input(ins, 1)?)?;
            let end = b.const_i32(input(ins, 2)?)?;
            let strides = b.const_i32(input(ins, 3)?)?;
            if begin.len() != r || end.len() != r || strides.len() != r {
                return Err(bad("STRIDED_SLICE parameter lengths"));
            }
            let (bm, em) = (o.i32_or(0, 0)?, o.i32_or(1, 0)?);
            let (ellipsis, new_axis, shrink) = (o.i32_or(2, 0)?, o.i32_or(3, 0)?, o.i32_or(4, 0)?);
            if ellipsis != 0 || new_axis != 0 || o.u8_or(5, 0)? != 0 {
                return Err(Error::Unsupported(
                    "STRIDED_SLICE ellipsis/new-axis/offset".into(),
                ));
            }
            let mut kb = [0usize; RANK];
            let mut ks = [1isize; RANK];
            let mut counts = [1usize; RANK];
            let mut out_shape = Vec::new();
            for d in 0..r {
                let dim = shape[d] as i64;
                let s = strides[d] as i64;
                if s == 0 {
                    return Err(bad("STRIDED_SLICE stride 0"));
                }
                let norm = |v: i64| if v < 0 { v + dim } else { v };
                let (lo, hi) = if s > 0 { (0, dim) } else { (-1, dim - 1) };
                let mut st = if bm >> d & 1 == 1 {
                    if s > 0 { 0 } else { dim - 1 }
                } else {
                    norm(begin[d] as i64).clamp(lo, hi)
                };
                let (en, s) = if shrink >> d & 1 == 1 {
                    st = norm(begin[d] as i64);
                    if !(0..dim).contains(&st) {
                        return Err(bad("STRIDED_SLICE shrink index"));
                    }
                    (st + 1, 1)
                } else if em >> d & 1 == 1 {
                    (if s > 0 { dim } else { -1 }, s)
                } else {
                    (norm(end[d] as i64).clamp(lo, hi), s)
                };
                let count = if s > 0 {
                    (en - st + s - 1) / s
                } else {
                    (st - en - s - 1) / -s
                };
                if count <= 0 {
                    return Err(Error::Unsupported("empty STRIDED_SLICE".into()));
                }
                let pd = RANK - r + d;
                kb[pd] = st as usize;
                ks[pd] = s as isize;
                counts[pd] = count as usize;
                if shrink >> d & 1 == 0 {
                    out_shape.push(count as usize);
                }
            }
            let xv = b.read(x)?;
            let ov = b.write(out, Some(&out_shape))?;
            b.push(
                vec![xv],
                ov,
                Kind::Slice {
                    in_shape: ops::pad_shape(&shape),
                    out_shape: counts,
                    begin: kb,
                    step: ks,
                },
            );
            Ok(())
        }
        // CUSTOM
        32 => build_custom(b, name, version, op, ins, out),
        _ => Err(Error::Unsupported(format!("operator {name}"))),
    }
}

fn bias_of(b: &mut Builder, ins: &[i32], i: usize, oc: usize) -> Result<Vec<f32>, Error> {
    match ins.get(i) {
        Some(&t) if t >= 0 => {
            let v = b.const_f32(t, "bias")?;
            if v.len() != oc {
                return Err(bad("bias length"));
            }
            Ok(v)
        }
        _ => Ok(vec![0.0; oc]),
    }
}

fn build_custom(
    b: &mut Builder,
    name: &str,
    version: i32,
    op: &Table,
    ins: &[i32],
    out: i32,
) -> Result<(), Error> {
    let opts = op.bytes(5)?.unwrap_or(&[]);
    match (name, version) {
        ("Landmarks2TransformMatrix", 2) => {
            let x = input(ins, 0)?;
            let s = b.shape(x)?.to_vec();
            if s.len() != 3 || s[0] != 1 || s[2] != 3 {
                return Err(bad("Landmarks2TransformMatrix input must be [1, N, 3]"));
            }
            let p = L2tm::parse(opts, s[1])?;
            let xv = b.read(x)?;
            let ov = b.write(out, Some(&[1, 4, 4]))?;
            b.push(vec![xv], ov, Kind::L2tm(p));
            Ok(())
        }
        ("TransformTensorBilinear", 2) => {
            let x = input(ins, 0)?;
            let [n, ih, iw, c] = rank4(b.shape(x)?)?;
            let m = input(ins, 1)?;
            if n != 1 || b.shape(m)? != [1, 4, 4] {
                return Err(bad("TransformTensorBilinear input shapes"));
            }
            let [on, oh, ow, oc] = rank4(b.shape(out)?)?;
            if on != 1 || oc != c {
                return Err(bad("TransformTensorBilinear output shape"));
            }
            let (xv, mv) = (b.read(x)?, b.read(m)?);
            let ov = b.write(out, None)?;
            b.push(vec![xv, mv], ov, Kind::Ttb(Ttb { ih, iw, c, oh, ow }));
            Ok(())
        }
        ("TransformLandmarks", 2) => {
            let x = input(ins, 0)?;
            let s = b.shape(x)?.to_vec();
            let m = input(ins, 1)?;
            if s.len() != 3 || !(s[2] == 2 || s[2] == 3) || b.shape(m)? != [1, 4, 4] {
                return Err(bad("TransformLandmarks input shapes"));
            }
            let (xv, mv) = (b.read(x)?, b.read(m)?);
            let ov = b.write(out, Some(&s))?;
            b.push(vec![xv, mv], ov, Kind::Tl(Tl { dims: s[2] }));
            Ok(())
        }
        _ => Err(Error::Unsupported(format!(
            "custom operator {name} version {version}"
        ))),
    }
}

/// Fuses `CONV_2D → ADD (same shape) → RELU* → PRELU (per channel)` chains
/// (any suffix may be missing) into one conv step placed where the chain
/// ends.
fn fuse(steps: &mut Vec<Step>, outputs: &[Port], consts: &[Vec<f32>]) {
    let mut uses: HashMap<Loc, usize> = HashMap::new();
    for s in steps.iter() {
        for v in &s.ins {
            *uses.entry(v.loc).or_default() += 1;
        }
    }
    for p in outputs {
        *uses.entry(p.val.loc).or_default() += 2;
    }
    let single = |l: Loc| matches!(l, Loc::Tensor(_)) && uses.get(&l) == Some(&1);
    let consumer = |steps: &[Step], from: usize, l: Loc| {
        (from + 1..steps.len()).find(|&j| steps[j].ins.iter().any(|v| v.loc == l))
    };
    let mut dead = vec![false; steps.len()];
    for i in 0..steps.len() {
        if dead[i]
            || !matches!(
                steps[i].kind,
                Kind::Conv {
                    residual: false,
                    prelu: None,
                    ..
                }
            )
        {
            continue;
        }
        let mut chain = Vec::new();
        let mut out = steps[i].out;
        let mut residual = None;
        let mut post_act = Act::None;
        let mut alpha = None;
        if single(out.loc)
            && let Some(j) = consumer(steps, i, out.loc)
            && let Kind::Binary {
                op: BinOp::Add,
                bc: Bcast::Same,
                act,
            } = steps[j].kind
        {
            let (a, b) = (steps[j].ins[0], steps[j].ins[1]);
            let other = if a.loc == out.loc { b } else { a };
            if other.loc != out.loc {
                residual = Some(other);
                post_act = act;
                chain.push(j);
                out = steps[j].out;
            }
        }
        // A standalone activation next: it becomes the post-residual
        // activation, or the conv's own when there is no residual.
        let mut conv_act = None;
        let from = chain.last().copied().unwrap_or(i);
        if single(out.loc)
            && let Some(j) = consumer(steps, from, out.loc)
            && let Kind::Unary(a) = steps[j].kind
            && (if residual.is_some() {
                post_act == Act::None
            } else {
                matches!(steps[i].kind, Kind::Conv { act: Act::None, .. })
            })
        {
            if residual.is_some() {
                post_act = a;
            } else {
                conv_act = Some(a);
            }
            chain.push(j);
            out = steps[j].out;
        }
        let from = chain.last().copied().unwrap_or(i);
        if single(out.loc)
            && let Some(j) = consumer(steps, from, out.loc)
            && let (
                Kind::Binary {
                    op: BinOp::Prelu,
                    bc: Bcast::ChannelB,
                    ..
                },
                Some(Loc::Const(c)),
            ) = (&steps[j].kind, steps[j].ins.get(1).map(|v| v.loc))
            && steps[j].ins[0].loc == out.loc
        {
            alpha = Some(consts[c].clone());
            chain.push(j);
            out = steps[j].out;
        }
        let Some(&end) = chain.last() else { continue };
        dead[i] = true;
        for &j in &chain[..chain.len() - 1] {
            dead[j] = true;
        }
        let x = steps[i].ins[0];
        let Kind::Conv {
            g, w, bias, act, ..
        } = std::mem::replace(&mut steps[i].kind, Kind::Copy)
        else {
            continue;
        };
        let mut ins = vec![x];
        ins.extend(residual);
        steps[end] = Step {
            ins,
            out,
            kind: Kind::Conv {
                g,
                w,
                bias,
                act: conv_act.unwrap_or(act),
                residual: residual.is_some(),
                post_act,
                prelu: alpha,
            },
        };
    }
    let mut k = 0;
    steps.retain(|_| {
        k += 1;
        !dead[k - 1]
    });
}

/// Assigns arena offsets: tensors whose lifetimes overlap get disjoint ranges.
fn plan(
    steps: &mut [Step],
    inputs: &mut [Port],
    outputs: &mut [Port],
    n_tensors: usize,
) -> Result<usize, Error> {
    const ALIGN: usize = 16;
    let last = steps.len();
    let mut life: Vec<Option<(usize, usize, usize)>> = vec![None; n_tensors];
    let mut touch = |l: Loc, len: usize, at: usize| {
        if let Loc::Tensor(t) = l {
            let e = life[t].get_or_insert((at, at, len));
            e.0 = e.0.min(at);
            e.1 = e.1.max(at);
        }
    };
    for p in inputs.iter() {
        touch(p.val.loc, p.val.len, 0);
    }
    for (i, s) in steps.iter().enumerate() {
        for v in &s.ins {
            touch(v.loc, v.len, i);
        }
        touch(s.out.loc, s.out.len, i);
    }
    for p in outputs.iter() {
        touch(p.val.loc, p.val.len, last);
    }
    let mut order: Vec<usize> = (0..n_tensors).filter(|&t| life[t].is_some()).collect();
    order.sort_by_key(|&t| std::cmp::Reverse(life[t].unwrap().2));
    let mut placed: Vec<(usize, usize, usize, usize)> = Vec::new(); // (off, len, start, end)
    let mut offset = vec![0usize; n_tensors];
    let mut total = 0usize;
    for &t in &order {
        let (s, e, len) = life[t].unwrap();
        let len_a = len.div_ceil(ALIGN) * ALIGN;
        let mut busy: Vec<(usize, usize)> = placed
            .iter()
            .filter(|p| p.2 <= e && s <= p.3)
            .map(|p| (p.0, p.0 + p.1))
            .collect();
        busy.sort_unstable();
        let mut off = 0;
        for (a, z) in busy {
            if off + len_a <= a {
                break;
            }
            off = off.max(z);
        }
        placed.push((off, len_a, s, e));
        offset[t] = off;
        total = total.max(off + len_a);
        if total > MAX_ARENA_ELEMENTS {
            return Err(Error::Limit("activations exceed the arena limit"));
        }
    }
    let fix = |v: &mut Val| {
        if let Loc::Tensor(t) = v.loc {
            v.loc = Loc::Arena(offset[t]);
        }
    };
    for s in steps.iter_mut() {
        s.ins.iter_mut().for_each(fix);
        fix(&mut s.out);
    }
    inputs.iter_mut().for_each(|p| fix(&mut p.val));
    outputs.iter_mut().for_each(|p| fix(&mut p.val));
    Ok(total)
}
