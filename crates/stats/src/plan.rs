//! [`Plan`]: a sequential study's design, looks, level, equivalence margin and number of
//! points, validated once ([`PlanError`] names the field at fault).

use std::fmt;

use crate::calibrate::Calibration;

/// Which sequential design decides the points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Design {
    /// Repeated confidence intervals with Lan–DeMets O'Brien–Fleming-type alpha spending
    /// (Student-t multipliers calibrated by simulation), Bonferroni α/K over the K points.
    /// Valid at the planned looks only.
    GroupSequential,
    /// The t-test e-process with a Gaussian mixture (Wang & Ramdas 2023): confidence
    /// sequences at α/K, anytime p-values with Holm over the K points. Valid at any seed
    /// count, so the budget may be extended later.
    AnytimeValid,
}

impl Default for Design {
    /// The group-sequential design: narrower intervals at the planned looks.
    fn default() -> Self {
        Design::GroupSequential
    }
}

impl Design {
    /// The name in tables and files.
    pub fn as_str(self) -> &'static str {
        match self {
            Design::GroupSequential => "group-sequential",
            Design::AnytimeValid => "anytime-valid",
        }
    }
}

/// When the points are looked at, in paired seeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Looks {
    /// First at `first` seeds, then every `every` seeds, the last at `max` (a shorter last
    /// round where `max − first` is not a multiple of `every`).
    Every {
        /// Seeds at the first look (at least 3).
        first: usize,
        /// Seeds added per round (at least 1).
        every: usize,
        /// Seeds at the last look (at least `first`).
        max: usize,
    },
    /// Looks at these seed counts (increasing, the first at least 3).
    At(Vec<usize>),
}

impl Looks {
    /// The seed counts of the looks, checked.
    pub fn seeds(&self) -> Result<Vec<usize>, PlanError> {
        let looks = match self {
            Looks::Every { first, every, max } => {
                if *first < MIN_FIRST_LOOK {
                    return Err(PlanError::FirstLook(*first));
                }
                if *every == 0 {
                    return Err(PlanError::Every);
                }
                if max < first {
                    return Err(PlanError::MaxBelowFirst {
                        first: *first,
                        max: *max,
                    });
                }
                let mut looks: Vec<usize> = (*first..=*max).step_by(*every).collect();
                if looks.last() != Some(max) {
                    looks.push(*max);
                }
                looks
            }
            Looks::At(looks) => looks.clone(),
        };
        match looks.first() {
            None => return Err(PlanError::NoLooks),
            Some(&first) if first < MIN_FIRST_LOOK => return Err(PlanError::FirstLook(first)),
            _ => {}
        }
        for (i, w) in looks.windows(2).enumerate() {
            if w[1] <= w[0] {
                return Err(PlanError::LooksNotIncreasing {
                    index: i + 1,
                    previous: w[0],
                    value: w[1],
                });
            }
        }
        Ok(looks)
    }
}

/// The fewest seeds at a first look: a t interval needs two; three leave one degree of freedom
/// beyond the minimum, and the calibration's t statistics a finite variance.
pub const MIN_FIRST_LOOK: usize = 3;

/// A validated sequential plan. Build it with [`Plan::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    design: Design,
    looks: Vec<usize>,
    alpha: f64,
    margin: f64,
    points: usize,
    calibration: Calibration,
}

impl Plan {
    /// A plan for `points` strategy points (K) compared with a reference at family-wise level
    /// `alpha`, equivalence margin ±`margin` (in the units of the differences, e.g. Δp in %),
    /// looking at `looks`.
    pub fn new(
        design: Design,
        looks: &Looks,
        alpha: f64,
        margin: f64,
        points: usize,
    ) -> Result<Self, PlanError> {
        let looks = looks.seeds()?;
        if !(alpha > 0.0 && alpha < 1.0) {
            return Err(PlanError::Alpha(alpha));
        }
        if !(margin > 0.0 && margin.is_finite()) {
            return Err(PlanError::Margin(margin));
        }
        if points == 0 {
            return Err(PlanError::Points);
        }
        Ok(Self {
            design,
            looks,
            alpha,
            margin,
            points,
            calibration: Calibration::default(),
        })
    }

    /// The same plan with another calibration of the group-sequential multipliers (more paths
    /// for a finer calibration, fewer for a quick one, 0 for none).
    pub fn with_calibration(mut self, calibration: Calibration) -> Self {
        self.calibration = calibration;
        self
    }

    /// The same plan with another margin (> 0, finite).
    pub fn with_margin(mut self, margin: f64) -> Result<Self, PlanError> {
        if !(margin > 0.0 && margin.is_finite()) {
            return Err(PlanError::Margin(margin));
        }
        self.margin = margin;
        Ok(self)
    }

    /// The design.
    pub fn design(&self) -> Design {
        self.design
    }

    /// The looks' seed counts, increasing.
    pub fn looks(&self) -> &[usize] {
        &self.looks
    }

    /// The seeds of the last look.
    pub fn max_seeds(&self) -> usize {
        *self.looks.last().expect("validated: at least one look")
    }

    /// The family-wise level α.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// Each point's level: α/K (Bonferroni).
    pub fn point_alpha(&self) -> f64 {
        self.alpha / self.points as f64
    }

    /// The equivalence margin.
    pub fn margin(&self) -> f64 {
        self.margin
    }

    /// The number of points K.
    pub fn points(&self) -> usize {
        self.points
    }

    /// The calibration of the group-sequential multipliers.
    pub fn calibration(&self) -> Calibration {
        self.calibration
    }
}

/// A plan's input that cannot be used, with the field it came from ([`PlanError::field`]).
#[derive(Debug, Clone, PartialEq)]
pub enum PlanError {
    /// The margin is not a positive finite number.
    Margin(f64),
    /// The first look has fewer than [`MIN_FIRST_LOOK`] seeds.
    FirstLook(usize),
    /// The last look comes before the first.
    MaxBelowFirst {
        /// Seeds at the first look.
        first: usize,
        /// Seeds at the last look.
        max: usize,
    },
    /// The seeds added per round are zero.
    Every,
    /// A look does not come after the one before it.
    LooksNotIncreasing {
        /// Its position in the list (0-based).
        index: usize,
        /// The seeds of the look before.
        previous: usize,
        /// Its seeds.
        value: usize,
    },
    /// No looks at all.
    NoLooks,
    /// No points to compare (K = 0).
    Points,
    /// α is not in (0, 1).
    Alpha(f64),
    /// Custom multipliers that do not fit the looks.
    Multipliers {
        /// One per look.
        expected: usize,
        /// As given.
        got: usize,
    },
}

impl PlanError {
    /// The field at fault, as the experiment YAML would name it.
    pub fn field(&self) -> &'static str {
        match self {
            PlanError::Margin(_) => "margin",
            PlanError::FirstLook(_) => "looks.first",
            PlanError::MaxBelowFirst { .. } => "looks.max",
            PlanError::Every => "looks.every",
            PlanError::LooksNotIncreasing { .. } | PlanError::NoLooks => "looks",
            PlanError::Points => "points",
            PlanError::Alpha(_) => "alpha",
            PlanError::Multipliers { .. } => "multipliers",
        }
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.field())?;
        match self {
            PlanError::Margin(m) => write!(f, "the equivalence margin must be > 0 (got {m})"),
            PlanError::FirstLook(n) => write!(
                f,
                "the first look needs at least {MIN_FIRST_LOOK} seeds (got {n})"
            ),
            PlanError::MaxBelowFirst { first, max } => write!(
                f,
                "the last look ({max} seeds) comes before the first ({first} seeds)"
            ),
            PlanError::Every => write!(f, "each round must add at least one seed (got 0)"),
            PlanError::LooksNotIncreasing {
                index,
                previous,
                value,
            } => write!(
                f,
                "look {index} ({value} seeds) does not come after the look before ({previous} seeds); looks must increase"
            ),
            PlanError::NoLooks => write!(f, "at least one look is needed"),
            PlanError::Points => write!(f, "at least one point is needed (got 0)"),
            PlanError::Alpha(a) => write!(f, "α must lie in (0, 1) (got {a})"),
            PlanError::Multipliers { expected, got } => write!(
                f,
                "one positive finite multiplier per look is needed ({expected} looks, {got} given)"
            ),
        }
    }
}

impl std::error::Error for PlanError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn every(first: usize, every: usize, max: usize) -> Looks {
        Looks::Every { first, every, max }
    }

    #[test]
    fn looks_expand_and_bad_input_names_its_field() {
        assert_eq!(
            every(10, 5, 40).seeds().unwrap(),
            vec![10, 15, 20, 25, 30, 35, 40]
        );
        assert_eq!(every(10, 7, 30).seeds().unwrap(), vec![10, 17, 24, 30]);
        assert_eq!(every(5, 5, 5).seeds().unwrap(), vec![5]);
        let plan = |design, looks: Looks, alpha, margin, points| {
            Plan::new(design, &looks, alpha, margin, points).map(|_| ())
        };
        let gs = Design::GroupSequential;
        let cases = [
            (plan(gs, every(10, 5, 40), 0.05, 0.0, 4), "margin"),
            (plan(gs, every(10, 5, 40), 0.05, -1.0, 4), "margin"),
            (plan(gs, every(10, 5, 40), 0.05, f64::NAN, 4), "margin"),
            (plan(gs, every(2, 5, 40), 0.05, 1.0, 4), "looks.first"),
            (plan(gs, every(10, 5, 8), 0.05, 1.0, 4), "looks.max"),
            (plan(gs, every(10, 0, 40), 0.05, 1.0, 4), "looks.every"),
            (plan(gs, Looks::At(vec![10, 15, 15]), 0.05, 1.0, 4), "looks"),
            (plan(gs, Looks::At(vec![10, 20, 15]), 0.05, 1.0, 4), "looks"),
            (plan(gs, Looks::At(vec![]), 0.05, 1.0, 4), "looks"),
            (
                plan(gs, Looks::At(vec![2, 15]), 0.05, 1.0, 4),
                "looks.first",
            ),
            (plan(gs, every(10, 5, 40), 0.05, 1.0, 0), "points"),
            (plan(gs, every(10, 5, 40), 0.0, 1.0, 4), "alpha"),
            (plan(gs, every(10, 5, 40), 1.0, 1.0, 4), "alpha"),
            (plan(gs, every(10, 5, 40), f64::NAN, 1.0, 4), "alpha"),
        ];
        for (i, (result, field)) in cases.into_iter().enumerate() {
            let err = result.expect_err(&format!("case {i} must fail"));
            assert_eq!(err.field(), field, "case {i}: {err}");
            assert!(err.to_string().starts_with(field), "{err}");
        }
        let ok = Plan::new(Design::AnytimeValid, &every(10, 5, 40), 0.05, 1.0, 14).unwrap();
        assert_eq!((ok.max_seeds(), ok.point_alpha()), (40, 0.05 / 14.0));
    }
}
