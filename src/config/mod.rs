//! [`Experiment`]: the study YAML (schema v1), its validation, and its expansion into [`Job`]s
//! with stable run ids.
//!
//! Parsing rejects unknown keys; every error names the file, the line where it can, and the
//! dotted field path.

mod expand;
mod overrides;
mod schema;
mod sequential;
mod train;
mod trainer;
mod validate;

pub use expand::{config_hash, expand, Job, ResolvedJob};
pub use overrides::Override;
pub use schema::{Adapter, BackendKind, Experiment, LogConfig};
pub use sequential::{Budget, DesignName, LooksConfig, SequentialConfig};
pub use train::{CenterLossConfig, OptimizerKind, TrainConfig};
pub use trainer::TrainerConfig;

use std::path::Path;

use crate::error::{Error, Result};

/// Read, parse and validate the experiment at `path`.
pub fn load(path: &Path) -> Result<Experiment> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::input(
            path.display().to_string(),
            "(file)",
            format!("cannot read experiment: {e}"),
        )
    })?;
    parse(&text, &path.display().to_string())
}

/// Read `path`, apply the command-line `overrides` (see [`Override`]) one by one, validating
/// after each, and return the experiment with the text to keep in the run folder (the file's
/// own text without overrides). The file's errors name its lines; an override's error names
/// the override and the field.
pub fn load_with_overrides(path: &Path, overrides: &[String]) -> Result<(Experiment, String)> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::input(
            file.clone(),
            "(file)",
            format!("cannot read experiment: {e}"),
        )
    })?;
    let mut exp = parse(&text, &file)?;
    if overrides.is_empty() {
        return Ok((exp, text));
    }
    let parsed = overrides
        .iter()
        .map(|o| Override::parse(o))
        .collect::<Result<Vec<_>>>()?;
    let mut doc: serde_yaml::Value =
        serde_yaml::from_str(&text).map_err(|e| yaml_error(&e, &file))?;
    for o in &parsed {
        o.apply(&mut doc)?;
        let applied = serde_yaml::to_string(&doc)
            .map_err(|e| Error::Failed(format!("cannot write the overridden experiment: {e}")))?;
        exp = parse(&applied, &file).map_err(|e| match e {
            Error::Input { field, message, .. } => {
                Error::input(format!("{file}: override `{}`", o.text), field, message)
            }
            other => other,
        })?;
    }
    let kept = overrides::effective_text(&file, &text, &doc, &parsed)?;
    Ok((exp, kept))
}

/// Parse and validate experiment YAML `text`; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Experiment> {
    let exp: Experiment = serde_yaml::from_str(text).map_err(|e| yaml_error(&e, file))?;
    validate::validate(&exp, text, file)?;
    Ok(exp)
}

/// Turn a serde_yaml error into an input error `file:line: field: message`.
fn yaml_error(e: &serde_yaml::Error, file: &str) -> Error {
    let location = match e.location() {
        Some(l) => format!("{file}:{}", l.line()),
        None => file.to_string(),
    };
    let mut message = e.to_string();
    // serde_yaml appends " at line L column C"; the location already says it.
    if let Some(cut) = message.find(" at line ") {
        message.truncate(cut);
    }
    // serde_yaml prefixes the field path ("train.lr: invalid type ...") when it knows it; a
    // value that checks itself (the task list) names a deeper field in its own message.
    let (field, message) = match message.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') => match rest.split_once(": ") {
            Some((inner, rest)) if inner.starts_with(path) && !inner.contains(' ') => {
                (inner.to_string(), rest.to_string())
            }
            _ => (path.to_string(), rest.to_string()),
        },
        _ => ("(document)".to_string(), message),
    };
    Error::input(location, field, message)
}
