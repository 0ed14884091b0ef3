//! [`Rng`]: a small seeded generator (SplitMix64) with uniform, normal (Box–Muller), χ²
//! (Marsaglia–Tsang) and shuffle draws, for the calibration, the replay and the verification.
//! Streams are addressed by (seed, index), so a simulation split over threads draws the same
//! numbers whatever the number of threads.

/// SplitMix64's output function: a bijective mix of 64 bits.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// A SplitMix64 generator (Steele, Lea & Flood 2014): 64-bit state, period 2⁶⁴, passes
/// BigCrush; deterministic for a given seed.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
    spare: Option<f64>,
}

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            state: mix64(seed ^ 0x6a09_e667_f3bc_c909),
            spare: None,
        }
    }

    /// The `index`-th stream of `seed`: the streams start at unrelated points of the period
    /// (mixed, not consecutive), so that path i of a simulation is the same draw however the
    /// paths are split among threads.
    pub fn stream(seed: u64, index: u64) -> Self {
        Self {
            state: mix64(mix64(seed ^ 0x6a09_e667_f3bc_c909) ^ mix64(index.wrapping_add(1))),
            spare: None,
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix64(self.state)
    }

    /// A uniform draw in the open interval (0, 1) (53 bits; never 0, so its logarithm is
    /// finite).
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }

    /// A standard normal draw (Box–Muller; the second value of each pair is kept for the next
    /// call).
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let r = (-2.0 * self.uniform().ln()).sqrt();
        let (s, c) = (2.0 * std::f64::consts::PI * self.uniform()).sin_cos();
        self.spare = Some(r * s);
        r * c
    }

    /// A χ² draw with `df` > 0 degrees of freedom: twice a Gamma(df/2) draw by Marsaglia and
    /// Tsang's squeeze (2000), boosted by U^{1/a} for shape a below 1.
    pub fn chi_square(&mut self, df: f64) -> f64 {
        if df == 1.0 {
            let z = self.normal();
            return z * z;
        }
        let shape = 0.5 * df;
        if shape < 1.0 {
            let boost = self.uniform().powf(1.0 / shape);
            return 2.0 * self.gamma_at_least_one(shape + 1.0) * boost;
        }
        2.0 * self.gamma_at_least_one(shape)
    }

    /// A Gamma(`shape`, 1) draw for shape ≥ 1 (Marsaglia–Tsang).
    fn gamma_at_least_one(&mut self, shape: f64) -> f64 {
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = 1.0 + c * x;
            if v <= 0.0 {
                continue;
            }
            let v = v * v * v;
            let u = self.uniform();
            let x2 = x * x;
            if u < 1.0 - 0.0331 * x2 * x2 || u.ln() < 0.5 * x2 + d * (1.0 - v + v.ln()) {
                return d * v;
            }
        }
    }

    /// A uniform integer in 0..`n` (n > 0), without modulo bias (Lemire's multiply-shift with
    /// rejection).
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0)");
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = (self.next_u64() as u128) * (n as u128);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// Shuffle `items` in place (Fisher–Yates): every order equally likely.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_have_their_distributions_moments() {
        let mut rng = Rng::new(7);
        let n = 200_000;
        let (mut s1, mut s2, mut s4) = (0.0, 0.0, 0.0);
        for _ in 0..n {
            let z = rng.normal();
            s1 += z;
            s2 += z * z;
            s4 += z * z * z * z;
        }
        let n = n as f64;
        assert!((s1 / n).abs() < 0.01, "mean {}", s1 / n);
        assert!((s2 / n - 1.0).abs() < 0.01, "variance {}", s2 / n);
        assert!((s4 / n - 3.0).abs() < 0.06, "fourth moment {}", s4 / n);
        // χ²(ν): mean ν, variance 2ν, for a shape below one, at one, and above.
        for df in [1.0, 1.5, 4.0, 9.0] {
            let draws: Vec<f64> = (0..100_000).map(|_| rng.chi_square(df)).collect();
            let mean = draws.iter().sum::<f64>() / draws.len() as f64;
            let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / draws.len() as f64;
            assert!((mean / df - 1.0).abs() < 0.02, "df {df}: mean {mean}");
            assert!((var / (2.0 * df) - 1.0).abs() < 0.05, "df {df}: var {var}");
        }
    }

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| Rng::stream(1, 5).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(Rng::stream(1, 5).next_u64(), Rng::stream(1, 6).next_u64());
        assert_ne!(Rng::stream(1, 5).next_u64(), Rng::stream(2, 5).next_u64());
        let mut v: Vec<u32> = (0..10).collect();
        Rng::new(3).shuffle(&mut v);
        let mut sorted = v.clone();
        sorted.sort();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        assert_ne!(v, sorted);
    }
}
