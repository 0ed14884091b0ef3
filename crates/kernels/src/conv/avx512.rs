//! The convolution's AVX-512 paths: 16-lane row moves with mask registers, the direct
//! kernel's arithmetic, and the tap table for planes of at most 64 values.

use super::direct::{direct_conv, DirectOps};
use super::im2col::{im2col_rows, RowMoves, Taps};
use super::Geometry;

/// [`direct_conv`] with AVX-512: 8 channels, 16 columns.
///
/// # Safety
/// The CPU must have AVX-512F.
#[cfg(simd_x86)]
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn direct_conv_avx512(
    g: &Geometry,
    x: &[f32],
    taps: &[f32],
    bias: Option<&[f32]>,
    pool: bool,
    out: &mut [std::mem::MaybeUninit<f32>],
) {
    #[cfg(test)]
    crate::isa::ran::hit("conv/avx512/direct");
    // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
    // vector extension; pointers and slices as documented), all that these calls need.
    unsafe { direct_conv::<Avx512Rows, 8>(g, x, taps, bias, pool, out) }
}

/// [`im2col_table`] for planes of at most 64 values and a multiple of 16 output pixels: the
/// plane in four registers, each group of sixteen offsets one two-table permute per half, a
/// blend on the offset's bit 5 and a mask that zeroes the padding's lanes.
///
/// # Safety
/// The CPU must have AVX-512F.
#[cfg(simd_x86)]
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn im2col_table_avx512(
    g: &Geometry,
    x: &[f32],
    images: usize,
    col: &mut [f32],
    taps: &Taps,
) {
    #[cfg(test)]
    crate::isa::ran::hit("conv/avx512/im2col_table");
    // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
    // vector extension; pointers and slices as documented), all that these calls need.
    unsafe {
        use std::arch::x86_64::*;
        let (p, plane_len) = (g.out_pixels(), g.in_pixels());
        let (per_channel, cols) = (g.kernel[0] * g.kernel[1], images * p);
        let limit = _mm512_set1_epi32(plane_len as i32);
        let bit5 = _mm512_set1_epi32(32);
        let mut padded = [0.0f32; 64];
        for c in 0..g.c_in {
            for b in 0..images {
                let at = (b * g.c_in + c) * plane_len;
                padded[..plane_len].copy_from_slice(&x[at..at + plane_len]);
                // SAFETY (all loads and stores here): `padded` holds 64 floats, each offset row
                // `p` u32s and each destination `p` floats, read or written 16 at a time.
                let r: [__m512; 4] =
                    std::array::from_fn(|k| _mm512_loadu_ps(padded[16 * k..].as_ptr()));
                for t in 0..per_channel {
                    let offsets = taps.of(t);
                    let start = (c * per_channel + t) * cols + b * p;
                    let dst = &mut col[start..start + p];
                    for j in (0..p).step_by(16) {
                        let idx = _mm512_loadu_si512(offsets[j..j + 16].as_ptr().cast());
                        let lo = _mm512_permutex2var_ps(r[0], idx, r[1]);
                        let hi = _mm512_permutex2var_ps(r[2], idx, r[3]);
                        let v = _mm512_mask_blend_ps(_mm512_test_epi32_mask(idx, bit5), lo, hi);
                        let inside = _mm512_cmplt_epu32_mask(idx, limit);
                        _mm512_storeu_ps(
                            dst[j..j + 16].as_mut_ptr(),
                            _mm512_maskz_mov_ps(inside, v),
                        );
                    }
                }
            }
        }
    }
}

/// 16 lanes with AVX-512 mask registers.
#[cfg(simd_x86)]
pub(crate) struct Avx512Rows;

#[cfg(simd_x86)]
impl RowMoves for Avx512Rows {
    const LANES: usize = 16;
    type Mask = u16;

    #[inline(always)]
    unsafe fn lanes(lo: usize, hi: usize) -> u16 {
        let below = |k: usize| ((1u32 << k) - 1) as u16;
        below(hi) & !below(lo)
    }

    // A masked store is several times slower than a plain one on AMD's Zen 4, so the full
    // vectors of a row take the plain one.
    #[inline(always)]
    unsafe fn copy(dst: *mut f32, src: *const f32, load: u16, store: u16) {
        // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
        // vector extension; pointers and slices as documented), all that these calls need.
        unsafe {
            use std::arch::x86_64::*;
            let v = _mm512_maskz_loadu_ps(load, src);
            if store == u16::MAX {
                _mm512_storeu_ps(dst, v);
            } else {
                _mm512_mask_storeu_ps(dst, store, v);
            }
        }
    }

    #[inline(always)]
    unsafe fn zero(dst: *mut f32, store: u16) {
        // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
        // vector extension; pointers and slices as documented), all that these calls need.
        unsafe {
            use std::arch::x86_64::*;
            if store == u16::MAX {
                _mm512_storeu_ps(dst, _mm512_setzero_ps());
            } else {
                _mm512_mask_storeu_ps(dst, store, _mm512_setzero_ps());
            }
        }
    }
}

#[cfg(simd_x86)]
impl DirectOps for Avx512Rows {
    type V = std::arch::x86_64::__m512;

    #[inline(always)]
    unsafe fn zeros() -> Self::V {
        // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
        // vector extension; pointers and slices as documented), all that these calls need.
        unsafe { std::arch::x86_64::_mm512_setzero_ps() }
    }

    #[inline(always)]
    unsafe fn load(src: *const f32) -> Self::V {
        // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
        // vector extension; pointers and slices as documented), all that these calls need.
        unsafe { std::arch::x86_64::_mm512_loadu_ps(src) }
    }

    #[inline(always)]
    unsafe fn fmadd(w: f32, x: Self::V, acc: Self::V) -> Self::V {
        // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
        // vector extension; pointers and slices as documented), all that these calls need.
        unsafe {
            use std::arch::x86_64::*;
            _mm512_fmadd_ps(_mm512_set1_ps(w), x, acc)
        }
    }

    #[inline(always)]
    unsafe fn relu(v: Self::V, add: f32) -> Self::V {
        // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
        // vector extension; pointers and slices as documented), all that these calls need.
        unsafe {
            use std::arch::x86_64::*;
            let v = _mm512_add_ps(v, _mm512_set1_ps(add));
            _mm512_maskz_mov_ps(_mm512_cmp_ps_mask::<_CMP_NLE_UQ>(v, _mm512_setzero_ps()), v)
        }
    }

    #[inline(always)]
    unsafe fn max2(p: Self::V, q: Self::V) -> Self::V {
        // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
        // vector extension; pointers and slices as documented), all that these calls need.
        unsafe {
            use std::arch::x86_64::*;
            let keep_p =
                _mm512_cmp_ps_mask::<_CMP_GE_OQ>(p, q) | _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(p, p);
            _mm512_mask_blend_ps(keep_p, q, p)
        }
    }

    #[inline(always)]
    unsafe fn store_pairs(dst: &mut [std::mem::MaybeUninit<f32>], v: Self::V) {
        // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
        // vector extension; pointers and slices as documented), all that these calls need.
        unsafe {
            use std::arch::x86_64::*;
            let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 0, 0, 0, 0, 0, 0, 0, 0);
            let odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 0, 0, 0, 0, 0, 0, 0, 0);
            let m = Self::max2(
                _mm512_permutexvar_ps(even, v),
                _mm512_permutexvar_ps(odd, v),
            );
            let dst = &mut dst[..8];
            _mm256_storeu_ps(dst.as_mut_ptr().cast(), _mm512_castps512_ps256(m));
        }
    }

    #[inline(always)]
    unsafe fn store(dst: &mut [std::mem::MaybeUninit<f32>], v: Self::V) {
        // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
        // vector extension; pointers and slices as documented), all that these calls need.
        unsafe {
            let dst = &mut dst[..16];
            std::arch::x86_64::_mm512_storeu_ps(dst.as_mut_ptr().cast(), v);
        }
    }
}

/// [`im2col_rows`] with AVX-512.
///
/// # Safety
/// The CPU must have AVX-512F.
#[cfg(simd_x86)]
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn im2col_rows_avx512(g: &Geometry, x: &[f32], images: usize, col: &mut [f32]) {
    #[cfg(test)]
    crate::isa::ran::hit("conv/avx512/im2col_rows");
    // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
    // vector extension; pointers and slices as documented), all that these calls need.
    unsafe { im2col_rows::<Avx512Rows>(g, x, images, col) }
}
