//! Seeded draws for the property tests: shapes and values, each case reproducible from its
//! seed (a failing assertion names it).

/// A small seeded generator (SplitMix64).
pub(crate) struct Draw(u64);

/// Values that are not plain numbers in [-1, 1): signed zeros and subnormals.
const TINY: [f32; 5] = [0.0, -0.0, 1e-40, -3e-39, f32::MIN_POSITIVE];

/// Values that are not finite.
const NON_FINITE: [f32; 3] = [f32::INFINITY, f32::NEG_INFINITY, f32::NAN];

impl Draw {
    /// The generator of case `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5EED)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A whole number in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    /// One of `items`.
    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.range(0, items.len() - 1)]
    }

    /// `n` values in [-1, 1); with `tiny`, about one in eight is a signed zero or a
    /// subnormal; with `non_finite`, about one in forty is ±inf or NaN.
    pub(crate) fn values(&mut self, n: usize, tiny: bool, non_finite: bool) -> Vec<f32> {
        (0..n)
            .map(|_| {
                if non_finite && self.chance(1.0 / 40.0) {
                    self.pick(&NON_FINITE)
                } else if tiny && self.chance(1.0 / 8.0) {
                    self.pick(&TINY)
                } else {
                    ((self.next() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
                }
            })
            .collect()
    }
}

/// Whether `got` is `want` up to rounding: NaN where `want` is NaN, the same infinity where it
/// is infinite, else within `terms + 2` f32 roundings of `scale` (Σ|x|·|w| of the sum behind
/// `want`) and two smallest normals for sums that round through the subnormals.
pub(crate) fn within(got: f32, want: f64, scale: f64, terms: usize) -> bool {
    if want.is_nan() {
        return got.is_nan();
    }
    if want.is_infinite() {
        return got as f64 == want;
    }
    let bound = scale * (terms as f64 + 2.0) * f32::EPSILON as f64 + 2.0 * f32::MIN_POSITIVE as f64;
    got.is_finite() && (got as f64 - want).abs() <= bound
}

/// Whether two results are the same bit for bit (any NaN matches any NaN: the sign and payload
/// of a NaN made by an invalid operation are not part of the kernels' contract).
pub(crate) fn same_bits(a: f32, b: f32) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}
