//! Property tests of the convolution: random shapes, drawn so that every fast path is reached
//! (the tap table and the strided path, width-preserving rows, the direct kernel's 8- and
//! 16-wide rows, depths on both sides of 512, one output channel, 1×1 maps, height 2), and
//! values with ±0, subnormals, ±inf and NaN. Each kernel is checked against a plain f64 sum
//! within a bound proportional to Σ|x||w|·ε, the vector im2col paths against the plain ones
//! and the direct kernel against the GEMM path bit for bit. Outputs start as NaN in tests
//! (`crate::output_buffer`), so an element a kernel leaves unwritten fails. Seeded: each case
//! is named by its seed.

use super::*;
#[cfg(simd_x86)]
use crate::conv::avx2::{im2col_rows_avx2, im2col_table_avx2};
#[cfg(simd_x86)]
use crate::conv::avx512::im2col_rows_avx512;
#[cfg(simd_x86)]
use crate::conv::direct::{Direct, GEMM_ONE_CHAIN_DEPTH};
use crate::conv::im2col::{by_table, im2col, im2col_table, Taps};
use crate::conv::plain::{im2col_plain, im2col_table_plain};
use crate::draw::{same_bits, within, Draw};
use crate::pool::Window;

/// Random cases per property.
const CASES: u64 = 400;

/// Multiply-adds above which a case is redrawn (the f64 references are plain loops).
const WORK: usize = 400_000;

/// A valid geometry, with the sizes that reach each path drawn often enough.
fn geometry(d: &mut Draw) -> Geometry {
    loop {
        let side = [1, 1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 20];
        let g = Geometry {
            batch: d.pick(&[1, 1, 2, 3, 5, 40]),
            // Depths of 504, 513 and 576 with a 3×3 kernel: gemm splits sums above 512.
            c_in: if d.chance(0.15) {
                d.pick(&[56, 57, 64])
            } else {
                d.range(1, 4)
            },
            input: [d.pick(&side), d.pick(&side)],
            c_out: d.pick(&[1, 1, 2, 3, 5, 8]),
            kernel: [d.pick(&[1, 2, 3, 3, 4]), d.pick(&[1, 2, 3, 3, 5])],
            stride: [d.pick(&[1, 1, 2, 3]), d.pick(&[1, 1, 2, 3])],
            pad_begin: [d.range(0, 2), d.range(0, 2)],
            pad_end: [d.range(0, 2), d.range(0, 2)],
            dilation: [d.pick(&[1, 1, 2]), d.pick(&[1, 1, 2])],
        };
        if g.problem().is_none() && g.batch * g.c_out * g.out_pixels() * g.k() <= WORK {
            return g;
        }
    }
}

/// `[batch, c_in, h, w]` index of input pixel `(iy, ix)` of channel `c` of image `b`, if the
/// tap lands inside the image.
fn tap(
    g: &Geometry,
    b: usize,
    c: usize,
    oy: usize,
    ox: usize,
    ki: usize,
    kj: usize,
) -> Option<usize> {
    let iy = (oy * g.stride[0] + ki * g.dilation[0]).checked_sub(g.pad_begin[0])?;
    let ix = (ox * g.stride[1] + kj * g.dilation[1]).checked_sub(g.pad_begin[1])?;
    (iy < g.input[0] && ix < g.input[1])
        .then(|| ((b * g.c_in + c) * g.input[0] + iy) * g.input[1] + ix)
}

/// Every (output index, input index, weight index) product of the convolution.
fn products(g: &Geometry, mut visit: impl FnMut(usize, usize, usize)) {
    let [oh, ow] = g.output();
    let [kh, kw] = g.kernel;
    for b in 0..g.batch {
        for co in 0..g.c_out {
            for oy in 0..oh {
                for ox in 0..ow {
                    let o = ((b * g.c_out + co) * oh + oy) * ow + ox;
                    for c in 0..g.c_in {
                        for ki in 0..kh {
                            for kj in 0..kw {
                                if let Some(i) = tap(g, b, c, oy, ox, ki, kj) {
                                    visit(o, i, ((co * g.c_in + c) * kh + ki) * kw + kj);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Sums in f64 and Σ|terms|, one per output of `len`, of the products `term(o, i, w)` that
/// `products` visits, keyed by `key(o, i, w)`.
fn sums(
    g: &Geometry,
    len: usize,
    key: impl Fn(usize, usize, usize) -> usize,
    term: impl Fn(usize, usize, usize) -> f64,
) -> (Vec<f64>, Vec<f64>) {
    let (mut sum, mut scale) = (vec![0.0; len], vec![0.0; len]);
    products(g, |o, i, w| {
        let (k, t) = (key(o, i, w), term(o, i, w));
        sum[k] += t;
        scale[k] += t.abs();
    });
    (sum, scale)
}

fn check(
    got: &[f32],
    want: &[f64],
    scale: &[f64],
    terms: usize,
    what: &str,
    seed: u64,
    g: &Geometry,
) {
    assert_eq!(got.len(), want.len(), "{what} length, seed {seed}, {g:?}");
    for (k, ((a, b), s)) in got.iter().zip(want).zip(scale).enumerate() {
        assert!(
            within(*a, *b, *s, terms),
            "{what}[{k}] = {a}, want {b} (scale {s}), seed {seed}, {g:?}"
        );
    }
}

/// The forward pass, with and without bias, ReLU and pooling, on inputs holding ±inf and NaN.
#[test]
fn forward_is_the_f64_sum_up_to_rounding() {
    let (mut deep, mut shallow, mut table, mut strided, mut single) = (0, 0, 0, 0, 0);
    for seed in 0..CASES {
        let mut d = Draw::new(seed);
        let g = geometry(&mut d);
        let non_finite = d.chance(0.5);
        let x = d.values(g.batch * g.c_in * g.in_pixels(), true, non_finite);
        let w = d.values(g.c_out * g.k(), true, false);
        let bias = d.chance(0.5).then(|| d.values(g.c_out, true, false));
        let relu = d.chance(0.5);
        let p = g.out_pixels();
        let (mut want, mut scale) = sums(
            &g,
            g.batch * g.c_out * p,
            |o, _, _| o,
            |_, i, k| x[i] as f64 * w[k] as f64,
        );
        for (o, (v, s)) in want.iter_mut().zip(&mut scale).enumerate() {
            let b = bias.as_ref().map_or(0.0, |b| b[o / p % g.c_out] as f64);
            *v += b;
            *s += b.abs();
            if relu && !v.is_nan() && *v <= 0.0 {
                // A ReLU'd value near 0 may come out 0 or a little above: the bound still holds.
                *v = 0.0;
            }
        }
        let got = forward(&g, &x, &w, bias.as_deref(), relu, None);
        check(&got, &want, &scale, g.k() + 1, "forward", seed, &g);
        // Pooled in the convolution: each window's maximum of the unpooled values.
        let [oh, ow] = g.output();
        let window = [d.range(1, 3), d.range(1, 3)];
        if let Some(win) = Window::fitting([oh, ow], window, [d.range(1, 3), d.range(1, 3)]) {
            let pooled = forward(&g, &x, &w, bias.as_deref(), relu, Some(&win));
            let [ph, pw] = win.output();
            assert_eq!(pooled.len(), g.batch * g.c_out * ph * pw, "seed {seed}");
            for (k, got) in pooled.iter().enumerate() {
                let (plane, py, px) = (k / (ph * pw), k / pw % ph, k % pw);
                let at = |wy: usize, wx: usize| {
                    plane * p + (py * win.stride[0] + wy) * ow + px * win.stride[1] + wx
                };
                let cells =
                    (0..win.kernel[0]).flat_map(|wy| (0..win.kernel[1]).map(move |wx| (wy, wx)));
                let outs: Vec<usize> = cells.map(|(wy, wx)| at(wy, wx)).collect();
                let want_max = outs
                    .iter()
                    .map(|&o| want[o])
                    .fold(f64::NEG_INFINITY, |m, v| {
                        if m.is_nan() || v.is_nan() {
                            f64::NAN
                        } else {
                            m.max(v)
                        }
                    });
                let bound = outs.iter().map(|&o| scale[o]).fold(0.0, f64::max);
                assert!(
                    within(*got, want_max, bound, g.k() + 1),
                    "pooled[{k}] = {got}, want {want_max}, seed {seed}, {g:?}, {win:?}"
                );
            }
        }
        deep += usize::from(g.k() > 512);
        shallow += usize::from(g.k() <= 512);
        table += usize::from(by_table(&g));
        strided += usize::from(!by_table(&g));
        single += usize::from(g.c_out == 1 || g.input == [1, 1]);
    }
    // The draws reached what they are weighted for.
    for (what, n) in [
        ("deep", deep),
        ("shallow", shallow),
        ("table", table),
        ("strided", strided),
        ("c_out 1 or 1×1", single),
    ] {
        assert!(n >= 10, "only {n} {what} cases");
    }
}

/// The three gradients against f64 sums of their definitions.
#[test]
fn gradients_are_the_f64_sums_up_to_rounding() {
    for seed in 0..CASES {
        let mut d = Draw::new(1_000_000 + seed);
        let g = geometry(&mut d);
        let x = d.values(g.batch * g.c_in * g.in_pixels(), true, false);
        let w = d.values(g.c_out * g.k(), true, false);
        let p = g.out_pixels();
        let grad = d.values(g.batch * g.c_out * p, true, false);
        let (want, scale) = sums(
            &g,
            w.len(),
            |_, _, k| k,
            |o, i, _| grad[o] as f64 * x[i] as f64,
        );
        check(
            &weight_grad(&g, &x, &grad),
            &want,
            &scale,
            g.batch * p,
            "weight_grad",
            seed,
            &g,
        );
        let (want, scale) = sums(
            &g,
            x.len(),
            |_, i, _| i,
            |o, _, k| grad[o] as f64 * w[k] as f64,
        );
        check(
            &input_grad(&g, &w, &grad),
            &want,
            &scale,
            g.c_out * g.k(),
            "input_grad",
            seed,
            &g,
        );
        let mut want = vec![0.0; g.c_out];
        let mut scale = vec![0.0; g.c_out];
        for (o, v) in grad.iter().enumerate() {
            want[o / p % g.c_out] += *v as f64;
            scale[o / p % g.c_out] += v.abs() as f64;
        }
        check(
            &bias_grad(&grad, g.batch, g.c_out, p),
            &want,
            &scale,
            g.batch * p,
            "bias_grad",
            seed,
            &g,
        );
    }
}

/// Width-preserving stride-1 geometries, the row kernels' domain.
fn row_geometry(d: &mut Draw) -> Geometry {
    loop {
        let (kw, dil) = (d.pick(&[1, 3, 3, 5]), d.pick(&[1, 1, 2]));
        let span = dil * (kw - 1);
        let left = d.range(0, span);
        let g = Geometry {
            batch: d.range(1, 3),
            c_in: d.range(1, 3),
            input: [d.range(1, 12), d.pick(&[1, 2, 5, 8, 9, 16, 20, 24, 32, 33])],
            c_out: 2,
            kernel: [d.pick(&[1, 3, 5]), kw],
            stride: [1, 1],
            pad_begin: [d.range(0, 2), left],
            pad_end: [d.range(0, 2), span - left],
            dilation: [d.pick(&[1, 2]), dil],
        };
        if g.problem().is_none() {
            return g;
        }
    }
}

/// The im2col kernels, vector against plain, bit for bit: the tap table (dispatch and the
/// AVX2 kernel called directly), the row kernels of every instruction set the CPU has, and the
/// dispatching `im2col` against the plain loop on any geometry.
#[test]
fn vector_im2col_is_the_plain_im2col_bit_for_bit() {
    type Kernel = unsafe fn(&Geometry, &[f32], usize, &mut [f32]);
    #[cfg(simd_x86)]
    let rows: Vec<(&str, Kernel, bool)> = vec![
        ("avx512", im2col_rows_avx512 as Kernel, crate::isa::avx512()),
        ("avx2", im2col_rows_avx2 as Kernel, crate::isa::avx2()),
    ];
    #[cfg(not(simd_x86))]
    let rows: Vec<(&str, Kernel, bool)> = Vec::new();
    let bits = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(p, q)| same_bits(*p, *q));
    let (mut tables, mut row_runs) = (0, 0);
    #[cfg_attr(not(simd_x86), allow(unused_mut))]
    let mut avx2_tables = 0;
    for seed in 0..CASES {
        let mut d = Draw::new(2_000_000 + seed);
        let g = geometry(&mut d);
        let x = d.values(g.batch * g.c_in * g.in_pixels(), true, true);
        let len = g.k() * g.batch * g.out_pixels();
        let (mut fast, mut plain) = (vec![f32::NAN; len], vec![f32::NAN; len]);
        im2col(&g, &x, g.batch, &mut fast);
        im2col_plain(&g, &x, g.batch, &mut plain);
        assert!(bits(&fast, &plain), "im2col, seed {seed}, {g:?}");
        if by_table(&g) {
            let taps = Taps::new(&g);
            im2col_table(&g, &x, g.batch, &mut fast, &taps);
            im2col_table_plain(&g, &x, g.batch, &mut plain, &taps);
            assert!(bits(&fast, &plain), "table, seed {seed}, {g:?}");
            tables += 1;
            #[cfg(simd_x86)]
            if g.in_pixels() <= 16 && g.out_pixels().is_multiple_of(8) && crate::isa::avx2() {
                let mut avx2 = vec![f32::NAN; len];
                // SAFETY: the CPU has AVX2 and the plane fits the kernel (checked above).
                unsafe { im2col_table_avx2(&g, &x, g.batch, &mut avx2, &taps) };
                assert!(bits(&avx2, &plain), "avx2 table, seed {seed}, {g:?}");
                avx2_tables += 1;
            }
        }
        let g = row_geometry(&mut d);
        let x = d.values(g.batch * g.c_in * g.in_pixels(), true, true);
        let len = g.k() * g.batch * g.out_pixels();
        let mut plain = vec![f32::NAN; len];
        im2col_plain(&g, &x, g.batch, &mut plain);
        for (name, kernel, _) in rows.iter().filter(|k| k.2) {
            let mut fast = vec![f32::NAN; len];
            // SAFETY: only the kernels of extensions the CPU has pass the filter.
            unsafe { kernel(&g, &x, g.batch, &mut fast) };
            assert!(bits(&fast, &plain), "{name} rows, seed {seed}, {g:?}");
            row_runs += 1;
        }
    }
    assert!(tables >= 50, "only {tables} table cases");
    #[cfg(simd_x86)]
    if crate::isa::avx2() {
        assert!(
            avx2_tables >= 10 && row_runs >= CASES as usize,
            "{avx2_tables} {row_runs}"
        );
    }
    let _ = (avx2_tables, row_runs);
}

/// The direct kernel of every instruction set the CPU has against the GEMM path, bit for bit:
/// padded 3×3 layers with rows of whole vectors, heights from 2, even channel counts from 2
/// (the kernel's domain), depths up to the one GEMM sums in a single chain, with and without bias and pooling, on
/// inputs holding ±inf and NaN.
#[cfg(simd_x86)]
#[test]
fn the_direct_kernel_is_the_gemm_path_bit_for_bit() {
    let kernels = super::tests::direct_kernels();
    let mut runs = std::collections::BTreeMap::<&str, usize>::new();
    for seed in 0..CASES {
        let mut d = Draw::new(3_000_000 + seed);
        let input = [d.pick(&[2, 2, 4, 6, 8, 10]), d.pick(&[8, 16, 24, 32])];
        let g = Geometry {
            batch: d.range(1, 3),
            c_in: if d.chance(0.1) {
                GEMM_ONE_CHAIN_DEPTH / 9
            } else {
                d.range(1, 8)
            },
            input,
            // The kernel's domain: an even number of output channels.
            c_out: d.pick(&[2, 4, 6, 8, 10, 14, 16]),
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
        let non_finite = d.chance(0.5);
        let x = d.values(g.batch * g.c_in * g.in_pixels(), true, non_finite);
        let w = d.values(g.c_out * g.k(), true, false);
        let bias = d.chance(0.5).then(|| d.values(g.c_out, true, false));
        let pool = d.chance(0.5);
        let want = super::tests::gemm_path(&g, &x, &w, bias.as_deref(), pool.then_some(&window));
        assert_eq!(
            Direct::for_layer(&g, pool.then_some(&window)).is_some(),
            kernels.iter().any(|k| input[1].is_multiple_of(k.2)),
            "seed {seed}, {g:?}"
        );
        for (name, direct, lanes) in kernels.iter().filter(|k| input[1].is_multiple_of(k.2)) {
            // SAFETY: only the kernels this CPU runs are in the list, on shapes of their domain
            // (padded 3×3, whole vectors, even height and channel count).
            let got = unsafe {
                super::tests::run_direct(direct, &g, &x, &w, bias.as_deref(), pool, want.len())
            };
            for (k, (a, b)) in got.iter().zip(&want).enumerate() {
                assert!(
                    same_bits(*a, *b),
                    "{name}[{k}] = {a}, GEMM {b}, seed {seed}, {g:?}, pool {pool}, lanes {lanes}"
                );
            }
            *runs.entry(name).or_default() += 1;
        }
    }
    for (name, _, _) in &kernels {
        assert!(
            runs.get(name).copied().unwrap_or(0) >= 50,
            "{name}: {runs:?}"
        );
    }
}
