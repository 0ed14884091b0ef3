//! Column-matrix gradients added back onto the input planes (the transpose of im2col), and the
//! shifted blocks both directions use.

use super::im2col::{by_table, for_each_tap, Taps};
use super::Geometry;

/// Adds the column-matrix gradient `dcol` back onto the `images` input planes of `dx`: the
/// transpose of [`im2col`]. `dcol` is used as scratch.
pub(crate) fn col2im(g: &Geometry, dcol: &mut [f32], images: usize, dx: &mut [f32]) {
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
pub(crate) fn shifted_block(
    g: &Geometry,
    ki: usize,
    kj: usize,
    y_lo: usize,
    y_hi: usize,
) -> Option<Block> {
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
pub(crate) struct Block {
    pub(crate) w: usize,
    pub(crate) y_lo: usize,
    pub(crate) y_hi: usize,
    pub(crate) iy0: usize,
    pub(crate) shift: isize,
}

impl Block {
    /// Output offset of the first element, elements in the block, and the columns at the left
    /// (`shift < 0`) or right (`shift > 0`) edge of each row that read outside the input row.
    pub(crate) fn span(&self) -> (usize, usize, std::ops::Range<usize>) {
        let (w, n) = (self.w, (self.y_hi - self.y_lo) * self.w);
        let edge = self.shift.unsigned_abs().min(w);
        let outside = if self.shift < 0 { 0..edge } else { w - edge..w };
        (self.y_lo * w, n, outside)
    }

    /// The input range the block reads and the output range it lands on (within the block),
    /// as (input start, output start, length).
    pub(crate) fn aligned(&self) -> Option<(usize, usize, usize)> {
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
    pub(crate) fn clear_edges(&self, out: &mut [f32]) {
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
pub(crate) fn copy_shifted(dst: &mut [f32], plane: &[f32], block: Block) {
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
pub(crate) fn add_shifted(plane: &mut [f32], src: &mut [f32], block: Block) {
    block.clear_edges(src);
    let (first, _, _) = block.span();
    if let Some((input, output, len)) = block.aligned() {
        let from = &src[first + output..first + output + len];
        for (d, s) in plane[input..input + len].iter_mut().zip(from) {
            *d += s;
        }
    }
}
