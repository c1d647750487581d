//! Single-threaded f32 GEMM `C = A · B` with B (the weights) packed at load
//! time into column panels of [`NR`] and a fused epilogue (bias, activation,
//! residual add, PReLU). The micro-kernel is plain Rust written so that LLVM
//! vectorises it; on x86-64 an AVX2+FMA copy is selected at run time.

use crate::ops::Act;

/// Panel width (columns of B per micro-tile).
pub(crate) const NR: usize = 16;
/// Rows of A per micro-tile.
const MR: usize = 6;

/// B (`k × n`, row-major in the math) stored as `ceil(n / NR)` panels, each
/// `k × NR`, zero-padded on the right.
#[derive(Debug)]
pub(crate) struct PackedB {
    pub(crate) k: usize,
    pub(crate) n: usize,
    data: Vec<f32>,
}

impl PackedB {
    /// Packs `b` given as `b(kk, j) = get(kk, j)`.
    pub(crate) fn pack(k: usize, n: usize, get: impl Fn(usize, usize) -> f32) -> Self {
        let panels = n.div_ceil(NR);
        let mut data = vec![0.0; panels * k * NR];
        for p in 0..panels {
            for kk in 0..k {
                for jj in 0..NR {
                    let j = p * NR + jj;
                    if j < n {
                        data[(p * k + kk) * NR + jj] = get(kk, j);
                    }
                }
            }
        }
        PackedB { k, n, data }
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

/// `c[m × n] (row stride n) = a[m × k] (row stride lda) · b`, then epilogue.
/// `residual`, when present, has the same layout as `c`.
pub(crate) fn gemm(m: usize, a: &[f32], lda: usize, b: &PackedB, c: &mut [f32], ep: &Epilogue) {
    assert!(m == 0 || a.len() >= (m - 1) * lda + b.k);
    assert!(c.len() >= m * b.n && ep.bias.len() >= b.n);
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports the features this copy is compiled for.
            unsafe { gemm_avx2(m, a, lda, b, c, ep) };
            return;
        }
    }
    gemm_impl::<false>(m, a, lda, b, c, ep);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gemm_avx2(m: usize, a: &[f32], lda: usize, b: &PackedB, c: &mut [f32], ep: &Epilogue) {
    gemm_impl::<true>(m, a, lda, b, c, ep);
}

#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

#[inline(always)]
fn gemm_impl<const FMA: bool>(
    m: usize,
    a: &[f32],
    lda: usize,
    b: &PackedB,
    c: &mut [f32],
    ep: &Epilogue,
) {
    let (k, n) = (b.k, b.n);
    for (p, panel) in b.data.chunks_exact(k * NR).enumerate() {
        let j0 = p * NR;
        let w = NR.min(n - j0);
        let mut i = 0;
        while i + MR <= m {
            let acc = tile::<MR, FMA>(&a[i * lda..], lda, k, panel);
            store(&acc, i, j0, w, n, c, ep);
            i += MR;
        }
        while i < m {
            let acc = tile::<1, FMA>(&a[i * lda..], lda, k, panel);
            store(&acc, i, j0, w, n, c, ep);
            i += 1;
        }
    }
}

#[inline(always)]
fn tile<const R: usize, const FMA: bool>(
    a: &[f32],
    lda: usize,
    k: usize,
    panel: &[f32],
) -> [[f32; NR]; R] {
    let mut acc = [[0.0f32; NR]; R];
    let rows: [&[f32]; R] = std::array::from_fn(|r| &a[r * lda..r * lda + k]);
    for (kk, bv) in panel.chunks_exact(NR).enumerate().take(k) {
        let bv: &[f32; NR] = bv.try_into().unwrap();
        for r in 0..R {
            let av = rows[r][kk];
            for j in 0..NR {
                acc[r][j] = madd::<FMA>(av, bv[j], acc[r][j]);
            }
        }
    }
    acc
}

#[inline(always)]
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
        let out = &mut c[base..base + w];
        let bias = &ep.bias[j0..j0 + w];
        for j in 0..w {
            out[j] = ep.act.apply(row[j] + bias[j]);
        }
        if let Some(res) = ep.residual {
            let res = &res[base..base + w];
            for j in 0..w {
                out[j] = ep.post_act.apply(out[j] + res[j]);
            }
        }
        if let Some(alpha) = ep.prelu {
            let alpha = &alpha[j0..j0 + w];
            for j in 0..w {
                let v = out[j];
                out[j] = if v >= 0.0 { v } else { v * alpha[j] };
            }
        }
    }
}
