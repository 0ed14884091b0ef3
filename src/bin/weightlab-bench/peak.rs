//! What the CPU can do at best: its clock, measured by timing a chain of dependent additions
//! (one per cycle on every x86 core), and its fp32 multiply–add throughput, measured with
//! independent FMA chains at each vector width the CPU has (chosen at run time). Peak FLOP/s
//! of one core is the best width's FLOPs per cycle times the clock.

use serde_json::{json, Value};
use std::time::Instant;

/// Dependent additions per timed run of [`clock_hz`].
const CHAIN: u64 = 400_000_000;

/// Iterations of the FMA loops (each does 12 independent vector FMAs).
const FMA_ITERS: u64 = 100_000_000;

/// Cycles per second, from a chain of [`CHAIN`] dependent integer additions (latency 1): the
/// best of three runs.
#[cfg(target_arch = "x86_64")]
pub fn clock_hz() -> f64 {
    (0..3)
        .map(|_| {
            let start = Instant::now();
            let mut x: u64 = 0;
            let mut n = CHAIN / 8;
            // SAFETY: plain register arithmetic, no memory access.
            unsafe {
                std::arch::asm!(
                    "2:",
                    "add {x}, 1", "add {x}, 1", "add {x}, 1", "add {x}, 1",
                    "add {x}, 1", "add {x}, 1", "add {x}, 1", "add {x}, 1",
                    "dec {n}",
                    "jnz 2b",
                    x = inout(reg) x,
                    n = inout(reg) n,
                    options(nomem, nostack),
                );
            }
            std::hint::black_box((x, n));
            CHAIN as f64 / start.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max)
}

#[cfg(not(target_arch = "x86_64"))]
pub fn clock_hz() -> f64 {
    f64::NAN
}

/// fp32 FLOP/s of one thread running 12 independent 8-lane FMA chains.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_avx2() -> f64 {
    use std::arch::x86_64::*;
    let (a, b) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
    let mut acc = [_mm256_set1_ps(1.0); 12];
    let start = Instant::now();
    for _ in 0..FMA_ITERS {
        for r in acc.iter_mut() {
            *r = _mm256_fmadd_ps(*r, a, b);
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    std::hint::black_box(acc);
    (FMA_ITERS * 12 * 8 * 2) as f64 / seconds
}

/// fp32 FLOP/s of one thread running 12 independent 16-lane FMA chains.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn fma_avx512() -> f64 {
    use std::arch::x86_64::*;
    let (a, b) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
    let mut acc = [_mm512_set1_ps(1.0); 12];
    let start = Instant::now();
    for _ in 0..FMA_ITERS {
        for r in acc.iter_mut() {
            *r = _mm512_fmadd_ps(*r, a, b);
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    std::hint::black_box(acc);
    (FMA_ITERS * 12 * 16 * 2) as f64 / seconds
}

/// The SIMD flags `make bench` records (from `/proc/cpuinfo`'s view, as the CPU reports them
/// to this process).
pub fn simd_flags() -> Value {
    #[cfg(target_arch = "x86_64")]
    return json!({
        "avx2": std::arch::is_x86_feature_detected!("avx2"),
        "fma": std::arch::is_x86_feature_detected!("fma"),
        "avx512f": std::arch::is_x86_feature_detected!("avx512f"),
    });
    #[cfg(not(target_arch = "x86_64"))]
    json!({})
}

/// The clock, the FMA throughput per width and the resulting peak of one core, as JSON.
pub fn measure() -> Value {
    let clock = clock_hz();
    let mut widths = serde_json::Map::new();
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            widths.insert("avx2_fma".into(), json!(unsafe { fma_avx2() }));
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked just above).
            widths.insert("avx512f".into(), json!(unsafe { fma_avx512() }));
        }
    }
    // The widest width the build uses decides the peak; its FMA units per cycle are the
    // measured FLOPs per cycle over the FLOPs of one vector FMA (2 per lane), rounded.
    let (name, lanes) = if widths.contains_key("avx512f") && cfg!(feature = "avx512") {
        ("avx512f", 16.0)
    } else {
        ("avx2_fma", 8.0)
    };
    let measured = widths.get(name).and_then(Value::as_f64).unwrap_or(f64::NAN);
    let fma_units = (measured / clock / (2.0 * lanes)).round().max(1.0);
    let peak = lanes * 2.0 * fma_units * clock;
    let per_width: serde_json::Map<String, Value> = widths
        .iter()
        .map(|(k, v)| (k.clone(), json!(v.as_f64().unwrap_or(f64::NAN) / 1e9)))
        .collect();
    json!({
        "clock_ghz": clock / 1e9,
        "clock_method": "timed chain of dependent 64-bit additions (one per cycle), best of 3 runs",
        "simd": name,
        "simd_lanes_f32": lanes,
        "fma_units": fma_units,
        "fma_gflops_one_thread": per_width,
        "peak_gflops_per_core": peak / 1e9,
        "peak_method": "lanes x 2 (multiply and add) x FMA units x clock; FMA units = measured FMA throughput (12 independent chains, one thread) / clock / (2 x lanes), rounded; peak of N threads = N x this",
    })
}
