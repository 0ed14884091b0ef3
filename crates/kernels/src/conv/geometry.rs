//! [`Geometry`]: the shapes and options of one convolution.

use super::GROUP_COLUMNS;

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
    /// Why the kernels cannot run this geometry, if they cannot: a kernel, stride or dilation
    /// of zero, a kernel wider than the padded input, a zero-size input or filter bank, or
    /// sizes whose products overflow. Checked before any arithmetic on the shapes, so that
    /// they never wrap.
    pub fn problem(&self) -> Option<String> {
        for d in 0..2 {
            if self.kernel[d] == 0 || self.stride[d] == 0 || self.dilation[d] == 0 {
                return Some(format!(
                    "kernel, stride and dilation must be ≥ 1 ({self:?})"
                ));
            }
            let span = self.dilation[d]
                .checked_mul(self.kernel[d] - 1)
                .and_then(|s| s.checked_add(1));
            let padded = self.input[d]
                .checked_add(self.pad_begin[d])
                .and_then(|s| s.checked_add(self.pad_end[d]));
            match (span, padded) {
                (Some(span), Some(padded)) if span <= padded => {}
                _ => {
                    return Some(format!(
                        "the kernel does not fit the padded input ({self:?})"
                    ))
                }
            }
        }
        if self.c_in == 0 || self.c_out == 0 || self.input.contains(&0) {
            return Some(format!("zero-size input or filter bank ({self:?})"));
        }
        let sizes = [
            [self.batch, self.c_in, self.input[0], self.input[1]],
            [self.c_out, self.c_in, self.kernel[0], self.kernel[1]],
            [self.batch, self.c_out, self.input[0] + 1, self.input[1] + 1],
        ];
        let overflow = sizes.iter().any(|s| {
            s.iter()
                .try_fold(1usize, |a, &b| a.checked_mul(b))
                .is_none()
        });
        overflow.then(|| format!("the sizes overflow ({self:?})"))
    }

    /// Panics with [`Geometry::problem`], naming the kernel `what`.
    pub(crate) fn check(&self, what: &str) {
        if let Some(problem) = self.problem() {
            panic!("{what}: {problem}");
        }
    }

    /// Output height and width (see [`Geometry::problem`] for the geometries it is defined
    /// for).
    pub fn output(&self) -> [usize; 2] {
        std::array::from_fn(|d| {
            let span = self.dilation[d] * (self.kernel[d] - 1) + 1;
            (self.input[d] + self.pad_begin[d] + self.pad_end[d] - span) / self.stride[d] + 1
        })
    }

    /// Rows of the column matrix: one per (input channel, kernel row, kernel column).
    pub(crate) fn k(&self) -> usize {
        self.c_in * self.kernel[0] * self.kernel[1]
    }

    pub(crate) fn in_pixels(&self) -> usize {
        self.input[0] * self.input[1]
    }

    pub(crate) fn out_pixels(&self) -> usize {
        let [oh, ow] = self.output();
        oh * ow
    }

    pub(crate) fn images_per_group(&self) -> usize {
        (GROUP_COLUMNS / self.out_pixels().max(1)).clamp(1, self.batch.max(1))
    }
}
