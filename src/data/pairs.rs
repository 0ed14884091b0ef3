//! Face-verification pairs of a test split: a neutral reference of a test subject against
//! expression probes of the same subject (positive) and of other subjects (negative).

use super::FaceSet;
use crate::rng::Rng;

/// One verification pair: indices into the [`FaceSet`], and whether the subjects match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair {
    /// The neutral reference image.
    pub reference: usize,
    /// The expression probe image.
    pub probe: usize,
    /// Same subject?
    pub same: bool,
}

/// Balanced pairs over the `test` images: every non-neutral image of a test subject that has a
/// neutral reference is a probe once against its own subject's reference and once against the
/// reference of another test subject drawn with `seed`. Positive and negative pairs alternate.
pub fn verification_pairs(set: &FaceSet, test: &[usize], seed: u64) -> Vec<Pair> {
    let neutral = set.neutral();
    let mut references: Vec<(u32, usize)> = Vec::new();
    for &i in test {
        if set.expressions[i] == neutral && !references.iter().any(|r| r.0 == set.subjects[i]) {
            references.push((set.subjects[i], i));
        }
    }
    let mut rng = Rng::derive(seed, 0x9A1E);
    let mut pairs = Vec::new();
    if references.len() < 2 {
        return pairs;
    }
    for &probe in test {
        if set.expressions[probe] == neutral {
            continue;
        }
        let subject = set.subjects[probe];
        let Some(own) = references.iter().position(|r| r.0 == subject) else {
            continue;
        };
        pairs.push(Pair {
            reference: references[own].1,
            probe,
            same: true,
        });
        // Draw among the other subjects' references: skip over our own slot.
        let mut k = rng.below(references.len() - 1);
        if k >= own {
            k += 1;
        }
        pairs.push(Pair {
            reference: references[k].1,
            probe,
            same: false,
        });
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synth::{generate, test_subjects, SynthConfig};
    use crate::data::Split;

    #[test]
    fn balanced_and_neutral_referenced() {
        let cfg = SynthConfig {
            identities: 6,
            test_identities: 3,
            expressions: 4,
            images_per_cell: 2,
            image_size: 16,
            ..SynthConfig::default()
        };
        let set = generate("s", &cfg);
        let split = Split::by_test_subjects(&set, &test_subjects(&cfg));
        let pairs = verification_pairs(&set, &split.test, 1);
        let pos = pairs.iter().filter(|p| p.same).count();
        assert_eq!(pos * 2, pairs.len());
        assert_eq!(pos, 3 * 3 * 2); // 3 subjects × 3 non-neutral expressions × 2 images
        for p in &pairs {
            assert_eq!(set.expressions[p.reference], 0);
            assert_ne!(set.expressions[p.probe], 0);
            assert_eq!(set.subjects[p.reference] == set.subjects[p.probe], p.same);
            assert!(split.test.contains(&p.reference) && split.test.contains(&p.probe));
        }
        assert_eq!(pairs, verification_pairs(&set, &split.test, 1));
    }
}
