//! Command-line overrides of an experiment, the way Hydra taught researchers to write them:
//! `train.epochs=5`, `seeds=[1,2,3]`, `datasets.0.synthetic.image_size=48`,
//! `'strategies=[{l3: {lr: 0.05}}]'`; `~log` removes a key. The path is dotted (a number
//! indexes a list), the value is YAML. Each override goes through the same validation as the
//! file, so a bad one is reported by name.

use serde_yaml::{Mapping, Value};

use crate::error::{Error, Result};

/// One `path=value` (or `~path`) override.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// As written on the command line.
    pub text: String,
    path: Vec<String>,
    /// The new value; `None` removes the key.
    value: Option<Value>,
}

impl Override {
    /// Parse `text`. Errors name the override.
    pub fn parse(text: &str) -> Result<Self> {
        let bad =
            |message: String| Error::input(format!("override `{text}`"), "(override)", message);
        let (path, value) = if let Some(path) = text.strip_prefix('~') {
            (path, None)
        } else {
            let (path, value) = text.split_once('=').ok_or_else(|| {
                bad("write it as key.path=value (or ~key.path to remove a key)".into())
            })?;
            let value: Value = serde_yaml::from_str(value)
                .map_err(|e| bad(format!("the value is not YAML: {e}")))?;
            (path, Some(value))
        };
        let path: Vec<String> = path.split('.').map(str::to_string).collect();
        if path.iter().any(|p| p.is_empty()) {
            return Err(bad("empty key in the dotted path".into()));
        }
        Ok(Self {
            text: text.to_string(),
            path,
            value,
        })
    }

    /// The dotted path, e.g. `train.epochs`.
    pub fn field(&self) -> String {
        self.path.join(".")
    }

    /// Apply to the YAML document `doc`.
    pub fn apply(&self, doc: &mut Value) -> Result<()> {
        let bad = |message: String| {
            Error::input(format!("override `{}`", self.text), self.field(), message)
        };
        let (last, parents) = self.path.split_last().expect("a non-empty path");
        let mut node = doc;
        for (depth, key) in parents.iter().enumerate() {
            let at = self.path[..=depth].join(".");
            node = match node {
                Value::Mapping(m) => m
                    .entry(Value::String(key.clone()))
                    .or_insert_with(|| Value::Mapping(Mapping::new())),
                Value::Sequence(s) => {
                    let len = s.len();
                    index(key, len)
                        .and_then(|i| s.get_mut(i))
                        .ok_or_else(|| bad(format!("`{at}`: no item {key} in a list of {len}")))?
                }
                _ => {
                    return Err(bad(format!(
                        "`{at}` is inside a value that is not a map or list"
                    )))
                }
            };
        }
        match (node, &self.value) {
            (Value::Mapping(m), Some(v)) => {
                m.insert(Value::String(last.clone()), v.clone());
            }
            (Value::Mapping(m), None) => {
                if m.remove(Value::String(last.clone())).is_none() {
                    return Err(bad("there is no such key to remove".into()));
                }
            }
            (Value::Sequence(s), value) => {
                let len = s.len();
                let i = index(last, len)
                    .filter(|&i| i < len)
                    .ok_or_else(|| bad(format!("no item {last} in a list of {len}")))?;
                match value {
                    Some(v) => s[i] = v.clone(),
                    None => {
                        s.remove(i);
                    }
                }
            }
            _ => return Err(bad("its parent is not a map or list".into())),
        }
        Ok(())
    }
}

/// A list index: a number below `len`.
fn index(key: &str, len: usize) -> Option<usize> {
    key.parse::<usize>().ok().filter(|&i| i < len)
}

/// The experiment text to keep in the run folder: the file's own text when there are no
/// overrides, else a header naming the file and the overrides and the document they produce.
pub fn effective_text(
    file: &str,
    original: &str,
    doc: &Value,
    overrides: &[Override],
) -> Result<String> {
    if overrides.is_empty() {
        return Ok(original.to_string());
    }
    let body = serde_yaml::to_string(doc)
        .map_err(|e| Error::Failed(format!("cannot write the overridden experiment: {e}")))?;
    let listed: Vec<&str> = overrides.iter().map(|o| o.text.as_str()).collect();
    Ok(format!(
        "# {file} with the command-line overrides: {}\n{body}",
        listed.join(" ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        serde_yaml::from_str(
            "name: x\nseeds: [1]\ntrain: { epochs: 3 }\ndatasets:\n  - name: a\n    synthetic: { image_size: 32 }\n",
        )
        .unwrap()
    }

    fn applied(text: &str) -> Result<Value> {
        let mut d = doc();
        Override::parse(text)?.apply(&mut d)?;
        Ok(d)
    }

    #[test]
    fn paths_reach_maps_and_list_items_and_values_are_yaml() {
        let d = applied("train.epochs=5").unwrap();
        assert_eq!(d["train"]["epochs"], Value::from(5));
        let d = applied("seeds=[1,2,3]").unwrap();
        assert_eq!(d["seeds"].as_sequence().unwrap().len(), 3);
        let d = applied("datasets.0.synthetic.image_size=48").unwrap();
        assert_eq!(d["datasets"][0]["synthetic"]["image_size"], Value::from(48));
        let d = applied("strategies=[{any: {lr: 0.05}}]").unwrap();
        assert_eq!(d["strategies"][0]["any"]["lr"], Value::from(0.05));
        let d = applied("log.every_steps=0").unwrap();
        assert_eq!(d["log"]["every_steps"], Value::from(0));
        let d = applied("~train").unwrap();
        assert!(d.get("train").is_none());
    }

    #[test]
    fn a_bad_override_names_itself() {
        for (text, needle) in [
            ("train.epochs", "key.path=value"),
            ("datasets.3.name=b", "no item 3"),
            ("train.epochs.x=1", "not a map or list"),
            ("~train.lr", "no such key"),
            ("seeds=[1,", "not YAML"),
            ("train..lr=1", "empty key"),
        ] {
            let e = applied(text).unwrap_err().to_string();
            assert!(
                e.contains(&format!("override `{text}`")) && e.contains(needle),
                "{e}"
            );
        }
    }
}
