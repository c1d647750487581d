//! Single-threaded f32 GEMM `C = A · B` with B (the weights) packed at load
//! time into column panels of [`NR`] (the last one [`NR`]`/2` wide when that
//! covers the remaining columns) and a fused epilogue (bias, activation,
//! residual add, PReLU).
//!
//! On x86-64 with AVX2+FMA (detected at run time) the micro-kernel is
//! explicit: an [`MR`]×16 tile of C lives in twelve `ymm` registers while
//! the K loop broadcasts one A value per row and issues two FMAs against
//! the panel's row; the epilogue runs on the registers before one store.
//! Elsewhere a portable kernel with the same blocking is used.

use crate::act::Act;

/// Panel width (columns of B per micro-tile).
pub(crate) const NR: usize = 16;
/// Rows of A per micro-tile.
const MR: usize = 6;

/// B (`k × n`, row-major in the math) stored as column panels, each `k × w`
/// (`w` = [`NR`], or [`NR`]`/2` for a last panel that fits in it),
/// zero-padded on the right.
#[derive(Debug)]
pub(crate) struct PackedB {
    pub(crate) k: usize,
    pub(crate) n: usize,
    data: Vec<f32>,
}

/// One panel: first column, width (8 or 16) and offset in `PackedB::data`.
#[derive(Clone, Copy)]
struct Panel {
    j0: usize,
    width: usize,
    off: usize,
}

impl PackedB {
    /// Packs `b` given as `b(kk, j) = get(kk, j)`.
    pub(crate) fn pack(k: usize, n: usize, get: impl Fn(usize, usize) -> f32) -> Self {
        let mut b = PackedB {
            k,
            n,
            data: Vec::new(),
        };
        let len = b.panels().map(|p| p.width * k).sum();
        b.data = vec![0.0; len];
        let panels: Vec<Panel> = b.panels().collect();
        for p in panels {
            for kk in 0..k {
                for jj in 0..p.width.min(n - p.j0) {
                    b.data[p.off + kk * p.width + jj] = get(kk, p.j0 + jj);
                }
            }
        }
        b
    }

    fn panels(&self) -> impl Iterator<Item = Panel> + use<> {
        let (k, n) = (self.k, self.n);
        let mut j0 = 0;
        let mut off = 0;
        std::iter::from_fn(move || {
            if j0 >= n {
                return None;
            }
            let width = if n - j0 <= NR / 2 { NR / 2 } else { NR };
            let p = Panel { j0, width, off };
            j0 += width;
            off += width * k;
            Some(p)
        })
    }
}

/// What happens to each output value after the dot product:
/// `v = act(acc + bias[j])`, then `v = post_act(v + residual)` if a residual
/// is given, then `v = prelu(v, alpha[j])` if alpha is given.
#[derive(Clone, Copy)]
pub(crate) struct Epilogue<'a> {
    pub(crate) bias: &'a [f32],
    pub(crate) act: Act,
    pub(crate) residual: Option<&'a [f32]>,
    pub(crate) post_act: Act,
    pub(crate) prelu: Option<&'a [f32]>,
}

/// Where the rows of A are: row `r` is `segs` runs of `seg_len` values,
/// run `s` starting at `r · row_step + s · seg_step`. A dense matrix is one
/// run per row; the interior of a convolution is one run per kernel row
/// (im2col without the copy).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ALayout {
    pub(crate) row_step: usize,
    pub(crate) seg_step: usize,
    pub(crate) segs: usize,
    pub(crate) seg_len: usize,
}

impl ALayout {
    /// Rows of `k` values, `lda` apart.
    pub(crate) fn dense(lda: usize, k: usize) -> Self {
        ALayout {
            row_step: lda,
            seg_step: 0,
            segs: 1,
            seg_len: k,
        }
    }

    /// One past the last index of `m ≥ 1` rows.
    fn span(&self, m: usize) -> usize {
        (m - 1) * self.row_step + (self.segs - 1) * self.seg_step + self.seg_len
    }
}

/// `c[m × n] (row stride n) = a[m × k] (row stride lda) · b`, then epilogue.
/// `residual`, when present, has the same layout as `c`.
pub(crate) fn gemm(m: usize, a: &[f32], lda: usize, b: &PackedB, c: &mut [f32], ep: &Epilogue) {
    gemm_a(m, a, ALayout::dense(lda, b.k), b, c, ep);
}

/// [`gemm`] with A's rows laid out as `lay` says.
pub(crate) fn gemm_a(m: usize, a: &[f32], lay: ALayout, b: &PackedB, c: &mut [f32], ep: &Epilogue) {
    if m == 0 || b.n == 0 {
        return;
    }
    assert!(lay.segs >= 1 && lay.segs * lay.seg_len == b.k && a.len() >= lay.span(m));
    assert!(c.len() >= m * b.n && ep.bias.len() >= b.n);
    assert!(ep.residual.is_none_or(|r| r.len() >= m * b.n));
    assert!(ep.prelu.is_none_or(|p| p.len() >= b.n));
    #[cfg(target_arch = "x86_64")]
    if crate::simd::has_avx2_fma() {
        // SAFETY: the CPU has AVX2 and FMA, and the sizes were checked above.
        unsafe { x86::gemm(m, a, lay, b, c, ep) };
        return;
    }
    portable::gemm(m, a, lay, b, c, ep);
}

/// The plain-Rust kernel (any target; also the reference in tests).
mod portable {
    use super::{ALayout, Epilogue, MR, NR, PackedB};

    pub(super) fn gemm(
        m: usize,
        a: &[f32],
        lay: ALayout,
        b: &PackedB,
        c: &mut [f32],
        ep: &Epilogue,
    ) {
        let k = b.k;
        let mut i = 0;
        while i < m {
            let r = MR.min(m - i);
            for p in b.panels() {
                let panel = &b.data[p.off..p.off + p.width * k];
                let w = p.width.min(b.n - p.j0);
                macro_rules! go {
                    ($($r:literal)*) => {
                        match r {
                            $($r => {
                                let a = &a[i * lay.row_step..];
                                let acc = if p.width == NR {
                                    tile::<$r, NR>(a, lay, panel)
                                } else {
                                    pad(tile::<$r, { NR / 2 }>(a, lay, panel))
                                };
                                store(&acc, i, p.j0, w, b.n, c, ep);
                            })*
                            _ => unreachable!(),
                        }
                    };
                }
                go!(1 2 3 4 5 6);
            }
            i += r;
        }
    }

    fn pad<const R: usize>(t: [[f32; NR / 2]; R]) -> [[f32; NR]; R] {
        std::array::from_fn(|r| std::array::from_fn(|j| if j < NR / 2 { t[r][j] } else { 0.0 }))
    }

    #[inline(always)]
    fn tile<const R: usize, const W: usize>(
        a: &[f32],
        lay: ALayout,
        panel: &[f32],
    ) -> [[f32; W]; R] {
        let mut acc = [[0.0f32; W]; R];
        let len = lay.seg_len;
        for (s, seg) in panel.chunks_exact(len * W).enumerate() {
            let rows: [&[f32]; R] =
                std::array::from_fn(|r| &a[r * lay.row_step + s * lay.seg_step..][..len]);
            for (kk, bv) in seg.chunks_exact(W).enumerate() {
                for r in 0..R {
                    let av = rows[r][kk];
                    for j in 0..W {
                        acc[r][j] += av * bv[j];
                    }
                }
            }
        }
        acc
    }

    fn store<const R: usize>(
        acc: &[[f32; NR]; R],
        i: usize,
        j0: usize,
        w: usize,
        n: usize,
        c: &mut [f32],
        ep: &Epilogue,
    ) {
        for (r, row) in acc.iter().enumerate() {
            let base = (i + r) * n + j0;
            let mut v = *row;
            let v = &mut v[..w];
            for (x, b) in v.iter_mut().zip(&ep.bias[j0..j0 + w]) {
                *x += b;
            }
            ep.act.apply_slice(v);
            if let Some(res) = ep.residual {
                for (x, r) in v.iter_mut().zip(&res[base..base + w]) {
                    *x += r;
                }
                ep.post_act.apply_slice(v);
            }
            if let Some(alpha) = ep.prelu {
                for (x, a) in v.iter_mut().zip(&alpha[j0..j0 + w]) {
                    *x = if *x >= 0.0 { *x } else { *x * a };
                }
            }
            c[base..base + w].copy_from_slice(v);
        }
    }
}

/// The AVX2+FMA kernel.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::needless_range_loop)] // register tiles read best indexed
mod x86 {
    use std::arch::x86_64::*;

    use super::{ALayout, Epilogue, MR, NR, PackedB};
    use crate::simd::x86::{Lanes, act};

    /// # Safety
    /// The CPU must have AVX2 and FMA; `m ≥ 1` and the slice sizes must be
    /// those asserted by [`super::gemm_a`].
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn gemm(
        m: usize,
        a: &[f32],
        lay: ALayout,
        b: &PackedB,
        c: &mut [f32],
        ep: &Epilogue,
    ) {
        let mut i = 0;
        while i < m {
            let r = MR.min(m - i);
            for p in b.panels() {
                let w = p.width.min(b.n - p.j0);
                // SAFETY: rows i..i + r of A lie inside `a` (a.len() ≥
                // lay.span(m)); the panel holds k·width values at p.off.
                let ap = unsafe { a.as_ptr().add(i * lay.row_step) };
                let bp = unsafe { b.data.as_ptr().add(p.off) };
                macro_rules! go {
                    ($($r:literal)*) => {
                        match (r, p.width == NR) {
                            $(
                                // SAFETY: as above; `store` writes rows
                                // i..i + r, columns j0..j0 + w < n of C.
                                ($r, true) => unsafe {
                                    let acc = tile::<$r, 2>(ap, lay, bp);
                                    store::<$r, 2>(&acc, i, p.j0, w, b.n, c, ep);
                                },
                                ($r, false) => unsafe {
                                    let acc = tile::<$r, 1>(ap, lay, bp);
                                    store::<$r, 1>(&acc, i, p.j0, w, b.n, c, ep);
                                },
                            )*
                            _ => unreachable!(),
                        }
                    };
                }
                go!(1 2 3 4 5 6);
            }
            i += r;
        }
    }

    /// `R` rows × `8V` columns of A·B, in registers.
    ///
    /// # Safety
    /// AVX2+FMA; `a` points at `R` rows laid out as `lay` says, `b` at
    /// `k` rows of `8V` values.
    #[inline(always)]
    unsafe fn tile<const R: usize, const V: usize>(
        a: *const f32,
        lay: ALayout,
        b: *const f32,
    ) -> [[__m256; V]; R] {
        // SAFETY: every pointer offset stays inside the ranges above.
        unsafe {
            let mut acc = [[_mm256_setzero_ps(); V]; R];
            let mut b = b;
            for s in 0..lay.segs {
                let a = a.add(s * lay.seg_step);
                for kk in 0..lay.seg_len {
                    let mut bv = [_mm256_setzero_ps(); V];
                    for v in 0..V {
                        bv[v] = _mm256_loadu_ps(b.add(8 * v));
                    }
                    b = b.add(8 * V);
                    for r in 0..R {
                        let av = _mm256_broadcast_ss(&*a.add(r * lay.row_step + kk));
                        for v in 0..V {
                            acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
                        }
                    }
                }
            }
            acc
        }
    }

    /// Applies the epilogue to a tile and stores columns `j0..j0 + w`.
    ///
    /// # Safety
    /// AVX2+FMA; rows `i..i + R` of `c` (stride `n`), `bias`, `residual`,
    /// `prelu` must cover columns `j0..j0 + w` (`w ≤ 8V`, `j0 + w ≤ n`).
    #[inline(always)]
    unsafe fn store<const R: usize, const V: usize>(
        acc: &[[__m256; V]; R],
        i: usize,
        j0: usize,
        w: usize,
        n: usize,
        c: &mut [f32],
        ep: &Epilogue,
    ) {
        let cp = c.as_mut_ptr();
        for v in 0..V {
            let j = j0 + 8 * v;
            // SAFETY: the caller has AVX2.
            let lanes = unsafe { Lanes::new(w.saturating_sub(8 * v)) };
            if lanes.is_empty() {
                continue;
            }
            // SAFETY: columns j..j + lanes lie in 0..n (checked by the
            // caller); masked lanes are neither read nor written.
            unsafe {
                let bias = lanes.load(ep.bias.as_ptr().add(j));
                let alpha = ep.prelu.map(|p| lanes.load(p.as_ptr().add(j)));
                for r in 0..R {
                    let off = (i + r) * n + j;
                    let mut x = act(ep.act, _mm256_add_ps(acc[r][v], bias));
                    if let Some(res) = ep.residual {
                        x = act(
                            ep.post_act,
                            _mm256_add_ps(x, lanes.load(res.as_ptr().add(off))),
                        );
                    }
                    if let Some(al) = alpha {
                        let neg = _mm256_cmp_ps::<_CMP_LT_OQ>(x, _mm256_setzero_ps());
                        x = _mm256_blendv_ps(x, _mm256_mul_ps(x, al), neg);
                    }
                    lanes.store(cp.add(off), x);
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

    /// The dispatched kernel (AVX2 when available) agrees with the portable
    /// one and with a naive product, for every tile and panel remainder.
    #[test]
    fn kernels_agree() {
        let mut s = 7;
        for &(m, k, n) in &[
            (1, 1, 1),
            (7, 3, 8),
            (13, 27, 24),
            (6, 16, 16),
            (11, 5, 28),
            (5, 128, 142),
            (20, 9, 9),
            (3, 40, 33),
        ] {
            for mode in 0..4 {
                let lda = k + (mode & 1) * 3;
                let a: Vec<f32> = (0..m * lda).map(|_| lcg(&mut s)).collect();
                let bm: Vec<f32> = (0..k * n).map(|_| lcg(&mut s)).collect();
                let bias: Vec<f32> = (0..n).map(|_| lcg(&mut s)).collect();
                let res: Vec<f32> = (0..m * n).map(|_| lcg(&mut s)).collect();
                let alpha: Vec<f32> = (0..n).map(|_| lcg(&mut s)).collect();
                let b = PackedB::pack(k, n, |kk, j| bm[kk * n + j]);
                let ep = Epilogue {
                    bias: &bias,
                    act: if mode & 2 != 0 { Act::Relu6 } else { Act::None },
                    residual: (mode & 2 != 0).then_some(&res[..]),
                    post_act: Act::ReluN1To1,
                    prelu: (mode & 1 != 0).then_some(&alpha[..]),
                };
                let mut c1 = vec![9.0; m * n];
                let mut c2 = vec![9.0; m * n];
                gemm(m, &a, lda, &b, &mut c1, &ep);
                portable::gemm(m, &a, ALayout::dense(lda, k), &b, &mut c2, &ep);
                for i in 0..m {
                    for j in 0..n {
                        let mut v = bias[j];
                        for kk in 0..k {
                            v += a[i * lda + kk] * bm[kk * n + j];
                        }
                        v = ep.act.apply(v);
                        if let Some(r) = ep.residual {
                            v = ep.post_act.apply(v + r[i * n + j]);
                        }
                        if let Some(al) = ep.prelu {
                            v = if v >= 0.0 { v } else { v * al[j] };
                        }
                        let (x, y) = (c1[i * n + j], c2[i * n + j]);
                        assert!((x - v).abs() < 1e-4, "{m}x{k}x{n} mode {mode}: {x} vs {v}");
                        assert!((y - v).abs() < 1e-4, "{m}x{k}x{n} mode {mode}: {y} vs {v}");
                    }
                }
            }
        }
    }

    /// Segmented A rows (the convolution interior) in both kernels.
    #[test]
    fn segmented_layout_agrees() {
        let mut s = 11;
        let lay = ALayout {
            row_step: 2,
            seg_step: 29,
            segs: 3,
            seg_len: 5,
        };
        let (m, k, n) = (9, 15, 24);
        let a: Vec<f32> = (0..lay.span(m)).map(|_| lcg(&mut s)).collect();
        let bm: Vec<f32> = (0..k * n).map(|_| lcg(&mut s)).collect();
        let bias = vec![0.5; n];
        let b = PackedB::pack(k, n, |kk, j| bm[kk * n + j]);
        let ep = Epilogue {
            bias: &bias,
            act: Act::None,
            residual: None,
            post_act: Act::None,
            prelu: None,
        };
        let (mut c1, mut c2) = (vec![0.0; m * n], vec![0.0; m * n]);
        gemm_a(m, &a, lay, &b, &mut c1, &ep);
        portable::gemm(m, &a, lay, &b, &mut c2, &ep);
        for i in 0..m {
            for j in 0..n {
                let mut v = 0.5;
                for kk in 0..k {
                    let (sg, t) = (kk / lay.seg_len, kk % lay.seg_len);
                    v += a[i * lay.row_step + sg * lay.seg_step + t] * bm[kk * n + j];
                }
                assert!((c1[i * n + j] - v).abs() < 1e-4);
                assert!((c2[i * n + j] - v).abs() < 1e-4);
            }
        }
    }
}
