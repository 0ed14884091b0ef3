//! The plain loops of the 2×2 stride-2 pooling, forward and backward: what every CPU runs, and
//! what the AVX2 paths must match bit for bit.

use super::{masked, max2, Window};

/// The common 2×2 window with stride 2: two input rows make one output row.
#[inline(always)]
pub(crate) fn pairs_body(w: &Window, plane: &[f32], out: &mut [f32]) {
    pairs_columns(w, plane, out, 0)
}

/// [`pairs_body`] for the windows from column `first` on.
#[inline(always)]
pub(crate) fn pairs_columns(w: &Window, plane: &[f32], out: &mut [f32], first: usize) {
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

/// [`backward`] for the 2×2 window with stride 2. Windows do not overlap, so every position of
/// a window is written: the gradient at its first maximum, zero elsewhere. (A window holding a
/// NaN, whose loss is then NaN and fails the job, sends its gradient to one of its positions.)
#[inline(always)]
pub(crate) fn pairs_backward_body(w: &Window, plane: &[f32], grad: &[f32], dx: &mut [f32]) {
    pairs_backward_columns(w, plane, grad, dx, 0)
}

/// [`pairs_backward_body`] for the windows from column `first` on.
#[inline(always)]
pub(crate) fn pairs_backward_columns(
    w: &Window,
    plane: &[f32],
    grad: &[f32],
    dx: &mut [f32],
    first: usize,
) {
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
            // data): a branch per window would be mispredicted about every other time.
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
