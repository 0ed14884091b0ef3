//! The convolution kernels against plain references: every vector path against the plain loops,
//! the direct kernel against the GEMM path, the gradients against finite sums.

use super::*;
#[cfg(simd_x86)]
use crate::conv::avx2::{im2col_rows_avx2, im2col_table_avx2, Avx2Rows};
#[cfg(simd_x86)]
use crate::conv::avx512::{im2col_rows_avx512, Avx512Rows};
#[cfg(simd_x86)]
use crate::conv::direct::GEMM_ONE_CHAIN_DEPTH;
#[cfg(simd_x86)]
use crate::conv::im2col::RowMoves;
use crate::conv::im2col::{by_table, im2col_table, Taps};
use crate::conv::plain::{im2col_plain, im2col_table_plain};

/// Direct six-loop convolution in f64: the reference every kernel is checked against.
fn naive(g: &Geometry, x: &[f32], w: &[f32]) -> Vec<f64> {
    let [oh, ow] = g.output();
    let [kh, kw] = g.kernel;
    let [h, wd] = g.input;
    let mut out = vec![0.0; g.batch * g.c_out * oh * ow];
    for b in 0..g.batch {
        for co in 0..g.c_out {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut acc = 0.0f64;
                    for c in 0..g.c_in {
                        for ki in 0..kh {
                            for kj in 0..kw {
                                let iy = (oy * g.stride[0] + ki * g.dilation[0]) as isize
                                    - g.pad_begin[0] as isize;
                                let ix = (ox * g.stride[1] + kj * g.dilation[1]) as isize
                                    - g.pad_begin[1] as isize;
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                                    continue;
                                }
                                let xv = x[((b * g.c_in + c) * h + iy as usize) * wd + ix as usize];
                                let wv = w[((co * g.c_in + c) * kh + ki) * kw + kj];
                                acc += xv as f64 * wv as f64;
                            }
                        }
                    }
                    out[((b * g.c_out + co) * oh + oy) * ow + ox] = acc;
                }
            }
        }
    }
    out
}

fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn geometries() -> Vec<Geometry> {
    let g = |batch, c_in, input, c_out, kernel, stride, pad_begin, pad_end, dilation| Geometry {
        batch,
        c_in,
        input,
        c_out,
        kernel,
        stride,
        pad_begin,
        pad_end,
        dilation,
    };
    vec![
        g(3, 2, [8, 8], 4, [3, 3], [1, 1], [1, 1], [1, 1], [1, 1]),
        g(2, 3, [9, 7], 5, [3, 2], [2, 1], [1, 0], [2, 1], [1, 1]),
        g(2, 2, [10, 10], 3, [3, 3], [1, 2], [2, 2], [2, 2], [2, 2]),
        g(4, 6, [5, 5], 2, [1, 1], [1, 1], [0, 0], [0, 0], [1, 1]),
        // A wide group (more images than fit one group of columns) and a single image.
        g(40, 1, [6, 6], 2, [3, 3], [1, 1], [1, 1], [1, 1], [1, 1]),
        g(1, 2, [4, 4], 3, [4, 4], [1, 1], [0, 0], [0, 0], [1, 1]),
        // Width-preserving stride-1 layers take the shifted-block path: dilated, and with
        // shifts as wide as the row.
        g(2, 2, [7, 9], 3, [3, 3], [1, 1], [2, 2], [2, 2], [2, 2]),
        g(1, 1, [3, 2], 2, [1, 5], [1, 1], [0, 2], [0, 2], [1, 1]),
        // Maps of more than TABLE_PIXELS outputs: the shifted blocks (plain and dilated)
        // and the general strided path instead of the tap table.
        g(2, 3, [12, 12], 4, [3, 3], [1, 1], [1, 1], [1, 1], [1, 1]),
        g(1, 2, [9, 11], 3, [3, 3], [1, 1], [2, 2], [2, 2], [2, 2]),
        g(2, 2, [20, 20], 3, [3, 3], [2, 2], [1, 1], [1, 1], [1, 1]),
    ]
}

fn close(got: &[f32], want: &[f64], what: &str, g: &Geometry) {
    assert_eq!(got.len(), want.len(), "{what} length for {g:?}");
    for (k, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            (*a as f64 - b).abs() <= 1e-5 * (1.0 + b.abs()),
            "{what}[{k}] = {a}, want {b} for {g:?}"
        );
    }
}

#[test]
fn forward_matches_the_direct_convolution() {
    assert!(geometries().iter().any(by_table));
    assert!(geometries().iter().any(|g| !by_table(g)));
    for g in geometries() {
        let [oh, ow] = g.output();
        let x = values(g.batch * g.c_in * g.input[0] * g.input[1], 1);
        let w = values(g.c_out * g.k(), 2);
        let bias = values(g.c_out, 3);
        let mut want = naive(&g, &x, &w);
        for (k, v) in want.iter_mut().enumerate() {
            *v += bias[k / (oh * ow) % g.c_out] as f64;
        }
        close(
            &forward(&g, &x, &w, Some(&bias), false, None),
            &want,
            "out",
            &g,
        );
        let relu: Vec<f64> = want.iter().map(|v| v.max(0.0)).collect();
        close(
            &forward(&g, &x, &w, Some(&bias), true, None),
            &relu,
            "relu(out)",
            &g,
        );
    }
}

/// Pooling inside the convolution gives, bit for bit, what pooling its output gives: with
/// and without the ReLU, a 2×2 and a 3×2 window, groups of one and of many images, and a
/// NaN input (which must win its windows).
#[test]
fn pooled_forward_is_the_pooled_output() {
    let windows = |[h, w]: [usize; 2]| {
        [
            Window {
                input: [h, w],
                kernel: [2, 2],
                stride: [2, 2],
            },
            Window {
                input: [h, w],
                kernel: [3, 2],
                stride: [1, 2],
            },
        ]
    };
    let mut layers = geometries();
    // The small trunk's first layer: one image per group, 32×32 maps.
    layers.push(Geometry {
        batch: 2,
        c_in: 1,
        input: [32, 32],
        c_out: 16,
        kernel: [3, 3],
        stride: [1, 1],
        pad_begin: [1, 1],
        pad_end: [1, 1],
        dilation: [1, 1],
    });
    for g in layers {
        let mut x = values(g.batch * g.c_in * g.in_pixels(), 20);
        let w = values(g.c_out * g.k(), 21);
        let bias = values(g.c_out, 22);
        x[g.in_pixels() / 2] = f32::NAN;
        for window in windows(g.output()).iter().filter(|w| w.output() != [0, 0]) {
            if (0..2).any(|d| window.kernel[d] > g.output()[d]) {
                continue;
            }
            for relu in [false, true] {
                let full = forward(&g, &x, &w, Some(&bias), relu, None);
                let want = pool::forward(window, &full);
                let got = forward(&g, &x, &w, Some(&bias), relu, Some(window));
                assert_eq!(got.len(), want.len(), "{g:?} {window:?}");
                assert!(
                    want.iter().any(|v| v.is_nan()),
                    "{g:?}: the NaN reaches the output"
                );
                for (k, (a, b)) in got.iter().zip(&want).enumerate() {
                    assert_eq!(
                        a.to_bits(),
                        b.to_bits(),
                        "[{k}] for {g:?} {window:?} relu {relu}"
                    );
                }
            }
        }
    }
}

/// The direct kernels (AVX-512 and AVX2, those the CPU has) against the GEMM path, bit for
/// bit: the small trunk's first three layers and two with blocks of 4 and 2 channels left
/// over, with and without a bias, a NaN input, and large and tiny values whose sums depend
/// on the order of the additions. Deeper layers than gemm sums in one chain stay on it.
/// The direct kernels this CPU and build run: name, kernel, vector width.
#[cfg(simd_x86)]
pub(super) fn direct_kernels() -> Vec<(&'static str, Direct, usize)> {
    [
        (
            "avx512",
            Direct::AVX512,
            Avx512Rows::LANES,
            crate::isa::avx512(),
        ),
        (
            "avx2",
            Direct::AVX2,
            Avx2Rows::LANES,
            crate::isa::avx2_fma(),
        ),
    ]
    .into_iter()
    .filter(|k| k.3)
    .map(|(name, direct, lanes, _)| (name, direct, lanes))
    .collect()
}

/// `direct` over every image of `x`, into an output of `len` values that starts as NaN.
///
/// # Safety
/// The CPU must run `direct` (it comes from [`direct_kernels`]) and `g` must be in its domain
/// (padded 3×3, rows of whole vectors, an even height and channel count).
#[cfg(simd_x86)]
pub(super) unsafe fn run_direct(
    direct: &Direct,
    g: &Geometry,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    pool: bool,
    len: usize,
) -> Vec<f32> {
    let (taps, image) = (direct.arrange(g, w), g.c_in * g.in_pixels());
    let mut out = vec![std::mem::MaybeUninit::new(f32::NAN); len];
    for (b, out_b) in out.chunks_mut(len / g.batch).enumerate() {
        // SAFETY: the caller's contract.
        unsafe { (direct.run)(g, &x[b * image..(b + 1) * image], &taps, bias, pool, out_b) };
    }
    // SAFETY: every element was initialised (to NaN, then by the kernel).
    out.into_iter()
        .map(|v| unsafe { v.assume_init() })
        .collect()
}

/// What the direct kernel must give, from the GEMM path: without the ReLU `forward` does not
/// take the direct kernel, and its ReLU is then the one `forward` applies after the bias; then
/// the pooling kernel.
#[cfg(simd_x86)]
pub(super) fn gemm_path(
    g: &Geometry,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    pool: Option<&Window>,
) -> Vec<f32> {
    let mut want = forward(g, x, w, bias, false, None);
    for v in &mut want {
        if !(v.is_nan() || *v > 0.0) {
            *v = 0.0;
        }
    }
    match pool {
        Some(window) => pool::forward(window, &want),
        None => want,
    }
}

#[cfg(simd_x86)]
#[test]
fn direct_layers_are_the_gemm_path() {
    let kernels = direct_kernels();
    eprintln!(
        "direct kernels on this CPU: {:?}",
        kernels.iter().map(|k| k.0).collect::<Vec<_>>()
    );
    for (c_in, input, c_out) in [
        (1, [32, 32], 16),
        (16, [16, 16], 32),
        (32, [8, 8], 64),
        (3, [6, 32], 14),
        (5, [4, 8], 10),
    ] {
        let g = Geometry {
            batch: 3,
            c_in,
            input,
            c_out,
            kernel: [3, 3],
            stride: [1, 1],
            pad_begin: [1, 1],
            pad_end: [1, 1],
            dilation: [1, 1],
        };
        let window = Window {
            input,
            kernel: [2, 2],
            stride: [2, 2],
        };
        for pool in [Some(&window), None] {
            assert_eq!(Direct::for_layer(&g, pool).is_some(), !kernels.is_empty());
        }
        let deep = Geometry {
            c_in: GEMM_ONE_CHAIN_DEPTH / 9 + 1,
            ..g
        };
        assert!(Direct::for_layer(&deep, None).is_none());
        let image = g.c_in * g.in_pixels();
        let mut x = values(g.batch * image, 40);
        for (k, v) in x.iter_mut().enumerate() {
            *v *= [1.0, 1e7, 1e-7, 3.0][k % 4];
        }
        x[image + 37] = f32::NAN;
        let w = values(g.c_out * g.k(), 41);
        let bias = values(g.c_out, 42);
        for (bias, pool) in [Some(&bias[..]), None]
            .into_iter()
            .flat_map(|bias| [(bias, true), (bias, false)])
        {
            let want = gemm_path(&g, &x, &w, bias, pool.then_some(&window));
            assert!(want.iter().any(|v| v.is_nan()));
            for (name, direct, _) in kernels.iter().filter(|k| input[1] % k.2 == 0) {
                // SAFETY: the list holds only kernels this CPU runs; the shapes are their domain.
                let got = unsafe { run_direct(direct, &g, &x, &w, bias, pool, want.len()) };
                for (k, (a, b)) in got.iter().zip(&want).enumerate() {
                    let has_bias = bias.is_some();
                    assert_eq!(
                        a.to_bits(),
                        b.to_bits(),
                        "{name} [{k}] {g:?} bias {has_bias} pool {pool}"
                    );
                }
            }
        }
    }
}

/// Both gradients against the definition: the loss Σ out·grad is linear in x and in the
/// weight, so ∂L/∂x_i is the loss of the unit input e_i (and likewise for the weight).
#[test]
fn gradients_match_the_definition() {
    for g in geometries() {
        let n_x = g.batch * g.c_in * g.input[0] * g.input[1];
        let x = values(n_x, 4);
        let w = values(g.c_out * g.k(), 5);
        let grad = values(naive(&g, &x, &w).len(), 6);
        let loss = |x: &[f32], w: &[f32]| -> f64 {
            naive(&g, x, w)
                .iter()
                .zip(&grad)
                .map(|(o, d)| o * *d as f64)
                .sum()
        };
        let want_dw: Vec<f64> = (0..w.len())
            .map(|i| {
                let mut e = vec![0.0; w.len()];
                e[i] = 1.0;
                loss(&x, &e)
            })
            .collect();
        let want_dx: Vec<f64> = (0..n_x)
            .map(|i| {
                let mut e = vec![0.0; n_x];
                e[i] = 1.0;
                loss(&e, &w)
            })
            .collect();
        close(&weight_grad(&g, &x, &grad), &want_dw, "dw", &g);
        close(&input_grad(&g, &w, &grad), &want_dx, "dx", &g);
    }
}

/// The three kernels at the `small` preset's second layer and batch, against direct f64
/// sums: shapes where GEMM runs its full-width microkernels, which it picks at run time
/// (AVX-512 where the CPU has it, else AVX2 + FMA), so this checks the path of whatever CPU
/// runs the test.
#[test]
fn kernels_at_a_training_layers_shapes() {
    let g = Geometry {
        batch: 3,
        c_in: 16,
        input: [16, 16],
        c_out: 32,
        kernel: [3, 3],
        stride: [1, 1],
        pad_begin: [1, 1],
        pad_end: [1, 1],
        dilation: [1, 1],
    };
    #[cfg(simd_x86)]
    eprintln!(
        "conv kernels on this CPU: avx512f {}, avx2 {}, fma {}",
        std::arch::is_x86_feature_detected!("avx512f"),
        std::arch::is_x86_feature_detected!("avx2"),
        std::arch::is_x86_feature_detected!("fma")
    );
    let (p, k) = (g.out_pixels(), g.k());
    let x = values(g.batch * g.c_in * g.in_pixels(), 10);
    let w = values(g.c_out * k, 11);
    let grad = values(g.batch * g.c_out * p, 12);
    close(
        &forward(&g, &x, &w, None, false, None),
        &naive(&g, &x, &w),
        "out",
        &g,
    );
    // The same sums as the forward pass, read the other way round: every (output pixel,
    // tap) pair that lands inside the input.
    let (mut dw, mut dx) = (vec![0.0f64; w.len()], vec![0.0f64; x.len()]);
    for b in 0..g.batch {
        for co in 0..g.c_out {
            for oy in 0..16usize {
                for ox in 0..16usize {
                    let d = grad[(b * g.c_out + co) * p + oy * 16 + ox] as f64;
                    for c in 0..g.c_in {
                        for ki in 0..3 {
                            for kj in 0..3 {
                                let (iy, ix) = ((oy + ki) as isize - 1, (ox + kj) as isize - 1);
                                if !(0..16).contains(&iy) || !(0..16).contains(&ix) {
                                    continue;
                                }
                                let at = ((b * g.c_in + c) * 16 + iy as usize) * 16 + ix as usize;
                                let tap = ((co * g.c_in + c) * 3 + ki) * 3 + kj;
                                dw[tap] += d * x[at] as f64;
                                dx[at] += d * w[tap] as f64;
                            }
                        }
                    }
                }
            }
        }
    }
    close(&weight_grad(&g, &x, &grad), &dw, "dw", &g);
    close(&input_grad(&g, &w, &grad), &dx, "dx", &g);
}

/// The table path's vector kernels (AVX-512 and AVX2, those the CPU has) against its plain
/// loop, bit for bit, on the small trunk's 8×8 and 4×4 layers, a padded 1×1 case and planes
/// of 16 and 8 values.
#[test]
fn table_im2col_vector_and_plain_agree() {
    let g = |c_in, input: [usize; 2], kernel, pad| Geometry {
        batch: 3,
        c_in,
        input,
        c_out: 2,
        kernel,
        stride: [1, 1],
        pad_begin: pad,
        pad_end: pad,
        dilation: [1, 1],
    };
    #[cfg(simd_x86)]
    let mut avx2_checked = 0;
    for g in [
        g(3, [8, 8], [3, 3], [1, 1]),
        g(2, [4, 4], [3, 3], [1, 1]),
        g(2, [4, 4], [1, 1], [0, 0]),
        g(2, [2, 8], [3, 3], [1, 1]),
        g(2, [2, 4], [3, 3], [1, 1]),
    ] {
        assert!(by_table(&g));
        let x = values(g.batch * g.c_in * g.in_pixels(), 21);
        let len = g.k() * g.batch * g.out_pixels();
        let (mut fast, mut plain) = (vec![f32::NAN; len], vec![f32::NAN; len]);
        let taps = Taps::new(&g);
        im2col_table(&g, &x, g.batch, &mut fast, &taps);
        im2col_table_plain(&g, &x, g.batch, &mut plain, &taps);
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&fast), bits(&plain), "{g:?}");
        #[cfg(simd_x86)]
        if g.in_pixels() <= 16
            && g.out_pixels().is_multiple_of(8)
            && std::arch::is_x86_feature_detected!("avx2")
        {
            let mut avx2 = vec![f32::NAN; len];
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { im2col_table_avx2(&g, &x, g.batch, &mut avx2, &taps) };
            assert_eq!(bits(&avx2), bits(&plain), "avx2 {g:?}");
            avx2_checked += 1;
        }
    }
    #[cfg(simd_x86)]
    if std::arch::is_x86_feature_detected!("avx2") {
        assert_eq!(
            avx2_checked, 4,
            "every plane of at most 16 values took the AVX2 kernel"
        );
    }
}

/// The masked-row kernels of width-preserving stride-1 layers (AVX-512 and AVX2, those the
/// CPU has) against the plain shifted blocks, bit for bit: 32-, 16- and 8-wide maps (full
/// vectors), 20- and 9-wide ones (a partial last vector), dilation, asymmetric padding and
/// rows that read only padding.
#[test]
fn row_im2col_vector_and_plain_agree() {
    let g = |c_in, input: [usize; 2], kernel, pad_begin, pad_end, dilation| Geometry {
        batch: 2,
        c_in,
        input,
        c_out: 2,
        kernel,
        stride: [1, 1],
        pad_begin,
        pad_end,
        dilation,
    };
    let layers = [
        g(1, [32, 32], [3, 3], [1, 1], [1, 1], [1, 1]),
        g(3, [16, 16], [3, 3], [1, 1], [1, 1], [1, 1]),
        g(2, [8, 8], [3, 3], [1, 1], [1, 1], [1, 1]),
        g(2, [7, 20], [3, 5], [1, 2], [1, 2], [1, 1]),
        g(2, [9, 9], [3, 3], [2, 2], [2, 2], [2, 2]),
        g(1, [3, 2], [1, 5], [0, 2], [0, 2], [1, 1]),
        g(2, [5, 11], [5, 3], [3, 1], [0, 1], [1, 1]),
    ];
    type Kernel = unsafe fn(&Geometry, &[f32], usize, &mut [f32]);
    #[cfg(simd_x86)]
    let kernels: Vec<(&str, Kernel)> = [
        ("avx512", im2col_rows_avx512 as Kernel, crate::isa::avx512()),
        (
            "avx2",
            im2col_rows_avx2 as Kernel,
            std::arch::is_x86_feature_detected!("avx2"),
        ),
    ]
    .into_iter()
    .filter(|k| k.2)
    .map(|(name, kernel, _)| (name, kernel))
    .collect();
    #[cfg(not(simd_x86))]
    let kernels: Vec<(&str, Kernel)> = Vec::new();
    eprintln!(
        "row im2col kernels on this CPU: {:?}",
        kernels.iter().map(|k| k.0).collect::<Vec<_>>()
    );
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    for g in layers {
        assert_eq!(g.output()[1], g.input[1], "{g:?} keeps its width");
        let x = values(g.batch * g.c_in * g.in_pixels(), 31);
        let len = g.k() * g.batch * g.out_pixels();
        let mut plain = vec![f32::NAN; len];
        im2col_plain(&g, &x, g.batch, &mut plain);
        for (name, kernel) in &kernels {
            let mut fast = vec![f32::NAN; len];
            // SAFETY: only the kernels of extensions the CPU has are in the list.
            unsafe { kernel(&g, &x, g.batch, &mut fast) };
            assert_eq!(bits(&fast), bits(&plain), "{name} for {g:?}");
        }
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let g = geometries()[4];
    let x = values(g.batch * g.c_in * 36, 7);
    let w = values(g.c_out * g.k(), 8);
    let grad = values(g.batch * g.c_out * 36, 9);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            (
                forward(&g, &x, &w, None, false, None),
                weight_grad(&g, &x, &grad),
                input_grad(&g, &w, &grad),
            )
        })
    };
    assert_eq!(run(1), run(3));
}

/// The AVX2 column-matrix kernels once each, where the CPU has AVX2: on an AVX-512 CPU the
/// dispatch passes over them (crate::tests counts that every kernel the CPU can run ran).
#[cfg(simd_x86)]
pub(crate) fn call_every_avx2_im2col() {
    if !crate::isa::avx2() {
        return;
    }
    let g = Geometry {
        batch: 2,
        c_in: 2,
        input: [4, 4],
        c_out: 2,
        kernel: [3, 3],
        stride: [1, 1],
        pad_begin: [1, 1],
        pad_end: [1, 1],
        dilation: [1, 1],
    };
    let x = values(g.batch * g.c_in * g.in_pixels(), 5);
    let mut col = vec![0.0f32; g.k() * g.batch * g.out_pixels()];
    // SAFETY: the CPU has AVX2 (checked above); the shapes are the geometry's.
    unsafe {
        im2col_rows_avx2(&g, &x, g.batch, &mut col);
        im2col_table_avx2(&g, &x, g.batch, &mut col, &Taps::new(&g));
    }
}
