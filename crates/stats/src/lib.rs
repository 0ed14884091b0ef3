//! weightlab-stats: the statistics of a seed-paired study, with no dependency on the rest of
//! weightlab.
//!
//! - Fixed designs: Student t and noncentral t ([`dist`], [`power`]), the paired t-test with
//!   its interval and Holm's correction ([`paired`]), the power of the paired t-test.
//! - Sequential designs (issue #33): K strategy points are compared with a reference on paired
//!   seeds, looked at after rounds of seeds, and each point stops once it is `better`,
//!   `worse` or `equivalent` within ±margin. A [`Plan`] names the design, the looks, α, the
//!   margin and K; a [`Monitor`] decides; [`replay()`] reruns a finished fixed study in random
//!   seed orders under a plan.
//!   - [`Design::GroupSequential`] (the default): Lan–DeMets O'Brien–Fleming-type spending
//!     with boundaries by recursive integration ([`boundary`]), as Student-t multipliers
//!     calibrated by simulation ([`calibrate`]), repeated confidence intervals, Bonferroni
//!     α/K over the points.
//!   - [`Design::AnytimeValid`]: the t-test e-process with a Gaussian mixture ([`anytime`]),
//!     its confidence sequence, anytime p-values with Holm over the points.
//! - [`verify`]: the simulation checks behind `make verify-sequential`.
//!
//! See `docs/sequential.md` for the designs, their guarantees and the verification figures.
//!
//! ```
//! use weightlab_stats::{Calibration, Decision, Design, Looks, Monitor, Plan};
//!
//! // Two points against the reference, first look at 10 seeds, then every 5, at most 40.
//! let looks = Looks::Every { first: 10, every: 5, max: 40 };
//! let plan = Plan::new(Design::GroupSequential, &looks, 0.05, 0.5, 2)?
//!     .with_calibration(Calibration { paths: 1 << 14, seed: 1 }); // quick, for the example
//! let monitor = Monitor::new(plan);
//! // Per-seed paired Δp of each point, in seed order.
//! let gain = [9.2, 8.1, 10.4, 9.9, 8.7, 9.5, 10.1, 9.0, 8.8, 9.6];
//! let noise = [0.3, -0.8, 0.5, 1.1, -0.2, -0.9, 0.4, 0.0, -0.6, 0.7];
//! let assessment = monitor.assess(&[&gain[..], &noise[..]])?;
//! assert_eq!(assessment.points[0].decision(), Decision::Better);
//! assert_eq!(assessment.points[1].decision(), Decision::Open);
//! // The first point stops; the second runs to 15 seeds, and so does the reference.
//! let next = monitor.continuation(&assessment);
//! assert_eq!((next.points[0], next.points[1], next.reference), (None, Some(15), Some(15)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

pub mod anytime;
pub mod boundary;
pub mod calibrate;
pub mod dist;
pub mod monitor;
pub mod paired;
pub mod plan;
pub mod power;
pub mod replay;
pub mod rng;
pub mod verify;

pub use calibrate::{Calibration, LookBoundary};
pub use dist::{
    incomplete_beta, normal_cdf, normal_pdf, normal_quantile, t_quantile, t_two_sided_p,
    t_two_sided_quantile,
};
pub use monitor::{Assessment, Continuation, DataError, Decision, LookState, Monitor, PointTrace};
pub use paired::{holm, PairedTest, Summary, TestKind};
pub use plan::{Design, Looks, Plan, PlanError};
pub use power::{minimum_detectable_effect, noncentral_t_cdf, paired_power, pairs_needed};
pub use replay::{
    replay, Agreement, AgreementCounts, PointReplay, ReplayError, ReplayOptions, ReplaySummary,
    Spread, Verdict,
};
