//! Every vector kernel this build on this CPU may run is exercised, and says so: a kernel test
//! that compares a vector path with the plain one passes vacuously where the path never ran.

use crate::conv::{self, Geometry};
use crate::isa;
use crate::pool::{self, Window};

fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|k| (((k as u32).wrapping_mul(2_654_435_761) ^ seed) % 2001) as f32 / 1000.0 - 1.0)
        .collect()
}

fn same_padded(batch: usize, c_in: usize, side: usize, c_out: usize) -> Geometry {
    Geometry {
        batch,
        c_in,
        input: [side, side],
        c_out,
        kernel: [3, 3],
        stride: [1, 1],
        pad_begin: [1, 1],
        pad_end: [1, 1],
        dilation: [1, 1],
    }
}

/// The layers of the small trunk (32, 16, 8 and 4 px) forward, with and without ReLU and
/// pooling, and backward, and the 2×2 pooling of 16- and 8-wide planes: together they reach
/// every vector kernel the dispatch picks on this CPU. The AVX2 paths that an AVX-512 CPU's
/// dispatch passes over are called directly by the tests beside them (conv::tests); here they
/// are called once too, so that every kernel the CPU can run counts.
#[test]
fn every_vector_kernel_this_cpu_has_ran() {
    for (side, c_in, c_out) in [(32, 1, 16), (16, 16, 32), (8, 32, 64), (4, 64, 64)] {
        let g = same_padded(3, c_in, side, c_out);
        let x = values(g.batch * c_in * side * side, 1);
        let w = values(c_out * c_in * 9, 2);
        let b = values(c_out, 3);
        let window = Window::fitting([side, side], [2, 2], [2, 2]).unwrap();
        for (relu, pooled) in [(true, Some(&window)), (true, None), (false, None)] {
            conv::forward(&g, &x, &w, Some(&b), relu, pooled);
        }
        let grad = values(g.batch * c_out * side * side, 4);
        conv::weight_grad(&g, &x, &grad);
        conv::input_grad(&g, &w, &grad);
        let y = values(g.batch * c_out * side * side, 5);
        let pooled = pool::forward(&window, &y);
        pool::backward(&window, &y, &values(pooled.len(), 6));
    }
    #[cfg(simd_x86)]
    crate::conv::tests::call_every_avx2_im2col();
    let kernels = isa::vector_kernels();
    let ran: Vec<&str> = kernels
        .iter()
        .filter(|(k, _)| isa::ran::count(k) > 0)
        .map(|(k, _)| *k)
        .collect();
    let not_here: Vec<&str> = kernels
        .iter()
        .filter(|(_, here)| !here)
        .map(|(k, _)| *k)
        .collect();
    eprintln!("vector kernels run: {ran:?}; not on this CPU or build: {not_here:?}");
    for (kernel, here) in kernels {
        assert_eq!(
            isa::ran::count(kernel) > 0,
            here,
            "{kernel}: this CPU {} it, and it {} run",
            if here { "has" } else { "lacks" },
            if here { "did not" } else { "did" }
        );
    }
}

mod contracts {
    //! Every entry point checks its operands before any rayon call or unchecked write: a bad
    //! shape is a panic that names the kernel and what is wrong, never a truncated `zip`, an
    //! unwritten element or a wrapped size.

    use super::*;

    fn g() -> Geometry {
        same_padded(2, 2, 4, 3)
    }

    fn operands(g: &Geometry) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        (
            values(g.batch * g.c_in * g.input[0] * g.input[1], 1),
            values(g.c_out * g.c_in * 9, 2),
            values(g.c_out, 3),
        )
    }

    #[test]
    #[should_panic(expected = "forward: bias size")]
    fn a_short_bias() {
        let (x, w, b) = operands(&g());
        conv::forward(&g(), &x, &w, Some(&b[..2]), true, None);
    }

    #[test]
    #[should_panic(expected = "forward: bias size")]
    fn a_long_bias() {
        let (x, w, mut b) = operands(&g());
        b.push(1.0);
        conv::forward(&g(), &x, &w, Some(&b), true, None);
    }

    #[test]
    #[should_panic(expected = "forward: weight size")]
    fn a_short_weight() {
        let (x, w, b) = operands(&g());
        conv::forward(&g(), &x, &w[1..], Some(&b), false, None);
    }

    #[test]
    #[should_panic(expected = "forward: input size")]
    fn a_short_input() {
        let (x, w, b) = operands(&g());
        conv::forward(&g(), &x[1..], &w, Some(&b), false, None);
    }

    #[test]
    #[should_panic(expected = "forward: zero-size input or filter bank")]
    fn zero_input_channels() {
        let g = Geometry { c_in: 0, ..g() };
        conv::forward(&g, &[], &[], None, false, None);
    }

    #[test]
    #[should_panic(expected = "forward: the kernel does not fit the padded input")]
    fn a_kernel_wider_than_the_padded_input() {
        let g = Geometry {
            kernel: [7, 7],
            ..g()
        };
        conv::forward(&g, &[0.0; 64], &[0.0; 3 * 2 * 49], None, false, None);
    }

    #[test]
    #[should_panic(expected = "kernel, stride and dilation must be ≥ 1")]
    fn a_zero_stride() {
        let g = Geometry {
            stride: [0, 1],
            ..g()
        };
        let (x, w, _) = operands(&g);
        conv::weight_grad(&g, &x, &w);
    }

    #[test]
    #[should_panic(expected = "the sizes overflow")]
    fn sizes_that_overflow() {
        let g = Geometry {
            batch: usize::MAX / 2,
            ..g()
        };
        conv::input_grad(&g, &[], &[]);
    }

    #[test]
    #[should_panic(expected = "weight_grad: gradient size")]
    fn a_short_gradient_for_the_weights() {
        let (x, _, _) = operands(&g());
        conv::weight_grad(&g(), &x, &values(2 * 3 * 16 - 1, 4));
    }

    #[test]
    #[should_panic(expected = "input_grad: weight size")]
    fn a_short_weight_for_the_input_gradient() {
        let (_, w, _) = operands(&g());
        conv::input_grad(&g(), &w[1..], &values(2 * 3 * 16, 4));
    }

    #[test]
    #[should_panic(expected = "bias_grad: gradient size")]
    fn a_short_gradient_for_the_bias() {
        conv::bias_grad(&values(2 * 3 * 16 - 1, 4), 2, 3, 16);
    }

    #[test]
    #[should_panic(expected = "pool backward: the input is not whole planes")]
    fn a_partial_last_plane() {
        let w = Window::fitting([4, 4], [2, 2], [2, 2]).unwrap();
        // 2.5 planes: floor division would have paired them with 2 gradient planes.
        pool::backward(&w, &values(40, 1), &values(8, 2));
    }

    #[test]
    #[should_panic(expected = "pool backward: gradient size")]
    fn a_short_pooling_gradient() {
        let w = Window::fitting([4, 4], [2, 2], [2, 2]).unwrap();
        pool::backward(&w, &values(32, 1), &values(7, 2));
    }

    #[test]
    #[should_panic(expected = "pool forward: the window does not fit its input")]
    fn a_window_wider_than_its_input() {
        let w = Window {
            input: [2, 2],
            kernel: [3, 3],
            stride: [1, 1],
        };
        pool::forward(&w, &values(8, 1));
    }

    #[test]
    fn an_empty_batch_gives_empty_results() {
        let g = Geometry { batch: 0, ..g() };
        let w = values(3 * 2 * 9, 2);
        assert!(conv::forward(&g, &[], &w, None, true, None).is_empty());
        assert_eq!(conv::weight_grad(&g, &[], &[]), vec![0.0; 3 * 2 * 9]);
        assert!(conv::input_grad(&g, &w, &[]).is_empty());
        let window = Window::fitting([4, 4], [2, 2], [2, 2]).unwrap();
        assert!(pool::forward(&window, &[]).is_empty());
        assert!(pool::backward(&window, &[], &[]).is_empty());
    }
}
