//! `report html` in a real browser: headless Chromium (Debian's `chromium`, installed by
//! `.ci/run`) loads the page from disk, runs its script and takes a screenshot. The page must
//! render (not blank), hold the comparison and jobs tables, log no console error, reach no
//! network, and sort its table from a `#sort=` link.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            let out = Command::new("which").arg(name).output().ok()?;
            out.status
                .success()
                .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        })
}

/// Run headless Chromium on `url` with `args`; (stdout, stderr).
fn browse(browser: &Path, profile: &Path, url: &str, args: &[&str]) -> (String, String) {
    let out = Command::new(browser)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Console messages that are errors (uncaught exceptions, console.error).
fn console_errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("CONSOLE") && (l.contains("ERROR") || l.contains("Uncaught")))
        .collect()
}

#[test]
fn the_html_report_renders_in_a_real_browser() {
    let Some(browser) = chromium() else {
        skipped(
            "the_html_report_renders_in_a_real_browser",
            "no chromium on PATH (`apt-get install chromium`; .ci/run installs it)",
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let strategies = "  - static: { w1: [0.0, 0.5, 1.0] }\n  - yin: {}\n  - l3: {}";
    let yaml = tiny_yaml("page", strategies, "").replace("seeds: [1]", "seeds: [1, 2, 3]");
    let exp = write(tmp.path(), "p.yaml", &yaml);
    sweep_ok(tmp.path(), &exp, "r", 2);
    let o = run(tmp.path(), &["report", "html", "r", "--out", "site"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = tmp.path().join("site/report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: figures inline, nothing fetched.
    for needle in ["<img", "<link", "src=\"http", "src='http", "@import"] {
        assert!(!html.contains(needle), "the page loads something: {needle}");
    }
    assert_eq!(
        html.matches("<svg").count(),
        5,
        "five inline figures (fig2, pareto, compare, weights, curves)"
    );
    assert!(
        html.contains("name: page"),
        "the experiment YAML is missing"
    );

    let url = format!("file://{}", page.display());
    let profile = tmp.path().join("profile");
    let (dom, log) = browse(&browser, &profile, &url, &["--dump-dom"]);
    assert!(
        dom.contains("data-ready=\"1\""),
        "the page's script did not finish:\n{log}"
    );
    assert!(
        console_errors(&log).is_empty(),
        "console errors: {:?}",
        console_errors(&log)
    );
    assert!(dom.contains("<table id=\"compare\""), "no comparison table");
    let compare_rows = dom
        .split("<table id=\"compare\"")
        .nth(1)
        .unwrap()
        .split("<tbody>")
        .nth(1)
        .unwrap()
        .split("</table>")
        .next()
        .unwrap()
        .matches("<tr>")
        .count();
    assert_eq!(compare_rows, 5, "one row per strategy point");
    assert_eq!(
        dom.matches("<td class=\"done\">done</td>").count(),
        15,
        "15 done jobs"
    );

    // Sorted by the strategy column from the link: the labels come out in order.
    let (sorted, _) = browse(
        &browser,
        &profile,
        &format!("{url}#sort=1"),
        &["--dump-dom"],
    );
    let table = sorted.split("<table id=\"compare\"").nth(1).unwrap();
    let table = table.split("</table>").next().unwrap();
    let labels: Vec<&str> = table
        .split("<tr>")
        .skip(1)
        .filter_map(|row| row.split("<td>").nth(2)?.split("</td>").next())
        .collect();
    let mut expected = labels.clone();
    expected.sort();
    assert_eq!(labels.len(), 5, "{table}");
    assert_eq!(labels, expected, "not sorted by strategy");

    // A screenshot: decodable, of the asked size, not blank.
    let shot = tmp.path().join("shot.png");
    browse(
        &browser,
        &profile,
        &url,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,1600",
        ],
    );
    let img = image::open(&shot).unwrap().to_luma8();
    assert_eq!((img.width(), img.height()), (1200, 1600));
    let px: Vec<f64> = img.pixels().map(|p| p.0[0] as f64).collect();
    let mean = px.iter().sum::<f64>() / px.len() as f64;
    let var = px.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / px.len() as f64;
    assert!(var > 200.0, "the screenshot looks blank (variance {var})");
}
