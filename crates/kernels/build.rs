//! `simd_x86`: the x86-64 vector paths are compiled in, unless the `portable` feature asks for
//! the plain paths alone (what a CPU of another architecture runs), so that those are built,
//! tested and linted as a whole on this machine too.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(simd_x86)");
    let x86 = std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|a| a == "x86_64");
    if x86 && std::env::var_os("CARGO_FEATURE_PORTABLE").is_none() {
        println!("cargo::rustc-cfg=simd_x86");
    }
}
