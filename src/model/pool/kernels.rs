//! Max pooling without padding or dilation on plain `f32` slices in NCHW, one plane per task.
//!
//! The backward pass finds each window's maximum again instead of keeping an index tensor:
//! one more read of the input is cheaper than writing, keeping and reading 64-bit indices.
//! Ties go to the first position in the window (row by row), as in PyTorch. In the forward pass
//! a NaN wins its window so that it reaches the loss, which fails the job; where the backward
//! pass then sends that window's gradient does not matter.

use rayon::prelude::*;

/// Planes handed to one rayon task: enough work to pay for the task.
const PLANES_PER_TASK: usize = 8;

/// Shapes and options of one pooling (no padding, dilation 1, floor mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Input height and width.
    pub input: [usize; 2],
    /// Window height and width.
    pub kernel: [usize; 2],
    /// Stride per spatial dimension.
    pub stride: [usize; 2],
}

impl Window {
    /// The window over `input`, or `None` where a kernel or stride is zero or a kernel is
    /// larger than the input.
    pub fn fitting(input: [usize; 2], kernel: [usize; 2], stride: [usize; 2]) -> Option<Self> {
        let fits = (0..2).all(|d| kernel[d] >= 1 && stride[d] >= 1 && kernel[d] <= input[d]);
        fits.then_some(Self {
            input,
            kernel,
            stride,
        })
    }

    /// Output height and width.
    pub fn output(&self) -> [usize; 2] {
        std::array::from_fn(|d| (self.input[d] - self.kernel[d]) / self.stride[d] + 1)
    }

    fn in_pixels(&self) -> usize {
        self.input[0] * self.input[1]
    }

    /// Output pixels of one plane.
    pub fn out_pixels(&self) -> usize {
        let [oh, ow] = self.output();
        oh * ow
    }

    /// The positions (offsets within the plane) of the window at output `(oy, ox)`, row by row.
    fn positions(&self, oy: usize, ox: usize) -> impl Iterator<Item = usize> + '_ {
        let (y0, x0) = (oy * self.stride[0], ox * self.stride[1]);
        (y0..y0 + self.kernel[0])
            .flat_map(move |y| (x0..x0 + self.kernel[1]).map(move |x| y * self.input[1] + x))
    }

    /// The maximum of the window at output `(oy, ox)`, NaN if the window holds one.
    fn max(&self, plane: &[f32], oy: usize, ox: usize) -> f32 {
        self.positions(oy, ox)
            .map(|at| plane[at])
            .fold(f32::NEG_INFINITY, |m, v| {
                if m.is_nan() || v.is_nan() {
                    f32::NAN
                } else {
                    m.max(v)
                }
            })
    }

    /// The offset of the window's first maximum among its non-NaN values (its last position
    /// when all are NaN): where the backward pass sends the window's gradient.
    fn argmax(&self, plane: &[f32], oy: usize, ox: usize) -> usize {
        let m = self
            .positions(oy, ox)
            .fold(f32::NAN, |m, at| m.max(plane[at]));
        let mut last = 0;
        for at in self.positions(oy, ox) {
            if plane[at] == m {
                return at;
            }
            last = at;
        }
        last
    }
}

/// The window maxima of every plane of `x` (`planes` planes of `input` pixels).
pub fn forward(w: &Window, x: &[f32]) -> Vec<f32> {
    let (ip, op) = (w.in_pixels(), w.out_pixels());
    let mut out = vec![0.0f32; x.len() / ip * op];
    if out.is_empty() {
        return out;
    }
    out.par_chunks_mut(PLANES_PER_TASK * op)
        .zip(x.par_chunks(PLANES_PER_TASK * ip))
        .for_each(|(out_t, x_t)| {
            for (out_p, plane) in out_t.chunks_mut(op).zip(x_t.chunks(ip)) {
                plane_max(w, plane, out_p);
            }
        });
    out
}

/// The window maxima of one plane (`input` pixels) into `out` (`output` pixels): what
/// [`forward`] does per plane, for a caller that holds the plane in its cache already.
pub fn plane_max(w: &Window, plane: &[f32], out: &mut [f32]) {
    if w.kernel == [2, 2] && w.stride == [2, 2] {
        return pairs(w, plane, out);
    }
    let [_, ow] = w.output();
    for (k, o) in out.iter_mut().enumerate() {
        *o = w.max(plane, k / ow, k % ow);
    }
}

/// The common 2×2 window with stride 2: two input rows make one output row.
#[inline(always)]
fn pairs_body(w: &Window, plane: &[f32], out: &mut [f32]) {
    pairs_columns(w, plane, out, 0)
}

/// [`pairs_body`] for the windows from column `first` on.
#[inline(always)]
fn pairs_columns(w: &Window, plane: &[f32], out: &mut [f32], first: usize) {
    let [_, ow] = w.output();
    let width = w.input[1];
    for (oy, row) in out.chunks_mut(ow).enumerate() {
        let top = &plane[2 * oy * width..2 * oy * width + 2 * ow];
        let bottom = &plane[(2 * oy + 1) * width..(2 * oy + 1) * width + 2 * ow];
        for ((o, t), b) in row
            .iter_mut()
            .zip(top.chunks_exact(2))
            .zip(bottom.chunks_exact(2))
            .skip(first)
        {
            *o = max2(max2(t[0], b[0]), max2(t[1], b[1]));
        }
    }
}

/// The larger of two values, NaN if either is NaN.
#[inline(always)]
fn max2(p: f32, q: f32) -> f32 {
    if p >= q || p.is_nan() {
        p
    } else {
        q
    }
}

/// [`backward`] for the 2×2 window with stride 2. Windows do not overlap, so every position of
/// a window is written: the gradient at its first maximum, zero elsewhere. (A window holding a
/// NaN, whose loss is then NaN and fails the job, sends its gradient to one of its positions.)
#[inline(always)]
fn pairs_backward_body(w: &Window, plane: &[f32], grad: &[f32], dx: &mut [f32]) {
    pairs_backward_columns(w, plane, grad, dx, 0)
}

/// [`pairs_backward_body`] for the windows from column `first` on.
#[inline(always)]
fn pairs_backward_columns(w: &Window, plane: &[f32], grad: &[f32], dx: &mut [f32], first: usize) {
    let [_, ow] = w.output();
    let width = w.input[1];
    for (oy, grad_row) in grad.chunks(ow).enumerate() {
        let (upper, lower) = dx[2 * oy * width..(2 * oy + 2) * width].split_at_mut(width);
        let (upper, lower) = (&mut upper[..2 * ow], &mut lower[..2 * ow]);
        let top = &plane[2 * oy * width..2 * oy * width + 2 * ow];
        let bottom = &plane[(2 * oy + 1) * width..(2 * oy + 1) * width + 2 * ow];
        for ox in first..ow {
            let (a, b) = (top[2 * ox], top[2 * ox + 1]);
            let (c, d) = (bottom[2 * ox], bottom[2 * ox + 1]);
            // Strict comparisons keep the earlier position on ties. The position is arithmetic
            // on the comparisons, with no branch on where the maximum is (as random as the
            // data): a branch per window was mispredicted about every other time.
            let right_top = (b > a) as u32;
            let right_bottom = (d > c) as u32;
            let lower_wins = (c.max(d) > a.max(b)) as u32;
            let at = lower_wins * (2 + right_bottom) + (1 - lower_wins) * right_top;
            let g = grad_row[ox];
            upper[2 * ox] = masked(g, at == 0);
            upper[2 * ox + 1] = masked(g, at == 1);
            lower[2 * ox] = masked(g, at == 2);
            lower[2 * ox + 1] = masked(g, at == 3);
        }
    }
}

/// [`pairs_body`] compiled for AVX2 where the CPU has it (chosen at run time): the same
/// comparisons and selects on eight values at a time, so the same results.
fn pairs(w: &Window, plane: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { pairs_avx2(w, plane, out) };
    }
    pairs_body(w, plane, out)
}

/// [`pairs_body`] eight windows at a time with the same selects: the element-wise maximum of
/// the two rows, split into the windows' left and right columns, and their maximum.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn pairs_avx2(w: &Window, plane: &[f32], out: &mut [f32]) {
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

/// [`pairs_avx2`] for 8-wide planes (the small trunk's third layer): a row holds four windows,
/// so the eight windows of one vector are two output rows, made from four input rows.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn pairs_width8_avx2(w: &Window, plane: &[f32], out: &mut [f32]) {
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

/// The maxima of the 8 windows whose left and right columns lie in `v0` then `v1` (16
/// consecutive column maxima): left and right columns split out in the window order
/// [0 1 4 5 2 3 6 7], their [`max2_avx2`], then the windows put back in order.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn window_pairs_avx2(
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
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn max2_avx2(
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

/// [`pairs_backward_body`] compiled for AVX2 where the CPU has it, as [`pairs`].
fn pairs_backward(w: &Window, plane: &[f32], grad: &[f32], dx: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { pairs_backward_avx2(w, plane, grad, dx) };
    }
    pairs_backward_body(w, plane, grad, dx)
}

/// [`pairs_backward_body`] eight windows at a time, with the same comparisons and selects:
/// the two input rows are split into the windows' left and right columns, each position's
/// mask computed as there, and the masked gradients interleaved back. The rest of each row
/// (fewer than eight windows) goes through the plain loop.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn pairs_backward_avx2(w: &Window, plane: &[f32], grad: &[f32], dx: &mut [f32]) {
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

/// `f32::max` on eight lanes: the larger value, or the other operand where one is NaN.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn nan_ignoring_max(
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

/// `g` where `on`, +0 elsewhere.
#[inline(always)]
fn masked(g: f32, on: bool) -> f32 {
    f32::from_bits(g.to_bits() & (on as u32).wrapping_neg())
}

/// ∂L/∂x: each output gradient goes to the position of its window's maximum.
pub fn backward(w: &Window, x: &[f32], grad: &[f32]) -> Vec<f32> {
    let (ip, op) = (w.in_pixels(), w.out_pixels());
    if x.is_empty() || op == 0 {
        return vec![0.0f32; x.len()];
    }
    // One gradient plane per input plane: a short gradient would leave planes of `dx`
    // unwritten below the `set_len`.
    assert_eq!(
        grad.len() / op,
        x.len() / ip,
        "pool backward: gradient size"
    );
    let [_, ow] = w.output();
    // Each task zeroes its own planes just before writing them, in its cache: zeroing the
    // whole gradient first was one serial pass over it (2 % of a training step, and the other
    // thread idle meanwhile).
    let mut dx = Vec::<f32>::with_capacity(x.len());
    dx.spare_capacity_mut()[..x.len()]
        .par_chunks_mut(PLANES_PER_TASK * ip)
        .zip(x.par_chunks(PLANES_PER_TASK * ip))
        .zip(grad.par_chunks(PLANES_PER_TASK * op))
        .for_each(|((dx_t, x_t), grad_t)| {
            dx_t.fill(std::mem::MaybeUninit::new(0.0));
            // SAFETY: every element was written just above (MaybeUninit<f32> has f32's layout).
            let dx_t = unsafe { &mut *(dx_t as *mut [std::mem::MaybeUninit<f32>] as *mut [f32]) };
            for ((dx_p, plane), grad_p) in dx_t
                .chunks_mut(ip)
                .zip(x_t.chunks(ip))
                .zip(grad_t.chunks(op))
            {
                if w.kernel == [2, 2] && w.stride == [2, 2] {
                    pairs_backward(w, plane, grad_p, dx_p);
                } else {
                    for (k, g) in grad_p.iter().enumerate() {
                        dx_p[w.argmax(plane, k / ow, k % ow)] += g;
                    }
                }
            }
        });
    // SAFETY: the tasks' chunks cover the first `x.len()` elements, each zeroed in its task.
    unsafe { dx.set_len(x.len()) };
    dx
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector kernels (AVX2, where the CPU has it) against the plain loops, bit for bit,
    /// on rows with ties, NaNs, widths that leave a remainder of fewer than eight windows, and
    /// 8-wide planes of even and odd output height.
    #[test]
    fn vector_and_plain_two_by_two_kernels_agree() {
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u32
        };
        for (h, width) in [
            (4, 16),
            (6, 34),
            (2, 6),
            (8, 48),
            (5, 33),
            (8, 8),
            (6, 8),
            (7, 8),
        ] {
            let w = Window {
                input: [h, width],
                kernel: [2, 2],
                stride: [2, 2],
            };
            let [oh, ow] = w.output();
            // Few distinct values (ties), negative zero, and a NaN now and then.
            let plane: Vec<f32> = (0..h * width)
                .map(|_| match next() % 23 {
                    0 => f32::NAN,
                    1 => -0.0,
                    r => (r % 5) as f32 - 2.0,
                })
                .collect();
            let grad: Vec<f32> = (0..oh * ow).map(|_| next() as f32 / 1e9 - 2.0).collect();
            let (mut fast, mut plain) = (vec![0.0; oh * ow], vec![0.0; oh * ow]);
            pairs(&w, &plane, &mut fast);
            pairs_body(&w, &plane, &mut plain);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fast), bits(&plain), "forward, {h}×{width}");
            let (mut fast, mut plain) = (vec![0.0; h * width], vec![0.0; h * width]);
            pairs_backward(&w, &plane, &grad, &mut fast);
            pairs_backward_body(&w, &plane, &grad, &mut plain);
            assert_eq!(bits(&fast), bits(&plain), "backward, {h}×{width}");
        }
    }

    #[test]
    fn two_by_two_windows_take_the_maximum_and_route_the_gradient_to_it() {
        let w = Window {
            input: [2, 4],
            kernel: [2, 2],
            stride: [2, 2],
        };
        // Two planes; the second has a tie (first position wins) and a NaN (the forward pass
        // keeps it, the backward pass routes to the window's largest other value, 9).
        let x = [
            1.0,
            5.0,
            -1.0,
            -2.0, //
            3.0,
            4.0,
            -3.0,
            -0.5, //
            0.0,
            0.0,
            2.0,
            f32::NAN, //
            0.0,
            -1.0,
            9.0,
            1.0,
        ];
        let out = forward(&w, &x);
        assert_eq!(out[..3], [5.0, -0.5, 0.0]);
        assert!(out[3].is_nan());
        let dx = backward(&w, &x, &[10.0, 20.0, 30.0, 40.0]);
        let want = [
            0.0, 10.0, 0.0, 0.0, //
            0.0, 0.0, 0.0, 20.0, //
            30.0, 0.0, 0.0, 0.0, //
            0.0, 0.0, 40.0, 0.0,
        ];
        assert_eq!(dx, want);
    }

    /// Positions in no window (the odd last row and column) get a zero gradient, whatever the
    /// memory the gradient is built in held: a buffer of NaNs of the same size is freed just
    /// before, which the allocator hands back.
    #[test]
    fn positions_outside_every_window_get_zero() {
        let w = Window {
            input: [5, 7],
            kernel: [2, 2],
            stride: [2, 2],
        };
        let planes = 3 * PLANES_PER_TASK;
        let x: Vec<f32> = (0..planes * 35).map(|k| (k % 11) as f32).collect();
        let grad = vec![1.0f32; planes * w.out_pixels()];
        for _ in 0..4 {
            drop(std::hint::black_box(vec![f32::NAN; x.len()]));
            let dx = backward(&w, &x, &grad);
            for plane in dx.chunks(35) {
                let outside = plane[28..].iter().chain(plane.iter().skip(6).step_by(7));
                assert!(outside.into_iter().all(|v| v.to_bits() == 0), "{plane:?}");
                assert_eq!(plane.iter().sum::<f32>(), w.out_pixels() as f32);
            }
        }
    }

    #[test]
    fn overlapping_windows_add_their_gradients() {
        let w = Window {
            input: [1, 5],
            kernel: [1, 3],
            stride: [1, 2],
        };
        let x = [0.0, 1.0, 7.0, 2.0, 3.0];
        assert_eq!(forward(&w, &x), [7.0, 7.0]);
        assert_eq!(backward(&w, &x, &[1.0, 2.0]), [0.0, 0.0, 3.0, 0.0, 0.0]);
        let with_nan = [0.0, f32::NAN, 7.0, 2.0, 3.0];
        let out = forward(&w, &with_nan);
        assert!(out[0].is_nan() && out[1] == 7.0, "{out:?}");
        assert_eq!(
            backward(&w, &with_nan, &[1.0, 2.0]),
            [0.0, 0.0, 3.0, 0.0, 0.0]
        );
        // The generic path and the 2×2 path agree.
        let square = Window {
            input: [4, 4],
            kernel: [2, 2],
            stride: [2, 2],
        };
        let x: Vec<f32> = (0..16).map(|k| ((k * 7) % 11) as f32).collect();
        let generic: Vec<f32> = (0..4).map(|k| square.max(&x, k / 2, k % 2)).collect();
        assert_eq!(forward(&square, &x), generic);
    }
}
