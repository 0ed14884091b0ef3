//! The comparison's tests on constructed logs.

use super::*;
use crate::report::load::{test_job, test_job_n};
use crate::report::stats::minimum_detectable_effect;
use crate::task::Tasks;

#[test]
fn delta_p_is_libmtl_mean_relative_gain() {
    let two = Tasks::default();
    assert_eq!(delta_p(&[0.9, 0.8], &[0.9, 0.8], &two), 0.0);
    // +10 % on one task, −5 % on the other → +2.5 %
    assert!((delta_p(&[0.99, 0.76], &[0.9, 0.8], &two) - 2.5).abs() < 1e-9);
    // A lower-is-better metric counts a fall as a gain: +10 %, −5 %, and an error 20 % lower.
    let three: Tasks = serde_yaml::from_str("[fv, ex, pose]").unwrap();
    let d = delta_p(&[0.99, 0.76, 4.0], &[0.9, 0.8, 5.0], &three);
    assert!((d - (10.0 - 5.0 + 20.0) / 3.0).abs() < 1e-9, "{d}");
}

fn logs(jobs: Vec<crate::report::JobLogs>) -> SweepLogs {
    SweepLogs {
        name: "t".into(),
        tasks: Tasks::default(),
        seeds: (1..=10).collect(),
        sequential: None,
        jobs,
    }
}

#[test]
fn a_copy_of_the_reference_does_not_count_as_noise() {
    // w1=0.3 repeats the reference on every seed (zero spread); only w1=0.7's spread may
    // size what the study detects.
    let acc = |v: f64| [(v, v)];
    let mut jobs = Vec::new();
    for (seed, v) in [(1, 0.88), (2, 0.72), (3, 0.808)] {
        jobs.push(test_job(seed, Some(0.5), &acc(0.8), &[]));
        jobs.push(test_job(seed, Some(0.3), &acc(0.8), &[]));
        jobs.push(test_job(seed, Some(0.7), &acc(v), &[]));
    }
    let opts = CompareOptions::default();
    let rows = compare(&logs(jobs), "r", &opts).unwrap();
    let noisy = rows.iter().find(|r| r.point == "static w1=0.7").unwrap();
    let sd = noisy.power.unwrap().sd;
    let sentence = &detectability(&rows, &opts)[0].1;
    assert!(
        sentence.contains(&format!("paired SD of Δp {sd:.2}–{sd:.2} %")),
        "{sentence}"
    );
    assert!(!sentence.contains("—"), "{sentence}");
}

#[test]
fn points_are_paired_by_seed_and_judged_after_holm() {
    // Baseline: FV 0.80, EX 0.80 on seeds 1..3. `good` is 0.88 on seeds 1..3 (Δp +10 %
    // on each: no spread, so the exact sign test, p = 2 · 2⁻³ = 0.25), `noisy` is +10,
    // −10, +1 % (a tie), `lone` has a seed the baseline lacks (no pair, no test).
    let acc = |v: f64| [(v, v)];
    let mut jobs = Vec::new();
    for seed in 1..=3 {
        jobs.push(test_job(seed, Some(0.5), &acc(0.8), &[]));
        jobs.push(test_job(seed, Some(0.3), &acc(0.88), &[]));
    }
    for (seed, v) in [(1, 0.88), (2, 0.72), (3, 0.808)] {
        jobs.push(test_job(seed, Some(0.7), &acc(v), &[]));
    }
    jobs.push(test_job(9, Some(0.9), &acc(0.9), &[]));
    let logs = logs(jobs);
    let rows = compare(&logs, "r", &CompareOptions::default()).unwrap();
    let row = |l: &str| rows.iter().find(|r| r.point == l).unwrap();
    let good = row("static w1=0.3");
    assert!((good.delta_p.unwrap().mean - 10.0).abs() < 1e-9);
    assert_eq!(good.p_value, Some(0.25));
    assert_eq!(good.test, Some(TestKind::ExactSign));
    assert_eq!(good.verdict, Verdict::Tie);
    let noisy = row("static w1=0.7");
    assert!((noisy.delta_p.unwrap().mean - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(noisy.verdict, Verdict::Tie);
    assert_eq!(noisy.test, Some(TestKind::PairedT));
    // Two tested points: Holm doubles the smaller p (0.25 → 0.5) and keeps the larger,
    // made monotone.
    assert_eq!(good.p_holm, Some(0.5));
    assert_eq!(row("static w1=0.5").verdict, Verdict::Baseline);
    let lone = row("static w1=0.9");
    assert_eq!(lone.verdict, Verdict::Untested);
    assert_eq!(lone.delta_p, None);
    assert_eq!(lone.paired_seeds, 0);
    assert!(verdict_text(lone, 0.05).contains("no seed shared"));
    assert_eq!(noisy.paired_seeds, 3);
    // The sign of a tie reads as "not separated", never "equal".
    assert!(verdict_text(noisy, 0.05).starts_with("tie: not separated at this power (MDE "));
    // Best Δp first.
    assert_eq!(rows[0].point, "static w1=0.3");
    let csv = to_csv(&rows, &CompareOptions::default());
    let header = csv.lines().next().unwrap();
    assert!(header.starts_with("dataset,strategy,seeds,fv_acc_mean"));
    assert!(header.contains("p_value,p_holm,verdict,folder,paired_seeds,sd_delta_p"));
    for col in [
        "fv_delta",
        "ex_p_holm",
        "dominated_by",
        "seeds_needed",
        "mde_delta_p",
    ] {
        assert!(header.split(',').any(|c| c == col), "{col}");
    }
    assert_eq!(
        header.split(',').count(),
        CSV_FIXED.len() + 10 * 2 - 1 + 2,
        "the fixed columns, 10 per task (one weight column for two tasks), selected_epoch and epochs"
    );
    // An explicit baseline that does not exist is an input error naming the flag.
    let opts = CompareOptions {
        baseline: Some("no such point".into()),
        ..CompareOptions::default()
    };
    let err = compare(&logs, "r", &opts).unwrap_err().to_string();
    assert!(
        err.contains("--baseline") && err.contains("static w1=0.3"),
        "{err}"
    );
}

/// Jobs of static points whose (FV, EX) on seed s is `f(w1, s)`.
fn grid(ws: &[f64], seeds: i64, f: impl Fn(f64, i64) -> (f64, f64)) -> SweepLogs {
    let mut jobs = Vec::new();
    for &w in ws {
        for s in 1..=seeds {
            jobs.push(test_job(s, Some(w), &[f(w, s)], &[]));
        }
    }
    logs(jobs)
}

/// Seed noise shared by every point of a seed, and a little of each point's own.
fn noise(w: f64, s: i64) -> f64 {
    let own = ((w * 37.0 + s as f64 * 11.0).sin() * 1e4).fract() * 0.004;
    0.01 * ((s as f64) * 1.7).sin() + own
}

#[test]
fn per_task_effects_and_opposite_signs_under_a_tie() {
    // w1 = 0.8 gains 4 FV points and loses 4 EX points on every seed against 0.5: Δp
    // about 0 (a tie), both task effects significant, in opposite directions.
    let logs = grid(&[0.5, 0.8], 8, |w, s| {
        let d = if w == 0.8 { 0.04 } else { 0.0 };
        (0.80 + d + noise(w, s), 0.80 - d + noise(w + 1.0, s))
    });
    let rows = compare(&logs, "r", &CompareOptions::default()).unwrap();
    let r = rows.iter().find(|r| r.point == "static w1=0.8").unwrap();
    assert_eq!(r.verdict, Verdict::Tie, "{r:?}");
    let (fv, ex) = (r.deltas[0].unwrap(), r.deltas[1].unwrap());
    assert!((fv.summary.mean - 4.0).abs() < 0.5 && (ex.summary.mean + 4.0).abs() < 0.5);
    assert!(fv.p_holm.unwrap() < 0.05 && ex.p_holm.unwrap() < 0.05);
    assert!(r.opposite_effects);
    assert!(verdict_text(r, 0.05).contains("hides opposite task effects (fv better, ex worse"));
    // Without the EX loss the point is simply better.
    let logs = grid(&[0.5, 0.8], 8, |w, s| {
        let d = if w == 0.8 { 0.04 } else { 0.0 };
        (0.80 + d + noise(w, s), 0.80 + noise(w + 1.0, s))
    });
    let rows = compare(&logs, "r", &CompareOptions::default()).unwrap();
    let r = rows.iter().find(|r| r.point == "static w1=0.8").unwrap();
    assert_eq!(r.verdict, Verdict::Better);
    assert!(!r.opposite_effects);
    assert_eq!(verdict_text(r, 0.05), "better");
    // Gaining 6 FV points for 2 EX points is better on Δp, and a trade the verdict names.
    let logs = grid(&[0.5, 0.8], 8, |w, s| {
        let (up, down) = if w == 0.8 { (0.06, 0.02) } else { (0.0, 0.0) };
        (0.80 + up + noise(w, s), 0.80 - down + noise(w + 1.0, s))
    });
    let rows = compare(&logs, "r", &CompareOptions::default()).unwrap();
    let r = rows.iter().find(|r| r.point == "static w1=0.8").unwrap();
    assert_eq!(r.verdict, Verdict::Better, "{r:?}");
    assert_eq!(
        verdict_text(r, 0.05),
        "better; trades tasks (fv better, ex worse after Holm)"
    );
}

#[test]
fn single_task_reference_uses_each_tasks_end() {
    // FV rises with w1 up to 0.7 and falls beyond; EX falls with w1.
    let fv = |w: f64| 0.80 + 0.1 * w - 0.2 * (w - 0.7).max(0.0);
    let logs = grid(&[0.0, 0.5, 0.7, 1.0], 6, |w, s| {
        (fv(w) + noise(w, s), 0.95 - 0.2 * w + noise(w + 2.0, s))
    });
    let opts = CompareOptions {
        reference: Reference::SingleTask,
        ..CompareOptions::default()
    };
    let rows = compare(&logs, "r", &opts).unwrap();
    let row = |l: &str| rows.iter().find(|r| r.point == l).unwrap();
    // FV against w1 = 1 (0.84): +3 points at 0.7; EX against w1 = 0 (0.95): −14 points.
    let r = row("static w1=0.7");
    assert!(
        (r.deltas[0].unwrap().summary.mean - 3.0).abs() < 0.5,
        "{r:?}"
    );
    assert!((r.deltas[1].unwrap().summary.mean + 14.0).abs() < 0.5);
    // Each end is the reference of its own task: not tested on it, tested on the other.
    assert!(row("static w1=1.0").deltas[0].is_none() && row("static w1=1.0").deltas[1].is_some());
    assert!(row("static w1=0.0").deltas[1].is_none() && row("static w1=0.0").deltas[0].is_some());
    // No point is the baseline; every point is tested on Δp.
    assert!(rows
        .iter()
        .all(|r| r.verdict != Verdict::Baseline && r.p_value.is_some()));
    // Δp of w1 = 0.7 against the ends: mean of +3/0.84·… and −14/95·…
    let want = delta_p(&[fv(0.7), 0.95 - 0.14], &[fv(1.0), 0.95], &Tasks::default());
    assert!((r.delta_p.unwrap().mean - want).abs() < 0.3);
    // Without an end the reference is an input error naming the flag.
    let logs = grid(&[0.5, 1.0], 3, |w, s| (0.8 + noise(w, s), 0.8));
    let err = compare(&logs, "r", &opts).unwrap_err().to_string();
    assert!(
        err.contains("--reference") && err.contains("static w1=0.0"),
        "{err}"
    );
}

#[test]
fn a_static_point_dominates_what_it_beats_on_one_task_without_losing_the_other() {
    // w1 = 0.6 beats 0.9 on EX by 10 points and ties it on FV: it dominates 0.9. 0.3 is
    // better on EX than 0.6 but worse on FV: no domination between them.
    let logs = grid(&[0.3, 0.6, 0.9], 6, |w, s| {
        let (fv, ex) = match w {
            0.3 => (0.80, 0.95),
            0.6 => (0.90, 0.90),
            _ => (0.90, 0.80),
        };
        (fv + noise(w, s), ex + noise(w + 3.0, s))
    });
    let opts = CompareOptions {
        baseline: Some("static w1=0.6".into()),
        ..CompareOptions::default()
    };
    let rows = compare(&logs, "r", &opts).unwrap();
    let row = |l: &str| rows.iter().find(|r| r.point == l).unwrap();
    assert_eq!(
        row("static w1=0.9").dominated_by.as_deref(),
        Some("static w1=0.6")
    );
    assert_eq!(row("static w1=0.6").dominated_by, None);
    assert_eq!(dominance_text(row("static w1=0.6")), "not dominated");
    assert_eq!(row("static w1=0.3").dominated_by, None);
}

#[test]
fn power_columns_follow_the_noncentral_t() {
    // Seven static points on 5 seeds; the tested points' Holm level is α/6.
    let logs = grid(&[0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], 5, |w, s| {
        (0.8 + noise(w, s), 0.8 + noise(w + 5.0, s))
    });
    let rows = compare(&logs, "r", &CompareOptions::default()).unwrap();
    for r in rows.iter().filter(|r| r.verdict != Verdict::Baseline) {
        let p = r.power.unwrap();
        assert!((p.holm_level - 0.05 / 6.0).abs() < 1e-15);
        let sd = r.delta_p.unwrap().std.unwrap();
        assert_eq!(p.sd, sd);
        let want = minimum_detectable_effect(sd, 5, 0.05 / 6.0, 0.8).unwrap();
        assert_eq!(p.mde_holm, Some(want));
        // At the MDE the power is 80 %; the seeds for 1 % reach it, one fewer does not.
        let n = p.seeds_needed.unwrap();
        let pw = |n| crate::report::stats::paired_power(1.0, sd, n, 0.05 / 6.0).unwrap();
        assert!(pw(n) >= 0.8 && (n == 2 || pw(n - 1) < 0.8));
    }
    let text = power_table(&rows, &CompareOptions::default());
    assert!(text.contains("Holm's first level α/6"), "{text}");
    assert!(
        text.contains("Separating 1 % at Holm's level takes"),
        "{text}"
    );
}

#[test]
fn missing_pairs_are_counted_and_warned_about() {
    let mut logs = grid(&[0.5, 0.7], 4, |w, s| {
        (0.8 + noise(w, s), 0.8 + noise(w, s))
    });
    logs.jobs
        .retain(|j| !(j.static_w1() == Some(0.7) && j.seed == 2));
    let rows = compare(&logs, "r", &CompareOptions::default()).unwrap();
    let r = rows.iter().find(|r| r.point == "static w1=0.7").unwrap();
    assert_eq!((r.paired_seeds, r.reference_seeds, r.seeds), (3, 4, 3));
    let w = warnings(&rows);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("3 of the reference's 4 seeds paired"));
    assert!(to_markdown(&rows, &CompareOptions::default()).contains("**Warning:**"));

    // A sequential study that stopped the point at its 3 seeds: by design, not a missing job.
    let mut stopped = rows.clone();
    let outcome = |decided_at: Option<usize>| SequentialOutcome {
        decision: if decided_at.is_some() {
            weightlab_stats::Decision::Better
        } else {
            weightlab_stats::Decision::Open
        },
        decided_at,
        seeds: 3,
        interval: None,
        design: "group-sequential",
        looks: vec![3, 4],
        margin: 1.0,
        alpha: 0.05,
    };
    let k = stopped
        .iter()
        .position(|r| r.point == "static w1=0.7")
        .unwrap();
    stopped[k].sequential = Some(outcome(Some(1)));
    assert!(warnings(&stopped).is_empty());
    // Its 3 jobs and the reference's 4, where a fixed study of 4 seeds runs 8.
    let sentence = sequential_sentences(&stopped).unwrap().join(" ");
    assert!(
        sentence.contains(
            "with the reference's 4, 7 jobs done against 8 for the fixed study (12.5 % fewer)"
        ),
        "{sentence}"
    );
    // Still open with a seed the reference has: a job missing, failed or running, and the
    // study's cost is not final.
    stopped[k].sequential = Some(outcome(None));
    assert_eq!(warnings(&stopped).len(), 1);
    let sentence = sequential_sentences(&stopped).unwrap().join(" ");
    assert!(
        sentence.contains("7 jobs done so far against 8 for the fixed study.")
            && !sentence.contains("% fewer"),
        "{sentence}"
    );
}

/// Three tasks, the third lower-is-better: Δp counts its fall as a gain, each task gets its own
/// Holm family, dominance needs a gain on one task and a loss on none, and the single-task
/// reference is each task's vertex of the simplex.
#[test]
fn three_tasks_read_each_metric_in_its_direction() {
    let three: Tasks = serde_yaml::from_str("[fv, ex, pose]").unwrap();
    // (fv, ex, pose error) of each static point, plus seed noise shared by the points.
    let points: [(Vec<f64>, [f64; 3]); 5] = [
        (vec![1.0, 0.0, 0.0], [0.90, 0.50, 6.0]),
        (vec![0.0, 1.0, 0.0], [0.60, 0.92, 6.0]),
        (vec![0.0, 0.0, 1.0], [0.60, 0.50, 2.0]),
        (vec![0.4, 0.3, 0.3], [0.85, 0.85, 3.0]),
        // Worse than 0.4/0.3/0.3 on fv and pose, the same on ex: dominated by it.
        (vec![0.5, 0.25, 0.25], [0.80, 0.85, 3.5]),
    ];
    let mut jobs = Vec::new();
    for (w, base) in &points {
        for s in 1..=6i64 {
            let n = noise(w[0] + 2.0 * w[1], s);
            let m = vec![base[0] + n, base[1] + noise(w[1], s), base[2] * (1.0 + n)];
            jobs.push(test_job_n(&three, s, Some(w.clone()), &[m], &[]));
        }
    }
    let logs = SweepLogs {
        name: "t".into(),
        tasks: three.clone(),
        seeds: (1..=6).collect(),
        sequential: None,
        jobs,
    };
    let opts = CompareOptions {
        baseline: Some("static fv=0.4 ex=0.3 pose=0.3".into()),
        ..CompareOptions::default()
    };
    let rows = compare(&logs, "r", &opts).unwrap();
    let row = |l: &str| rows.iter().find(|r| r.point == l).unwrap();
    let worse = row("static fv=0.5 ex=0.25 pose=0.25");
    // Δp per seed by hand from the jobs' own metrics, against the baseline's.
    let metrics = |w: &[f64]| -> Vec<Vec<f64>> {
        logs.jobs
            .iter()
            .filter(|j| j.static_w.as_deref() == Some(w))
            .map(|j| j.metrics(Metric::Selected))
            .collect()
    };
    let (a, b) = (metrics(&[0.5, 0.25, 0.25]), metrics(&[0.4, 0.3, 0.3]));
    let by_hand: Vec<f64> = a
        .iter()
        .zip(&b)
        .map(|(m, r)| {
            100.0 / 3.0 * ((m[0] - r[0]) / r[0] + (m[1] - r[1]) / r[1] - (m[2] - r[2]) / r[2])
        })
        .collect();
    let mean = by_hand.iter().sum::<f64>() / 6.0;
    assert!((worse.delta_p.unwrap().mean - mean).abs() < 1e-9);
    assert!(mean < 0.0, "a higher tilt error and lower fv lose: {mean}");
    // The tilt difference is in degrees (× 1), the accuracies' in points (× 100).
    let pose = worse.deltas[2].unwrap().summary.mean;
    let want = a.iter().zip(&b).map(|(m, r)| m[2] - r[2]).sum::<f64>() / 6.0;
    assert!((pose - want).abs() < 1e-9, "{pose} vs {want}");
    // Holm per task: the pose family holds the tested points of the pose column only.
    let pose_tested = rows.iter().filter(|r| r.deltas[2].is_some()).count();
    assert_eq!(pose_tested, 4);
    let p: Vec<f64> = rows
        .iter()
        .filter_map(|r| r.deltas[2].map(|d| d.p_value))
        .collect();
    let adjusted = crate::report::stats::holm(&p);
    let got: Vec<f64> = rows
        .iter()
        .filter_map(|r| r.deltas[2].and_then(|d| d.p_holm))
        .collect();
    assert_eq!(got, adjusted);
    assert_eq!(
        worse.dominated_by.as_deref(),
        Some("static fv=0.4 ex=0.3 pose=0.3")
    );
    assert_eq!(row("static fv=0.4 ex=0.3 pose=0.3").dominated_by, None);
    // Single-task: each task against its own vertex; the vertex is not tested on its task.
    let single = CompareOptions {
        reference: Reference::SingleTask,
        ..CompareOptions::default()
    };
    let rows = compare(&logs, "r", &single).unwrap();
    let row = |l: &str| rows.iter().find(|r| r.point == l).unwrap();
    let pose_alone = row("static fv=0.0 ex=0.0 pose=1.0");
    assert!(pose_alone.deltas[2].is_none() && pose_alone.deltas[0].is_some());
    let mid = row("static fv=0.4 ex=0.3 pose=0.3");
    // About 0.85 − 0.90 on fv (points) and 3 − 2 degrees on the tilt.
    assert!((mid.deltas[0].unwrap().summary.mean + 5.0).abs() < 1.5);
    assert!((mid.deltas[2].unwrap().summary.mean - 1.0).abs() < 0.3);
    let csv = to_csv(&rows, &single);
    let header = csv.lines().next().unwrap();
    for c in ["pose_mae_mean", "pose_delta", "pose_p_holm", "mean_w_pose"] {
        assert!(header.split(',').any(|x| x == c), "{c}: {header}");
    }
}

#[test]
fn a_two_task_csv_keeps_the_columns_of_earlier_versions() {
    // The header of reports/fig2/compare.csv as committed before tasks had names of their own.
    let legacy = "dataset,strategy,seeds,fv_acc_mean,fv_acc_std,ex_acc_mean,ex_acc_std,delta_p,\
best_epoch,mean_w_fv,wall_s,fv_acc_ci_low,fv_acc_ci_high,ex_acc_ci_low,ex_acc_ci_high,\
delta_p_ci_low,delta_p_ci_high,p_value,p_holm,verdict,folder,paired_seeds,sd_delta_p,\
mde_delta_p,mde_level,mde_delta_p_alpha,seeds_needed,seeds_needed_alpha,effect,fv_delta,\
fv_delta_ci_low,fv_delta_ci_high,fv_p_value,fv_p_holm,ex_delta,ex_delta_ci_low,\
ex_delta_ci_high,ex_p_value,ex_p_holm,dominated_by,opposite_effects,test,reference,\
selected_epoch,epochs";
    assert_eq!(
        super::render::csv_header(&Tasks::default()).join(","),
        legacy
    );
}

/// A small-valued metric's effect keeps three significant digits; accuracy points keep two
/// decimals.
#[test]
fn task_cells_show_small_effects() {
    let three: Tasks = serde_yaml::from_str(
        "[fv, ex, { name: inpaint, kind: regression, metric: mse, scale: 0.1 }]",
    )
    .unwrap();
    let effect = |mean, lo, hi| {
        Some(TaskEffect {
            summary: Summary {
                n: 30,
                mean,
                std: Some(0.001),
                ci: Some((lo, hi)),
            },
            p_value: 1e-30,
            p_holm: Some(1e-29),
            test: TestKind::PairedT,
        })
    };
    let tasks: Vec<_> = three.iter().collect();
    assert_eq!(
        super::render::task_cell(&effect(-0.02207, -0.02301, -0.02113), tasks[2]),
        "-0.0221 [-0.0230, -0.0211] (p_H 1.0e-29)"
    );
    assert_eq!(
        super::render::task_cell(&effect(-0.18, -0.24, -0.12), tasks[2]),
        "-0.18 [-0.24, -0.12] (p_H 1.0e-29)"
    );
    // Accuracy differences are in points: two decimals however small.
    assert_eq!(
        super::render::task_cell(&effect(0.02, -0.03, 0.07), tasks[0]),
        "+0.02 [-0.03, +0.07] (p_H 1.0e-29)"
    );
}
