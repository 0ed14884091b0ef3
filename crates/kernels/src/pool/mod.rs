//! Max pooling without padding or dilation on plain `f32` slices in NCHW, one plane per task.
//!
//! The backward pass finds each window's maximum again instead of keeping an index tensor:
//! one more read of the input is cheaper than writing, keeping and reading 64-bit indices.
//! Ties go to the first position in the window (row by row), as in PyTorch. In the forward pass
//! a NaN wins its window so that it reaches the loss, which fails the job; where the backward
//! pass then sends that window's gradient does not matter.

#[cfg(simd_x86)]
mod avx2;
mod plain;
#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;

use rayon::prelude::*;

#[cfg(simd_x86)]
use avx2::{pairs_avx2, pairs_backward_avx2};
use plain::{pairs_backward_body, pairs_body};

/// Planes handed to one rayon task: enough work to pay for the task.
pub(crate) const PLANES_PER_TASK: usize = 8;

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

    /// Panics where the window would not fit (the fields are public, so a window need not
    /// come from [`Window::fitting`]), naming the kernel `what`.
    pub(crate) fn check(&self, what: &str) {
        assert!(
            Self::fitting(self.input, self.kernel, self.stride) == Some(*self),
            "{what}: the window does not fit its input ({self:?})"
        );
    }

    /// Output height and width.
    pub fn output(&self) -> [usize; 2] {
        std::array::from_fn(|d| (self.input[d] - self.kernel[d]) / self.stride[d] + 1)
    }

    pub(crate) fn in_pixels(&self) -> usize {
        self.input[0] * self.input[1]
    }

    /// Output pixels of one plane.
    pub fn out_pixels(&self) -> usize {
        let [oh, ow] = self.output();
        oh * ow
    }

    /// The positions (offsets within the plane) of the window at output `(oy, ox)`, row by row.
    pub(crate) fn positions(&self, oy: usize, ox: usize) -> impl Iterator<Item = usize> + '_ {
        let (y0, x0) = (oy * self.stride[0], ox * self.stride[1]);
        (y0..y0 + self.kernel[0])
            .flat_map(move |y| (x0..x0 + self.kernel[1]).map(move |x| y * self.input[1] + x))
    }

    /// The maximum of the window at output `(oy, ox)`, NaN if the window holds one.
    pub(crate) fn max(&self, plane: &[f32], oy: usize, ox: usize) -> f32 {
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
    pub(crate) fn argmax(&self, plane: &[f32], oy: usize, ox: usize) -> usize {
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
    w.check("pool forward");
    let (ip, op) = (w.in_pixels(), w.out_pixels());
    assert_eq!(
        x.len() % ip,
        0,
        "pool forward: the input is not whole planes"
    );
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
    assert!(
        plane.len() == w.in_pixels() && out.len() == w.out_pixels(),
        "plane_max: a plane of {} values into {} (the window wants {} into {})",
        plane.len(),
        out.len(),
        w.in_pixels(),
        w.out_pixels()
    );
    if w.kernel == [2, 2] && w.stride == [2, 2] {
        return pairs(w, plane, out);
    }
    let [_, ow] = w.output();
    for (k, o) in out.iter_mut().enumerate() {
        *o = w.max(plane, k / ow, k % ow);
    }
}

/// The larger of two values, NaN if either is NaN.
#[inline(always)]
pub(crate) fn max2(p: f32, q: f32) -> f32 {
    if p >= q || p.is_nan() {
        p
    } else {
        q
    }
}

/// [`pairs_body`] compiled for AVX2 where the CPU has it (chosen at run time): the same
/// comparisons and selects on eight values at a time, so the same results.
fn pairs(w: &Window, plane: &[f32], out: &mut [f32]) {
    #[cfg(simd_x86)]
    if crate::isa::avx2() {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { pairs_avx2(w, plane, out) };
    }
    pairs_body(w, plane, out)
}

/// [`pairs_backward_body`] compiled for AVX2 where the CPU has it, as [`pairs`].
fn pairs_backward(w: &Window, plane: &[f32], grad: &[f32], dx: &mut [f32]) {
    #[cfg(simd_x86)]
    if crate::isa::avx2() {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { pairs_backward_avx2(w, plane, grad, dx) };
    }
    pairs_backward_body(w, plane, grad, dx)
}

/// `g` where `on`, +0 elsewhere.
#[inline(always)]
pub(crate) fn masked(g: f32, on: bool) -> f32 {
    f32::from_bits(g.to_bits() & (on as u32).wrapping_neg())
}

/// ∂L/∂x: each output gradient goes to the position of its window's maximum.
pub fn backward(w: &Window, x: &[f32], grad: &[f32]) -> Vec<f32> {
    w.check("pool backward");
    let (ip, op) = (w.in_pixels(), w.out_pixels());
    // Whole planes, and one gradient plane per input plane: a partial plane or a short
    // gradient would leave elements of `dx` unwritten below the `set_len`.
    assert_eq!(
        x.len() % ip,
        0,
        "pool backward: the input is not whole planes"
    );
    assert_eq!(
        grad.len(),
        x.len() / ip * op,
        "pool backward: gradient size"
    );
    if x.is_empty() {
        return Vec::new();
    }
    let [_, ow] = w.output();
    // Each task zeroes its own planes just before writing them, in its cache: zeroing the
    // whole gradient first would be one serial pass over it, the other threads idle meanwhile.
    let mut dx = crate::output_buffer(x.len());
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
