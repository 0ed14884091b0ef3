//! The arithmetic of a 2-D convolution as im2col + one GEMM, on plain `f32` slices in NCHW.
//!
//! The batch is cut into groups of images whose output pixels together make about
//! 256 GEMM columns (`GROUP_COLUMNS`): a group's column matrix stays in the core's cache, a 4×4
//! feature map still gets a GEMM wide enough to run at speed, and groups run in parallel on the
//! caller's rayon pool. The weight gradient is summed group by group in group order, and the
//! groups depend only on the shapes, so results do not depend on the thread count or on which
//! thread ran what.
//!
//! Evaluation's forward pass can pool inside the convolution (see [`forward`]). Where a layer
//! with a ReLU is a padded 3×3 one with rows a whole number of vectors wide (AVX-512 or AVX2),
//! the forward pass, evaluation's and training's, skips the GEMM for a direct kernel that adds
//! the bias, applies the ReLU and pools (if asked) in registers, with the GEMM's arithmetic in
//! the GEMM's order.
//!
//! One file per concern ([`geometry`], `im2col`, `col2im`, `gemm`, `direct`, `backward`) and
//! per instruction set (`avx512`, `avx2`, and `plain`, the fallback every CPU runs).

#[cfg(simd_x86)]
mod avx2;
#[cfg(simd_x86)]
mod avx512;
mod backward;
mod col2im;
#[cfg(simd_x86)]
mod direct;
mod gemm;
pub mod geometry;
mod im2col;
mod plain;
#[cfg(test)]
mod properties;
#[cfg(test)]
pub(crate) mod tests;

use rayon::prelude::*;

pub use backward::{bias_grad, input_grad, relu_backward, weight_grad};
#[cfg(simd_x86)]
use direct::Direct;
use gemm::{gemm, gemm_into, Matrix};
pub use geometry::Geometry;
use im2col::with_im2col;

use crate::pool::{self, Window};

/// About how many output pixels (GEMM columns) one group of images holds.
pub(crate) const GROUP_COLUMNS: usize = 256;

/// `out = conv(x, weight) + bias`, through a ReLU if `relu`: `x` is `[batch, c_in, h, w]`,
/// `weight` is `[c_out, c_in, kh, kw]`, `bias` is `[c_out]`; returns `[batch, c_out, oh, ow]`,
/// or with `pool` each output plane's window maxima, `[batch, c_out, ph, pw]`.
///
/// Pooling here takes each group's planes while they are still in the core's cache: the
/// full-size output (16 MB for the first layer at evaluation's batch of 256) is then never
/// written to memory and read back. The values are those of pooling the unpooled output.
pub fn forward(
    g: &Geometry,
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    relu: bool,
    pool: Option<&Window>,
) -> Vec<f32> {
    // The ReLU keeps NaN (as flex's does), so that a NaN still reaches the loss.
    let finish = move |v: f32| {
        if !relu || v.is_nan() || v > 0.0 {
            v
        } else {
            0.0
        }
    };
    g.check("forward");
    let (p, k, per) = (g.out_pixels(), g.k(), g.images_per_group());
    // Every image's chunk of the output is written from its chunk of `x`: a short input would
    // leave output chunks unwritten below the `set_len`s.
    assert_eq!(
        x.len(),
        g.batch * g.c_in * g.in_pixels(),
        "forward: input size"
    );
    assert_eq!(weight.len(), g.c_out * k, "forward: weight size");
    if let Some(bias) = bias {
        assert_eq!(bias.len(), g.c_out, "forward: bias size");
    }
    if let Some(window) = pool {
        window.check("forward's pooling");
        assert_eq!(
            window.input,
            g.output(),
            "forward: the pooling's input is the output"
        );
    }
    let plane_out = pool.map_or(p, |w| w.out_pixels());
    let len = g.batch * g.c_out * plane_out;
    let mut out = crate::output_buffer(len);
    if len == 0 {
        return out;
    }
    #[cfg(simd_x86)]
    if let Some(direct) = relu.then(|| Direct::for_layer(g, pool)).flatten() {
        let taps = direct.arrange(g, weight);
        out.spare_capacity_mut()[..len]
            .par_chunks_mut(g.c_out * plane_out)
            .zip(x.par_chunks(g.c_in * g.in_pixels()))
            // SAFETY: `Direct::for_layer` checked the CPU's extensions and the shapes.
            .for_each(|(out_b, x_b)| unsafe {
                (direct.run)(g, x_b, &taps, bias, pool.is_some(), out_b)
            });
        // SAFETY: the chunks cover the first `len` elements and the kernel writes all of each.
        unsafe { out.set_len(len) };
        return out;
    }
    if let Some(window) = pool {
        out.resize(len, 0.0);
        out.par_chunks_mut(per * g.c_out * plane_out)
            .zip(x.par_chunks(per * g.c_in * g.in_pixels()))
            .for_each(|(out_g, x_g)| {
                let images = out_g.len() / (g.c_out * plane_out);
                let cols = images * p;
                let mut product = with_im2col(g, x_g, images, |col| {
                    gemm(
                        g.c_out,
                        cols,
                        k,
                        Matrix::rows(weight, k),
                        Matrix::rows(col, cols),
                    )
                });
                // product[c_out, cols]: channel co of image b is row co's b-th run of p.
                for (co, row) in product.chunks_mut(cols).enumerate() {
                    let add = bias.map_or(0.0, |bias| bias[co]);
                    row.iter_mut().for_each(|o| *o = finish(*o + add));
                    for (b, plane) in row.chunks(p).enumerate() {
                        let at = (b * g.c_out + co) * plane_out;
                        pool::plane_max(window, plane, &mut out_g[at..at + plane_out]);
                    }
                }
            });
        return out;
    }
    // The output is written once, not zeroed first: at evaluation's batch of 256 the first
    // layer's output is 16 MB.
    out.spare_capacity_mut()[..len]
        .par_chunks_mut(per * g.c_out * p)
        .zip(x.par_chunks(per * g.c_in * g.in_pixels()))
        .for_each(|(out_g, x_g)| {
            let images = out_g.len() / (g.c_out * p);
            let cols = images * p;
            with_im2col(g, x_g, images, |col| {
                let (lhs, rhs) = (Matrix::rows(weight, k), Matrix::rows(col, cols));
                if images == 1 {
                    // One image: the product [c_out, p] is the output's layout.
                    let out_g = gemm_into(out_g, g.c_out, cols, k, lhs, rhs);
                    for (co, row) in out_g.chunks_mut(p).enumerate() {
                        let add = bias.map_or(0.0, |bias| bias[co]);
                        row.iter_mut().for_each(|o| *o = finish(*o + add));
                    }
                    return;
                }
                // product[c_out, cols] = weight[c_out, k] · col[k, cols]
                let product = gemm(g.c_out, cols, k, lhs, rhs);
                for (b, out_b) in out_g.chunks_mut(g.c_out * p).enumerate() {
                    for (co, row) in out_b.chunks_mut(p).enumerate() {
                        let add = bias.map_or(0.0, |bias| bias[co]);
                        let src = &product[co * cols + b * p..co * cols + (b + 1) * p];
                        for (o, s) in row.iter_mut().zip(src) {
                            o.write(finish(s + add));
                        }
                    }
                }
            })
        });
    // SAFETY: the chunks cover the first `len` elements, and every group wrote all of its
    // chunk (`gemm_into` writes its whole destination; the copy writes every row).
    unsafe { out.set_len(len) };
    out
}
