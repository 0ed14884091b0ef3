//! Pooling against its plain window loops, ties, NaN and odd sizes.

use super::*;

/// The vector kernels (AVX2, where the CPU has it) against the plain loops, bit for bit,
/// on rows with ties, NaNs, widths that leave a remainder of fewer than eight windows, and
/// 8-wide planes of even and odd output height.
#[test]
fn vector_and_plain_two_by_two_kernels_agree() {
    let mut state = 7u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as u32
    };
    for (h, width) in [
        (4, 16),
        (6, 34),
        (2, 6),
        (8, 48),
        (5, 33),
        (8, 8),
        (6, 8),
        (7, 8),
    ] {
        let w = Window {
            input: [h, width],
            kernel: [2, 2],
            stride: [2, 2],
        };
        let [oh, ow] = w.output();
        // Few distinct values (ties), negative zero, and a NaN now and then.
        let plane: Vec<f32> = (0..h * width)
            .map(|_| match next() % 23 {
                0 => f32::NAN,
                1 => -0.0,
                r => (r % 5) as f32 - 2.0,
            })
            .collect();
        let grad: Vec<f32> = (0..oh * ow).map(|_| next() as f32 / 1e9 - 2.0).collect();
        let (mut fast, mut plain) = (vec![0.0; oh * ow], vec![0.0; oh * ow]);
        pairs(&w, &plane, &mut fast);
        pairs_body(&w, &plane, &mut plain);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&fast), bits(&plain), "forward, {h}×{width}");
        let (mut fast, mut plain) = (vec![0.0; h * width], vec![0.0; h * width]);
        pairs_backward(&w, &plane, &grad, &mut fast);
        pairs_backward_body(&w, &plane, &grad, &mut plain);
        assert_eq!(bits(&fast), bits(&plain), "backward, {h}×{width}");
    }
}

#[test]
fn two_by_two_windows_take_the_maximum_and_route_the_gradient_to_it() {
    let w = Window {
        input: [2, 4],
        kernel: [2, 2],
        stride: [2, 2],
    };
    // Two planes; the second has a tie (first position wins) and a NaN (the forward pass
    // keeps it, the backward pass routes to the window's largest other value, 9).
    let x = [
        1.0,
        5.0,
        -1.0,
        -2.0, //
        3.0,
        4.0,
        -3.0,
        -0.5, //
        0.0,
        0.0,
        2.0,
        f32::NAN, //
        0.0,
        -1.0,
        9.0,
        1.0,
    ];
    let out = forward(&w, &x);
    assert_eq!(out[..3], [5.0, -0.5, 0.0]);
    assert!(out[3].is_nan());
    let dx = backward(&w, &x, &[10.0, 20.0, 30.0, 40.0]);
    let want = [
        0.0, 10.0, 0.0, 0.0, //
        0.0, 0.0, 0.0, 20.0, //
        30.0, 0.0, 0.0, 0.0, //
        0.0, 0.0, 40.0, 0.0,
    ];
    assert_eq!(dx, want);
}

/// Positions in no window (the odd last row and column) get a zero gradient, whatever the
/// memory the gradient is built in held: a buffer of NaNs of the same size is freed just
/// before, which the allocator hands back.
#[test]
fn positions_outside_every_window_get_zero() {
    let w = Window {
        input: [5, 7],
        kernel: [2, 2],
        stride: [2, 2],
    };
    let planes = 3 * PLANES_PER_TASK;
    let x: Vec<f32> = (0..planes * 35).map(|k| (k % 11) as f32).collect();
    let grad = vec![1.0f32; planes * w.out_pixels()];
    for _ in 0..4 {
        drop(std::hint::black_box(vec![f32::NAN; x.len()]));
        let dx = backward(&w, &x, &grad);
        for plane in dx.chunks(35) {
            let outside = plane[28..].iter().chain(plane.iter().skip(6).step_by(7));
            assert!(outside.into_iter().all(|v| v.to_bits() == 0), "{plane:?}");
            assert_eq!(plane.iter().sum::<f32>(), w.out_pixels() as f32);
        }
    }
}

#[test]
fn overlapping_windows_add_their_gradients() {
    let w = Window {
        input: [1, 5],
        kernel: [1, 3],
        stride: [1, 2],
    };
    let x = [0.0, 1.0, 7.0, 2.0, 3.0];
    assert_eq!(forward(&w, &x), [7.0, 7.0]);
    assert_eq!(backward(&w, &x, &[1.0, 2.0]), [0.0, 0.0, 3.0, 0.0, 0.0]);
    let with_nan = [0.0, f32::NAN, 7.0, 2.0, 3.0];
    let out = forward(&w, &with_nan);
    assert!(out[0].is_nan() && out[1] == 7.0, "{out:?}");
    assert_eq!(
        backward(&w, &with_nan, &[1.0, 2.0]),
        [0.0, 0.0, 3.0, 0.0, 0.0]
    );
    // The generic path and the 2×2 path agree.
    let square = Window {
        input: [4, 4],
        kernel: [2, 2],
        stride: [2, 2],
    };
    let x: Vec<f32> = (0..16).map(|k| ((k * 7) % 11) as f32).collect();
    let generic: Vec<f32> = (0..4).map(|k| square.max(&x, k / 2, k % 2)).collect();
    assert_eq!(forward(&square, &x), generic);
}
