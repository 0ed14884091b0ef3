//! The direct kernel: padded 3×3 layers whose rows are a whole number of vectors wide,
//! convolved, biased, through the ReLU and pooled in registers, without a column matrix, in
//! the GEMM's arithmetic order (so bit for bit the GEMM path).

#[cfg(simd_x86)]
use super::avx2::{direct_conv_avx2, Avx2Rows};
#[cfg(simd_x86)]
use super::avx512::{direct_conv_avx512, Avx512Rows};
#[cfg(simd_x86)]
use super::im2col::RowMoves;
use super::Geometry;
#[cfg(simd_x86)]
use crate::isa;
use crate::pool::Window;

/// The depth up to which `gemm` sums each output as one chain of FMAs: above it, it cuts the
/// depth into blocks and adds their sums (gemm-common's `kernel_params` takes a block of at
/// least 512). The direct kernel always sums one chain, so it takes only layers within it and
/// stays bit for bit the GEMM path.
pub(crate) const GEMM_ONE_CHAIN_DEPTH: usize = 512;

/// One image's [`direct_conv`]: geometry, image, weights arranged by [`Direct::arrange`],
/// bias, whether to pool, output (every element written).
#[cfg(simd_x86)]
pub(crate) type DirectKernel =
    unsafe fn(&Geometry, &[f32], &[f32], Option<&[f32]>, bool, &mut [std::mem::MaybeUninit<f32>]);

/// A [`direct_conv`] instance for one layer on this CPU: the function and the number of output
/// channels its main blocks hold.
#[cfg(simd_x86)]
#[derive(Clone, Copy)]
pub(crate) struct Direct {
    pub(crate) run: DirectKernel,
    pub(crate) channels: usize,
}

#[cfg(simd_x86)]
impl Direct {
    /// AVX-512: 8 channels, 16 columns.
    pub(crate) const AVX512: Direct = Direct {
        run: direct_conv_avx512,
        channels: 8,
    };
    /// AVX2 and FMA: 6 channels, 8 columns.
    pub(crate) const AVX2: Direct = Direct {
        run: direct_conv_avx2,
        channels: 6,
    };

    /// The instance that runs this layer (through its ReLU) and `pool` on this CPU, if one
    /// does: 3×3 taps with stride 1 and padding 1, an even height, an even number of output
    /// channels, at most [`GEMM_ONE_CHAIN_DEPTH`] weights per output channel and no pooling or
    /// 2×2 windows with stride 2 (the small trunk's first three layers), with rows a whole
    /// number of the kernel's vectors wide (16 columns with AVX-512, 8 with AVX2: an AVX-512
    /// CPU runs 8-wide rows with AVX2).
    pub(crate) fn for_layer(g: &Geometry, pool: Option<&Window>) -> Option<Direct> {
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
        } else if isa::avx512() && w.is_multiple_of(Avx512Rows::LANES) {
            Some(Self::AVX512)
        } else if isa::avx2_fma() && w.is_multiple_of(Avx2Rows::LANES) {
            Some(Self::AVX2)
        } else {
            None
        }
    }

    /// The weights `[c_out, k]` as the kernel reads them: block by block of
    /// [`channel_blocks`], tap-major within a block (the block's weights of one tap side by
    /// side). Done once per layer, not per image: the 8×8 layer has 18k weights.
    pub(crate) fn arrange(&self, g: &Geometry, weight: &[f32]) -> Vec<f32> {
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
#[cfg(simd_x86)]
pub(crate) fn channel_blocks(
    c_out: usize,
    channels: usize,
) -> impl Iterator<Item = (usize, usize)> {
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
/// The CPU must have `M`'s vector extension; `x` is one image, `out` its output (the sizes and
/// the even height are asserted).
#[cfg(simd_x86)]
#[inline(always)]
pub(crate) unsafe fn direct_conv<M: DirectOps, const C: usize>(
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
    // Rows go in pairs: an odd last row would be left unwritten below the caller's `set_len`.
    assert!(h.is_multiple_of(2), "direct_conv: an even height");
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
        // SAFETY: the CPU has `M`'s extension (this function's contract); `channel_block`
        // checks its slices' sizes itself.
        unsafe {
            match (n, pool) {
                (4, true) => channel_block::<M, 4, true>(&image, taps, bias, out),
                (4, false) => channel_block::<M, 4, false>(&image, taps, bias, out),
                (2, true) => channel_block::<M, 2, true>(&image, taps, bias, out),
                (2, false) => channel_block::<M, 2, false>(&image, taps, bias, out),
                (_, true) => channel_block::<M, C, true>(&image, taps, bias, out),
                (_, false) => channel_block::<M, C, false>(&image, taps, bias, out),
            }
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
#[cfg(simd_x86)]
pub(crate) struct Image<'a> {
    pub(crate) padded: &'a [f32],
    pub(crate) size: [usize; 2],
}

/// `C` output channels of [`direct_conv`] from their arranged weights `taps` and their `bias`:
/// every pair of output rows and vector of columns, its FMA chains in registers, stored into
/// `out` (the channels' planes), pooled if `POOL`.
///
/// # Safety
/// The CPU must have `M`'s vector extension.
#[cfg(simd_x86)]
#[inline(always)]
pub(crate) unsafe fn channel_block<M: DirectOps, const C: usize, const POOL: bool>(
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
            // SAFETY: the CPU has `M`'s extension (this function's contract).
            let mut acc = [[unsafe { M::zeros() }; 2]; C];
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
                        // SAFETY: each load reads `lanes` floats of a slice of that length; the
                        // CPU has `M`'s extension.
                        let (top, bottom) =
                            unsafe { (M::load(top.as_ptr()), M::load(bottom.as_ptr())) };
                        let block = &per_channel[(ki * 3 + kj) * C..(ki * 3 + kj + 1) * C];
                        for (acc, &tap) in acc.iter_mut().zip(block) {
                            // SAFETY: register arithmetic; the CPU has `M`'s extension.
                            unsafe {
                                acc[0] = M::fmadd(tap, top, acc[0]);
                                acc[1] = M::fmadd(tap, bottom, acc[1]);
                            }
                        }
                    }
                }
            }
            for ((acc, &add), out) in acc.iter().zip(bias).zip(out.chunks_exact_mut(plane_out)) {
                // SAFETY: register arithmetic, and stores into slices of exactly the lanes they
                // write (`store_pairs` half a vector, `store` a whole one); the CPU has `M`'s
                // extension.
                unsafe {
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
}

/// The arithmetic of [`direct_conv`] in one vector width. Every method needs the CPU to have
/// the vector extension (and FMA), and loads and stores touch only the lanes they name.
#[cfg(simd_x86)]
pub(crate) trait DirectOps: RowMoves {
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
