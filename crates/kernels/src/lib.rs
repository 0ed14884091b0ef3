//! weightlab-kernels: the CPU compute kernels behind weightlab's trunks, on plain `f32` slices
//! in NCHW, with no dependency on the rest of weightlab.
//!
//! - [`conv`]: a 2-D convolution as im2col + one GEMM per group of images (forward, weight,
//!   input and bias gradients, the ReLU's mask), with a direct kernel for padded 3×3 layers
//!   that can pool in registers;
//! - [`pool`]: max pooling without padding, forward and backward.
//!
//! Each concern has its file, and each instruction set too: the AVX-512 and AVX2 paths are
//! chosen at run time by what the CPU has, and the plain paths run everywhere else; every
//! vector path gives the plain path's results bit for bit (tested).
//!
//! ```
//! use weightlab_kernels::conv::{forward, Geometry};
//! // One 4×4 image, one 3×3 filter of ones, padding 1: each output sums its neighbourhood.
//! let g = Geometry {
//!     batch: 1, c_in: 1, input: [4, 4], c_out: 1, kernel: [3, 3],
//!     stride: [1, 1], pad_begin: [1, 1], pad_end: [1, 1], dilation: [1, 1],
//! };
//! let out = forward(&g, &[1.0; 16], &[1.0; 9], None, false, None);
//! assert_eq!((out[0], out[5]), (4.0, 9.0));
//! ```

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod conv;
#[cfg(test)]
mod draw;
mod isa;
pub mod pool;
#[cfg(test)]
mod tests;

/// An empty vector with room for `len` values, for a kernel that writes all of them before
/// its `set_len(len)`. In this crate's tests the room holds NaN, so a value a kernel fails to
/// write reads as NaN (and fails the property tests) instead of as what the allocator left.
pub(crate) fn output_buffer(len: usize) -> Vec<f32> {
    #[allow(unused_mut)]
    let mut v = Vec::with_capacity(len);
    #[cfg(test)]
    v.spare_capacity_mut()[..len].fill(std::mem::MaybeUninit::new(f32::NAN));
    v
}
