//! The plain fallbacks of [`super::im2col`]: what every CPU runs, and what the vector paths
//! must match bit for bit.

use super::col2im::copy_shifted;
use super::im2col::{for_each_tap, Taps};
use super::Geometry;

/// [`im2col_table`] one look-up at a time.
pub(crate) fn im2col_table_plain(
    g: &Geometry,
    x: &[f32],
    images: usize,
    col: &mut [f32],
    taps: &Taps,
) {
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

/// [`im2col`] without the table or vector moves: shifted blocks where the layer allows them,
/// else per-row spans over a zeroed matrix.
pub(crate) fn im2col_plain(g: &Geometry, x: &[f32], images: usize, col: &mut [f32]) {
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
