//! The arithmetic of a 2-D convolution as im2col + one GEMM, on plain `f32` slices in NCHW.
//!
//! The batch is cut into groups of images whose output pixels together make about
//! [`GROUP_COLUMNS`] GEMM columns: a group's column matrix stays in the core's cache, a 4×4
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

use rayon::prelude::*;

use crate::model::pool::{self, Window};

/// About how many output pixels (GEMM columns) one group of images holds.
const GROUP_COLUMNS: usize = 256;

/// The depth up to which `gemm` sums each output as one chain of FMAs: above it, it cuts the
/// depth into blocks and adds their sums (gemm-common's `kernel_params` takes a block of at
/// least 512). The direct kernel always sums one chain, so it takes only layers within it and
/// stays bit for bit the GEMM path.
const GEMM_ONE_CHAIN_DEPTH: usize = 512;

/// Shapes and options of one convolution (groups = 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Images in the batch.
    pub batch: usize,
    /// Input channels.
    pub c_in: usize,
    /// Input height and width.
    pub input: [usize; 2],
    /// Output channels.
    pub c_out: usize,
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Stride per spatial dimension.
    pub stride: [usize; 2],
    /// Padding before each spatial dimension.
    pub pad_begin: [usize; 2],
    /// Padding after each spatial dimension.
    pub pad_end: [usize; 2],
    /// Dilation per spatial dimension.
    pub dilation: [usize; 2],
}

impl Geometry {
    /// Output height and width.
    pub fn output(&self) -> [usize; 2] {
        std::array::from_fn(|d| {
            let span = self.dilation[d] * (self.kernel[d] - 1) + 1;
            (self.input[d] + self.pad_begin[d] + self.pad_end[d] - span) / self.stride[d] + 1
        })
    }

    /// Rows of the column matrix: one per (input channel, kernel row, kernel column).
    fn k(&self) -> usize {
        self.c_in * self.kernel[0] * self.kernel[1]
    }

    fn in_pixels(&self) -> usize {
        self.input[0] * self.input[1]
    }

    fn out_pixels(&self) -> usize {
        let [oh, ow] = self.output();
        oh * ow
    }

    fn images_per_group(&self) -> usize {
        (GROUP_COLUMNS / self.out_pixels().max(1)).clamp(1, self.batch.max(1))
    }
}

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
    let (p, k, per) = (g.out_pixels(), g.k(), g.images_per_group());
    // Every image's chunk of the output is written from its chunk of `x`: a short input would
    // leave output chunks unwritten below the `set_len`s.
    assert_eq!(
        x.len(),
        g.batch * g.c_in * g.in_pixels(),
        "forward: input size"
    );
    let plane_out = pool.map_or(p, |w| w.out_pixels());
    let len = g.batch * g.c_out * plane_out;
    let mut out = Vec::<f32>::with_capacity(len);
    if len == 0 {
        return out;
    }
    #[cfg(target_arch = "x86_64")]
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

/// One image's [`direct_conv`]: geometry, image, weights arranged by [`Direct::arrange`],
/// bias, whether to pool, output (every element written).
#[cfg(target_arch = "x86_64")]
type DirectKernel =
    unsafe fn(&Geometry, &[f32], &[f32], Option<&[f32]>, bool, &mut [std::mem::MaybeUninit<f32>]);

/// A [`direct_conv`] instance for one layer on this CPU: the function and the number of output
/// channels its main blocks hold.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Direct {
    run: DirectKernel,
    channels: usize,
}

#[cfg(target_arch = "x86_64")]
impl Direct {
    /// AVX-512: 8 channels, 16 columns.
    const AVX512: Direct = Direct {
        run: direct_conv_avx512,
        channels: 8,
    };
    /// AVX2 and FMA: 6 channels, 8 columns.
    const AVX2: Direct = Direct {
        run: direct_conv_avx2,
        channels: 6,
    };

    /// The instance that runs this layer (through its ReLU) and `pool` on this CPU, if one
    /// does: 3×3 taps with stride 1 and padding 1, an even height, an even number of output
    /// channels, at most [`GEMM_ONE_CHAIN_DEPTH`] weights per output channel and no pooling or
    /// 2×2 windows with stride 2 (the small trunk's first three layers), with rows a whole
    /// number of the kernel's vectors wide (16 columns with AVX-512, 8 with AVX2: an AVX-512
    /// CPU runs 8-wide rows with AVX2).
    fn for_layer(g: &Geometry, pool: Option<&Window>) -> Option<Direct> {
        use std::arch::is_x86_feature_detected as detected;
        let shapes = g.kernel == [3, 3]
            && g.stride == [1, 1]
            && g.dilation == [1, 1]
            && g.pad_begin == [1, 1]
            && g.pad_end == [1, 1]
            && g.input[0].is_multiple_of(2)
            && g.c_out.is_multiple_of(2)
            && g.k() <= GEMM_ONE_CHAIN_DEPTH
            && pool.is_none_or(|window| window.kernel == [2, 2] && window.stride == [2, 2]);
        let w = g.input[1];
        if !shapes {
            None
        } else if avx512() && w.is_multiple_of(Avx512Rows::LANES) {
            Some(Self::AVX512)
        } else if detected!("avx2") && detected!("fma") && w.is_multiple_of(Avx2Rows::LANES) {
            Some(Self::AVX2)
        } else {
            None
        }
    }

    /// The weights `[c_out, k]` as the kernel reads them: block by block of
    /// [`channel_blocks`], tap-major within a block (the block's weights of one tap side by
    /// side). Done once per layer, not per image: the 8×8 layer has 18k weights.
    fn arrange(&self, g: &Geometry, weight: &[f32]) -> Vec<f32> {
        let k = g.k();
        let mut taps = Vec::with_capacity(weight.len());
        for (c0, n) in channel_blocks(g.c_out, self.channels) {
            for t in 0..k {
                taps.extend((c0..c0 + n).map(|c| weight[c * k + t]));
            }
        }
        taps
    }
}

/// The blocks `(first channel, channels)` that [`direct_conv`] computes together: `channels`
/// at a time, then blocks of 4 and of 2 for what is left (an odd channel out is left out).
#[cfg(target_arch = "x86_64")]
fn channel_blocks(c_out: usize, channels: usize) -> impl Iterator<Item = (usize, usize)> {
    let mut c0 = 0;
    std::iter::from_fn(move || {
        let n = [channels, 4, 2].into_iter().find(|&n| c0 + n <= c_out)?;
        c0 += n;
        Some((c0 - n, n))
    })
}

/// One image of a layer that [`Direct::for_layer`] accepts, convolved, biased, through the
/// ReLU and, if `pool`, pooled in registers: for `C` output channels (then 4 and 2 for the
/// rest), two output rows and one vector of columns at a time, two loads from a zero-bordered
/// copy of the image and 2·`C` FMAs with broadcast weights per tap, then the block's two rows
/// stored, or their window maxima as half a vector, per channel.
///
/// No column matrix is built, and when pooling no unpooled output is written. With one input
/// channel the GEMM's depth is only 9, and its micro-kernel spent more time storing tiles than
/// multiplying. The arithmetic is the GEMM's, in its order (each output a chain of FMAs over
/// channel, kernel row and kernel column from zero, padding taps multiplying zero, then the
/// bias, zero without one), and the ReLU and maxima are [`forward`]'s and the pooling
/// kernel's: the results are bit for bit those of the GEMM path (tested).
///
/// # Safety
/// The CPU must have `M`'s vector extension; `x` is one image, `out` its output.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn direct_conv<M: DirectOps, const C: usize>(
    g: &Geometry,
    x: &[f32],
    taps: &[f32],
    bias: Option<&[f32]>,
    pool: bool,
    out: &mut [std::mem::MaybeUninit<f32>],
) {
    let [h, w] = g.input;
    let (k, lanes) = (g.k(), M::LANES);
    let plane_out = if pool { (h / 2) * (w / 2) } else { h * w };
    assert!(x.len() == g.c_in * h * w && out.len() == g.c_out * plane_out);
    assert!(taps.len() == g.c_out * k && w.is_multiple_of(lanes));
    // The image with a border of zeros, so that every tap's row is a plain load: a padding
    // row or column multiplies zero, as in the column matrix.
    let (pad_h, pad_w) = (h + 2, w + 2);
    let mut padded = vec![0.0f32; g.c_in * pad_h * pad_w];
    for (plane, dst) in x
        .chunks_exact(h * w)
        .zip(padded.chunks_exact_mut(pad_h * pad_w))
    {
        for (row, dst) in plane
            .chunks_exact(w)
            .zip(dst.chunks_exact_mut(pad_w).skip(1))
        {
            dst[1..=w].copy_from_slice(row);
        }
    }
    let no_bias;
    let bias = match bias {
        Some(bias) => bias,
        None => {
            no_bias = vec![0.0; g.c_out];
            &no_bias
        }
    };
    let image = Image {
        padded: &padded,
        size: [h, w],
    };
    let mut done = 0;
    for (c0, n) in channel_blocks(g.c_out, C) {
        let taps = &taps[c0 * k..(c0 + n) * k];
        let bias = &bias[c0..c0 + n];
        let out = &mut out[c0 * plane_out..(c0 + n) * plane_out];
        match (n, pool) {
            (4, true) => channel_block::<M, 4, true>(&image, taps, bias, out),
            (4, false) => channel_block::<M, 4, false>(&image, taps, bias, out),
            (2, true) => channel_block::<M, 2, true>(&image, taps, bias, out),
            (2, false) => channel_block::<M, 2, false>(&image, taps, bias, out),
            (_, true) => channel_block::<M, C, true>(&image, taps, bias, out),
            (_, false) => channel_block::<M, C, false>(&image, taps, bias, out),
        }
        done += n;
    }
    // `Direct::for_layer` accepts an even number of channels only.
    assert_eq!(
        done, g.c_out,
        "direct_conv: an odd number of output channels"
    );
}

/// The image [`channel_block`] reads: zero-bordered, and its size without the border.
#[cfg(target_arch = "x86_64")]
struct Image<'a> {
    padded: &'a [f32],
    size: [usize; 2],
}

/// `C` output channels of [`direct_conv`] from their arranged weights `taps` and their `bias`:
/// every pair of output rows and vector of columns, its FMA chains in registers, stored into
/// `out` (the channels' planes), pooled if `POOL`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn channel_block<M: DirectOps, const C: usize, const POOL: bool>(
    image: &Image,
    taps: &[f32],
    bias: &[f32],
    out: &mut [std::mem::MaybeUninit<f32>],
) {
    let [h, w] = image.size;
    let (pad_h, pad_w, lanes) = (h + 2, w + 2, M::LANES);
    let (ph, pw) = (h / 2, w / 2);
    let plane_out = if POOL { ph * pw } else { h * w };
    assert!(taps.len() == C * 9 * (image.padded.len() / (pad_h * pad_w)) && bias.len() == C);
    assert_eq!(out.len(), C * plane_out);
    for py in 0..ph {
        let y = 2 * py;
        for j in 0..w / lanes {
            let mut acc = [[M::zeros(); 2]; C];
            for (plane, per_channel) in image
                .padded
                .chunks_exact(pad_h * pad_w)
                .zip(taps.chunks_exact(C * 9))
            {
                for ki in 0..3 {
                    for kj in 0..3 {
                        // Output row y + r reads padded row y + r + ki, column j·lanes + kj
                        // onwards: inside the padded plane.
                        let at = (y + ki) * pad_w + j * lanes + kj;
                        let top = &plane[at..at + lanes];
                        let bottom = &plane[at + pad_w..at + pad_w + lanes];
                        let (top, bottom) = (M::load(top.as_ptr()), M::load(bottom.as_ptr()));
                        let block = &per_channel[(ki * 3 + kj) * C..(ki * 3 + kj + 1) * C];
                        for (acc, &tap) in acc.iter_mut().zip(block) {
                            acc[0] = M::fmadd(tap, top, acc[0]);
                            acc[1] = M::fmadd(tap, bottom, acc[1]);
                        }
                    }
                }
            }
            for ((acc, &add), out) in acc.iter().zip(bias).zip(out.chunks_exact_mut(plane_out)) {
                let (top, bottom) = (M::relu(acc[0], add), M::relu(acc[1], add));
                if POOL {
                    let at = py * pw + j * lanes / 2;
                    M::store_pairs(&mut out[at..at + lanes / 2], M::max2(top, bottom));
                } else {
                    let at = y * w + j * lanes;
                    M::store(&mut out[at..at + lanes], top);
                    M::store(&mut out[at + w..at + w + lanes], bottom);
                }
            }
        }
    }
}

/// [`direct_conv`] with AVX-512: 8 channels, 16 columns.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn direct_conv_avx512(
    g: &Geometry,
    x: &[f32],
    taps: &[f32],
    bias: Option<&[f32]>,
    pool: bool,
    out: &mut [std::mem::MaybeUninit<f32>],
) {
    direct_conv::<Avx512Rows, 8>(g, x, taps, bias, pool, out)
}

/// [`direct_conv`] with AVX2 and FMA: 6 channels, 8 columns. AVX2's 16 vector registers hold
/// the 12 chains, 2 rows and a broadcast weight; 8 chains (4 channels) only just covered the
/// FMA's latency on two pipes and ran 5 % slower over the forward pass.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn direct_conv_avx2(
    g: &Geometry,
    x: &[f32],
    taps: &[f32],
    bias: Option<&[f32]>,
    pool: bool,
    out: &mut [std::mem::MaybeUninit<f32>],
) {
    direct_conv::<Avx2Rows, 6>(g, x, taps, bias, pool, out)
}

/// ∂L/∂weight, `[c_out, c_in, kh, kw]`, from the input `x` and the output gradient `grad`.
pub fn weight_grad(g: &Geometry, x: &[f32], grad: &[f32]) -> Vec<f32> {
    let (p, k, per) = (g.out_pixels(), g.k(), g.images_per_group());
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
fn lane_sum(values: &[f32]) -> f32 {
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
    let (p, k, per) = (g.out_pixels(), g.k(), g.images_per_group());
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

/// Whether to run this crate's AVX-512 kernels: the CPU has AVX-512F and the build has the
/// `avx512` feature (on by default), which also decides whether gemm may dispatch to its
/// AVX-512 kernels. A build without it runs the AVX2 code paths on any CPU.
#[cfg(target_arch = "x86_64")]
fn avx512() -> bool {
    cfg!(feature = "avx512") && std::arch::is_x86_feature_detected!("avx512f")
}

/// A row-major matrix of `cols` columns, read as stored or transposed.
#[derive(Clone, Copy)]
struct Matrix<'a> {
    data: &'a [f32],
    row_stride: isize,
    col_stride: isize,
}

impl<'a> Matrix<'a> {
    fn rows(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            row_stride: cols as isize,
            col_stride: 1,
        }
    }

    fn transposed(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            row_stride: 1,
            col_stride: cols as isize,
        }
    }

    /// The largest element offset a `rows × cols` read of this view touches, plus one.
    fn extent(&self, rows: usize, cols: usize) -> usize {
        if rows == 0 || cols == 0 {
            return 0;
        }
        (rows - 1) * self.row_stride as usize + (cols - 1) * self.col_stride as usize + 1
    }
}

/// `lhs[m, k] · rhs[k, n]` as a new row-major `[m, n]` matrix. Single-threaded: the caller
/// already runs one group per thread.
fn gemm(m: usize, n: usize, k: usize, lhs: Matrix, rhs: Matrix) -> Vec<f32> {
    let mut dst = Vec::<f32>::with_capacity(m * n);
    gemm_into(&mut dst.spare_capacity_mut()[..m * n], m, n, k, lhs, rhs);
    // SAFETY: `gemm_into` initialised all `m * n` elements.
    unsafe { dst.set_len(m * n) };
    dst
}

/// `lhs[m, k] · rhs[k, n]` written over `dst` (row-major `[m, n]`, whatever it held); returns
/// `dst`, now initialised.
fn gemm_into<'d>(
    dst: &'d mut [std::mem::MaybeUninit<f32>],
    m: usize,
    n: usize,
    k: usize,
    lhs: Matrix,
    rhs: Matrix,
) -> &'d mut [f32] {
    assert_eq!(dst.len(), m * n, "gemm: destination size");
    assert!(
        lhs.data.len() >= lhs.extent(m, k),
        "gemm: left matrix too small"
    );
    assert!(
        rhs.data.len() >= rhs.extent(k, n),
        "gemm: right matrix too small"
    );
    if k == 0 {
        dst.iter_mut().for_each(|d| {
            d.write(0.0);
        });
    } else if m > 0 && n > 0 {
        // SAFETY: the asserts keep every read of the m×n×k product inside `lhs` and `rhs`
        // and every write inside `dst`; with `read_dst` false gemm writes each of the m·n
        // destination elements (row stride n, column stride 1) without reading them.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                dst.as_mut_ptr().cast::<f32>(),
                1,
                n as isize,
                false,
                lhs.data.as_ptr(),
                lhs.col_stride,
                lhs.row_stride,
                rhs.data.as_ptr(),
                rhs.col_stride,
                rhs.row_stride,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    }
    // SAFETY: every element was written above (MaybeUninit<f32> has f32's layout).
    unsafe { &mut *(dst as *mut [std::mem::MaybeUninit<f32>] as *mut [f32]) }
}

/// The `[cols, rows]` transpose of a row-major `[rows, cols]` matrix.
fn transpose(a: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0f32; a.len()];
    for (r, row) in a.chunks_exact(cols).enumerate() {
        for (c, v) in row.iter().enumerate() {
            t[c * rows + r] = *v;
        }
    }
    t
}

/// `[images, channels, p]` → `[channels, images·p]`: one GEMM row per channel.
fn channel_major(x: &[f32], images: usize, channels: usize, p: usize) -> Vec<f32> {
    let mut rows = Vec::with_capacity(channels * images * p);
    for c in 0..channels {
        for b in 0..images {
            rows.extend_from_slice(&x[(b * channels + c) * p..(b * channels + c + 1) * p]);
        }
    }
    rows
}

/// For kernel offset `kk` along one dimension: the output positions whose input position
/// `o·stride + kk·dilation − pad` lies inside `[0, size)`, as a half-open range.
fn valid(out: usize, size: usize, stride: usize, offset: usize, pad: usize) -> (usize, usize) {
    // input = o·stride + offset − pad ≥ 0  ⇔  o ≥ (pad − offset) / stride, rounded up
    let lo = pad.saturating_sub(offset).div_ceil(stride);
    // input < size  ⇔  o·stride < size + pad − offset
    let hi = if size + pad > offset {
        (size + pad - offset).div_ceil(stride)
    } else {
        0
    };
    (lo.min(out), hi.min(out).max(lo.min(out)))
}

/// One kernel tap `(c, ki, kj)` of one image `b`: which column-matrix row it fills, and which
/// output pixels of that row read inside the input (the rest read padding).
struct Tap {
    /// Column-matrix row: `(c·kh + ki)·kw + kj`.
    row: usize,
    /// Image within the group.
    image: usize,
    /// Input channel.
    channel: usize,
    /// Output rows and columns that read inside the input, half-open.
    ys: (usize, usize),
    xs: (usize, usize),
    /// Input row and column of output (0, 0), before padding: `k·dilation`.
    offset: [usize; 2],
    /// The tap as one shifted block, where the layer allows it.
    block: Option<Block>,
}

impl Tap {
    /// Per output row inside the input: the offset (within the image's `oh·ow` block of the
    /// row) of its first valid pixel and the input offset (within the plane) that pixel reads.
    /// Consecutive pixels of a span read `stride[1]` apart, `xs.1 − xs.0` of them.
    fn spans<'g>(&self, g: &'g Geometry) -> impl Iterator<Item = (usize, usize)> + 'g {
        let [_, ow] = g.output();
        let (x_lo, offset, w) = (self.xs.0, self.offset, g.input[1]);
        let ix0 = x_lo * g.stride[1] + offset[1] - g.pad_begin[1];
        (self.ys.0..self.ys.1).map(move |oy| {
            let iy = oy * g.stride[0] + offset[0] - g.pad_begin[0];
            (oy * ow + x_lo, iy * w + ix0)
        })
    }

    fn len(&self) -> usize {
        self.xs.1 - self.xs.0
    }
}

/// Calls `visit` for every tap of every image of a group, channel by channel, tap by tap, image
/// by image: the order [`im2col`] fills and [`col2im`] adds back.
fn for_each_tap(g: &Geometry, images: usize, mut visit: impl FnMut(&Tap)) {
    let [oh, ow] = g.output();
    let [kh, kw] = g.kernel;
    let [h, w] = g.input;
    for channel in 0..g.c_in {
        for ki in 0..kh {
            let off_y = ki * g.dilation[0];
            let ys = valid(oh, h, g.stride[0], off_y, g.pad_begin[0]);
            for kj in 0..kw {
                let off_x = kj * g.dilation[1];
                let xs = valid(ow, w, g.stride[1], off_x, g.pad_begin[1]);
                let block = shifted_block(g, ki, kj, ys.0, ys.1);
                for image in 0..images {
                    visit(&Tap {
                        row: (channel * kh + ki) * kw + kj,
                        image,
                        channel,
                        ys,
                        xs,
                        offset: [off_y, off_x],
                        block,
                    });
                }
            }
        }
    }
}

thread_local! {
    /// Each thread's column matrix, kept between calls: a group's matrix is up to a few
    /// hundred kB, and allocating and zeroing it for every group of every layer cost more
    /// than filling it.
    static COLUMNS: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `use_col` with the column matrix `[c_in·kh·kw, images·oh·ow]` of `images` images (zeros
/// where the kernel hangs over the padding), built in this thread's reused buffer.
fn with_im2col<R>(g: &Geometry, x: &[f32], images: usize, use_col: impl FnOnce(&[f32]) -> R) -> R {
    let len = g.k() * images * g.out_pixels();
    COLUMNS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buffer) => {
            if buffer.len() < len {
                buffer.resize(len, 0.0);
            }
            im2col(g, x, images, &mut buffer[..len]);
            use_col(&buffer[..len])
        }
        // Only if `use_col` itself built a column matrix on this thread.
        Err(_) => {
            let mut col = vec![0.0f32; len];
            im2col(g, x, images, &mut col);
            use_col(&col)
        }
    })
}

/// Output maps of at most this many pixels (the 8×8 and 4×4 layers of the small trunk) build
/// their column matrices through [`Taps`]: one table look-up per element instead of a few
/// copies per kernel tap and image, whose calls cost more than the 16 or 64 values they move.
const TABLE_PIXELS: usize = 64;

/// For every kernel tap `(ki, kj)` and output pixel, the input pixel it reads (its offset in
/// the input plane), or the plane's length where it reads padding.
struct Taps {
    table: Vec<u32>,
    pixels: usize,
}

impl Taps {
    fn new(g: &Geometry) -> Self {
        let [oh, ow] = g.output();
        let [h, w] = g.input;
        let mut table = Vec::with_capacity(g.kernel[0] * g.kernel[1] * oh * ow);
        for ki in 0..g.kernel[0] {
            for kj in 0..g.kernel[1] {
                for oy in 0..oh {
                    for ox in 0..ow {
                        // Both coordinates with the padding added, so that a position above or
                        // left of the input is below `pad_begin` instead of negative.
                        let py = oy * g.stride[0] + ki * g.dilation[0];
                        let px = ox * g.stride[1] + kj * g.dilation[1];
                        let inside = (g.pad_begin[0]..g.pad_begin[0] + h).contains(&py)
                            && (g.pad_begin[1]..g.pad_begin[1] + w).contains(&px);
                        table.push(if inside {
                            ((py - g.pad_begin[0]) * w + px - g.pad_begin[1]) as u32
                        } else {
                            (h * w) as u32
                        });
                    }
                }
            }
        }
        Self {
            table,
            pixels: oh * ow,
        }
    }

    /// The input offsets of kernel tap `t` (`ki·kw + kj`), one per output pixel.
    fn of(&self, t: usize) -> &[u32] {
        &self.table[t * self.pixels..(t + 1) * self.pixels]
    }
}

/// Whether a layer's column matrices go through [`Taps`].
fn by_table(g: &Geometry) -> bool {
    g.out_pixels() <= TABLE_PIXELS && g.in_pixels() < u32::MAX as usize
}

/// [`im2col`] through the tap table; with AVX-512 (chosen at run time) sixteen look-ups at a
/// time where the plane fits in four vector registers.
fn im2col_table(g: &Geometry, x: &[f32], images: usize, col: &mut [f32], taps: &Taps) {
    #[cfg(target_arch = "x86_64")]
    if g.in_pixels() <= 64 && g.out_pixels().is_multiple_of(16) && avx512() {
        // SAFETY: the CPU has AVX-512F (checked just above).
        return unsafe { im2col_table_avx512(g, x, images, col, taps) };
    }
    #[cfg(target_arch = "x86_64")]
    if g.in_pixels() <= 16
        && g.out_pixels().is_multiple_of(8)
        && std::arch::is_x86_feature_detected!("avx2")
    {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { im2col_table_avx2(g, x, images, col, taps) };
    }
    im2col_table_plain(g, x, images, col, taps)
}

/// [`im2col_table`] for planes of at most 16 values (the 4×4 maps) and a multiple of 8 output
/// pixels with AVX2: the plane in two registers, each group of eight offsets a permute of
/// each, a blend on the offset's bit 3 and a mask that zeroes the padding's lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn im2col_table_avx2(g: &Geometry, x: &[f32], images: usize, col: &mut [f32], taps: &Taps) {
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

/// [`im2col_table`] one look-up at a time.
fn im2col_table_plain(g: &Geometry, x: &[f32], images: usize, col: &mut [f32], taps: &Taps) {
    let (p, plane_len) = (g.out_pixels(), g.in_pixels());
    let (per_channel, cols) = (g.kernel[0] * g.kernel[1], images * p);
    for (c, rows) in col.chunks_mut(per_channel * cols).enumerate() {
        for (t, row) in rows.chunks_mut(cols).enumerate() {
            for (b, dst) in row.chunks_mut(p).enumerate() {
                let at = (b * g.c_in + c) * plane_len;
                let plane = &x[at..at + plane_len];
                for (d, &i) in dst.iter_mut().zip(taps.of(t)) {
                    *d = plane.get(i as usize).copied().unwrap_or(0.0);
                }
            }
        }
    }
}

/// [`im2col_table`] for planes of at most 64 values and a multiple of 16 output pixels: the
/// plane in four registers, each group of sixteen offsets one two-table permute per half, a
/// blend on the offset's bit 5 and a mask that zeroes the padding's lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn im2col_table_avx512(
    g: &Geometry,
    x: &[f32],
    images: usize,
    col: &mut [f32],
    taps: &Taps,
) {
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
                    _mm512_storeu_ps(dst[j..j + 16].as_mut_ptr(), _mm512_maskz_mov_ps(inside, v));
                }
            }
        }
    }
}

/// Fills `col` (whatever it held) with the column matrix of `images` images.
fn im2col(g: &Geometry, x: &[f32], images: usize, col: &mut [f32]) {
    // Rows of whole vectors where the layer keeps its width; small maps through the table
    // where AVX-512 permutes it, or where their rows are not whole AVX2 vectors (a masked
    // store is slow on AMD's CPUs).
    #[cfg(target_arch = "x86_64")]
    if g.stride == [1, 1] && g.output()[1] == g.input[1] {
        if avx512() {
            if !by_table(g) {
                // SAFETY: the CPU has AVX-512F (checked just above).
                return unsafe { im2col_rows_avx512(g, x, images, col) };
            }
        } else if std::arch::is_x86_feature_detected!("avx2")
            && (!by_table(g) || g.input[1].is_multiple_of(8))
        {
            // SAFETY: the CPU has AVX2 (checked just above).
            return unsafe { im2col_rows_avx2(g, x, images, col) };
        }
    }
    if by_table(g) {
        return im2col_table(g, x, images, col, &Taps::new(g));
    }
    im2col_plain(g, x, images, col)
}

/// [`im2col`] without the table or vector moves: shifted blocks where the layer allows them,
/// else per-row spans over a zeroed matrix.
fn im2col_plain(g: &Geometry, x: &[f32], images: usize, col: &mut [f32]) {
    let [oh, ow] = g.output();
    let (cols, plane_len, step) = (images * oh * ow, g.in_pixels(), g.stride[1]);
    let shifted = g.stride == [1, 1] && ow == g.input[1];
    if !shifted {
        col.fill(0.0);
    }
    for_each_tap(g, images, |t| {
        let start = t.row * cols + t.image * oh * ow;
        let dst = &mut col[start..start + oh * ow];
        let plane_at = (t.image * g.c_in + t.channel) * plane_len;
        let plane = &x[plane_at..plane_at + plane_len];
        if shifted {
            // Every element of the row is written: the block, its edges, and the output rows
            // whose input row is padding.
            return match t.block {
                Some(block) => copy_shifted(dst, plane, block),
                None => dst.fill(0.0),
            };
        }
        for (out, input) in t.spans(g) {
            for j in 0..t.len() {
                dst[out + j] = plane[input + j * step];
            }
        }
    });
}

/// One vector width's masked moves, for [`im2col_rows`].
#[cfg(target_arch = "x86_64")]
trait RowMoves {
    /// Values per vector.
    const LANES: usize;
    /// Which lanes a move touches.
    type Mask: Copy;

    /// The lanes `lo..hi`.
    ///
    /// # Safety
    /// The CPU must have the vector extension.
    unsafe fn lanes(lo: usize, hi: usize) -> Self::Mask;

    /// Stores at `dst`, in the lanes of `store`, a vector whose lanes in `load` come from
    /// `src` (lane `l` from `src + l`) and whose other lanes are zero. Lanes outside the masks
    /// are not touched.
    ///
    /// # Safety
    /// Those lanes must be valid to read and write, and the CPU must have the vector extension.
    unsafe fn copy(dst: *mut f32, src: *const f32, load: Self::Mask, store: Self::Mask);

    /// Stores zero at `dst` in the lanes of `store`.
    ///
    /// # Safety
    /// As for [`RowMoves::copy`].
    unsafe fn zero(dst: *mut f32, store: Self::Mask);
}

/// The arithmetic of [`direct_conv`] in one vector width. Every method needs the CPU to have
/// the vector extension (and FMA), and loads and stores touch only the lanes they name.
#[cfg(target_arch = "x86_64")]
trait DirectOps: RowMoves {
    /// A vector of `LANES` floats.
    type V: Copy;
    /// All lanes zero.
    unsafe fn zeros() -> Self::V;
    /// `LANES` values from `src`.
    unsafe fn load(src: *const f32) -> Self::V;
    /// `w · x + acc`, rounded once.
    unsafe fn fmadd(w: f32, x: Self::V, acc: Self::V) -> Self::V;
    /// `v + add` through the ReLU that keeps NaN: the sum where it is > 0 or NaN, else +0.
    unsafe fn relu(v: Self::V, add: f32) -> Self::V;
    /// The pooling kernel's maximum: `p` where `p ≥ q` or `p` is NaN, else `q`.
    unsafe fn max2(p: Self::V, q: Self::V) -> Self::V;
    /// The [`DirectOps::max2`] of each pair of neighbouring lanes (left first) into `dst`,
    /// `LANES / 2` values.
    unsafe fn store_pairs(dst: &mut [std::mem::MaybeUninit<f32>], v: Self::V);
    /// The `LANES` values of `v` into `dst`.
    unsafe fn store(dst: &mut [std::mem::MaybeUninit<f32>], v: Self::V);
}

/// 16 lanes with AVX-512 mask registers.
#[cfg(target_arch = "x86_64")]
struct Avx512Rows;

#[cfg(target_arch = "x86_64")]
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
        use std::arch::x86_64::*;
        let v = _mm512_maskz_loadu_ps(load, src);
        if store == u16::MAX {
            _mm512_storeu_ps(dst, v);
        } else {
            _mm512_mask_storeu_ps(dst, store, v);
        }
    }

    #[inline(always)]
    unsafe fn zero(dst: *mut f32, store: u16) {
        use std::arch::x86_64::*;
        if store == u16::MAX {
            _mm512_storeu_ps(dst, _mm512_setzero_ps());
        } else {
            _mm512_mask_storeu_ps(dst, store, _mm512_setzero_ps());
        }
    }
}

/// 8 lanes with AVX2's masked moves, whose mask is a vector.
#[cfg(target_arch = "x86_64")]
struct Avx2Rows;

#[cfg(target_arch = "x86_64")]
impl RowMoves for Avx2Rows {
    const LANES: usize = 8;
    type Mask = std::arch::x86_64::__m256i;

    #[inline(always)]
    unsafe fn lanes(lo: usize, hi: usize) -> Self::Mask {
        use std::arch::x86_64::*;
        let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        // Lane l is on where l < k.
        let below = |k: usize| _mm256_cmpgt_epi32(_mm256_set1_epi32(k as i32), lane);
        _mm256_andnot_si256(below(lo), below(hi))
    }

    // As for AVX-512: full vectors take the plain store (all lanes on: the sign bits' mask
    // is 0xFF).
    #[inline(always)]
    unsafe fn copy(dst: *mut f32, src: *const f32, load: Self::Mask, store: Self::Mask) {
        use std::arch::x86_64::*;
        let v = _mm256_maskload_ps(src, load);
        if _mm256_movemask_ps(_mm256_castsi256_ps(store)) == 0xFF {
            _mm256_storeu_ps(dst, v);
        } else {
            _mm256_maskstore_ps(dst, store, v);
        }
    }

    #[inline(always)]
    unsafe fn zero(dst: *mut f32, store: Self::Mask) {
        use std::arch::x86_64::*;
        if _mm256_movemask_ps(_mm256_castsi256_ps(store)) == 0xFF {
            _mm256_storeu_ps(dst, _mm256_setzero_ps());
        } else {
            _mm256_maskstore_ps(dst, store, _mm256_setzero_ps());
        }
    }
}

#[cfg(target_arch = "x86_64")]
impl DirectOps for Avx512Rows {
    type V = std::arch::x86_64::__m512;

    #[inline(always)]
    unsafe fn zeros() -> Self::V {
        std::arch::x86_64::_mm512_setzero_ps()
    }

    #[inline(always)]
    unsafe fn load(src: *const f32) -> Self::V {
        std::arch::x86_64::_mm512_loadu_ps(src)
    }

    #[inline(always)]
    unsafe fn fmadd(w: f32, x: Self::V, acc: Self::V) -> Self::V {
        use std::arch::x86_64::*;
        _mm512_fmadd_ps(_mm512_set1_ps(w), x, acc)
    }

    #[inline(always)]
    unsafe fn relu(v: Self::V, add: f32) -> Self::V {
        use std::arch::x86_64::*;
        let v = _mm512_add_ps(v, _mm512_set1_ps(add));
        _mm512_maskz_mov_ps(_mm512_cmp_ps_mask::<_CMP_NLE_UQ>(v, _mm512_setzero_ps()), v)
    }

    #[inline(always)]
    unsafe fn max2(p: Self::V, q: Self::V) -> Self::V {
        use std::arch::x86_64::*;
        let keep_p =
            _mm512_cmp_ps_mask::<_CMP_GE_OQ>(p, q) | _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(p, p);
        _mm512_mask_blend_ps(keep_p, q, p)
    }

    #[inline(always)]
    unsafe fn store_pairs(dst: &mut [std::mem::MaybeUninit<f32>], v: Self::V) {
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

    #[inline(always)]
    unsafe fn store(dst: &mut [std::mem::MaybeUninit<f32>], v: Self::V) {
        let dst = &mut dst[..16];
        std::arch::x86_64::_mm512_storeu_ps(dst.as_mut_ptr().cast(), v);
    }
}

#[cfg(target_arch = "x86_64")]
impl DirectOps for Avx2Rows {
    type V = std::arch::x86_64::__m256;

    #[inline(always)]
    unsafe fn zeros() -> Self::V {
        std::arch::x86_64::_mm256_setzero_ps()
    }

    #[inline(always)]
    unsafe fn load(src: *const f32) -> Self::V {
        std::arch::x86_64::_mm256_loadu_ps(src)
    }

    #[inline(always)]
    unsafe fn fmadd(w: f32, x: Self::V, acc: Self::V) -> Self::V {
        use std::arch::x86_64::*;
        _mm256_fmadd_ps(_mm256_set1_ps(w), x, acc)
    }

    #[inline(always)]
    unsafe fn relu(v: Self::V, add: f32) -> Self::V {
        use std::arch::x86_64::*;
        let v = _mm256_add_ps(v, _mm256_set1_ps(add));
        _mm256_and_ps(_mm256_cmp_ps::<_CMP_NLE_UQ>(v, _mm256_setzero_ps()), v)
    }

    #[inline(always)]
    unsafe fn max2(p: Self::V, q: Self::V) -> Self::V {
        use std::arch::x86_64::*;
        let keep_p = _mm256_or_ps(
            _mm256_cmp_ps::<_CMP_GE_OQ>(p, q),
            _mm256_cmp_ps::<_CMP_UNORD_Q>(p, p),
        );
        _mm256_blendv_ps(q, p, keep_p)
    }

    #[inline(always)]
    unsafe fn store_pairs(dst: &mut [std::mem::MaybeUninit<f32>], v: Self::V) {
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

    #[inline(always)]
    unsafe fn store(dst: &mut [std::mem::MaybeUninit<f32>], v: Self::V) {
        let dst = &mut dst[..8];
        std::arch::x86_64::_mm256_storeu_ps(dst.as_mut_ptr().cast(), v);
    }
}

/// [`im2col`] for a stride-1 layer whose output rows are as wide as its input rows: each
/// output row of a tap is its input row shifted, so every vector of the column matrix is one
/// masked load (padding lanes read nothing and come out zero) and one store, with the masks
/// worked out once per kernel column. Each element is written once, with no per-row copy calls.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn im2col_rows<M: RowMoves>(g: &Geometry, x: &[f32], images: usize, col: &mut [f32]) {
    let [oh, ow] = g.output();
    let [h, w] = g.input;
    let [kh, kw] = g.kernel;
    let (p, plane_len, cols) = (oh * ow, h * w, images * oh * ow);
    assert!(g.stride == [1, 1] && ow == w && col.len() >= g.k() * cols);
    // Per kernel column and vector of a row: the lanes that read inside the input row (input
    // column j + l + shift in 0..w), and the lanes inside the output row.
    let vectors = w.div_ceil(M::LANES);
    let masks: Vec<(M::Mask, M::Mask)> = (0..kw)
        .flat_map(|kj| {
            let shift = (kj * g.dilation[1]) as isize - g.pad_begin[1] as isize;
            (0..vectors).map(move |v| {
                let (j, n) = (v * M::LANES, (w - v * M::LANES).min(M::LANES));
                let first = j as isize + shift;
                let lo = (-first).clamp(0, n as isize) as usize;
                let hi = (w as isize - first).clamp(0, n as isize) as usize;
                // SAFETY: the caller's CPU has the extension.
                unsafe { (M::lanes(lo, hi.max(lo)), M::lanes(0, n)) }
            })
        })
        .collect();
    for c in 0..g.c_in {
        for ki in 0..kh {
            let dy = (ki * g.dilation[0]) as isize - g.pad_begin[0] as isize;
            for kj in 0..kw {
                let shift = (kj * g.dilation[1]) as isize - g.pad_begin[1] as isize;
                let masks = &masks[kj * vectors..(kj + 1) * vectors];
                let row = (c * kh + ki) * kw + kj;
                for b in 0..images {
                    let at = (b * g.c_in + c) * plane_len;
                    let plane = &x[at..at + plane_len];
                    let dst = &mut col[row * cols + b * p..row * cols + (b + 1) * p];
                    for oy in 0..oh {
                        let iy = oy as isize + dy;
                        let out = dst[oy * w..oy * w + w].as_mut_ptr();
                        if !(0..h as isize).contains(&iy) {
                            for (v, &(_, store)) in masks.iter().enumerate() {
                                // SAFETY: the store lanes stay inside the output row.
                                M::zero(out.add(v * M::LANES), store);
                            }
                            continue;
                        }
                        let src = plane.as_ptr().wrapping_offset(iy * w as isize + shift);
                        for (v, &(load, store)) in masks.iter().enumerate() {
                            // SAFETY: the load lanes read input row iy, columns inside 0..w;
                            // the store lanes stay inside the output row.
                            let j = v * M::LANES;
                            M::copy(out.add(j), src.wrapping_add(j), load, store);
                        }
                    }
                }
            }
        }
    }
}

/// [`im2col_rows`] with AVX-512.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn im2col_rows_avx512(g: &Geometry, x: &[f32], images: usize, col: &mut [f32]) {
    im2col_rows::<Avx512Rows>(g, x, images, col)
}

/// [`im2col_rows`] with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn im2col_rows_avx2(g: &Geometry, x: &[f32], images: usize, col: &mut [f32]) {
    im2col_rows::<Avx2Rows>(g, x, images, col)
}

/// Adds the column-matrix gradient `dcol` back onto the `images` input planes of `dx`: the
/// transpose of [`im2col`]. `dcol` is used as scratch.
fn col2im(g: &Geometry, dcol: &mut [f32], images: usize, dx: &mut [f32]) {
    if by_table(g) {
        // The same order of additions as below: channel, tap, image.
        let (taps, p, plane_len) = (Taps::new(g), g.out_pixels(), g.in_pixels());
        let (per_channel, cols) = (g.kernel[0] * g.kernel[1], images * p);
        for (c, rows) in dcol.chunks(per_channel * cols).enumerate() {
            for (t, row) in rows.chunks(cols).enumerate() {
                for (b, src) in row.chunks(p).enumerate() {
                    let at = (b * g.c_in + c) * plane_len;
                    let plane = &mut dx[at..at + plane_len];
                    for (s, &i) in src.iter().zip(taps.of(t)) {
                        if let Some(d) = plane.get_mut(i as usize) {
                            *d += s;
                        }
                    }
                }
            }
        }
        return;
    }
    let [oh, ow] = g.output();
    let (cols, plane_len, step) = (images * oh * ow, g.in_pixels(), g.stride[1]);
    for_each_tap(g, images, |t| {
        let start = t.row * cols + t.image * oh * ow;
        let src = &mut dcol[start..start + oh * ow];
        let plane_at = (t.image * g.c_in + t.channel) * plane_len;
        let plane = &mut dx[plane_at..plane_at + plane_len];
        if let Some(block) = t.block {
            return add_shifted(plane, src, block);
        }
        for (out, input) in t.spans(g) {
            for j in 0..t.len() {
                plane[input + j * step] += src[out + j];
            }
        }
    });
}

/// For a stride-1 convolution whose output rows are as wide as its input rows (the usual 3×3
/// "same" layer), the im2col row of kernel tap `(ki, kj)` is the input plane shifted by a
/// constant offset: one block copy instead of one copy per output row, after which only the
/// columns that wrapped around a row edge need fixing. `None` for other layers, or when no
/// output row of this tap is inside the input.
fn shifted_block(g: &Geometry, ki: usize, kj: usize, y_lo: usize, y_hi: usize) -> Option<Block> {
    let [_, ow] = g.output();
    (g.stride == [1, 1] && ow == g.input[1] && y_lo < y_hi).then(|| Block {
        w: ow,
        y_lo,
        y_hi,
        iy0: y_lo + ki * g.dilation[0] - g.pad_begin[0],
        shift: (kj * g.dilation[1]) as isize - g.pad_begin[1] as isize,
    })
}

/// The span of one shifted block: output rows `y_lo..y_hi` of a `w`-wide map, whose first row
/// reads input row `iy0`, shifted by `shift` columns.
#[derive(Clone, Copy)]
struct Block {
    w: usize,
    y_lo: usize,
    y_hi: usize,
    iy0: usize,
    shift: isize,
}

impl Block {
    /// Output offset of the first element, elements in the block, and the columns at the left
    /// (`shift < 0`) or right (`shift > 0`) edge of each row that read outside the input row.
    fn span(&self) -> (usize, usize, std::ops::Range<usize>) {
        let (w, n) = (self.w, (self.y_hi - self.y_lo) * self.w);
        let edge = self.shift.unsigned_abs().min(w);
        let outside = if self.shift < 0 { 0..edge } else { w - edge..w };
        (self.y_lo * w, n, outside)
    }

    /// The input range the block reads and the output range it lands on (within the block),
    /// as (input start, output start, length).
    fn aligned(&self) -> Option<(usize, usize, usize)> {
        let (_, n, _) = self.span();
        let edge = self.shift.unsigned_abs();
        if edge >= self.w || n <= edge {
            return None;
        }
        let start = self.iy0 * self.w;
        Some(if self.shift >= 0 {
            (start + edge, 0, n - edge)
        } else {
            (start, edge, n - edge)
        })
    }

    /// Sets the edge columns of every row of the block (in `out`, offset as the block) to zero.
    fn clear_edges(&self, out: &mut [f32]) {
        let (first, n, outside) = self.span();
        // Usually one column per row: a plain store beats a fill call.
        for start in (first..first + n).step_by(self.w) {
            for x in outside.clone() {
                out[start + x] = 0.0;
            }
        }
    }
}

/// `dst` (one image's im2col row) gets the block from `plane`, and zeros everywhere else.
fn copy_shifted(dst: &mut [f32], plane: &[f32], block: Block) {
    let (first, n, _) = block.span();
    dst[..first].fill(0.0);
    dst[first + n..].fill(0.0);
    match block.aligned() {
        Some((input, output, len)) => {
            dst[first..first + output].fill(0.0);
            dst[first + output..first + output + len].copy_from_slice(&plane[input..input + len]);
            dst[first + output + len..first + n].fill(0.0);
        }
        None => dst[first..first + n].fill(0.0),
    }
    block.clear_edges(dst);
}

/// Adds the block of `src` (one image's im2col-row gradient, clobbered) back onto `plane`.
fn add_shifted(plane: &mut [f32], src: &mut [f32], block: Block) {
    block.clear_edges(src);
    let (first, _, _) = block.span();
    if let Some((input, output, len)) = block.aligned() {
        let from = &src[first + output..first + output + len];
        for (d, s) in plane[input..input + len].iter_mut().zip(from) {
            *d += s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct six-loop convolution in f64: the reference every kernel is checked against.
    fn naive(g: &Geometry, x: &[f32], w: &[f32]) -> Vec<f64> {
        let [oh, ow] = g.output();
        let [kh, kw] = g.kernel;
        let [h, wd] = g.input;
        let mut out = vec![0.0; g.batch * g.c_out * oh * ow];
        for b in 0..g.batch {
            for co in 0..g.c_out {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut acc = 0.0f64;
                        for c in 0..g.c_in {
                            for ki in 0..kh {
                                for kj in 0..kw {
                                    let iy = (oy * g.stride[0] + ki * g.dilation[0]) as isize
                                        - g.pad_begin[0] as isize;
                                    let ix = (ox * g.stride[1] + kj * g.dilation[1]) as isize
                                        - g.pad_begin[1] as isize;
                                    if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                                        continue;
                                    }
                                    let xv =
                                        x[((b * g.c_in + c) * h + iy as usize) * wd + ix as usize];
                                    let wv = w[((co * g.c_in + c) * kh + ki) * kw + kj];
                                    acc += xv as f64 * wv as f64;
                                }
                            }
                        }
                        out[((b * g.c_out + co) * oh + oy) * ow + ox] = acc;
                    }
                }
            }
        }
        out
    }

    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    fn geometries() -> Vec<Geometry> {
        let g =
            |batch, c_in, input, c_out, kernel, stride, pad_begin, pad_end, dilation| Geometry {
                batch,
                c_in,
                input,
                c_out,
                kernel,
                stride,
                pad_begin,
                pad_end,
                dilation,
            };
        vec![
            g(3, 2, [8, 8], 4, [3, 3], [1, 1], [1, 1], [1, 1], [1, 1]),
            g(2, 3, [9, 7], 5, [3, 2], [2, 1], [1, 0], [2, 1], [1, 1]),
            g(2, 2, [10, 10], 3, [3, 3], [1, 2], [2, 2], [2, 2], [2, 2]),
            g(4, 6, [5, 5], 2, [1, 1], [1, 1], [0, 0], [0, 0], [1, 1]),
            // A wide group (more images than fit one group of columns) and a single image.
            g(40, 1, [6, 6], 2, [3, 3], [1, 1], [1, 1], [1, 1], [1, 1]),
            g(1, 2, [4, 4], 3, [4, 4], [1, 1], [0, 0], [0, 0], [1, 1]),
            // Width-preserving stride-1 layers take the shifted-block path: dilated, and with
            // shifts as wide as the row.
            g(2, 2, [7, 9], 3, [3, 3], [1, 1], [2, 2], [2, 2], [2, 2]),
            g(1, 1, [3, 2], 2, [1, 5], [1, 1], [0, 2], [0, 2], [1, 1]),
            // Maps of more than TABLE_PIXELS outputs: the shifted blocks (plain and dilated)
            // and the general strided path instead of the tap table.
            g(2, 3, [12, 12], 4, [3, 3], [1, 1], [1, 1], [1, 1], [1, 1]),
            g(1, 2, [9, 11], 3, [3, 3], [1, 1], [2, 2], [2, 2], [2, 2]),
            g(2, 2, [20, 20], 3, [3, 3], [2, 2], [1, 1], [1, 1], [1, 1]),
        ]
    }

    fn close(got: &[f32], want: &[f64], what: &str, g: &Geometry) {
        assert_eq!(got.len(), want.len(), "{what} length for {g:?}");
        for (k, (a, b)) in got.iter().zip(want).enumerate() {
            assert!(
                (*a as f64 - b).abs() <= 1e-5 * (1.0 + b.abs()),
                "{what}[{k}] = {a}, want {b} for {g:?}"
            );
        }
    }

    #[test]
    fn forward_matches_the_direct_convolution() {
        assert!(geometries().iter().any(by_table));
        assert!(geometries().iter().any(|g| !by_table(g)));
        for g in geometries() {
            let [oh, ow] = g.output();
            let x = values(g.batch * g.c_in * g.input[0] * g.input[1], 1);
            let w = values(g.c_out * g.k(), 2);
            let bias = values(g.c_out, 3);
            let mut want = naive(&g, &x, &w);
            for (k, v) in want.iter_mut().enumerate() {
                *v += bias[k / (oh * ow) % g.c_out] as f64;
            }
            close(
                &forward(&g, &x, &w, Some(&bias), false, None),
                &want,
                "out",
                &g,
            );
            let relu: Vec<f64> = want.iter().map(|v| v.max(0.0)).collect();
            close(
                &forward(&g, &x, &w, Some(&bias), true, None),
                &relu,
                "relu(out)",
                &g,
            );
        }
    }

    /// Pooling inside the convolution gives, bit for bit, what pooling its output gives: with
    /// and without the ReLU, a 2×2 and a 3×2 window, groups of one and of many images, and a
    /// NaN input (which must win its windows).
    #[test]
    fn pooled_forward_is_the_pooled_output() {
        let windows = |[h, w]: [usize; 2]| {
            [
                Window {
                    input: [h, w],
                    kernel: [2, 2],
                    stride: [2, 2],
                },
                Window {
                    input: [h, w],
                    kernel: [3, 2],
                    stride: [1, 2],
                },
            ]
        };
        let mut layers = geometries();
        // The small trunk's first layer: one image per group, 32×32 maps.
        layers.push(Geometry {
            batch: 2,
            c_in: 1,
            input: [32, 32],
            c_out: 16,
            kernel: [3, 3],
            stride: [1, 1],
            pad_begin: [1, 1],
            pad_end: [1, 1],
            dilation: [1, 1],
        });
        for g in layers {
            let mut x = values(g.batch * g.c_in * g.in_pixels(), 20);
            let w = values(g.c_out * g.k(), 21);
            let bias = values(g.c_out, 22);
            x[g.in_pixels() / 2] = f32::NAN;
            for window in windows(g.output()).iter().filter(|w| w.output() != [0, 0]) {
                if (0..2).any(|d| window.kernel[d] > g.output()[d]) {
                    continue;
                }
                for relu in [false, true] {
                    let full = forward(&g, &x, &w, Some(&bias), relu, None);
                    let want = pool::forward_kernel(window, &full);
                    let got = forward(&g, &x, &w, Some(&bias), relu, Some(window));
                    assert_eq!(got.len(), want.len(), "{g:?} {window:?}");
                    assert!(
                        want.iter().any(|v| v.is_nan()),
                        "{g:?}: the NaN reaches the output"
                    );
                    for (k, (a, b)) in got.iter().zip(&want).enumerate() {
                        assert_eq!(
                            a.to_bits(),
                            b.to_bits(),
                            "[{k}] for {g:?} {window:?} relu {relu}"
                        );
                    }
                }
            }
        }
    }

    /// The direct kernels (AVX-512 and AVX2, those the CPU has) against the GEMM path, bit for
    /// bit: the small trunk's first three layers and two with blocks of 4 and 2 channels left
    /// over, with and without a bias, a NaN input, and large and tiny values whose sums depend
    /// on the order of the additions. Deeper layers than gemm sums in one chain stay on it.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn direct_layers_are_the_gemm_path() {
        use std::arch::is_x86_feature_detected as detected;
        let kernels: Vec<(&str, Direct, usize)> = [
            (
                "avx512",
                Direct::AVX512,
                Avx512Rows::LANES,
                detected!("avx512f"),
            ),
            (
                "avx2",
                Direct::AVX2,
                Avx2Rows::LANES,
                detected!("avx2") && detected!("fma"),
            ),
        ]
        .into_iter()
        .filter(|k| k.3)
        .map(|(name, direct, lanes, _)| (name, direct, lanes))
        .collect();
        eprintln!(
            "direct kernels on this CPU: {:?}",
            kernels.iter().map(|k| k.0).collect::<Vec<_>>()
        );
        for (c_in, input, c_out) in [
            (1, [32, 32], 16),
            (16, [16, 16], 32),
            (32, [8, 8], 64),
            (3, [6, 32], 14),
            (5, [4, 8], 10),
        ] {
            let g = Geometry {
                batch: 3,
                c_in,
                input,
                c_out,
                kernel: [3, 3],
                stride: [1, 1],
                pad_begin: [1, 1],
                pad_end: [1, 1],
                dilation: [1, 1],
            };
            let window = Window {
                input,
                kernel: [2, 2],
                stride: [2, 2],
            };
            for pool in [Some(&window), None] {
                assert_eq!(Direct::for_layer(&g, pool).is_some(), !kernels.is_empty());
            }
            let deep = Geometry {
                c_in: GEMM_ONE_CHAIN_DEPTH / 9 + 1,
                ..g
            };
            assert!(Direct::for_layer(&deep, None).is_none());
            let image = g.c_in * g.in_pixels();
            let mut x = values(g.batch * image, 40);
            for (k, v) in x.iter_mut().enumerate() {
                *v *= [1.0, 1e7, 1e-7, 3.0][k % 4];
            }
            x[image + 37] = f32::NAN;
            let w = values(g.c_out * g.k(), 41);
            let bias = values(g.c_out, 42);
            for (bias, pool) in [Some(&bias[..]), None]
                .into_iter()
                .flat_map(|bias| [(bias, true), (bias, false)])
            {
                // The GEMM path: without the ReLU `forward` does not take the direct kernel,
                // and its ReLU is then the one `forward` applies after adding the bias.
                let mut want = forward(&g, &x, &w, bias, false, None);
                for v in &mut want {
                    if !(v.is_nan() || *v > 0.0) {
                        *v = 0.0;
                    }
                }
                if pool {
                    want = pool::forward_kernel(&window, &want);
                }
                assert!(want.iter().any(|v| v.is_nan()));
                for (name, direct, _) in kernels.iter().filter(|k| input[1] % k.2 == 0) {
                    let taps = direct.arrange(&g, &w);
                    let mut got = vec![std::mem::MaybeUninit::new(f32::NAN); want.len()];
                    for (b, out_b) in got.chunks_mut(want.len() / g.batch).enumerate() {
                        let x_b = &x[b * image..(b + 1) * image];
                        // SAFETY: only the kernels of extensions the CPU has are in the list.
                        unsafe { (direct.run)(&g, x_b, &taps, bias, pool, out_b) };
                    }
                    for (k, (a, b)) in got.iter().zip(&want).enumerate() {
                        let has_bias = bias.is_some();
                        assert_eq!(
                            // SAFETY: every element was initialised above.
                            unsafe { a.assume_init() }.to_bits(),
                            b.to_bits(),
                            "{name} [{k}] {g:?} bias {has_bias} pool {pool}"
                        );
                    }
                }
            }
        }
    }

    /// Both gradients against the definition: the loss Σ out·grad is linear in x and in the
    /// weight, so ∂L/∂x_i is the loss of the unit input e_i (and likewise for the weight).
    #[test]
    fn gradients_match_the_definition() {
        for g in geometries() {
            let n_x = g.batch * g.c_in * g.input[0] * g.input[1];
            let x = values(n_x, 4);
            let w = values(g.c_out * g.k(), 5);
            let grad = values(naive(&g, &x, &w).len(), 6);
            let loss = |x: &[f32], w: &[f32]| -> f64 {
                naive(&g, x, w)
                    .iter()
                    .zip(&grad)
                    .map(|(o, d)| o * *d as f64)
                    .sum()
            };
            let want_dw: Vec<f64> = (0..w.len())
                .map(|i| {
                    let mut e = vec![0.0; w.len()];
                    e[i] = 1.0;
                    loss(&x, &e)
                })
                .collect();
            let want_dx: Vec<f64> = (0..n_x)
                .map(|i| {
                    let mut e = vec![0.0; n_x];
                    e[i] = 1.0;
                    loss(&e, &w)
                })
                .collect();
            close(&weight_grad(&g, &x, &grad), &want_dw, "dw", &g);
            close(&input_grad(&g, &w, &grad), &want_dx, "dx", &g);
        }
    }

    /// The three kernels at the `small` preset's second layer and batch, against direct f64
    /// sums: shapes where GEMM runs its full-width microkernels, which it picks at run time
    /// (AVX-512 where the CPU has it, else AVX2 + FMA), so this checks the path of whatever CPU
    /// runs the test.
    #[test]
    fn kernels_at_a_training_layers_shapes() {
        let g = Geometry {
            batch: 3,
            c_in: 16,
            input: [16, 16],
            c_out: 32,
            kernel: [3, 3],
            stride: [1, 1],
            pad_begin: [1, 1],
            pad_end: [1, 1],
            dilation: [1, 1],
        };
        #[cfg(target_arch = "x86_64")]
        eprintln!(
            "conv kernels on this CPU: avx512f {}, avx2 {}, fma {}",
            std::arch::is_x86_feature_detected!("avx512f"),
            std::arch::is_x86_feature_detected!("avx2"),
            std::arch::is_x86_feature_detected!("fma")
        );
        let (p, k) = (g.out_pixels(), g.k());
        let x = values(g.batch * g.c_in * g.in_pixels(), 10);
        let w = values(g.c_out * k, 11);
        let grad = values(g.batch * g.c_out * p, 12);
        close(
            &forward(&g, &x, &w, None, false, None),
            &naive(&g, &x, &w),
            "out",
            &g,
        );
        // The same sums as the forward pass, read the other way round: every (output pixel,
        // tap) pair that lands inside the input.
        let (mut dw, mut dx) = (vec![0.0f64; w.len()], vec![0.0f64; x.len()]);
        for b in 0..g.batch {
            for co in 0..g.c_out {
                for oy in 0..16usize {
                    for ox in 0..16usize {
                        let d = grad[(b * g.c_out + co) * p + oy * 16 + ox] as f64;
                        for c in 0..g.c_in {
                            for ki in 0..3 {
                                for kj in 0..3 {
                                    let (iy, ix) = ((oy + ki) as isize - 1, (ox + kj) as isize - 1);
                                    if !(0..16).contains(&iy) || !(0..16).contains(&ix) {
                                        continue;
                                    }
                                    let at =
                                        ((b * g.c_in + c) * 16 + iy as usize) * 16 + ix as usize;
                                    let tap = ((co * g.c_in + c) * 3 + ki) * 3 + kj;
                                    dw[tap] += d * x[at] as f64;
                                    dx[at] += d * w[tap] as f64;
                                }
                            }
                        }
                    }
                }
            }
        }
        close(&weight_grad(&g, &x, &grad), &dw, "dw", &g);
        close(&input_grad(&g, &w, &grad), &dx, "dx", &g);
    }

    /// The table path's vector kernels (AVX-512 and AVX2, those the CPU has) against its plain
    /// loop, bit for bit, on the small trunk's 8×8 and 4×4 layers, a padded 1×1 case and planes
    /// of 16 and 8 values.
    #[test]
    fn table_im2col_vector_and_plain_agree() {
        let g = |c_in, input: [usize; 2], kernel, pad| Geometry {
            batch: 3,
            c_in,
            input,
            c_out: 2,
            kernel,
            stride: [1, 1],
            pad_begin: pad,
            pad_end: pad,
            dilation: [1, 1],
        };
        let mut avx2_checked = 0;
        for g in [
            g(3, [8, 8], [3, 3], [1, 1]),
            g(2, [4, 4], [3, 3], [1, 1]),
            g(2, [4, 4], [1, 1], [0, 0]),
            g(2, [2, 8], [3, 3], [1, 1]),
            g(2, [2, 4], [3, 3], [1, 1]),
        ] {
            assert!(by_table(&g));
            let x = values(g.batch * g.c_in * g.in_pixels(), 21);
            let len = g.k() * g.batch * g.out_pixels();
            let (mut fast, mut plain) = (vec![f32::NAN; len], vec![f32::NAN; len]);
            let taps = Taps::new(&g);
            im2col_table(&g, &x, g.batch, &mut fast, &taps);
            im2col_table_plain(&g, &x, g.batch, &mut plain, &taps);
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fast), bits(&plain), "{g:?}");
            #[cfg(target_arch = "x86_64")]
            if g.in_pixels() <= 16
                && g.out_pixels().is_multiple_of(8)
                && std::arch::is_x86_feature_detected!("avx2")
            {
                let mut avx2 = vec![f32::NAN; len];
                // SAFETY: the CPU has AVX2 (checked just above).
                unsafe { im2col_table_avx2(&g, &x, g.batch, &mut avx2, &taps) };
                assert_eq!(bits(&avx2), bits(&plain), "avx2 {g:?}");
                avx2_checked += 1;
            }
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            assert_eq!(
                avx2_checked, 4,
                "every plane of at most 16 values took the AVX2 kernel"
            );
        }
    }

    /// The masked-row kernels of width-preserving stride-1 layers (AVX-512 and AVX2, those the
    /// CPU has) against the plain shifted blocks, bit for bit: 32-, 16- and 8-wide maps (full
    /// vectors), 20- and 9-wide ones (a partial last vector), dilation, asymmetric padding and
    /// rows that read only padding.
    #[test]
    fn row_im2col_vector_and_plain_agree() {
        let g = |c_in, input: [usize; 2], kernel, pad_begin, pad_end, dilation| Geometry {
            batch: 2,
            c_in,
            input,
            c_out: 2,
            kernel,
            stride: [1, 1],
            pad_begin,
            pad_end,
            dilation,
        };
        let layers = [
            g(1, [32, 32], [3, 3], [1, 1], [1, 1], [1, 1]),
            g(3, [16, 16], [3, 3], [1, 1], [1, 1], [1, 1]),
            g(2, [8, 8], [3, 3], [1, 1], [1, 1], [1, 1]),
            g(2, [7, 20], [3, 5], [1, 2], [1, 2], [1, 1]),
            g(2, [9, 9], [3, 3], [2, 2], [2, 2], [2, 2]),
            g(1, [3, 2], [1, 5], [0, 2], [0, 2], [1, 1]),
            g(2, [5, 11], [5, 3], [3, 1], [0, 1], [1, 1]),
        ];
        #[cfg(target_arch = "x86_64")]
        type Kernel = unsafe fn(&Geometry, &[f32], usize, &mut [f32]);
        #[cfg(target_arch = "x86_64")]
        let kernels: Vec<(&str, Kernel)> = [
            (
                "avx512",
                im2col_rows_avx512 as Kernel,
                std::arch::is_x86_feature_detected!("avx512f"),
            ),
            (
                "avx2",
                im2col_rows_avx2 as Kernel,
                std::arch::is_x86_feature_detected!("avx2"),
            ),
        ]
        .into_iter()
        .filter(|k| k.2)
        .map(|(name, kernel, _)| (name, kernel))
        .collect();
        #[cfg(not(target_arch = "x86_64"))]
        let kernels: Vec<(&str, fn(&Geometry, &[f32], usize, &mut [f32]))> = Vec::new();
        eprintln!(
            "row im2col kernels on this CPU: {:?}",
            kernels.iter().map(|k| k.0).collect::<Vec<_>>()
        );
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        for g in layers {
            assert_eq!(g.output()[1], g.input[1], "{g:?} keeps its width");
            let x = values(g.batch * g.c_in * g.in_pixels(), 31);
            let len = g.k() * g.batch * g.out_pixels();
            let mut plain = vec![f32::NAN; len];
            im2col_plain(&g, &x, g.batch, &mut plain);
            for (name, kernel) in &kernels {
                let mut fast = vec![f32::NAN; len];
                // SAFETY: only the kernels of extensions the CPU has are in the list.
                unsafe { kernel(&g, &x, g.batch, &mut fast) };
                assert_eq!(bits(&fast), bits(&plain), "{name} for {g:?}");
            }
        }
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let g = geometries()[4];
        let x = values(g.batch * g.c_in * 36, 7);
        let w = values(g.c_out * g.k(), 8);
        let grad = values(g.batch * g.c_out * 36, 9);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                (
                    forward(&g, &x, &w, None, false, None),
                    weight_grad(&g, &x, &grad),
                    input_grad(&g, &w, &grad),
                )
            })
        };
        assert_eq!(run(1), run(3));
    }
}
