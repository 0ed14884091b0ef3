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
    /// Output height and width.
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
