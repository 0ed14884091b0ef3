//! The convolution's AVX2 + FMA paths: 8-lane row moves, the direct kernel's arithmetic, and
//! the tap table for planes of at most 16 values.

use super::direct::{direct_conv, DirectOps};
use super::im2col::{im2col_rows, RowMoves, Taps};
use super::Geometry;

/// [`direct_conv`] with AVX2 and FMA: 6 channels, 8 columns. AVX2's 16 vector registers hold
/// the 12 chains, 2 rows and a broadcast weight; 8 chains (4 channels) would only just cover
/// the FMA's latency on two pipes.
///
/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(simd_x86)]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn direct_conv_avx2(
    g: &Geometry,
    x: &[f32],
    taps: &[f32],
    bias: Option<&[f32]>,
    pool: bool,
    out: &mut [std::mem::MaybeUninit<f32>],
) {
    #[cfg(test)]
    crate::isa::ran::hit("conv/avx2/direct");
    // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
    // vector extension; pointers and slices as documented), all that these calls need.
    unsafe { direct_conv::<Avx2Rows, 6>(g, x, taps, bias, pool, out) }
}

/// [`im2col_table`] for planes of at most 16 values (the 4×4 maps) and a multiple of 8 output
/// pixels with AVX2: the plane in two registers, each group of eight offsets a permute of
/// each, a blend on the offset's bit 3 and a mask that zeroes the padding's lanes.
///
/// # Safety
/// The CPU must have AVX2.
#[cfg(simd_x86)]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn im2col_table_avx2(
    g: &Geometry,
    x: &[f32],
    images: usize,
    col: &mut [f32],
    taps: &Taps,
) {
    #[cfg(test)]
    crate::isa::ran::hit("conv/avx2/im2col_table");
    // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
    // vector extension; pointers and slices as documented), all that these calls need.
    unsafe {
        use std::arch::x86_64::*;
        let (p, plane_len) = (g.out_pixels(), g.in_pixels());
        let (per_channel, cols) = (g.kernel[0] * g.kernel[1], images * p);
        let limit = _mm256_set1_epi32(plane_len as i32);
        let bit3 = _mm256_set1_epi32(8);
        let mut padded = [0.0f32; 16];
        for c in 0..g.c_in {
            for b in 0..images {
                let at = (b * g.c_in + c) * plane_len;
                padded[..plane_len].copy_from_slice(&x[at..at + plane_len]);
                // SAFETY (all loads and stores here): `padded` holds 16 floats, each offset row
                // `p` u32s and each destination `p` floats, read or written 8 at a time.
                let (r0, r1) = (
                    _mm256_loadu_ps(padded.as_ptr()),
                    _mm256_loadu_ps(padded[8..].as_ptr()),
                );
                for t in 0..per_channel {
                    let offsets = taps.of(t);
                    let start = (c * per_channel + t) * cols + b * p;
                    let dst = &mut col[start..start + p];
                    for j in (0..p).step_by(8) {
                        let idx = _mm256_loadu_si256(offsets[j..j + 8].as_ptr().cast());
                        let high = _mm256_cmpeq_epi32(_mm256_and_si256(idx, bit3), bit3);
                        let v = _mm256_blendv_ps(
                            _mm256_permutevar8x32_ps(r0, idx),
                            _mm256_permutevar8x32_ps(r1, idx),
                            _mm256_castsi256_ps(high),
                        );
                        let inside = _mm256_castsi256_ps(_mm256_cmpgt_epi32(limit, idx));
                        _mm256_storeu_ps(dst[j..j + 8].as_mut_ptr(), _mm256_and_ps(inside, v));
                    }
                }
            }
        }
    }
}

/// 8 lanes with AVX2's masked moves, whose mask is a vector.
#[cfg(simd_x86)]
pub(crate) struct Avx2Rows;

#[cfg(simd_x86)]
impl RowMoves for Avx2Rows {
    const LANES: usize = 8;
    type Mask = std::arch::x86_64::__m256i;

    #[inline(always)]
    unsafe fn lanes(lo: usize, hi: usize) -> Self::Mask {
        // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
        // vector extension; pointers and slices as documented), all that these calls need.
        unsafe {
            use std::arch::x86_64::*;
            let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            // Lane l is on where l < k.
            let below = |k: usize| _mm256_cmpgt_epi32(_mm256_set1_epi32(k as i32), lane);
            _mm256_andnot_si256(below(lo), below(hi))
        }
    }

    // As for AVX-512: full vectors take the plain store (all lanes on: the sign bits' mask
    // is 0xFF).
    #[inline(always)]
    unsafe fn copy(dst: *mut f32, src: *const f32, load: Self::Mask, store: Self::Mask) {
        // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
        // vector extension; pointers and slices as documented), all that these calls need.
        unsafe {
            use std::arch::x86_64::*;
            let v = _mm256_maskload_ps(src, load);
            if _mm256_movemask_ps(_mm256_castsi256_ps(store)) == 0xFF {
                _mm256_storeu_ps(dst, v);
            } else {
                _mm256_maskstore_ps(dst, store, v);
            }
        }
    }

    #[inline(always)]
    unsafe fn zero(dst: *mut f32, store: Self::Mask) {
        // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
        // vector extension; pointers and slices as documented), all that these calls need.
        unsafe {
            use std::arch::x86_64::*;
            if _mm256_movemask_ps(_mm256_castsi256_ps(store)) == 0xFF {
                _mm256_storeu_ps(dst, _mm256_setzero_ps());
            } else {
                _mm256_maskstore_ps(dst, store, _mm256_setzero_ps());
            }
        }
    }
}

#[cfg(simd_x86)]
impl DirectOps for Avx2Rows {
    type V = std::arch::x86_64::__m256;

    #[inline(always)]
    unsafe fn zeros() -> Self::V {
        // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
        // vector extension; pointers and slices as documented), all that these calls need.
        unsafe { std::arch::x86_64::_mm256_setzero_ps() }
    }

    #[inline(always)]
    unsafe fn load(src: *const f32) -> Self::V {
        // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
        // vector extension; pointers and slices as documented), all that these calls need.
        unsafe { std::arch::x86_64::_mm256_loadu_ps(src) }
    }

    #[inline(always)]
    unsafe fn fmadd(w: f32, x: Self::V, acc: Self::V) -> Self::V {
        // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
        // vector extension; pointers and slices as documented), all that these calls need.
        unsafe {
            use std::arch::x86_64::*;
            _mm256_fmadd_ps(_mm256_set1_ps(w), x, acc)
        }
    }

    #[inline(always)]
    unsafe fn relu(v: Self::V, add: f32) -> Self::V {
        // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
        // vector extension; pointers and slices as documented), all that these calls need.
        unsafe {
            use std::arch::x86_64::*;
            let v = _mm256_add_ps(v, _mm256_set1_ps(add));
            _mm256_and_ps(_mm256_cmp_ps::<_CMP_NLE_UQ>(v, _mm256_setzero_ps()), v)
        }
    }

    #[inline(always)]
    unsafe fn max2(p: Self::V, q: Self::V) -> Self::V {
        // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
        // vector extension; pointers and slices as documented), all that these calls need.
        unsafe {
            use std::arch::x86_64::*;
            let keep_p = _mm256_or_ps(
                _mm256_cmp_ps::<_CMP_GE_OQ>(p, q),
                _mm256_cmp_ps::<_CMP_UNORD_Q>(p, p),
            );
            _mm256_blendv_ps(q, p, keep_p)
        }
    }

    #[inline(always)]
    unsafe fn store_pairs(dst: &mut [std::mem::MaybeUninit<f32>], v: Self::V) {
        // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
        // vector extension; pointers and slices as documented), all that these calls need.
        unsafe {
            use std::arch::x86_64::*;
            let even = _mm256_setr_epi32(0, 2, 4, 6, 0, 0, 0, 0);
            let odd = _mm256_setr_epi32(1, 3, 5, 7, 0, 0, 0, 0);
            let m = Self::max2(
                _mm256_permutevar8x32_ps(v, even),
                _mm256_permutevar8x32_ps(v, odd),
            );
            let dst = &mut dst[..4];
            _mm_storeu_ps(dst.as_mut_ptr().cast(), _mm256_castps256_ps128(m));
        }
    }

    #[inline(always)]
    unsafe fn store(dst: &mut [std::mem::MaybeUninit<f32>], v: Self::V) {
        // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
        // vector extension; pointers and slices as documented), all that these calls need.
        unsafe {
            let dst = &mut dst[..8];
            std::arch::x86_64::_mm256_storeu_ps(dst.as_mut_ptr().cast(), v);
        }
    }
}

/// [`im2col_rows`] with AVX2.
///
/// # Safety
/// The CPU must have AVX2.
#[cfg(simd_x86)]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn im2col_rows_avx2(g: &Geometry, x: &[f32], images: usize, col: &mut [f32]) {
    #[cfg(test)]
    crate::isa::ran::hit("conv/avx2/im2col_rows");
    // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
    // vector extension; pointers and slices as documented), all that these calls need.
    unsafe { im2col_rows::<Avx2Rows>(g, x, images, col) }
}
