//! The convolution's backward pass: weight, input and bias gradients, and the ReLU's mask.

use rayon::prelude::*;

use super::col2im::col2im;
use super::gemm::{channel_major, gemm, transpose, Matrix};
use super::im2col::with_im2col;
use super::Geometry;

/// ∂L/∂weight, `[c_out, c_in, kh, kw]`, from the input `x` and the output gradient `grad`.
pub fn weight_grad(g: &Geometry, x: &[f32], grad: &[f32]) -> Vec<f32> {
    g.check("weight_grad");
    let (p, k, per) = (g.out_pixels(), g.k(), g.images_per_group());
    // `zip` would silently stop at the shorter operand.
    assert_eq!(
        x.len(),
        g.batch * g.c_in * g.in_pixels(),
        "weight_grad: input size"
    );
    assert_eq!(
        grad.len(),
        g.batch * g.c_out * p,
        "weight_grad: gradient size"
    );
    if g.batch == 0 || p == 0 {
        return vec![0.0f32; g.c_out * k];
    }
    let partials: Vec<Vec<f32>> = x
        .par_chunks(per * g.c_in * g.in_pixels())
        .zip(grad.par_chunks(per * g.c_out * p))
        .map(|(x_g, grad_g)| {
            let images = grad_g.len() / (g.c_out * p);
            // One image's gradient is already one row per channel.
            let grad_rows = if images == 1 {
                std::borrow::Cow::Borrowed(grad_g)
            } else {
                std::borrow::Cow::Owned(channel_major(grad_g, images, g.c_out, p))
            };
            // partialᵀ[k, c_out] = col[k, cols] · grad[c_out, cols]ᵀ: the GEMM's output runs
            // along c_out, so its microkernel reads the large column matrix in place instead
            // of packing it.
            with_im2col(g, x_g, images, |col| {
                gemm(
                    k,
                    g.c_out,
                    images * p,
                    Matrix::rows(col, images * p),
                    Matrix::transposed(&grad_rows, images * p),
                )
            })
        })
        .collect();
    // The transposed partials summed in group order, then transposed once.
    let mut total = vec![0.0f32; g.c_out * k];
    for partial in partials {
        for (t, v) in total.iter_mut().zip(partial) {
            *t += v;
        }
    }
    transpose(&total, k, g.c_out)
}

/// The gradient through a ReLU, written over one of its two operands: each element is the
/// gradient where the ReLU's output is positive or NaN (flex's rule: a NaN keeps its
/// gradient), else zero. `dst` holds the output if `dst_is_output`, else the gradient; `other`
/// the other one. In parallel, where flex's own loop is one thread's.
pub fn relu_backward(dst: &mut [f32], other: &[f32], dst_is_output: bool) {
    assert_eq!(dst.len(), other.len(), "relu_backward: sizes");
    const CHUNK: usize = 1 << 15;
    let keep = |out: f32| out.is_nan() || out > 0.0;
    dst.par_chunks_mut(CHUNK)
        .zip(other.par_chunks(CHUNK))
        .for_each(|(dst, other)| {
            for (d, &o) in dst.iter_mut().zip(other) {
                let (out, grad) = if dst_is_output { (*d, o) } else { (o, *d) };
                *d = if keep(out) { grad } else { 0.0 };
            }
        });
}

/// ∂L/∂bias, `[c_out]`: the output gradient `[batch, c_out, p]` summed over images and pixels
/// (in image order, so the sum does not depend on threads).
pub fn bias_grad(grad: &[f32], batch: usize, c_out: usize, p: usize) -> Vec<f32> {
    assert_eq!(
        Some(grad.len()),
        batch.checked_mul(c_out).and_then(|n| n.checked_mul(p)),
        "bias_grad: gradient size"
    );
    let mut db = vec![0.0f32; c_out];
    for image in grad.chunks(c_out * p).take(batch) {
        for (d, plane) in db.iter_mut().zip(image.chunks(p)) {
            *d += lane_sum(plane);
        }
    }
    db
}

/// The sum of `values` in eight interleaved lanes (which the compiler can keep in one vector
/// register), then across the lanes: a fixed order, so the same values give the same sum.
pub(crate) fn lane_sum(values: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let mut chunks = values.chunks_exact(8);
    for chunk in &mut chunks {
        for (l, v) in lanes.iter_mut().zip(chunk) {
            *l += v;
        }
    }
    let tail: f32 = chunks.remainder().iter().sum();
    lanes.iter().sum::<f32>() + tail
}

/// ∂L/∂x, `[batch, c_in, h, w]`, from the weight and the output gradient `grad`.
pub fn input_grad(g: &Geometry, weight: &[f32], grad: &[f32]) -> Vec<f32> {
    g.check("input_grad");
    let (p, k, per) = (g.out_pixels(), g.k(), g.images_per_group());
    assert_eq!(weight.len(), g.c_out * k, "input_grad: weight size");
    assert_eq!(
        grad.len(),
        g.batch * g.c_out * p,
        "input_grad: gradient size"
    );
    let mut dx = vec![0.0f32; g.batch * g.c_in * g.in_pixels()];
    if dx.is_empty() || p == 0 {
        return dx;
    }
    dx.par_chunks_mut(per * g.c_in * g.in_pixels())
        .zip(grad.par_chunks(per * g.c_out * p))
        .for_each(|(dx_g, grad_g)| {
            let images = grad_g.len() / (g.c_out * p);
            let cols = images * p;
            let grad_rows = if images == 1 {
                std::borrow::Cow::Borrowed(grad_g)
            } else {
                std::borrow::Cow::Owned(channel_major(grad_g, images, g.c_out, p))
            };
            // dcol[k, cols] = weight[c_out, k]ᵀ · grad[c_out, cols]
            let mut dcol = gemm(
                k,
                cols,
                g.c_out,
                Matrix::transposed(weight, k),
                Matrix::rows(&grad_rows, cols),
            );
            col2im(g, &mut dcol, images, dx_g);
        });
    dx
}
