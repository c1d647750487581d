//! Run-time selection of an AVX2+FMA build of a kernel, with the portable
//! build as fallback. The kernel body is compiled twice: once generically
//! and once inside a `#[target_feature]` function, so LLVM vectorises it
//! for 256-bit registers when the CPU has them.

/// Whether this CPU has AVX2 and FMA (cached by std).
#[inline]
pub(crate) fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Defines `pub(crate) fn $name(args)` whose body is `$imp::<FMA>(args)`,
/// dispatching to an AVX2+FMA copy when available. `$imp` must be
/// `#[inline(always)]` and generic over `const FMA: bool`.
macro_rules! multiversion {
    ($vis:vis fn $name:ident = $imp:ident ($($arg:ident : $ty:ty),* $(,)?)) => {
        $vis fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) {
                    $imp::<true>($($arg),*)
                }
                if $crate::simd::has_avx2_fma() {
                    // SAFETY: the CPU supports the features `avx2` is built for.
                    unsafe { avx2($($arg),*) };
                    return;
                }
            }
            $imp::<false>($($arg),*)
        }
    };
}
pub(crate) use multiversion;

/// `a * b + c`, fused when built for FMA.
#[inline(always)]
pub(crate) fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}
