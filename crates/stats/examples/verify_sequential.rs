//! `make verify-sequential`: the sequential designs of weightlab-stats checked by simulation
//! (boundary constants, type-I error over 10⁶ null paths at three data scales, family-wise
//! error over 14 correlated points, equivalence at ±margin, a negative control that must be
//! flagged, and a replay of a synthetic fixed study). Prints a table, writes it to `--out`
//! (default docs/sequential-verification.txt), exits 1 when a check fails or the negative
//! control is not flagged.
//!
//! ```sh
//! cargo run --release -p weightlab-stats --example verify-sequential -- [--out FILE] [--paths N] [--families N]
//! ```

use std::fmt::Write as _;
use std::time::Instant;

use weightlab_stats::boundary::{constant_bound, exit_probabilities, Shape};
use weightlab_stats::rng::Rng;
use weightlab_stats::verify::{
    allowed_rate, fixed_level_multipliers, mixture_by_integration, simulate, Correlation, Scenario,
    Tally,
};
use weightlab_stats::{
    holm, replay, Calibration, Design, Looks, Monitor, PairedTest, Plan, ReplayOptions, Verdict,
};

/// The looks of issue #33: first at 10 seeds, then every 5, at most 40.
const LOOKS: Looks = Looks::Every {
    first: 10,
    every: 5,
    max: 40,
};
const ALPHA: f64 = 0.05;
const K: usize = 14;
/// Seeds of the paths and of the studies (the calibration has its own, Calibration::DEFAULT).
const SEED: u64 = 2026;

struct Args {
    out: String,
    paths: u64,
    families: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        out: "docs/sequential-verification.txt".into(),
        paths: 1_000_000,
        families: 200_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--out" => args.out = value()?,
            "--paths" => args.paths = value()?.parse().map_err(|e| format!("--paths: {e}"))?,
            "--families" => {
                args.families = value()?.parse().map_err(|e| format!("--families: {e}"))?
            }
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    Ok(args)
}

/// The report and the verdicts of its checks.
struct Report {
    text: String,
    failed: Vec<String>,
    checks: usize,
}

impl Report {
    fn line(&mut self, s: impl AsRef<str>) {
        println!("{}", s.as_ref());
        self.text.push_str(s.as_ref());
        self.text.push('\n');
    }

    /// A real check: it must pass.
    fn check(&mut self, name: &str, pass: bool, detail: String) {
        self.checks += 1;
        let verdict = if pass { "PASS" } else { "FAIL" };
        self.line(format!("  {verdict}  {name}: {detail}"));
        if !pass {
            self.failed.push(name.to_string());
        }
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn plan(design: Design, points: usize, margin: f64) -> Plan {
    Plan::new(design, &LOOKS, ALPHA, margin, points).expect("the verification's plans are valid")
}

fn rate(events: u64, n: u64) -> f64 {
    events as f64 / n as f64
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let started = Instant::now();
    let mut r = Report {
        text: String::new(),
        failed: Vec::new(),
        checks: 0,
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    r.line("weightlab-stats: verification of the sequential designs (make verify-sequential)");
    r.line(format!(
        "looks at 10, 15, ..., 40 seeds; alpha = {ALPHA}; K = {K} points where a family is simulated"
    ));
    r.line(format!(
        "null paths per check: {} (K = 1) or {} studies of 14 points (K = 14); studies per family-wise check: {}; path seed {SEED}; calibration: {} paths, seed {}",
        args.paths,
        args.paths,
        args.families,
        Calibration::DEFAULT.paths,
        Calibration::DEFAULT.seed
    ));
    r.line(format!("machine: {} ({threads} threads)", cpu_model()));
    r.line(
        "bound of a rate check: the level plus 3 standard errors, sqrt(p(1-p)/n) at the level p",
    );

    let mut clock = Instant::now();
    let mut lap = |r: &mut Report| {
        r.line(format!("   ({:.1} s)", clock.elapsed().as_secs_f64()));
        clock = Instant::now();
    };
    constants(&mut r);
    lap(&mut r);
    let gs1 = Monitor::new(plan(Design::GroupSequential, 1, 0.05));
    let gs14 = Monitor::new(plan(Design::GroupSequential, K, 1.0));
    let av1 = Monitor::new(plan(Design::AnytimeValid, 1, 0.05));
    let av14 = Monitor::new(plan(Design::AnytimeValid, K, 1.0));
    boundaries(&mut r, &gs1, &gs14, &av1, &av14);
    lap(&mut r);
    mixture(&mut r);
    lap(&mut r);
    type_one(&mut r, &args, &gs1, &av1, &gs14, &av14);
    lap(&mut r);
    equivalence(&mut r, &args, &gs14, &av14);
    lap(&mut r);
    family(&mut r, &args, &gs14, &av14);
    lap(&mut r);
    negative_control(&mut r, &args);
    lap(&mut r);
    replays(&mut r, &gs14, &av14);
    lap(&mut r);

    let elapsed = started.elapsed().as_secs_f64();
    r.line("");
    r.line(format!(
        "{} of {} checks passed; {:.0} s wall on {} ({threads} threads)",
        r.checks - r.failed.len(),
        r.checks,
        elapsed,
        cpu_model()
    ));
    if !r.failed.is_empty() {
        r.line(format!("FAILED: {}", r.failed.join("; ")));
    }
    if let Err(e) = std::fs::write(&args.out, &r.text) {
        eprintln!("error: {}: {e}", args.out);
        std::process::exit(2);
    }
    eprintln!("wrote {}", args.out);
    std::process::exit(if r.failed.is_empty() { 0 } else { 1 });
}

fn constants(r: &mut Report) {
    r.line("");
    r.line("== 1. Boundary constants (two-sided alpha = 0.05, equally spaced looks; Jennison & Turnbull 2000, tables 2.1, 2.3)");
    for (shape, name, k, textbook) in [
        (Shape::Pocock, "Pocock", 4, 2.361),
        (Shape::Pocock, "Pocock", 5, 2.413),
        (Shape::OBrienFleming, "O'Brien-Fleming", 4, 2.024),
        (Shape::OBrienFleming, "O'Brien-Fleming", 5, 2.040),
    ] {
        let info: Vec<f64> = (1..=k).map(|i| i as f64).collect();
        let c = constant_bound(shape, &info, 0.05);
        r.check(
            &format!("{name} K = {k}"),
            (c - textbook).abs() < 5e-4,
            format!("C = {c:.5}, textbook {textbook:.3}"),
        );
    }
}

fn boundaries(r: &mut Report, gs1: &Monitor, gs14: &Monitor, av1: &Monitor, av14: &Monitor) {
    r.line("");
    r.line(
        "== 2. The designs' multipliers at the looks (interval = mean +- multiplier * s/sqrt(n))",
    );
    for (monitor, any, level) in [
        (gs1, av1, "alpha = 0.05 (K = 1)"),
        (gs14, av14, "alpha/14 (K = 14)"),
    ] {
        r.line(format!("-- per-point level {level}"));
        r.line("  seeds  t     spent(t)   z        t mult   calibrated  sim. spent: t mult / calibrated   anytime CS mult");
        let cs = any.multipliers();
        for (b, cs) in monitor
            .group_sequential()
            .expect("group-sequential")
            .iter()
            .zip(cs)
        {
            r.line(format!(
                "  {:5}  {:.3} {:.3e}  {:7.4}  {:7.4}  {:7.4}{}   {:.3e} / {:.3e}          {:7.4}",
                b.seeds,
                b.fraction,
                b.spent,
                b.z,
                b.t_multiplier,
                b.multiplier,
                if b.multiplier > b.t_multiplier {
                    " (raised)"
                } else {
                    "         "
                },
                b.simulated_spent_uncalibrated,
                b.simulated_spent,
                cs
            ));
        }
    }
}

fn mixture(r: &mut Report) {
    r.line("");
    r.line("== 3. The anytime design's closed-form mixture e-value against numerical integration");
    let mut rng = Rng::new(SEED);
    let mut worst: f64 = 0.0;
    let mut cases = 0;
    for n in [3usize, 5, 10, 20, 40] {
        for (mu0, g) in [(0.0, 1.0), (0.4, 1.0), (0.0, 0.3), (-0.2, 3.0)] {
            let x: Vec<f64> = (0..n).map(|_| 0.3 + rng.normal()).collect();
            let mean = x.iter().sum::<f64>() / n as f64;
            let ssd: f64 = x.iter().map(|v| (v - mean).powi(2)).sum();
            let closed = weightlab_stats::anytime::log_e_value(n, mean, ssd, mu0, g).exp();
            let integrated = mixture_by_integration(&x, mu0, g);
            worst = worst.max((closed / integrated - 1.0).abs());
            cases += 1;
        }
    }
    r.check(
        "closed form = integral",
        worst < 1e-8,
        format!("largest relative difference {worst:.1e} over {cases} samples (n = 3 to 40, four (mu0, g))"),
    );
}

fn null_scenario(
    points: usize,
    families: u64,
    margin: f64,
    scales: Vec<f64>,
    seed: u64,
) -> Scenario {
    Scenario {
        means: vec![0.0; points],
        margin,
        correlation: Correlation::Independent,
        families,
        seed,
        scales,
    }
}

fn mean_seeds(t: &Tally) -> f64 {
    t.seeds as f64 / t.points as f64
}

fn type_one(
    r: &mut Report,
    args: &Args,
    gs1: &Monitor,
    av1: &Monitor,
    gs14: &Monitor,
    av14: &Monitor,
) {
    r.line("");
    r.line("== 4. Per-point type-I error under the planned looks (mu = 0; false claims: better or worse)");
    r.line("      margin 0.05 sd, too narrow for an equivalence claim, so no null path stops early as equivalent");
    let scales = vec![0.01, 1.0, 100.0];
    for (name, monitor) in [("group-sequential", gs1), ("anytime-valid", av1)] {
        let t = simulate(
            monitor,
            &null_scenario(1, args.paths, 0.05, scales.clone(), SEED),
        );
        let base = t[1];
        let errors = base.better + base.worse;
        let measured = rate(errors, base.points);
        let bound = allowed_rate(ALPHA, base.points);
        r.check(
            &format!("{name}, K = 1, level 0.05"),
            measured <= bound,
            format!(
                "{errors} of {} paths = {measured:.5} (bound {bound:.5}); mean seeds {:.2}",
                base.points,
                mean_seeds(&base)
            ),
        );
        let same = t.iter().all(|x| *x == base);
        r.check(
            &format!("{name}, identical at scales 0.01, 1, 100"),
            same,
            format!(
                "false claims per scale: {}",
                t.iter()
                    .map(|x| (x.better + x.worse).to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    // K = 14 independent points, each at α/14 (Holm's first level for the anytime design):
    // as many simulated studies as above, so 14 times the point paths, which a level 14 times
    // smaller needs for the same relative precision.
    let families = args.paths;
    for (name, monitor) in [("group-sequential", gs14), ("anytime-valid", av14)] {
        let m = monitor.with_margin(0.05).expect("positive");
        let t = simulate(&m, &null_scenario(K, families, 0.05, vec![1.0], SEED + 1))[0];
        let errors = t.better + t.worse;
        let measured = rate(errors, t.points);
        let level = ALPHA / K as f64;
        let bound = allowed_rate(level, t.points);
        r.check(
            &format!("{name}, K = 14, per point (level alpha/14 = {level:.5})"),
            measured <= bound,
            format!(
                "{errors} of {} point paths = {measured:.6} (bound {bound:.6}); mean seeds {:.2}",
                t.points,
                mean_seeds(&t)
            ),
        );
    }
}

fn equivalence(r: &mut Report, args: &Args, gs14: &Monitor, av14: &Monitor) {
    r.line("");
    r.line("== 5. Equivalence claims at mu = +-margin (margin = 1 sd; K = 14 independent points; false claim: the");
    r.line("      interval of a decided point inside (-margin, +margin), as `equivalent` or as better/worse within the margin;");
    r.line("      a claim in the wrong direction is counted too, but bounded only by the family-wise checks of section 6)");
    let families = args.paths;
    let level = ALPHA / (2.0 * K as f64);
    for (name, monitor) in [("group-sequential", gs14), ("anytime-valid", av14)] {
        for mu in [1.0, -1.0] {
            let scenario = Scenario {
                means: vec![mu; K],
                margin: 1.0,
                correlation: Correlation::Independent,
                families,
                seed: SEED + 2,
                scales: vec![1.0],
            };
            let t = simulate(monitor, &scenario)[0];
            let measured = rate(t.false_equivalence, t.points);
            let bound = allowed_rate(level, t.points);
            let wrong = if mu > 0.0 {
                t.false_worse
            } else {
                t.false_better
            };
            r.check(
                &format!("{name}, mu = {mu:+}"),
                measured <= bound,
                format!(
                    "{} of {} point paths = {measured:.6} (alpha/2K = {level:.6}, bound {bound:.6}); wrong direction {wrong}; decided {} / {} / {} (better/worse/equivalent); mean seeds {:.2}",
                    t.false_equivalence,
                    t.points,
                    t.better,
                    t.worse,
                    t.equivalent,
                    mean_seeds(&t)
                ),
            );
        }
    }
}

fn family(r: &mut Report, args: &Args, gs14: &Monitor, av14: &Monitor) {
    r.line("");
    r.line("== 6. Family-wise error over 14 correlated points (a shared reference: correlation 0.5), any false claim");
    r.line("      false: better at mu <= 0, worse at mu >= 0, equivalence (or within the margin) at |mu| >= margin");
    let mut mixed = vec![0.0; 7];
    mixed.extend([1.0; 7]);
    let configs: [(&str, Vec<f64>, f64); 5] = [
        ("all mu = 0, margin 0.05 sd", vec![0.0; K], 0.05),
        ("all mu = 0, margin 1 sd", vec![0.0; K], 1.0),
        ("all mu = +margin (1 sd)", vec![1.0; K], 1.0),
        ("all mu = -margin (1 sd)", vec![-1.0; K], 1.0),
        ("7 at mu = 0, 7 at +margin (1 sd)", mixed, 1.0),
    ];
    let bound = allowed_rate(ALPHA, args.families);
    for (name, monitor) in [("group-sequential", gs14), ("anytime-valid", av14)] {
        for (i, (label, means, margin)) in configs.iter().enumerate() {
            let scenario = Scenario {
                means: means.clone(),
                margin: *margin,
                correlation: Correlation::SharedReference,
                families: args.families,
                seed: SEED + 10 + i as u64,
                scales: vec![1.0],
            };
            let t = simulate(monitor, &scenario)[0];
            let measured = rate(t.families_with_false_claim, t.families);
            r.check(
                &format!("{name}, {label}"),
                measured <= bound,
                format!(
                    "{} of {} studies = {measured:.5} (bound {bound:.5}); false better/worse/equivalence {} / {} / {}; mean seeds per point {:.2}",
                    t.families_with_false_claim,
                    t.families,
                    t.false_better,
                    t.false_worse,
                    t.false_equivalence,
                    mean_seeds(&t)
                ),
            );
        }
    }
}

fn negative_control(r: &mut Report, args: &Args) {
    r.line("");
    r.line("== 7. Negative control: a fixed-level t-test (alpha = 0.05) after every round, K = 1");
    let plan = plan(Design::GroupSequential, 1, 0.05);
    let looks = plan.looks().to_vec();
    let naive = Monitor::with_multipliers(plan, fixed_level_multipliers(&looks, ALPHA))
        .expect("one multiplier per look");
    let t = simulate(&naive, &null_scenario(1, args.paths, 0.05, vec![1.0], SEED))[0];
    let errors = t.better + t.worse;
    let measured = rate(errors, t.points);
    let bound = allowed_rate(ALPHA, t.points);
    let passes = measured <= bound;
    r.line(format!(
        "  {}  naive repeated t-test, type-I check: {errors} of {} paths = {measured:.5} (bound {bound:.5})",
        if passes { "PASS" } else { "FAIL" },
        t.points
    ));
    // The same design with a known variance, by the recursive integration: the simulated
    // rate above should sit a little above it (t statistics have heavier tails jointly).
    let info: Vec<f64> = looks.iter().map(|&n| n as f64).collect();
    let z = -weightlab_stats::normal_quantile(ALPHA / 2.0);
    let normal: f64 = exit_probabilities(&vec![z; info.len()], &info, 0.0)
        .iter()
        .sum();
    r.line(format!(
        "        (the same looks with a known variance, z-test at 1.96 each time, by recursive integration: {normal:.5})"
    ));
    r.check(
        "the harness flags the negative control",
        !passes,
        if passes {
            "the naive design passed: the harness cannot tell".into()
        } else {
            "its type-I check fails, as it must".into()
        },
    );
}

fn replays(r: &mut Report, gs14: &Monitor, av14: &Monitor) {
    r.line("");
    r.line("== 8. Replay of a synthetic fixed study (14 points x 40 seeds, shared reference, 3 % of values missing)");
    r.line("      in 1,000 random seed orders; fixed verdicts from Holm-adjusted paired t-tests at 0.05");
    let means = [
        0.0, 0.0, 0.0, 0.0, 0.25, 0.25, 0.5, 0.5, 0.75, 1.0, -0.5, -0.75, -1.0, 1.5,
    ];
    let seeds = 40;
    let mut rng = Rng::new(SEED + 100);
    let reference: Vec<f64> = (0..seeds).map(|_| rng.normal()).collect();
    let matrix: Vec<Vec<f64>> = means
        .iter()
        .map(|mu| {
            reference
                .iter()
                .map(|r| {
                    let d = mu + (rng.normal() - r) * std::f64::consts::FRAC_1_SQRT_2;
                    if rng.uniform() < 0.03 {
                        f64::NAN
                    } else {
                        d
                    }
                })
                .collect()
        })
        .collect();
    let tests: Vec<PairedTest> = matrix
        .iter()
        .map(|row| {
            let present: Vec<f64> = row.iter().copied().filter(|v| !v.is_nan()).collect();
            PairedTest::of(&present, 0.95).expect("40 seeds")
        })
        .collect();
    let adjusted = holm(&tests.iter().map(|t| t.p).collect::<Vec<_>>());
    let verdicts: Vec<Verdict> = tests
        .iter()
        .zip(&adjusted)
        .map(|(t, p)| match (*p <= ALPHA, t.summary.mean > 0.0) {
            (false, _) => Verdict::Tie,
            (true, true) => Verdict::Better,
            (true, false) => Verdict::Worse,
        })
        .collect();
    for (name, monitor) in [("group-sequential", gs14), ("anytime-valid", av14)] {
        let monitor = monitor.with_margin(1.0).expect("positive");
        let s = replay(&monitor, &matrix, &verdicts, ReplayOptions::default())
            .expect("a rectangular study");
        r.line(format!(
            "-- {name}, margin 1 sd: jobs per replay mean {:.1}, 5/50/95 % {:.0} / {:.0} / {:.0} (fixed study {})",
            s.jobs.mean, s.jobs.p05, s.jobs.p50, s.jobs.p95, s.fixed_jobs
        ));
        r.line("   point  mu     fixed    same  undecided  reversed  separated(tie)  equivalent(separated)  mean jobs");
        let mut line = String::new();
        for (j, p) in s.points.iter().enumerate() {
            line.clear();
            let a = p.agreement;
            let _ = write!(
                line,
                "   {:5}  {:+.2}  {:7}  {:4}  {:9}  {:8}  {:14}  {:21}  {:9.1}",
                j,
                means[j],
                p.verdict.as_str(),
                a.same,
                a.undecided,
                a.reversed,
                a.separated_where_fixed_tied,
                a.equivalent_where_fixed_separated,
                p.mean_jobs
            );
            r.line(&line);
        }
    }
}
