//! Which instruction sets the kernels may use, decided at run time.

/// Whether to run this crate's AVX-512 kernels: the CPU has AVX-512F and the build has the
/// `avx512` feature (on by default), which also decides whether gemm may dispatch to its
/// AVX-512 kernels. A build without it runs the AVX2 code paths on any CPU.
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx512() -> bool {
    cfg!(feature = "avx512") && std::arch::is_x86_feature_detected!("avx512f")
}
