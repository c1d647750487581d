//! NHWC f32 kernels. Shapes are validated when the model is loaded; the
//! kernels may index freely within the sizes they are given.

use crate::gemm::{Epilogue, PackedB, gemm};

/// A fused activation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Act {
    None,
    Relu,
    ReluN1To1,
    Relu6,
}

impl Act {
    #[inline(always)]
    pub(crate) fn apply(self, v: f32) -> f32 {
        match self {
            Act::None => v,
            Act::Relu => v.max(0.0),
            Act::ReluN1To1 => v.clamp(-1.0, 1.0),
            Act::Relu6 => v.clamp(0.0, 6.0),
        }
    }
}

/// Geometry of a windowed op (convolution, depthwise convolution, pooling).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window {
    pub(crate) batch: usize,
    pub(crate) ih: usize,
    pub(crate) iw: usize,
    pub(crate) ic: usize,
    pub(crate) oh: usize,
    pub(crate) ow: usize,
    pub(crate) oc: usize,
    pub(crate) kh: usize,
    pub(crate) kw: usize,
    pub(crate) sh: usize,
    pub(crate) sw: usize,
    pub(crate) dh: usize,
    pub(crate) dw: usize,
    pub(crate) pad_t: usize,
    pub(crate) pad_l: usize,
}

impl Window {
    /// The output positions `ox` whose input column `ox*s + off` lies in `0..len`.
    #[inline]
    fn valid_range(off: isize, s: usize, len: usize, out: usize) -> (usize, usize) {
        let s = s as isize;
        let lo = if off >= 0 { 0 } else { (-off + s - 1) / s };
        let hi = if len as isize - off <= 0 {
            0
        } else {
            (len as isize - off + s - 1) / s
        };
        let hi = (hi as usize).min(out);
        let lo = (lo as usize).min(hi);
        (lo, hi)
    }
}

/// Rows of im2col per block (keeps the scratch in cache).
pub(crate) const IM2COL_ROWS: usize = 96;

/// Whether a convolution reads its input directly as the GEMM's A matrix.
pub(crate) fn conv_is_pointwise(g: &Window) -> bool {
    g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pad_t == 0 && g.pad_l == 0
}

/// CONV_2D: weights packed as `(ky, kx, ci) × co`.
pub(crate) fn conv2d(
    g: &Window,
    input: &[f32],
    w: &PackedB,
    out: &mut [f32],
    scratch: &mut [f32],
    ep: &Epilogue,
) {
    let rows = g.batch * g.oh * g.ow;
    if conv_is_pointwise(g) {
        gemm(rows, input, g.ic, w, out, ep);
        return;
    }
    let k = g.kh * g.kw * g.ic;
    let mut p0 = 0;
    while p0 < rows {
        let mb = IM2COL_ROWS.min(rows - p0);
        let a = &mut scratch[..mb * k];
        for r in 0..mb {
            let p = p0 + r;
            let b = p / (g.oh * g.ow);
            let oy = (p / g.ow) % g.oh;
            let ox = p % g.ow;
            let dst = &mut a[r * k..(r + 1) * k];
            for ky in 0..g.kh {
                let iy = (oy * g.sh + ky * g.dh) as isize - g.pad_t as isize;
                for kx in 0..g.kw {
                    let ix = (ox * g.sw + kx * g.dw) as isize - g.pad_l as isize;
                    let d = &mut dst[(ky * g.kw + kx) * g.ic..(ky * g.kw + kx + 1) * g.ic];
                    if iy >= 0 && (iy as usize) < g.ih && ix >= 0 && (ix as usize) < g.iw {
                        let s = ((b * g.ih + iy as usize) * g.iw + ix as usize) * g.ic;
                        d.copy_from_slice(&input[s..s + g.ic]);
                    } else {
                        d.fill(0.0);
                    }
                }
            }
        }
        let n = w.n;
        let ep_block = Epilogue {
            residual: ep.residual.map(|r| &r[p0 * n..(p0 + mb) * n]),
            ..*ep
        };
        gemm(mb, a, k, w, &mut out[p0 * n..(p0 + mb) * n], &ep_block);
        p0 += mb;
    }
}

/// DEPTHWISE_CONV_2D with weights `[kh, kw, oc]` (`oc = ic * multiplier`).
pub(crate) fn depthwise(
    g: &Window,
    input: &[f32],
    weights: &[f32],
    bias: &[f32],
    act: Act,
    out: &mut [f32],
) {
    let (ic, oc) = (g.ic, g.oc);
    let mult = oc / ic;
    for b in 0..g.batch {
        for oy in 0..g.oh {
            let orow = &mut out[((b * g.oh + oy) * g.ow) * oc..((b * g.oh + oy + 1) * g.ow) * oc];
            for px in orow.chunks_exact_mut(oc) {
                px.copy_from_slice(bias);
            }
            for ky in 0..g.kh {
                let iy = (oy * g.sh + ky * g.dh) as isize - g.pad_t as isize;
                if iy < 0 || iy as usize >= g.ih {
                    continue;
                }
                let irow = &input[((b * g.ih + iy as usize) * g.iw) * ic..][..g.iw * ic];
                for kx in 0..g.kw {
                    let off = (kx * g.dw) as isize - g.pad_l as isize;
                    let (lo, hi) = Window::valid_range(off, g.sw, g.iw, g.ow);
                    let wv = &weights[(ky * g.kw + kx) * oc..][..oc];
                    for ox in lo..hi {
                        let ix = (ox as isize * g.sw as isize + off) as usize;
                        let src = &irow[ix * ic..][..ic];
                        let dst = &mut orow[ox * oc..][..oc];
                        if mult == 1 {
                            for ((d, s), w) in dst.iter_mut().zip(src).zip(wv) {
                                *d += s * w;
                            }
                        } else {
                            for (o, (d, w)) in dst.iter_mut().zip(wv).enumerate() {
                                *d += src[o / mult] * w;
                            }
                        }
                    }
                }
            }
            if act != Act::None {
                for v in orow.iter_mut() {
                    *v = act.apply(*v);
                }
            }
        }
    }
}

/// MAX_POOL_2D (padded positions are ignored, as in TFLite).
pub(crate) fn max_pool(g: &Window, input: &[f32], act: Act, out: &mut [f32]) {
    let c = g.ic;
    for b in 0..g.batch {
        for oy in 0..g.oh {
            let orow = &mut out[((b * g.oh + oy) * g.ow) * c..((b * g.oh + oy + 1) * g.ow) * c];
            orow.fill(f32::NEG_INFINITY);
            for ky in 0..g.kh {
                let iy = (oy * g.sh + ky) as isize - g.pad_t as isize;
                if iy < 0 || iy as usize >= g.ih {
                    continue;
                }
                let irow = &input[((b * g.ih + iy as usize) * g.iw) * c..][..g.iw * c];
                for kx in 0..g.kw {
                    let off = kx as isize - g.pad_l as isize;
                    let (lo, hi) = Window::valid_range(off, g.sw, g.iw, g.ow);
                    for ox in lo..hi {
                        let ix = (ox as isize * g.sw as isize + off) as usize;
                        let src = &irow[ix * c..][..c];
                        let dst = &mut orow[ox * c..][..c];
                        for (d, s) in dst.iter_mut().zip(src) {
                            *d = d.max(*s);
                        }
                    }
                }
            }
            for v in orow.iter_mut() {
                *v = act.apply(*v);
            }
        }
    }
}

/// Rank used for the generic shape-walking kernels.
pub(crate) const RANK: usize = 5;

/// Left-pads a shape with ones to [`RANK`].
pub(crate) fn pad_shape(shape: &[usize]) -> [usize; RANK] {
    let mut s = [1; RANK];
    s[RANK - shape.len()..].copy_from_slice(shape);
    s
}

fn strides(shape: &[usize; RANK]) -> [usize; RANK] {
    let mut st = [0; RANK];
    let mut acc = 1;
    for d in (0..RANK).rev() {
        st[d] = acc;
        acc *= shape[d];
    }
    st
}

/// Strides of `shape` broadcast to `out` (0 on broadcast dimensions).
pub(crate) fn broadcast_strides(shape: &[usize; RANK], out: &[usize; RANK]) -> [usize; RANK] {
    let st = strides(shape);
    std::array::from_fn(|d| {
        if shape[d] == 1 && out[d] != 1 {
            0
        } else {
            st[d]
        }
    })
}

/// An elementwise binary operation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum BinOp {
    Add,
    Mul,
    Prelu,
}

impl BinOp {
    #[inline(always)]
    fn apply(self, a: f32, b: f32) -> f32 {
        match self {
            BinOp::Add => a + b,
            BinOp::Mul => a * b,
            BinOp::Prelu => {
                if a >= 0.0 {
                    a
                } else {
                    a * b
                }
            }
        }
    }
}

/// How the two operands of a binary op line up with its output.
#[derive(Clone, Debug)]
pub(crate) enum Bcast {
    /// Same number of elements, same shape.
    Same,
    /// `b` is one value.
    ScalarB,
    /// `b` repeats along the last axis (per channel).
    ChannelB,
    /// General broadcast: output shape and operand strides.
    General {
        out: [usize; RANK],
        sa: [usize; RANK],
        sb: [usize; RANK],
    },
}

pub(crate) fn binary(op: BinOp, bc: &Bcast, a: &[f32], b: &[f32], act: Act, out: &mut [f32]) {
    match bc {
        Bcast::Same => {
            for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
                *o = act.apply(op.apply(*x, *y));
            }
        }
        Bcast::ScalarB => {
            let y = b[0];
            for (o, x) in out.iter_mut().zip(a) {
                *o = act.apply(op.apply(*x, y));
            }
        }
        Bcast::ChannelB => {
            let c = b.len();
            for (orow, arow) in out.chunks_exact_mut(c).zip(a.chunks_exact(c)) {
                for ((o, x), y) in orow.iter_mut().zip(arow).zip(b) {
                    *o = act.apply(op.apply(*x, *y));
                }
            }
        }
        Bcast::General { out: s, sa, sb } => {
            let mut i = 0;
            for d0 in 0..s[0] {
                for d1 in 0..s[1] {
                    for d2 in 0..s[2] {
                        for d3 in 0..s[3] {
                            let ba = d0 * sa[0] + d1 * sa[1] + d2 * sa[2] + d3 * sa[3];
                            let bb = d0 * sb[0] + d1 * sb[1] + d2 * sb[2] + d3 * sb[3];
                            for d4 in 0..s[4] {
                                out[i] =
                                    act.apply(op.apply(a[ba + d4 * sa[4]], b[bb + d4 * sb[4]]));
                                i += 1;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// PAD with zeros: `before[d]` elements before each input dimension.
pub(crate) fn pad(
    in_shape: &[usize; RANK],
    out_shape: &[usize; RANK],
    before: &[usize; RANK],
    input: &[f32],
    out: &mut [f32],
) {
    out.fill(0.0);
    let so = strides(out_shape);
    let inner = in_shape[4];
    let mut src = 0;
    for d0 in 0..in_shape[0] {
        for d1 in 0..in_shape[1] {
            for d2 in 0..in_shape[2] {
                for d3 in 0..in_shape[3] {
                    let o = (d0 + before[0]) * so[0]
                        + (d1 + before[1]) * so[1]
                        + (d2 + before[2]) * so[2]
                        + (d3 + before[3]) * so[3]
                        + before[4];
                    out[o..o + inner].copy_from_slice(&input[src..src + inner]);
                    src += inner;
                }
            }
        }
    }
}

/// STRIDED_SLICE over a [`RANK`]-padded shape: output element
/// `(i0..i4)` reads input `begin[d] + i[d] * step[d]`.
pub(crate) fn strided_slice(
    in_shape: &[usize; RANK],
    out_shape: &[usize; RANK],
    begin: &[usize; RANK],
    step: &[isize; RANK],
    input: &[f32],
    out: &mut [f32],
) {
    let si = strides(in_shape);
    let mut o = 0;
    let at = |d: usize, i: usize| ((begin[d] as isize + i as isize * step[d]) as usize) * si[d];
    for d0 in 0..out_shape[0] {
        for d1 in 0..out_shape[1] {
            for d2 in 0..out_shape[2] {
                for d3 in 0..out_shape[3] {
                    let base = at(0, d0) + at(1, d1) + at(2, d2) + at(3, d3);
                    for d4 in 0..out_shape[4] {
                        out[o] = input[base + at(4, d4)];
                        o += 1;
                    }
                }
            }
        }
    }
}
