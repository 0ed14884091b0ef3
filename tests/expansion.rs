//! Expansion of an experiment into jobs: the grid, seeds, stable ids, duplicates.

use weightlab::config::{expand, parse};

fn exp(strategies: &str, seeds: &str, lr: &str) -> String {
    format!(
        "name: x
seeds: {seeds}
datasets:
  - name: synth
    synthetic: {{ identities: 8, test_identities: 3 }}
train: {{ lr: {lr} }}
strategies:
{strategies}
"
    )
}

#[test]
fn grid_gives_eleven_exact_points_and_seeds_multiply() {
    let e = parse(
        &exp(
            "  - static: { w1: { from: 0.0, to: 1.0, step: 0.1 } }",
            "[1]",
            "0.001",
        ),
        "t.yaml",
    )
    .unwrap();
    let jobs = expand(&e).unwrap();
    assert_eq!(jobs.len(), 11);
    let w1: Vec<f64> = jobs
        .iter()
        .map(|j| j.strategy.static_w1().unwrap())
        .collect();
    let expected: Vec<f64> = (0..=10).map(|k| k as f64 / 10.0).collect();
    assert_eq!(w1, expected);
    // Each run id names the exact decimal: `w0.3`, never `w0.30000000000000004`.
    for (j, w) in jobs.iter().zip(&expected) {
        let name = format!("synth-static-w{}-s1-", weightlab::strategy::format_w1(*w));
        assert!(j.run_id.starts_with(&name), "{} for w1 = {w}", j.run_id);
        assert_eq!(j.run_id.len(), name.len() + 8, "{}", j.run_id);
    }
    assert!(
        jobs[3].run_id.starts_with("synth-static-w0.3-s1-"),
        "{}",
        jobs[3].run_id
    );

    let e3 = parse(
        &exp(
            "  - static: { w1: { from: 0.0, to: 1.0, step: 0.1 } }\n  - l3: {}",
            "[1, 2, 3]",
            "0.001",
        ),
        "t.yaml",
    )
    .unwrap();
    assert_eq!(expand(&e3).unwrap().len(), 12 * 3);
}

#[test]
fn ids_are_stable_and_change_with_the_config() {
    let text = exp(
        "  - static: { w1: [0.2, 0.5] }\n  - yin: {}\n  - l3: {}",
        "[1, 2]",
        "0.001",
    );
    let a = expand(&parse(&text, "t.yaml").unwrap()).unwrap();
    let b = expand(&parse(&text, "t.yaml").unwrap()).unwrap();
    assert_eq!(a, b);
    let ids: std::collections::HashSet<_> = a.iter().map(|j| j.run_id.clone()).collect();
    assert_eq!(ids.len(), a.len());
    let c = expand(
        &parse(
            &exp(
                "  - static: { w1: [0.2, 0.5] }\n  - yin: {}\n  - l3: {}",
                "[1, 2]",
                "0.002",
            ),
            "t.yaml",
        )
        .unwrap(),
    )
    .unwrap();
    for (x, y) in a.iter().zip(&c) {
        assert_ne!(x.run_id, y.run_id);
    }
    // Threads change speed, not results: same ids.
    let threads = text.replace("train: { lr: 0.001 }", "train: { lr: 0.001, threads: 2 }");
    let d = expand(&parse(&threads, "t.yaml").unwrap()).unwrap();
    assert_eq!(
        a.iter().map(|j| &j.run_id).collect::<Vec<_>>(),
        d.iter().map(|j| &j.run_id).collect::<Vec<_>>()
    );
}

#[test]
fn duplicate_points_collapse() {
    let e = parse(
        &exp(
            "  - static: { w1: [0.5, 0.5] }\n  - static: { w1: { from: 0.4, to: 0.6, step: 0.1 } }",
            "[1]",
            "0.001",
        ),
        "t.yaml",
    )
    .unwrap();
    let w1: Vec<f64> = expand(&e)
        .unwrap()
        .iter()
        .map(|j| j.strategy.static_w1().unwrap())
        .collect();
    assert_eq!(w1, [0.5, 0.4, 0.6]);
}
