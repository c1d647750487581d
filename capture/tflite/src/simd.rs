//! Run-time detection of AVX2+FMA and the helpers the explicit x86-64
//! kernels share (partial-vector loads and stores, vector activations).

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

/// Helpers for the explicit AVX2 kernels.
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    use std::arch::x86_64::*;

    use crate::act::Act;

    /// The first `n` (0..=8) lanes of a 256-bit vector: full loads and
    /// stores when `n == 8`, masked ones otherwise.
    #[derive(Clone, Copy)]
    pub(crate) struct Lanes {
        n: usize,
        mask: __m256i,
    }

    impl Lanes {
        /// # Safety
        /// AVX2.
        #[inline(always)]
        pub(crate) unsafe fn new(n: usize) -> Self {
            let n = n.min(8);
            // SAFETY: register arithmetic only (the caller has AVX2).
            let mask = unsafe {
                _mm256_cmpgt_epi32(
                    _mm256_set1_epi32(n as i32),
                    _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                )
            };
            Lanes { n, mask }
        }

        #[inline(always)]
        pub(crate) fn is_empty(self) -> bool {
            self.n == 0
        }

        #[inline(always)]
        pub(crate) fn len(self) -> usize {
            self.n
        }

        /// # Safety
        /// AVX2; `p..p + n` readable.
        #[inline(always)]
        pub(crate) unsafe fn load(self, p: *const f32) -> __m256 {
            // SAFETY: the caller guarantees the first n lanes are in bounds;
            // masked-off lanes are not accessed.
            unsafe {
                if self.n == 8 {
                    _mm256_loadu_ps(p)
                } else {
                    _mm256_maskload_ps(p, self.mask)
                }
            }
        }

        /// # Safety
        /// AVX2; `p..p + n` writable.
        #[inline(always)]
        pub(crate) unsafe fn store(self, p: *mut f32, x: __m256) {
            // SAFETY: as for `load`.
            unsafe {
                if self.n == 8 {
                    _mm256_storeu_ps(p, x)
                } else {
                    _mm256_maskstore_ps(p, self.mask, x)
                }
            }
        }
    }

    /// A fused activation on eight lanes.
    ///
    /// # Safety
    /// AVX.
    #[inline(always)]
    pub(crate) unsafe fn act(a: Act, x: __m256) -> __m256 {
        // SAFETY: register arithmetic only.
        unsafe {
            match a {
                Act::None => x,
                Act::Relu => _mm256_max_ps(x, _mm256_setzero_ps()),
                Act::ReluN1To1 => {
                    _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-1.0)), _mm256_set1_ps(1.0))
                }
                Act::Relu6 => {
                    _mm256_min_ps(_mm256_max_ps(x, _mm256_setzero_ps()), _mm256_set1_ps(6.0))
                }
            }
        }
    }
}
