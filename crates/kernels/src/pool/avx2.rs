//! The 2×2 stride-2 pooling with AVX2, eight windows at a time, with the plain loops' compares
//! and selects.

use super::plain::{pairs_backward_columns, pairs_columns};
use super::Window;

/// [`pairs_body`] eight windows at a time with the same selects: the element-wise maximum of
/// the two rows, split into the windows' left and right columns, and their maximum.
///
/// # Safety
/// The CPU must have AVX2.
#[cfg(simd_x86)]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn pairs_avx2(w: &Window, plane: &[f32], out: &mut [f32]) {
    #[cfg(test)]
    crate::isa::ran::hit("pool/avx2/pairs");
    // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
    // vector extension; pointers and slices as documented), all that these calls need.
    unsafe {
        use std::arch::x86_64::*;
        let [oh, ow] = w.output();
        let width = w.input[1];
        if width == 8 {
            return pairs_width8_avx2(w, plane, out);
        }
        let vectors = ow / 8;
        for oy in 0..oh {
            let (top, bottom) = (2 * oy * width, (2 * oy + 1) * width);
            for v in 0..vectors {
                let x = 16 * v;
                let (t, b) = (
                    &plane[top + x..top + x + 16],
                    &plane[bottom + x..bottom + x + 16],
                );
                // SAFETY: each load and store touches 8 floats inside the bounds-checked slices.
                let v0 = max2_avx2(_mm256_loadu_ps(t.as_ptr()), _mm256_loadu_ps(b.as_ptr()));
                let v1 = max2_avx2(
                    _mm256_loadu_ps(t[8..].as_ptr()),
                    _mm256_loadu_ps(b[8..].as_ptr()),
                );
                let dst = &mut out[oy * ow + 8 * v..oy * ow + 8 * v + 8];
                _mm256_storeu_ps(dst.as_mut_ptr(), window_pairs_avx2(v0, v1));
            }
        }
        if vectors * 8 < ow {
            pairs_columns(w, plane, out, vectors * 8);
        }
    }
}

/// [`pairs_avx2`] for 8-wide planes (the small trunk's third layer): a row holds four windows,
/// so the eight windows of one vector are two output rows, made from four input rows.
///
/// # Safety
/// The CPU must have AVX2.
#[cfg(simd_x86)]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn pairs_width8_avx2(w: &Window, plane: &[f32], out: &mut [f32]) {
    #[cfg(test)]
    crate::isa::ran::hit("pool/avx2/pairs_width8");
    // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
    // vector extension; pointers and slices as documented), all that these calls need.
    unsafe {
        use std::arch::x86_64::*;
        let [oh, ow] = w.output();
        for oy in (0..oh / 2).map(|k| 2 * k) {
            let rows = &plane[2 * oy * 8..2 * oy * 8 + 32];
            // SAFETY: each load and store touches 8 floats inside the bounds-checked slices.
            let v0 = max2_avx2(
                _mm256_loadu_ps(rows.as_ptr()),
                _mm256_loadu_ps(rows[8..].as_ptr()),
            );
            let v1 = max2_avx2(
                _mm256_loadu_ps(rows[16..].as_ptr()),
                _mm256_loadu_ps(rows[24..].as_ptr()),
            );
            let dst = &mut out[oy * ow..oy * ow + 8];
            _mm256_storeu_ps(dst.as_mut_ptr(), window_pairs_avx2(v0, v1));
        }
        if oh % 2 == 1 {
            // The last output row of an odd height, as a plane of two input rows.
            let last = oh - 1;
            let rows = Window {
                input: [2, 8],
                ..*w
            };
            let plane = &plane[2 * last * 8..(2 * last + 2) * 8];
            pairs_columns(&rows, plane, &mut out[last * ow..(last + 1) * ow], 0);
        }
    }
}

/// The maxima of the 8 windows whose left and right columns lie in `v0` then `v1` (16
/// consecutive column maxima): left and right columns split out in the window order
/// [0 1 4 5 2 3 6 7], their [`max2_avx2`], then the windows put back in order.
#[cfg(simd_x86)]
#[target_feature(enable = "avx2")]
#[inline]
pub(crate) fn window_pairs_avx2(
    v0: std::arch::x86_64::__m256,
    v1: std::arch::x86_64::__m256,
) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    let m = max2_avx2(
        _mm256_shuffle_ps::<0x88>(v0, v1),
        _mm256_shuffle_ps::<0xDD>(v0, v1),
    );
    _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(_mm256_castps_pd(m)))
}

/// [`max2`] on eight lanes: `p` where `p >= q` or `p` is NaN, else `q`.
#[cfg(simd_x86)]
#[target_feature(enable = "avx2")]
pub(crate) fn max2_avx2(
    p: std::arch::x86_64::__m256,
    q: std::arch::x86_64::__m256,
) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    let keep_p = _mm256_or_ps(
        _mm256_cmp_ps::<_CMP_GE_OQ>(p, q),
        _mm256_cmp_ps::<_CMP_UNORD_Q>(p, p),
    );
    _mm256_blendv_ps(q, p, keep_p)
}

/// [`pairs_backward_body`] eight windows at a time, with the same comparisons and selects:
/// the two input rows are split into the windows' left and right columns, each position's
/// mask computed as there, and the masked gradients interleaved back. The rest of each row
/// (fewer than eight windows) goes through the plain loop.
///
/// # Safety
/// The CPU must have AVX2.
#[cfg(simd_x86)]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn pairs_backward_avx2(w: &Window, plane: &[f32], grad: &[f32], dx: &mut [f32]) {
    #[cfg(test)]
    crate::isa::ran::hit("pool/avx2/pairs_backward");
    // SAFETY: the caller upholds this function's `# Safety` contract (the CPU has the
    // vector extension; pointers and slices as documented), all that these calls need.
    unsafe {
        use std::arch::x86_64::*;
        let [oh, ow] = w.output();
        let width = w.input[1];
        let vectors = ow / 8;
        for oy in 0..oh {
            let (top, bottom) = (2 * oy * width, (2 * oy + 1) * width);
            let grad_row = &grad[oy * ow..(oy + 1) * ow];
            for v in 0..vectors {
                let x = 16 * v;
                let (t, b) = (
                    &plane[top + x..top + x + 16],
                    &plane[bottom + x..bottom + x + 16],
                );
                // SAFETY: each load and store below touches 8 floats inside the 16-float rows
                // sliced here (or the 8-float gradient slice), all bounds-checked.
                let (t0, t1) = (
                    _mm256_loadu_ps(t.as_ptr()),
                    _mm256_loadu_ps(t[8..].as_ptr()),
                );
                let (b0, b1) = (
                    _mm256_loadu_ps(b.as_ptr()),
                    _mm256_loadu_ps(b[8..].as_ptr()),
                );
                // Left and right columns, in the lane order [0 1 4 5 2 3 6 7] of the windows.
                let a = _mm256_shuffle_ps::<0x88>(t0, t1);
                let bb = _mm256_shuffle_ps::<0xDD>(t0, t1);
                let c = _mm256_shuffle_ps::<0x88>(b0, b1);
                let d = _mm256_shuffle_ps::<0xDD>(b0, b1);
                let g = _mm256_loadu_ps(grad_row[8 * v..8 * v + 8].as_ptr());
                let g = _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(_mm256_castps_pd(g)));
                // As the plain loop: b > a, d > c, and max(c, d) > max(a, b) with f32::max's
                // NaN rule (the other operand wins), which _mm256_max_ps(x, y) gives for a NaN
                // in x only, so both orders are combined.
                let right_top = _mm256_cmp_ps::<_CMP_GT_OQ>(bb, a);
                let right_bottom = _mm256_cmp_ps::<_CMP_GT_OQ>(d, c);
                let max_top = nan_ignoring_max(a, bb);
                let max_bottom = nan_ignoring_max(c, d);
                let lower = _mm256_cmp_ps::<_CMP_GT_OQ>(max_bottom, max_top);
                let at0 = _mm256_andnot_ps(lower, _mm256_andnot_ps(right_top, g));
                let at1 = _mm256_andnot_ps(lower, _mm256_and_ps(right_top, g));
                let at2 = _mm256_and_ps(lower, _mm256_andnot_ps(right_bottom, g));
                let at3 = _mm256_and_ps(lower, _mm256_and_ps(right_bottom, g));
                let upper = &mut dx[top + x..top + x + 16];
                _mm256_storeu_ps(upper.as_mut_ptr(), _mm256_unpacklo_ps(at0, at1));
                _mm256_storeu_ps(upper[8..].as_mut_ptr(), _mm256_unpackhi_ps(at0, at1));
                let lower_row = &mut dx[bottom + x..bottom + x + 16];
                _mm256_storeu_ps(lower_row.as_mut_ptr(), _mm256_unpacklo_ps(at2, at3));
                _mm256_storeu_ps(lower_row[8..].as_mut_ptr(), _mm256_unpackhi_ps(at2, at3));
            }
        }
        if vectors * 8 < ow {
            pairs_backward_columns(w, plane, grad, dx, vectors * 8);
        }
    }
}

/// `f32::max` on eight lanes: the larger value, or the other operand where one is NaN.
#[cfg(simd_x86)]
#[target_feature(enable = "avx2")]
pub(crate) fn nan_ignoring_max(
    x: std::arch::x86_64::__m256,
    y: std::arch::x86_64::__m256,
) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    // _mm256_max_ps(x, y) returns y when either is NaN: right unless y is the NaN, and
    // then x is the answer.
    let m = _mm256_max_ps(x, y);
    let y_nan = _mm256_cmp_ps::<_CMP_UNORD_Q>(y, y);
    _mm256_blendv_ps(m, x, y_nan)
}
