//! Property tests of max pooling: random windows (strides larger than the window too, 2×2
//! pairs on every width) over planes with ties, signed zeros, ±inf and NaN, against a plain
//! reference of the contract: a window's maximum is NaN if it holds one; its gradient goes to
//! the first position holding the maximum of its non-NaN values (the last position when all
//! are NaN), gradients that meet at one position adding in output order. The 2×2, stride-2
//! path sends the gradient of a window holding a NaN to one of its positions (its loss is NaN
//! and fails the job anyway), which is all that is checked there. Seeded.

use super::*;
use crate::draw::{same_bits, Draw};

const CASES: u64 = 500;

/// A few distinct values (ties), signed zeros, infinities and NaN.
fn plane_values(d: &mut Draw, n: usize) -> Vec<f32> {
    let pool = [
        -1.0,
        0.0,
        -0.0,
        0.5,
        2.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
    ];
    (0..n)
        .map(|_| {
            if d.chance(0.3) {
                d.pick(&pool)
            } else {
                d.values(1, true, false)[0]
            }
        })
        .collect()
}

fn window(d: &mut Draw) -> Window {
    loop {
        let pairs = d.chance(0.3);
        let kernel = if pairs {
            [2, 2]
        } else {
            [d.range(1, 4), d.range(1, 4)]
        };
        let stride = if pairs {
            [2, 2]
        } else {
            [d.range(1, 5), d.range(1, 5)]
        };
        let input = [d.range(1, 12), d.pick(&[1, 2, 3, 6, 8, 9, 16, 17, 33])];
        if let Some(w) = Window::fitting(input, kernel, stride) {
            return w;
        }
    }
}

/// A window's positions and gradient.
type FreeWindow = (Vec<usize>, f32);

/// The reference forward and backward of one plane, and the windows whose gradient may go to
/// any one of their positions (those holding a NaN, on the 2×2 path).
fn reference(w: &Window, plane: &[f32], grad: &[f32]) -> (Vec<f32>, Vec<f32>, Vec<FreeWindow>) {
    let pairs = w.kernel == [2, 2] && w.stride == [2, 2];
    let [oh, ow] = w.output();
    let (mut out, mut dx, mut free) = (Vec::new(), vec![0.0f32; plane.len()], Vec::new());
    for oy in 0..oh {
        for ox in 0..ow {
            let cells: Vec<usize> = (0..w.kernel[0])
                .flat_map(|y| {
                    (0..w.kernel[1])
                        .map(move |x| (oy * w.stride[0] + y) * w.input[1] + ox * w.stride[1] + x)
                })
                .collect();
            let has_nan = cells.iter().any(|&c| plane[c].is_nan());
            let top = cells
                .iter()
                .map(|&c| plane[c])
                .filter(|v| !v.is_nan())
                .fold(None, |m: Option<f32>, v| {
                    Some(m.map_or(v, |m| if v > m { v } else { m }))
                });
            out.push(if has_nan { f32::NAN } else { top.unwrap() });
            let g = grad[oy * ow + ox];
            if pairs && has_nan {
                free.push((cells, g));
                continue;
            }
            let to = top
                .and_then(|t| cells.iter().copied().find(|&c| plane[c] == t))
                .unwrap_or(*cells.last().unwrap());
            dx[to] += g;
        }
    }
    (out, dx, free)
}

#[test]
fn pooling_follows_its_contract_on_any_window() {
    let (mut pairs_cases, mut wide_strides) = (0, 0);
    for seed in 0..CASES {
        let mut d = Draw::new(4_000_000 + seed);
        let w = window(&mut d);
        let planes = d.range(1, 10);
        let x = plane_values(&mut d, planes * w.in_pixels());
        let grad = d.values(planes * w.out_pixels(), true, false);
        let (out, dx) = (forward(&w, &x), backward(&w, &x, &grad));
        for p in 0..planes {
            let plane = &x[p * w.in_pixels()..(p + 1) * w.in_pixels()];
            let g = &grad[p * w.out_pixels()..(p + 1) * w.out_pixels()];
            let (want_out, want_dx, free) = reference(&w, plane, g);
            let got_out = &out[p * w.out_pixels()..(p + 1) * w.out_pixels()];
            for (k, (a, b)) in got_out.iter().zip(&want_out).enumerate() {
                // A tie of +0 and -0 may give either zero.
                assert!(
                    a == b || same_bits(*a, *b),
                    "max[{p}, {k}] = {a}, want {b}, seed {seed}, {w:?}"
                );
            }
            let got_dx = &dx[p * w.in_pixels()..(p + 1) * w.in_pixels()];
            let mut anywhere = vec![false; got_dx.len()];
            for (cells, g) in &free {
                let hits = cells.iter().filter(|&&c| same_bits(got_dx[c], *g)).count();
                let zeros = cells.iter().filter(|&&c| got_dx[c] == 0.0).count();
                assert!(
                    if *g == 0.0 {
                        zeros == cells.len()
                    } else {
                        hits == 1 && zeros == cells.len() - 1
                    },
                    "a NaN window's gradient {g} at {cells:?}: {:?}, seed {seed}, {w:?}",
                    cells.iter().map(|&c| got_dx[c]).collect::<Vec<_>>()
                );
                cells.iter().for_each(|&c| anywhere[c] = true);
            }
            for (k, (a, b)) in got_dx.iter().zip(&want_dx).enumerate() {
                assert!(
                    anywhere[k] || same_bits(*a, *b) || a == b,
                    "dx[{p}, {k}] = {a}, want {b}, seed {seed}, {w:?}"
                );
            }
        }
        pairs_cases += usize::from(w.kernel == [2, 2] && w.stride == [2, 2]);
        wide_strides += usize::from(w.stride[0] > w.kernel[0] || w.stride[1] > w.kernel[1]);
    }
    assert!(
        pairs_cases >= 50 && wide_strides >= 50,
        "{pairs_cases} {wide_strides}"
    );
}
