//! Which instruction sets the kernels may use, decided at run time (none but the plain paths
//! with the `portable` feature).

/// Whether to run this crate's AVX-512 kernels: the CPU has AVX-512F and the build has the
/// `avx512` feature (on by default), which also decides whether gemm may dispatch to its
/// AVX-512 kernels. A build without it runs the AVX2 code paths on any CPU.
#[cfg(simd_x86)]
pub(crate) fn avx512() -> bool {
    cfg!(feature = "avx512") && std::arch::is_x86_feature_detected!("avx512f")
}

/// Whether to run the AVX2 kernels.
#[cfg(simd_x86)]
pub(crate) fn avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
}

/// Whether to run the AVX2 kernels that also multiply-add (the direct kernel).
#[cfg(simd_x86)]
pub(crate) fn avx2_fma() -> bool {
    avx2() && std::arch::is_x86_feature_detected!("fma")
}

/// Every vector kernel, by name, and whether this build on this CPU may run it: what the
/// tests must have exercised.
#[cfg(test)]
pub(crate) fn vector_kernels() -> Vec<(&'static str, bool)> {
    #[cfg(simd_x86)]
    {
        let (avx512, avx2, fma) = (avx512(), avx2(), avx2_fma());
        vec![
            ("conv/avx512/direct", avx512),
            ("conv/avx512/im2col_rows", avx512),
            ("conv/avx512/im2col_table", avx512),
            ("conv/avx2/direct", fma),
            ("conv/avx2/im2col_rows", avx2),
            ("conv/avx2/im2col_table", avx2),
            ("pool/avx2/pairs", avx2),
            ("pool/avx2/pairs_width8", avx2),
            ("pool/avx2/pairs_backward", avx2),
        ]
    }
    #[cfg(not(simd_x86))]
    Vec::new()
}

/// How often each kernel ran in this test process: every vector kernel counts its calls, so a
/// test can tell that a path it meant to reach really ran.
#[cfg(test)]
pub(crate) mod ran {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    static HITS: Mutex<BTreeMap<&'static str, usize>> = Mutex::new(BTreeMap::new());

    /// Count one call of `kernel`.
    #[cfg_attr(not(simd_x86), allow(dead_code))]
    pub(crate) fn hit(kernel: &'static str) {
        if let Ok(mut hits) = HITS.lock() {
            *hits.entry(kernel).or_default() += 1;
        }
    }

    /// Calls of `kernel` so far.
    pub(crate) fn count(kernel: &str) -> usize {
        HITS.lock()
            .map(|h| h.get(kernel).copied().unwrap_or(0))
            .unwrap_or(0)
    }
}
