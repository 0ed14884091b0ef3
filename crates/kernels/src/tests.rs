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
