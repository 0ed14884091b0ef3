//! Column matrices: the kernel taps of every output pixel side by side, built in each thread's
//! reused buffer, through the widest moves the CPU has (vector rows, a tap table, or the plain
//! loops of [`super::plain`]).

#[cfg(simd_x86)]
use super::avx2::{im2col_rows_avx2, im2col_table_avx2};
#[cfg(simd_x86)]
use super::avx512::{im2col_rows_avx512, im2col_table_avx512};
use super::col2im::{shifted_block, Block};
use super::plain::{im2col_plain, im2col_table_plain};
use super::Geometry;
#[cfg(simd_x86)]
use crate::isa;

/// For kernel offset `kk` along one dimension: the output positions whose input position
/// `o·stride + kk·dilation − pad` lies inside `[0, size)`, as a half-open range.
pub(crate) fn valid(
    out: usize,
    size: usize,
    stride: usize,
    offset: usize,
    pad: usize,
) -> (usize, usize) {
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
pub(crate) struct Tap {
    /// Column-matrix row: `(c·kh + ki)·kw + kj`.
    pub(crate) row: usize,
    /// Image within the group.
    pub(crate) image: usize,
    /// Input channel.
    pub(crate) channel: usize,
    /// Output rows and columns that read inside the input, half-open.
    pub(crate) ys: (usize, usize),
    pub(crate) xs: (usize, usize),
    /// Input row and column of output (0, 0), before padding: `k·dilation`.
    pub(crate) offset: [usize; 2],
    /// The tap as one shifted block, where the layer allows it.
    pub(crate) block: Option<Block>,
}

impl Tap {
    /// Per output row inside the input: the offset (within the image's `oh·ow` block of the
    /// row) of its first valid pixel and the input offset (within the plane) that pixel reads.
    /// Consecutive pixels of a span read `stride[1]` apart, `xs.1 − xs.0` of them.
    pub(crate) fn spans<'g>(&self, g: &'g Geometry) -> impl Iterator<Item = (usize, usize)> + 'g {
        let [_, ow] = g.output();
        let (x_lo, offset, w) = (self.xs.0, self.offset, g.input[1]);
        let ix0 = x_lo * g.stride[1] + offset[1] - g.pad_begin[1];
        (self.ys.0..self.ys.1).map(move |oy| {
            let iy = oy * g.stride[0] + offset[0] - g.pad_begin[0];
            (oy * ow + x_lo, iy * w + ix0)
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.xs.1 - self.xs.0
    }
}

/// Calls `visit` for every tap of every image of a group, channel by channel, tap by tap, image
/// by image: the order [`im2col`] fills and [`col2im`] adds back.
pub(crate) fn for_each_tap(g: &Geometry, images: usize, mut visit: impl FnMut(&Tap)) {
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
pub(crate) fn with_im2col<R>(
    g: &Geometry,
    x: &[f32],
    images: usize,
    use_col: impl FnOnce(&[f32]) -> R,
) -> R {
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
pub(crate) const TABLE_PIXELS: usize = 64;

/// For every kernel tap `(ki, kj)` and output pixel, the input pixel it reads (its offset in
/// the input plane), or the plane's length where it reads padding.
pub(crate) struct Taps {
    pub(crate) table: Vec<u32>,
    pub(crate) pixels: usize,
}

impl Taps {
    pub(crate) fn new(g: &Geometry) -> Self {
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
    pub(crate) fn of(&self, t: usize) -> &[u32] {
        &self.table[t * self.pixels..(t + 1) * self.pixels]
    }
}

/// Whether a layer's column matrices go through [`Taps`].
pub(crate) fn by_table(g: &Geometry) -> bool {
    g.out_pixels() <= TABLE_PIXELS && g.in_pixels() < u32::MAX as usize
}

/// [`im2col`] through the tap table; with AVX-512 (chosen at run time) sixteen look-ups at a
/// time where the plane fits in four vector registers.
pub(crate) fn im2col_table(g: &Geometry, x: &[f32], images: usize, col: &mut [f32], taps: &Taps) {
    #[cfg(simd_x86)]
    if g.in_pixels() <= 64 && g.out_pixels().is_multiple_of(16) && isa::avx512() {
        // SAFETY: the CPU has AVX-512F (checked just above).
        return unsafe { im2col_table_avx512(g, x, images, col, taps) };
    }
    #[cfg(simd_x86)]
    if g.in_pixels() <= 16 && g.out_pixels().is_multiple_of(8) && crate::isa::avx2() {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { im2col_table_avx2(g, x, images, col, taps) };
    }
    im2col_table_plain(g, x, images, col, taps)
}

/// Fills `col` (whatever it held) with the column matrix of `images` images.
pub(crate) fn im2col(g: &Geometry, x: &[f32], images: usize, col: &mut [f32]) {
    // Rows of whole vectors where the layer keeps its width; small maps through the table
    // where AVX-512 permutes it, or where their rows are not whole AVX2 vectors (a masked
    // store is slow on AMD's CPUs).
    #[cfg(simd_x86)]
    if g.stride == [1, 1] && g.output()[1] == g.input[1] {
        if isa::avx512() {
            if !by_table(g) {
                // SAFETY: the CPU has AVX-512F (checked just above).
                return unsafe { im2col_rows_avx512(g, x, images, col) };
            }
        } else if crate::isa::avx2() && (!by_table(g) || g.input[1].is_multiple_of(8)) {
            // SAFETY: the CPU has AVX2 (checked just above).
            return unsafe { im2col_rows_avx2(g, x, images, col) };
        }
    }
    if by_table(g) {
        return im2col_table(g, x, images, col, &Taps::new(g));
    }
    im2col_plain(g, x, images, col)
}

/// One vector width's masked moves, for [`im2col_rows`].
#[cfg(simd_x86)]
pub(crate) trait RowMoves {
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

/// [`im2col`] for a stride-1 layer whose output rows are as wide as its input rows: each
/// output row of a tap is its input row shifted, so every vector of the column matrix is one
/// masked load (padding lanes read nothing and come out zero) and one store, with the masks
/// worked out once per kernel column. Each element is written once, with no per-row copy calls.
///
/// # Safety
/// The CPU must have `M`'s vector extension.
#[cfg(simd_x86)]
#[inline(always)]
pub(crate) unsafe fn im2col_rows<M: RowMoves>(
    g: &Geometry,
    x: &[f32],
    images: usize,
    col: &mut [f32],
) {
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
                                // SAFETY: the store lanes stay inside the output row (and
                                // v·LANES < w keeps the pointer in it); the CPU has the
                                // extension (this function's contract).
                                unsafe { M::zero(out.add(v * M::LANES), store) };
                            }
                            continue;
                        }
                        let src = plane.as_ptr().wrapping_offset(iy * w as isize + shift);
                        for (v, &(load, store)) in masks.iter().enumerate() {
                            let j = v * M::LANES;
                            // SAFETY: the load lanes read input row iy, columns inside 0..w;
                            // the store lanes stay inside the output row (and j < w keeps the
                            // pointer in it); the CPU has the extension.
                            unsafe { M::copy(out.add(j), src.wrapping_add(j), load, store) };
                        }
                    }
                }
            }
        }
    }
}
