//! Value checks that the YAML's types cannot express. Each failure names the field and, where
//! the key can be found in the text, its line.

use std::collections::HashSet;

use super::{Experiment, TrainerConfig};
use crate::data::DatasetSource;
use crate::error::{Error, Result};
use crate::model::{Head, Preset};
use crate::strategy::StrategySpec;

/// Best-effort line of the last key of `field` (`train.lr` → the first line with `lr:`).
fn line_of(text: &str, field: &str) -> Option<usize> {
    let key = field.rsplit('.').next()?.split('[').next()?;
    let needle = format!("{key}:");
    text.lines()
        .position(|l| {
            let t = l
                .trim_start()
                .trim_start_matches("- ")
                .trim_start_matches('{')
                .trim_start();
            t.starts_with(&needle)
                || l.contains(&format!(" {needle}"))
                || l.contains(&format!("{{{needle}"))
        })
        .map(|i| i + 1)
}

struct Checker<'a> {
    text: &'a str,
    file: &'a str,
}

impl Checker<'_> {
    fn fail(&self, field: &str, message: impl Into<String>) -> Error {
        let location = match line_of(self.text, field) {
            Some(l) => format!("{}:{l}", self.file),
            None => self.file.to_string(),
        };
        Error::input(location, field, message)
    }

    fn ensure(&self, ok: bool, field: &str, message: impl Into<String>) -> Result<()> {
        if ok {
            Ok(())
        } else {
            Err(self.fail(field, message))
        }
    }

    fn positive(&self, value: f64, field: &str) -> Result<()> {
        self.ensure(
            value.is_finite() && value > 0.0,
            field,
            format!("must be a number > 0 (got {value})"),
        )
    }
}

fn safe_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && !s.starts_with('.')
}

/// Check every value of `exp`; `text` and `file` locate errors.
pub fn validate(exp: &Experiment, text: &str, file: &str) -> Result<()> {
    let c = Checker { text, file };
    c.ensure(
        safe_name(&exp.name),
        "name",
        format!(
            "`{}` is not a usable folder name; use letters, digits, - _ .",
            exp.name
        ),
    )?;
    c.ensure(
        !exp.seeds.is_empty(),
        "seeds",
        "needs at least one seed, e.g. [1]",
    )?;
    let unique: HashSet<_> = exp.seeds.iter().collect();
    c.ensure(
        unique.len() == exp.seeds.len(),
        "seeds",
        "seeds must be unique",
    )?;

    if let Err(e) = exp.tasks.check() {
        return Err(c.fail(&e.field, e.message));
    }
    validate_sequential(exp, &c)?;
    if let Some(t) = &exp.trainer {
        return validate_process_study(exp, t, &c);
    }
    let heads = Head::for_tasks(&exp.tasks).map_err(|e| c.fail(&e.field, e.message))?;
    let pose_task = heads.iter().position(|h| *h == Head::Pose);

    c.ensure(
        !exp.datasets.is_empty(),
        "datasets",
        "needs at least one dataset",
    )?;
    let mut names = HashSet::new();
    for (i, d) in exp.datasets.iter().enumerate() {
        let at = format!("datasets[{i}]");
        check_dataset_name(&c, &at, &d.name, &mut names)?;
        let size = d.image_size();
        match &d.source {
            DatasetSource::Synthetic(s) => {
                let at = format!("{at}.synthetic");
                c.ensure(
                    s.identities >= 4,
                    &format!("{at}.identities"),
                    format!("must be ≥ 4 (got {})", s.identities),
                )?;
                c.ensure(
                    s.test_identities >= 2 && s.test_identities + 2 <= s.identities,
                    &format!("{at}.test_identities"),
                    format!(
                        "must be ≥ 2 and leave ≥ 2 training identities (got {} of {})",
                        s.test_identities, s.identities
                    ),
                )?;
                c.ensure(
                    s.val_identities == 0
                        || (s.val_identities >= 2
                            && s.test_identities + s.val_identities + 2 <= s.identities),
                    &format!("{at}.val_identities"),
                    format!(
                        "must be 0 or ≥ 2, and leave ≥ 2 training identities beside the {} test ones (got {} of {})",
                        s.test_identities, s.val_identities, s.identities
                    ),
                )?;
                c.ensure(
                    (2..=7).contains(&s.expressions),
                    &format!("{at}.expressions"),
                    format!("must be 2..=7 (got {})", s.expressions),
                )?;
                c.ensure(
                    s.images_per_cell >= 1,
                    &format!("{at}.images_per_cell"),
                    "must be ≥ 1",
                )?;
                for (v, f) in [
                    (s.identity_separation, "identity_separation"),
                    (s.expression_strength, "expression_strength"),
                    (s.jitter, "jitter"),
                    (s.noise, "noise"),
                    (s.resting_face, "resting_face"),
                    (s.expression_warp, "expression_warp"),
                    (s.tilt, "tilt"),
                ] {
                    c.ensure(
                        v.is_finite() && v >= 0.0,
                        &format!("{at}.{f}"),
                        format!("must be ≥ 0 (got {v})"),
                    )?;
                }
                c.ensure(
                    (0.0..=1.0).contains(&s.identity_tone),
                    &format!("{at}.identity_tone"),
                    format!("must be in [0, 1] (got {})", s.identity_tone),
                )?;
                if let Some(k) = pose_task {
                    c.ensure(
                        s.jitter * s.tilt > 0.0,
                        &format!("tasks[{k}]"),
                        format!(
                            "dataset `{}` draws no tilt (jitter {} × tilt {}), so task `{}` has nothing to learn",
                            d.name, s.jitter, s.tilt, exp.tasks[k].name
                        ),
                    )?;
                }
            }
            DatasetSource::Manifest(m) => {
                c.ensure(
                    m.csv.is_file(),
                    &format!("{at}.manifest.csv"),
                    format!(
                        "{} not found (paths are relative to the working folder)",
                        m.csv.display()
                    ),
                )?;
            }
            DatasetSource::CkPlus(k) => {
                c.ensure(
                    k.root.is_dir(),
                    &format!("{at}.ckplus.root"),
                    format!("{} not found; point it at the folder holding cohn-kanade-images and Emotion", k.root.display()),
                )?;
            }
            DatasetSource::OuluCasia(o) => {
                c.ensure(
                    o.root.is_dir(),
                    &format!("{at}.oulu_casia.root"),
                    format!(
                        "{} not found; point it at the Oulu-CASIA folder",
                        o.root.display()
                    ),
                )?;
            }
            // Checked when the program that registers it loads it.
            DatasetSource::Registered(_) => {}
            DatasetSource::External(_) => {
                return Err(c.fail(
                    &format!("{at}.external"),
                    "an external dataset is read by a process trainer: add `trainer: { command: [...] }` (docs/trainer-contract.md)",
                ))
            }
        }
        if let (Some(k), Some(kind)) = (pose_task, d.on_disk_kind()) {
            return Err(c.fail(
                &format!("tasks[{k}]"),
                format!(
                    "dataset `{}` ({kind}) has no tilt labels for task `{}`; only the synthetic \
                     faces carry them",
                    d.name, exp.tasks[k].name
                ),
            ));
        }
        if let Some((folds, fold, _)) = d.folds() {
            let kind = d.on_disk_kind().unwrap_or("manifest");
            c.ensure(
                folds >= 2,
                &format!("{at}.{kind}.folds"),
                format!("must be ≥ 2 (got {folds})"),
            )?;
            c.ensure(
                fold < folds,
                &format!("{at}.{kind}.fold"),
                format!("must be < folds = {folds} (got {fold})"),
            )?;
            if let Some(v) = d.val_fold() {
                c.ensure(
                    v < folds && v != fold,
                    &format!("{at}.{kind}.val_fold"),
                    format!("must be < folds = {folds} and differ from fold = {fold} (got {v})"),
                )?;
            }
        }
        // The built-in trunks' limits; a registered trunk knows its own.
        if let (Some(size), None) = (size, &exp.model.trunk) {
            let min = if exp.model.preset == Preset::Paper {
                32
            } else {
                16
            };
            c.ensure(
                size % 8 == 0 && (min..=256).contains(&size),
                &format!("{at}.image_size"),
                format!("must be a multiple of 8 in {min}..=256 (got {size})"),
            )?;
        }
    }

    c.ensure(
        exp.model.embedding_dim >= 2,
        "model.embedding_dim",
        "must be ≥ 2",
    )?;
    c.ensure(exp.model.z_dim >= 2, "model.z_dim", "must be ≥ 2")?;
    c.ensure(
        exp.model.expression_dim >= 2,
        "model.expression_dim",
        "must be ≥ 2",
    )?;

    let t = &exp.train;
    c.ensure(
        t.epochs >= 1,
        "train.epochs",
        format!("must be ≥ 1 (got {})", t.epochs),
    )?;
    c.ensure(
        t.batch_size >= 2,
        "train.batch_size",
        format!("must be ≥ 2 (got {})", t.batch_size),
    )?;
    c.positive(t.lr, "train.lr")?;
    c.ensure(t.threads >= 1, "train.threads", "must be ≥ 1")?;
    c.ensure(
        t.center_loss.alpha.is_finite() && t.center_loss.alpha >= 0.0,
        "train.center_loss.alpha",
        "must be ≥ 0",
    )?;
    c.ensure(
        (0.0..=1.0).contains(&t.center_loss.beta),
        "train.center_loss.beta",
        "must be in [0, 1]",
    )?;

    c.ensure(
        !exp.strategies.is_empty(),
        "strategies",
        "needs at least one strategy, e.g. - l3: {}",
    )?;
    for (i, s) in exp.strategies.iter().enumerate() {
        let at = format!("strategies[{i}]");
        if let StrategySpec::External(e) = s {
            return Err(c.fail(
                &format!("{at}.external"),
                format!(
                    "`{}` is a method of a process trainer: add `trainer: {{ command: [...] }}` (docs/trainer-contract.md)",
                    e.name
                ),
            ));
        }
        if let StrategySpec::Registered(r) = s {
            // The name becomes part of run ids and folder names.
            c.ensure(
                safe_name(&r.name),
                &format!("{at}.registered.name"),
                format!(
                    "`{}` is not a usable name; use letters, digits, - _ .",
                    r.name
                ),
            )?;
        }
        if let Err(e) = s.check(&exp.tasks) {
            let field = format!("{at}.{}.{}", s.name(), e.field);
            return Err(c.fail(&field, e.message));
        }
    }
    Ok(())
}

/// The checks of a study whose jobs a process trainer runs: its command, its watch settings,
/// its datasets (the trainer's own) and its strategies (static points and the trainer's
/// methods). The face model's checks do not apply.
fn validate_process_study(exp: &Experiment, t: &TrainerConfig, c: &Checker<'_>) -> Result<()> {
    c.ensure(
        !t.command.is_empty() && !t.command[0].is_empty(),
        "trainer.command",
        "needs the program and its arguments, e.g. [python, train.py, --spec, \"{job_file}\"]",
    )?;
    if let Some(name) = t.unknown_placeholder() {
        return Err(c.fail(
            "trainer.command",
            format!(
                "`{{{name}}}` is not a placeholder; use one of {}",
                TrainerConfig::PARAMS.map(|p| format!("{{{p}}}")).join(", ")
            ),
        ));
    }
    c.positive(t.timeout, "trainer.timeout")?;
    c.ensure(
        t.stop_grace.is_finite() && t.stop_grace >= 0.0,
        "trainer.stop_grace",
        format!("must be a number of seconds ≥ 0 (got {})", t.stop_grace),
    )?;
    c.ensure(
        t.params.is_null() || t.params.is_object(),
        "trainer.params",
        "must be a mapping of settings",
    )?;
    c.ensure(
        !exp.datasets.is_empty(),
        "datasets",
        "needs at least one dataset, e.g. - { name: digits, external: {} }",
    )?;
    let mut names = HashSet::new();
    for (i, d) in exp.datasets.iter().enumerate() {
        let at = format!("datasets[{i}]");
        check_dataset_name(c, &at, &d.name, &mut names)?;
        c.ensure(
            matches!(d.source, DatasetSource::External(_)),
            &at,
            "a process trainer reads its own data: give the dataset as `external: {...}` (its settings go to the trainer)",
        )?;
    }
    c.ensure(
        exp.train.epochs >= 1,
        "train.epochs",
        format!("must be ≥ 1 (got {})", exp.train.epochs),
    )?;
    c.ensure(
        !exp.strategies.is_empty(),
        "strategies",
        "needs at least one strategy, e.g. - external: { name: upgrad }",
    )?;
    for (i, s) in exp.strategies.iter().enumerate() {
        let at = format!("strategies[{i}]");
        match s {
            StrategySpec::Static(_) => {}
            StrategySpec::External(e) => c.ensure(
                safe_name(&e.name),
                &format!("{at}.external.name"),
                format!("`{}` is not a usable name; use letters, digits, - _ .", e.name),
            )?,
            other => {
                return Err(c.fail(
                    &format!("{at}.{}", other.name()),
                    format!(
                        "`{}` runs in weightlab's own trainer; a process trainer takes static points and its own methods (`external: {{ name: ... }}`)",
                        other.name()
                    ),
                ))
            }
        }
        if let Err(e) = s.check(&exp.tasks) {
            let field = format!("{at}.{}.{}", s.name(), e.field);
            return Err(c.fail(&field, e.message));
        }
    }
    Ok(())
}

/// A dataset's label at `at`: usable in paths and tables, and not taken by another entry.
fn check_dataset_name<'a>(
    c: &Checker<'_>,
    at: &str,
    name: &'a String,
    names: &mut HashSet<&'a String>,
) -> Result<()> {
    c.ensure(
        safe_name(name),
        &format!("{at}.name"),
        format!("`{name}` is not a usable label; use letters, digits, - _ ."),
    )?;
    c.ensure(
        names.insert(name),
        &format!("{at}.name"),
        format!("duplicate dataset name `{name}`"),
    )
}

/// A sequential study's looks, margin and level (as weightlab-stats checks them), seeds
/// enough for the last look, a reference among the points, a budget that reaches the first
/// look.
fn validate_sequential(exp: &Experiment, c: &Checker<'_>) -> Result<()> {
    let Some(seq) = &exp.sequential else {
        return Ok(());
    };
    let names = exp.tasks.names();
    let labels: Vec<String> = exp
        .strategies
        .iter()
        .flat_map(|s| s.points(&exp.tasks))
        .map(|p| p.label(&names))
        .collect();
    let reference = seq
        .reference
        .clone()
        .unwrap_or_else(|| crate::strategy::default_baseline(exp.tasks.len()));
    c.ensure(
        labels.contains(&reference),
        "sequential.reference",
        format!(
            "no strategy point `{reference}` to compare the others with; use one of: {}",
            labels.join(", ")
        ),
    )?;
    let points = labels.len().saturating_sub(1).max(1);
    let plan = seq.plan(points).map_err(|e| {
        c.fail(
            &format!("sequential.{}", e.field()),
            e.to_string()
                .split_once(": ")
                .map_or(e.to_string(), |x| x.1.to_string()),
        )
    })?;
    let (first, max) = (plan.looks()[0], plan.max_seeds());
    if let Some(b) = &seq.budget {
        c.ensure(
            b.jobs.is_some() || b.hours.is_some(),
            "sequential.budget",
            "give `jobs` (jobs in all), `hours` (job-hours in all) or both",
        )?;
        if let Some(hours) = b.hours {
            c.ensure(
                hours > 0.0 && hours.is_finite(),
                "sequential.budget.hours",
                format!("{hours} job-hours: give a positive number"),
            )?;
        }
    }
    if let Some(jobs) = seq.budget.as_ref().and_then(|b| b.jobs) {
        let needed = exp.datasets.len() * labels.len() * first;
        c.ensure(
            jobs >= needed,
            "sequential.budget.jobs",
            format!(
                "{jobs} jobs cannot reach the first look: it takes {needed} ({} points and the reference × {first} seeds × {} dataset(s))",
                labels.len() - 1,
                exp.datasets.len()
            ),
        )?;
    }
    c.ensure(
        exp.seeds.len() >= max,
        "seeds",
        format!(
            "a sequential study takes its seeds from `seeds:` in order, and its last look needs {max}; give at least {max} (got {})",
            exp.seeds.len()
        ),
    )?;
    Ok(())
}
