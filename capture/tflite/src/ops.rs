//! NHWC f32 kernels. Shapes are validated when the model is loaded; the
//! kernels may index freely within the sizes they are given.

use crate::act::Act;
use crate::gemm::{ALayout, Epilogue, PackedB, gemm, gemm_a};

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
    pub(crate) fn valid_range(off: isize, s: usize, len: usize, out: usize) -> (usize, usize) {
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

/// CONV_2D: weights packed as `(ky, kx, ci) × co`. 1×1 convolutions are a
/// GEMM on the input; otherwise (horizontal dilation 1) the interior of each
/// output row is a GEMM reading A straight from the input, one run of
/// `kw · ic` values per kernel row, and only border pixels (and dilated
/// convolutions) go through im2col.
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
    if g.dw != 1 {
        im2col_gemm(g, input, w, out, scratch, ep, 0, rows);
        return;
    }
    let n = w.n;
    let (oy_lo, oy_hi) = interior(g.pad_t, g.sh, g.dh, g.kh, g.ih, g.oh);
    let (ox_lo, ox_hi) = interior(g.pad_l, g.sw, 1, g.kw, g.iw, g.ow);
    let lay = ALayout {
        row_step: g.sw * g.ic,
        seg_step: g.dh * g.iw * g.ic,
        segs: g.kh,
        seg_len: g.kw * g.ic,
    };
    for b in 0..g.batch {
        for oy in 0..g.oh {
            let p0 = (b * g.oh + oy) * g.ow;
            if !(oy_lo..oy_hi).contains(&oy) || ox_lo >= ox_hi {
                im2col_gemm(g, input, w, out, scratch, ep, p0, p0 + g.ow);
                continue;
            }
            im2col_gemm(g, input, w, out, scratch, ep, p0, p0 + ox_lo);
            let iy0 = oy * g.sh - g.pad_t;
            let ix0 = ox_lo * g.sw - g.pad_l;
            let (q0, q1) = (p0 + ox_lo, p0 + ox_hi);
            let ep_row = Epilogue {
                residual: ep.residual.map(|r| &r[q0 * n..q1 * n]),
                ..*ep
            };
            gemm_a(
                q1 - q0,
                &input[((b * g.ih + iy0) * g.iw + ix0) * g.ic..],
                lay,
                w,
                &mut out[q0 * n..q1 * n],
                &ep_row,
            );
            im2col_gemm(g, input, w, out, scratch, ep, q1, p0 + g.ow);
        }
    }
}

/// Output pixels `p_lo..p_hi` (flattened over batch, rows, columns) of a
/// convolution through im2col, in blocks of [`IM2COL_ROWS`].
#[allow(clippy::too_many_arguments)]
fn im2col_gemm(
    g: &Window,
    input: &[f32],
    w: &PackedB,
    out: &mut [f32],
    scratch: &mut [f32],
    ep: &Epilogue,
    p_lo: usize,
    p_hi: usize,
) {
    let k = g.kh * g.kw * g.ic;
    let mut p0 = p_lo;
    while p0 < p_hi {
        let mb = IM2COL_ROWS.min(p_hi - p0);
        let a = &mut scratch[..mb * k];
        for r in 0..mb {
            let p = p0 + r;
            let b = p / (g.oh * g.ow);
            let oy = (p / g.ow) % g.oh;
            let ox = p % g.ow;
            let dst = &mut a[r * k..(r + 1) * k];
            let iy0 = (oy * g.sh) as isize - g.pad_t as isize;
            let ix0 = (ox * g.sw) as isize - g.pad_l as isize;
            let (kx_lo, kx_hi) = Window::valid_range(ix0, g.dw, g.iw, g.kw);
            let row_len = g.kw * g.ic;
            for ky in 0..g.kh {
                let d = &mut dst[ky * row_len..(ky + 1) * row_len];
                let iy = iy0 + (ky * g.dh) as isize;
                if iy < 0 || iy as usize >= g.ih || kx_lo >= kx_hi {
                    d.fill(0.0);
                    continue;
                }
                d[..kx_lo * g.ic].fill(0.0);
                d[kx_hi * g.ic..].fill(0.0);
                let irow = &input[((b * g.ih + iy as usize) * g.iw) * g.ic..][..g.iw * g.ic];
                if g.dw == 1 {
                    let ix = (ix0 + kx_lo as isize) as usize;
                    let run = (kx_hi - kx_lo) * g.ic;
                    d[kx_lo * g.ic..kx_hi * g.ic].copy_from_slice(&irow[ix * g.ic..][..run]);
                } else {
                    for kx in kx_lo..kx_hi {
                        let ix = (ix0 + (kx * g.dw) as isize) as usize;
                        d[kx * g.ic..(kx + 1) * g.ic].copy_from_slice(&irow[ix * g.ic..][..g.ic]);
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

/// DEPTHWISE_CONV_2D: the AVX2+FMA kernel when the CPU has it and the
/// multiplier is 1, else the portable one.
pub(crate) fn depthwise(
    g: &Window,
    input: &[f32],
    weights: &[f32],
    bias: &[f32],
    act: Act,
    out: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if g.oc == g.ic && crate::simd::has_avx2_fma() {
        let c = g.ic;
        assert!(input.len() >= g.batch * g.ih * g.iw * c);
        assert!(out.len() >= g.batch * g.oh * g.ow * c);
        assert!(weights.len() >= g.kh * g.kw * c && bias.len() >= c);
        // SAFETY: the CPU has AVX2 and FMA; the sizes were checked above.
        unsafe { x86::depthwise(g, input, weights, bias, act, out) };
        return;
    }
    depthwise_portable(g, input, weights, bias, act, out);
}

/// Channels per depthwise block.
const DW_LANES: usize = 8;

/// Portable DEPTHWISE_CONV_2D, multiplier 1, channels a multiple of
/// [`DW_LANES`]: each output pixel's channel block accumulates all taps in
/// registers (written for auto-vectorisation). Other cases go to
/// [`depthwise_generic`].
fn depthwise_portable(
    g: &Window,
    input: &[f32],
    weights: &[f32],
    bias: &[f32],
    act: Act,
    out: &mut [f32],
) {
    const L: usize = DW_LANES;
    let c = g.ic;
    if g.oc != c || !c.is_multiple_of(L) {
        return depthwise_generic(g, input, weights, bias, act, out);
    }
    for b in 0..g.batch {
        for oy in 0..g.oh {
            let iy0 = (oy * g.sh) as isize - g.pad_t as isize;
            let (ky_lo, ky_hi) = Window::valid_range(iy0, g.dh, g.ih, g.kh);
            let orow = &mut out[((b * g.oh + oy) * g.ow) * c..][..g.ow * c];
            for (ox, dst) in orow.chunks_exact_mut(c).enumerate() {
                let ix0 = (ox * g.sw) as isize - g.pad_l as isize;
                let (kx_lo, kx_hi) = Window::valid_range(ix0, g.dw, g.iw, g.kw);
                for cb in (0..c).step_by(L) {
                    let mut acc: [f32; L] = bias[cb..cb + L].try_into().unwrap();
                    for ky in ky_lo..ky_hi {
                        let iy = (iy0 + (ky * g.dh) as isize) as usize;
                        let irow = &input[((b * g.ih + iy) * g.iw) * c..][..g.iw * c];
                        for kx in kx_lo..kx_hi {
                            let ix = (ix0 + (kx * g.dw) as isize) as usize;
                            let s: &[f32; L] = irow[ix * c + cb..][..L].try_into().unwrap();
                            let w: &[f32; L] = weights[(ky * g.kw + kx) * c + cb..][..L]
                                .try_into()
                                .unwrap();
                            for l in 0..L {
                                acc[l] += s[l] * w[l];
                            }
                        }
                    }
                    act.apply_slice(&mut acc);
                    dst[cb..cb + L].copy_from_slice(&acc);
                }
            }
        }
    }
}

/// Output positions `lo..hi` whose whole window (`k` taps, dilation `d`,
/// stride `s`, leading padding `pad`) lies inside an input of length `len`.
fn interior(pad: usize, s: usize, d: usize, k: usize, len: usize, out: usize) -> (usize, usize) {
    let lo = pad.div_ceil(s);
    let span = (k - 1) * d;
    let hi = if len + pad > span {
        ((len + pad - span - 1) / s + 1).min(out)
    } else {
        0
    };
    (lo.min(hi), hi)
}

/// The AVX2+FMA depthwise kernel (multiplier 1, any channel count).
#[cfg(target_arch = "x86_64")]
#[allow(clippy::needless_range_loop)] // register tiles read best indexed
mod x86 {
    use std::arch::x86_64::*;

    use super::{Act, Window, interior};
    use crate::simd::x86::{Lanes, act as vact};

    /// # Safety
    /// AVX2 and FMA; `g.oc == g.ic`; `input`, `out`, `weights`, `bias` at
    /// least as long as `g` says.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn depthwise(
        g: &Window,
        input: &[f32],
        weights: &[f32],
        bias: &[f32],
        act: Act,
        out: &mut [f32],
    ) {
        // SAFETY: forwarded from the caller.
        unsafe {
            match (g.kh, g.kw) {
                _ if g.dw != 1 => run::<0, 0, 1>(g, input, weights, bias, act, out),
                (3, 3) if g.sw == 1 => run::<3, 3, 1>(g, input, weights, bias, act, out),
                (3, 3) if g.sw == 2 => run::<3, 3, 2>(g, input, weights, bias, act, out),
                (5, 5) if g.sw == 1 => run::<5, 5, 1>(g, input, weights, bias, act, out),
                (5, 5) if g.sw == 2 => run::<5, 5, 2>(g, input, weights, bias, act, out),
                _ => run::<0, 0, 1>(g, input, weights, bias, act, out),
            }
        }
    }

    /// Border pixels (and every pixel when `KH == 0`) take the general path
    /// with clipped tap ranges; interior pixels of full channel blocks take
    /// a `KH × KW` kernel (horizontal stride `S`, dilation 1) with the
    /// weights in registers, four pixels at a time, each input vector loaded
    /// once for all the pixels it feeds.
    ///
    /// # Safety
    /// As for [`depthwise`].
    #[inline(always)]
    unsafe fn run<const KH: usize, const KW: usize, const S: usize>(
        g: &Window,
        input: &[f32],
        weights: &[f32],
        bias: &[f32],
        act: Act,
        out: &mut [f32],
    ) {
        let c = g.ic;
        let (ip, wp, bp, op) = (
            input.as_ptr(),
            weights.as_ptr(),
            bias.as_ptr(),
            out.as_mut_ptr(),
        );
        let (oy_lo, oy_hi) = interior(g.pad_t, g.sh, g.dh, g.kh, g.ih, g.oh);
        let (ox_lo, ox_hi) = interior(g.pad_l, g.sw, g.dw, g.kw, g.iw, g.ow);
        for b in 0..g.batch {
            for oy in 0..g.oh {
                let iy0 = (oy * g.sh) as isize - g.pad_t as isize;
                let (ky_lo, ky_hi) = Window::valid_range(iy0, g.dh, g.ih, g.kh);
                let fast = KH > 0 && (oy_lo..oy_hi).contains(&oy);
                let obase = ((b * g.oh + oy) * g.ow) * c;
                for cb in (0..c).step_by(8) {
                    // SAFETY: AVX2 (caller).
                    let lanes = unsafe { Lanes::new(c - cb) };
                    // SAFETY (of the `pixel` calls): AVX2+FMA; every tap
                    // read is at a valid (iy, ix) of batch b, channels
                    // cb..cb + lanes ≤ c; the write is pixel (oy, ox).
                    let px = Px {
                        g,
                        ip,
                        wp,
                        bp,
                        op,
                        b,
                        iy0,
                        ky: (ky_lo, ky_hi),
                        obase,
                        cb,
                        lanes,
                        act,
                    };
                    if !fast || lanes.len() < 8 {
                        for ox in 0..g.ow {
                            unsafe { px.pixel(ox) };
                        }
                        continue;
                    }
                    for ox in 0..ox_lo {
                        unsafe { px.pixel(ox) };
                    }
                    // SAFETY: rows iy0..iy0 + (KH-1)·dh and, for ox in
                    // ox_lo..ox_hi, columns ox·sw - pad_l + 0..=(KW-1)·dw
                    // are inside the input (that is what `interior` means);
                    // channels cb..cb + 8 ≤ c.
                    unsafe {
                        let mut wv = [[_mm256_setzero_ps(); KW]; KH];
                        for ky in 0..KH {
                            for kx in 0..KW {
                                wv[ky][kx] = _mm256_loadu_ps(wp.add((ky * KW + kx) * c + cb));
                            }
                        }
                        let bv = _mm256_loadu_ps(bp.add(cb));
                        let rstride = g.dh * g.iw * c;
                        let ix = ox_lo * S - g.pad_l;
                        let mut src = ip.add(((b * g.ih + iy0 as usize) * g.iw + ix) * c + cb);
                        let mut dst = op.add(obase + ox_lo * c + cb);
                        let mut ox = ox_lo;
                        while ox + 4 <= ox_hi {
                            block::<KH, KW, S, 4>(src, rstride, c, &wv, bv, act, dst);
                            (src, dst, ox) = (src.add(4 * S * c), dst.add(4 * c), ox + 4);
                        }
                        while ox < ox_hi {
                            block::<KH, KW, S, 1>(src, rstride, c, &wv, bv, act, dst);
                            (src, dst, ox) = (src.add(S * c), dst.add(c), ox + 1);
                        }
                    }
                    for ox in ox_hi..g.ow {
                        unsafe { px.pixel(ox) };
                    }
                }
            }
        }
    }

    /// MAX_POOL_2D: per output pixel and eight channels, the maximum over
    /// the valid taps in a register.
    ///
    /// # Safety
    /// AVX2; `input` and `out` as long as `g` says.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn max_pool(g: &Window, input: &[f32], act: Act, out: &mut [f32]) {
        let c = g.ic;
        let (ip, op) = (input.as_ptr(), out.as_mut_ptr());
        for b in 0..g.batch {
            for oy in 0..g.oh {
                let iy0 = (oy * g.sh) as isize - g.pad_t as isize;
                let (ky_lo, ky_hi) = Window::valid_range(iy0, 1, g.ih, g.kh);
                for ox in 0..g.ow {
                    let ix0 = (ox * g.sw) as isize - g.pad_l as isize;
                    let (kx_lo, kx_hi) = Window::valid_range(ix0, 1, g.iw, g.kw);
                    let obase = ((b * g.oh + oy) * g.ow + ox) * c;
                    for cb in (0..c).step_by(8) {
                        // SAFETY: taps at valid (iy, ix) of batch b, channels
                        // cb..cb + lanes ≤ c; output pixel (oy, ox).
                        unsafe {
                            let lanes = Lanes::new(c - cb);
                            let mut m = _mm256_set1_ps(f32::NEG_INFINITY);
                            for ky in ky_lo..ky_hi {
                                let iy = (iy0 + ky as isize) as usize;
                                let row = ip.add(((b * g.ih + iy) * g.iw) * c + cb);
                                for kx in kx_lo..kx_hi {
                                    let ix = (ix0 + kx as isize) as usize;
                                    m = _mm256_max_ps(m, lanes.load(row.add(ix * c)));
                                }
                            }
                            lanes.store(op.add(obase + cb), vact(act, m));
                        }
                    }
                }
            }
        }
    }

    /// One row and channel block of the general path.
    struct Px<'a> {
        g: &'a Window,
        ip: *const f32,
        wp: *const f32,
        bp: *const f32,
        op: *mut f32,
        b: usize,
        iy0: isize,
        ky: (usize, usize),
        obase: usize,
        cb: usize,
        lanes: Lanes,
        act: Act,
    }

    impl Px<'_> {
        /// One output pixel with clipped tap ranges.
        ///
        /// # Safety
        /// AVX2+FMA; the pointers cover the tensors of `g`, `ky` is the
        /// valid tap range of the row and `cb + lanes ≤ c`.
        #[inline(always)]
        unsafe fn pixel(&self, ox: usize) {
            let (g, c, lanes) = (self.g, self.g.ic, self.lanes);
            let ix0 = (ox * g.sw) as isize - g.pad_l as isize;
            let (kx_lo, kx_hi) = Window::valid_range(ix0, g.dw, g.iw, g.kw);
            // SAFETY: (iy, ix) are valid input positions, channels in range.
            unsafe {
                let mut acc = lanes.load(self.bp.add(self.cb));
                for ky in self.ky.0..self.ky.1 {
                    let iy = (self.iy0 + (ky * g.dh) as isize) as usize;
                    let row = self.ip.add(((self.b * g.ih + iy) * g.iw) * c + self.cb);
                    for kx in kx_lo..kx_hi {
                        let ix = (ix0 + (kx * g.dw) as isize) as usize;
                        let w = lanes.load(self.wp.add((ky * g.kw + kx) * c + self.cb));
                        acc = _mm256_fmadd_ps(lanes.load(row.add(ix * c)), w, acc);
                    }
                }
                lanes.store(
                    self.op.add(self.obase + ox * c + self.cb),
                    vact(self.act, acc),
                );
            }
        }
    }

    /// `P` interior pixels, eight channels: `src` is the input at the
    /// first pixel's top-left tap, `dst` the first pixel's output.
    ///
    /// # Safety
    /// AVX2+FMA; the windows of all `P` pixels (rows `rstride` apart,
    /// columns `c` apart) are inside the input, and the `P` outputs (`c`
    /// apart) inside the output.
    #[inline(always)]
    unsafe fn block<const KH: usize, const KW: usize, const S: usize, const P: usize>(
        src: *const f32,
        rstride: usize,
        c: usize,
        wv: &[[__m256; KW]; KH],
        bias: __m256,
        act: Act,
        dst: *mut f32,
    ) {
        // SAFETY: see the function's contract.
        unsafe {
            let mut acc = [bias; P];
            for ky in 0..KH {
                let row = src.add(ky * rstride);
                for j in 0..(P - 1) * S + KW {
                    let x = _mm256_loadu_ps(row.add(j * c));
                    for p in 0..P {
                        if j >= p * S && j - p * S < KW {
                            acc[p] = _mm256_fmadd_ps(x, wv[ky][j - p * S], acc[p]);
                        }
                    }
                }
            }
            for p in 0..P {
                _mm256_storeu_ps(dst.add(p * c), vact(act, acc[p]));
            }
        }
    }
}

/// DEPTHWISE_CONV_2D with weights `[kh, kw, oc]` (`oc = ic * multiplier`).
fn depthwise_generic(
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
    #[cfg(target_arch = "x86_64")]
    if crate::simd::has_avx2_fma() {
        assert!(input.len() >= g.batch * g.ih * g.iw * g.ic);
        assert!(out.len() >= g.batch * g.oh * g.ow * g.ic);
        // SAFETY: the CPU has AVX2; the sizes were checked above.
        unsafe { x86::max_pool(g, input, act, out) };
        return;
    }
    max_pool_portable(g, input, act, out);
}

fn max_pool_portable(g: &Window, input: &[f32], act: Act, out: &mut [f32]) {
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
                    copy_short(&mut out[o..o + inner], &input[src..src + inner]);
                    src += inner;
                }
            }
        }
    }
}

/// `dst.copy_from_slice(src)` without a `memcpy` call for short runs (a
/// channel vector per pixel in PAD).
#[inline]
fn copy_short(dst: &mut [f32], src: &[f32]) {
    if dst.len() > 64 {
        dst.copy_from_slice(src);
        return;
    }
    let mut d = dst.chunks_exact_mut(8);
    let mut s = src.chunks_exact(8);
    for (d, s) in (&mut d).zip(&mut s) {
        let s: [f32; 8] = s.try_into().unwrap();
        d.copy_from_slice(&s);
    }
    for (d, s) in d.into_remainder().iter_mut().zip(s.remainder()) {
        *d = *s;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    /// The dispatched depthwise kernel (AVX2 when available) and the
    /// portable one agree with the generic reference.
    #[test]
    fn depthwise_kernels_agree() {
        let mut s = 3;
        // (ih, iw, c, k, stride, dilation, pad)
        for &(ih, iw, c, k, st, d, pad) in &[
            (9, 11, 16, 3, 1, 1, 1),
            (10, 7, 24, 3, 2, 1, 0),
            (8, 8, 28, 3, 2, 1, 1),
            (12, 13, 8, 5, 1, 1, 2),
            (12, 9, 42, 5, 2, 1, 2),
            (7, 7, 4, 3, 1, 2, 2),
            (6, 6, 16, 2, 2, 1, 0),
            (2, 3, 16, 3, 1, 1, 1),
        ] {
            let eff = (k - 1) * d + 1;
            let oh = (ih + 2 * pad - eff) / st + 1;
            let ow = (iw + 2 * pad - eff) / st + 1;
            let g = Window {
                batch: 2,
                ih,
                iw,
                ic: c,
                oh,
                ow,
                oc: c,
                kh: k,
                kw: k,
                sh: st,
                sw: st,
                dh: d,
                dw: d,
                pad_t: pad,
                pad_l: pad,
            };
            let input: Vec<f32> = (0..2 * ih * iw * c).map(|_| lcg(&mut s)).collect();
            let w: Vec<f32> = (0..k * k * c).map(|_| lcg(&mut s)).collect();
            let bias: Vec<f32> = (0..c).map(|_| lcg(&mut s)).collect();
            for act in [Act::None, Act::Relu6] {
                let n = 2 * oh * ow * c;
                let (mut a, mut b, mut r) = (vec![7.0; n], vec![7.0; n], vec![7.0; n]);
                depthwise(&g, &input, &w, &bias, act, &mut a);
                depthwise_portable(&g, &input, &w, &bias, act, &mut b);
                depthwise_generic(&g, &input, &w, &bias, act, &mut r);
                for i in 0..n {
                    assert!(
                        (a[i] - r[i]).abs() < 1e-5,
                        "{g:?} at {i}: {} vs {}",
                        a[i],
                        r[i]
                    );
                    assert!(
                        (b[i] - r[i]).abs() < 1e-5,
                        "{g:?} at {i}: {} vs {}",
                        b[i],
                        r[i]
                    );
                }
            }
        }
    }

    /// A convolution's direct interior path agrees with im2col everywhere.
    #[test]
    fn conv_direct_matches_im2col() {
        let mut s = 5;
        // (ih, iw, ic, oc, k, stride, pad)
        for &(ih, iw, ic, oc, k, st, pad) in &[
            (13, 11, 3, 16, 3, 2, 1),
            (12, 12, 3, 24, 5, 2, 2),
            (9, 9, 32, 20, 3, 3, 0),
            (6, 7, 5, 8, 2, 2, 0),
            (5, 5, 4, 17, 3, 1, 1),
        ] {
            let oh = (ih + 2 * pad - k) / st + 1;
            let ow = (iw + 2 * pad - k) / st + 1;
            let g = Window {
                batch: 2,
                ih,
                iw,
                ic,
                oh,
                ow,
                oc,
                kh: k,
                kw: k,
                sh: st,
                sw: st,
                dh: 1,
                dw: 1,
                pad_t: pad,
                pad_l: pad,
            };
            let kk = k * k * ic;
            let input: Vec<f32> = (0..2 * ih * iw * ic).map(|_| lcg(&mut s)).collect();
            let wt: Vec<f32> = (0..kk * oc).map(|_| lcg(&mut s)).collect();
            let w = PackedB::pack(kk, oc, |a, j| wt[a * oc + j]);
            let bias: Vec<f32> = (0..oc).map(|_| lcg(&mut s)).collect();
            let n = 2 * oh * ow * oc;
            let res: Vec<f32> = (0..n).map(|_| lcg(&mut s)).collect();
            let ep = Epilogue {
                bias: &bias,
                act: Act::None,
                residual: Some(&res),
                post_act: Act::Relu,
                prelu: None,
            };
            let mut scratch = vec![0.0; IM2COL_ROWS * kk];
            let (mut a, mut r) = (vec![7.0; n], vec![7.0; n]);
            conv2d(&g, &input, &w, &mut a, &mut scratch, &ep);
            im2col_gemm(&g, &input, &w, &mut r, &mut scratch, &ep, 0, 2 * oh * ow);
            for i in 0..n {
                assert!(
                    (a[i] - r[i]).abs() < 1e-5,
                    "{g:?} at {i}: {} vs {}",
                    a[i],
                    r[i]
                );
            }
        }
    }

    /// The dispatched max pool agrees with the portable one.
    #[test]
    fn max_pool_kernels_agree() {
        let mut s = 9;
        for &(ih, iw, c, k, st, pad) in
            &[(9, 8, 16, 2, 2, 0), (7, 7, 12, 3, 2, 1), (5, 6, 3, 3, 1, 1)]
        {
            let oh = (ih + 2 * pad - k) / st + 1;
            let ow = (iw + 2 * pad - k) / st + 1;
            let g = Window {
                batch: 1,
                ih,
                iw,
                ic: c,
                oh,
                ow,
                oc: c,
                kh: k,
                kw: k,
                sh: st,
                sw: st,
                dh: 1,
                dw: 1,
                pad_t: pad,
                pad_l: pad,
            };
            let input: Vec<f32> = (0..ih * iw * c).map(|_| lcg(&mut s)).collect();
            let n = oh * ow * c;
            let (mut a, mut r) = (vec![7.0; n], vec![7.0; n]);
            max_pool(&g, &input, Act::Relu, &mut a);
            max_pool_portable(&g, &input, Act::Relu, &mut r);
            assert_eq!(a, r, "{g:?}");
        }
    }
}
