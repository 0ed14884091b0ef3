//! Claims: every number a document states, with the file and the query that produce it
//! (`claims.yaml` beside a report; docs/reports.md, "Claims"). [`check`] recomputes each claim
//! and lists what disagrees: a value that does not round to the number written, a claimed text
//! the document no longer holds, or a number in the document that no claim covers. A report
//! whose prose drifts from its data then fails `make test` instead of reaching a reader.
//!
//! A claim quotes a stretch of the document (`text`) and gives one query per number in it, in
//! order. A number matches when the query's value rounds to it at the precision it is written
//! with (`0.853` is matched by 0.8534, not by 0.8536). Numbers in code (fenced blocks and
//! `inline spans`) and in link targets are not claims; everything else is.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// A claims file: the document it covers and its claims.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimsFile {
    /// The document, relative to the claims file.
    pub document: PathBuf,
    /// The claims, in any order.
    pub claims: Vec<Claim>,
}

/// One stretch of the document and where each of its numbers comes from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// The stretch, as written (line breaks and runs of spaces match any whitespace; `*`
    /// emphasis, code and link targets are ignored, as in the document).
    pub text: String,
    /// One query per number in `text`, in order.
    #[serde(default)]
    pub from: Vec<Query>,
    /// For a number that is a definition rather than a result (a confidence level, a paper's
    /// arXiv id): why it needs no query. Covers every number of `text`.
    #[serde(default)]
    pub given: Option<String>,
}

/// Where one number comes from. Paths are relative to the claims file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    /// A CSV file with a header row.
    #[serde(default)]
    pub csv: Option<PathBuf>,
    /// With `csv`: the rows to use, `column: condition`; a condition is a value to equal, a
    /// list of values (any of them), or `<x`, `<=x`, `>x`, `>=x`, `!=x` on a number.
    #[serde(default)]
    pub row: BTreeMap<String, Condition>,
    /// With `csv`: the column read (not needed for `agg: count`).
    #[serde(default)]
    pub column: Option<String>,
    /// With `csv` or `yaml`: how the matched values become one: `one` (exactly one row, the
    /// default), `mean`, `median`, `min`, `max`, `max_abs`, `sum`, `count`.
    #[serde(default)]
    pub agg: Agg,
    /// A YAML file.
    #[serde(default)]
    pub yaml: Option<PathBuf>,
    /// With `yaml`: the dotted path to a number, or to a list (with `agg`).
    #[serde(default)]
    pub path: Option<String>,
    /// A text file.
    #[serde(default)]
    pub text: Option<PathBuf>,
    /// With `text`: the number is the first one after the first occurrence of this marker.
    #[serde(default)]
    pub after: Option<String>,
    /// With `text`: the number after the marker is an elapsed time (`h:mm:ss` or `m:ss.ss`);
    /// take its `hours`, `minutes` (the minute field), `seconds` or `total_minutes`.
    #[serde(default)]
    pub time: Option<TimePart>,
    /// A factor applied to the value (100 for a fraction written in %, −1 for a loss written
    /// as a positive number).
    #[serde(default = "one")]
    pub scale: f64,
}

fn one() -> f64 {
    1.0
}

/// Which cells a row's column may hold.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Condition {
    /// A value to equal, or a comparison (`<0.3`).
    One(String),
    /// Any of these values.
    AnyOf(Vec<String>),
}

impl Condition {
    fn holds(&self, cell: &str) -> bool {
        match self {
            Condition::One(c) => matches(cell, c),
            Condition::AnyOf(list) => list.iter().any(|c| c == cell),
        }
    }
}

/// How the matched values become one number.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Agg {
    /// Exactly one value.
    #[default]
    One,
    /// Their mean.
    Mean,
    /// Their median.
    Median,
    /// The smallest.
    Min,
    /// The largest.
    Max,
    /// The largest absolute value.
    MaxAbs,
    /// Their sum.
    Sum,
    /// How many there are.
    Count,
}

/// A part of an elapsed time.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TimePart {
    /// Whole hours.
    Hours,
    /// The minute field (below 60 when hours are given).
    Minutes,
    /// The seconds field.
    Seconds,
    /// The whole time in minutes.
    TotalMinutes,
}

/// A number as the document writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// Its text, e.g. `−0.76` or `4.7e-10`.
    pub text: String,
    /// Its value.
    pub value: f64,
    /// Half a unit of its last digit: the value a query must round to.
    pub half_ulp: f64,
    /// Its byte offset in the checked text.
    pub at: usize,
}

/// What the check found wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// A claim's text is not in the document.
    Missing {
        /// The claim's text.
        text: String,
    },
    /// A claim gives a different count of queries than its text has numbers.
    Count {
        /// The claim's text.
        text: String,
        /// Numbers in it.
        numbers: usize,
        /// Queries given.
        queries: usize,
    },
    /// A query's value does not round to the number written.
    Mismatch {
        /// The claim's text.
        text: String,
        /// The number as written.
        written: String,
        /// The query's value.
        value: f64,
    },
    /// A query cannot be evaluated (a file, column or row that is not there).
    Query {
        /// The claim's text.
        text: String,
        /// What went wrong.
        message: String,
    },
    /// A number of the document that no claim covers.
    Uncovered {
        /// The number.
        written: String,
        /// The words around it.
        context: String,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Missing { text } => write!(f, "claimed text not in the document: \"{text}\""),
            Problem::Count {
                text,
                numbers,
                queries,
            } => write!(
                f,
                "\"{text}\": {numbers} number(s) but {queries} quer(ies); give one `from` entry per number or `given:`"
            ),
            Problem::Mismatch {
                text,
                written,
                value,
            } => write!(
                f,
                "\"{text}\": {written} is written, the data say {value}"
            ),
            Problem::Query { text, message } => write!(f, "\"{text}\": {message}"),
            Problem::Uncovered { written, context } => write!(
                f,
                "{written} in \"…{context}…\" is in no claim: add one to claims.yaml"
            ),
        }
    }
}

/// The outcome of checking one claims file.
#[derive(Debug)]
pub struct Outcome {
    /// The document checked.
    pub document: PathBuf,
    /// Numbers checked against a query.
    pub checked: usize,
    /// Numbers covered by `given:`.
    pub given: usize,
    /// What is wrong (empty: the document passes).
    pub problems: Vec<Problem>,
}

impl Outcome {
    /// One line per problem after a summary line.
    pub fn render(&self) -> String {
        let mut out = format!(
            "{}: {} number(s) checked against their files, {} given, {} problem(s)\n",
            self.document.display(),
            self.checked,
            self.given,
            self.problems.len()
        );
        for p in &self.problems {
            out.push_str(&format!("  {p}\n"));
        }
        out
    }
}

/// Check the claims file `path` against its document and data files.
pub fn check(path: &Path) -> Result<Outcome> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "cannot read", e))?;
    let file: ClaimsFile = serde_yaml::from_str(&text).map_err(|e| {
        let location = e.location().map_or(path.display().to_string(), |l| {
            format!("{}:{}", path.display(), l.line())
        });
        Error::input(location, "claims", e.to_string())
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let doc_path = base.join(&file.document);
    let doc = std::fs::read_to_string(&doc_path)
        .map_err(|e| Error::io(&doc_path, "cannot read the claims' document", e))?;
    let prose = prose(&doc);
    let mut covered = vec![false; prose.len()];
    let mut problems = Vec::new();
    let (mut checked, mut given) = (0, 0);
    for claim in &file.claims {
        let want = prose_of_claim(&claim.text);
        let starts: Vec<usize> = prose.match_indices(&want).map(|(i, _)| i).collect();
        if starts.is_empty() || want.is_empty() {
            problems.push(Problem::Missing {
                text: claim.text.clone(),
            });
            continue;
        }
        for &s in &starts {
            covered[s..s + want.len()]
                .iter_mut()
                .for_each(|c| *c = true);
        }
        let numbers = numbers(&want);
        if claim.given.is_some() {
            given += numbers.len();
            continue;
        }
        if numbers.len() != claim.from.len() {
            problems.push(Problem::Count {
                text: claim.text.clone(),
                numbers: numbers.len(),
                queries: claim.from.len(),
            });
            continue;
        }
        for (n, q) in numbers.iter().zip(&claim.from) {
            match evaluate(q, base) {
                Ok(v) if (v - n.value).abs() <= n.half_ulp * (1.0 + 1e-9) + 1e-12 => checked += 1,
                Ok(v) => problems.push(Problem::Mismatch {
                    text: claim.text.clone(),
                    written: n.text.clone(),
                    value: v,
                }),
                Err(message) => problems.push(Problem::Query {
                    text: claim.text.clone(),
                    message,
                }),
            }
        }
    }
    for n in numbers(&prose) {
        if !covered[n.at] {
            let from = floor_char(&prose, n.at.saturating_sub(40));
            let to = ceil_char(&prose, (n.at + n.text.len() + 40).min(prose.len()));
            problems.push(Problem::Uncovered {
                written: n.text.clone(),
                context: prose[from..to].to_string(),
            });
        }
    }
    Ok(Outcome {
        document: doc_path,
        checked,
        given,
        problems,
    })
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// The document as claims see it: no fenced code, no inline code, no link targets, no `*`,
/// whitespace runs as one space.
pub fn prose(doc: &str) -> String {
    let mut kept = String::with_capacity(doc.len());
    let mut fenced = false;
    for line in doc.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            kept.push('\n');
            continue;
        }
        if !fenced {
            kept.push_str(line);
        }
        kept.push('\n');
    }
    let mut out = String::with_capacity(kept.len());
    let mut chars = kept.chars().peekable();
    let mut space = false;
    while let Some(c) = chars.next() {
        match c {
            '`' => {
                // An inline code span: skipped up to its closing backtick.
                for d in chars.by_ref() {
                    if d == '`' {
                        break;
                    }
                }
                push_space(&mut out, &mut space);
            }
            ']' if chars.peek() == Some(&'(') => {
                out.push(']');
                space = false;
                let mut depth = 0;
                for d in chars.by_ref() {
                    match d {
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            '*' => {}
            c if c.is_whitespace() => push_space(&mut out, &mut space),
            c => {
                out.push(c);
                space = false;
            }
        }
    }
    out.trim().to_string()
}

fn push_space(out: &mut String, space: &mut bool) {
    if !*space {
        out.push(' ');
        *space = true;
    }
}

fn prose_of_claim(text: &str) -> String {
    prose(text)
}

/// The numbers written in `text`: digits not touching a letter, digit, `_` or `.` on either
/// side, with an optional sign (`+`, `-`, `−`) right before them, decimals, thousands
/// separators (`1,008`) and an exponent (`4.7e-10`).
pub fn numbers(text: &str) -> Vec<Written> {
    let b: Vec<(usize, char)> = text.char_indices().collect();
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let (at, c) = b[i];
        let prev = if i > 0 { Some(b[i - 1].1) } else { None };
        if !c.is_ascii_digit() || prev.is_some_and(|p| word(p) || p == '.') {
            i += 1;
            continue;
        }
        let mut j = i;
        let mut digits = String::new();
        let mut decimals: i32 = 0;
        let mut after_point = false;
        while j < b.len() {
            let c = b[j].1;
            let next_digit = b.get(j + 1).is_some_and(|n| n.1.is_ascii_digit());
            if c.is_ascii_digit() {
                digits.push(c);
                if after_point {
                    decimals += 1;
                }
            } else if c == '.' && !after_point && next_digit {
                digits.push('.');
                after_point = true;
            } else if c == ','
                && !after_point
                && b.get(j + 1..j + 4)
                    .is_some_and(|s| s.iter().all(|x| x.1.is_ascii_digit()))
                && !b.get(j + 4).is_some_and(|x| x.1.is_ascii_digit())
            {
                // `1,008`: a thousands separator, not a list's comma (`1, 2`).
            } else {
                break;
            }
            j += 1;
        }
        let mut exponent = 0i32;
        if j < b.len() && b[j].1 == 'e' {
            let mut k = j + 1;
            let mut sign = 1;
            if k < b.len() && matches!(b[k].1, '-' | '−' | '+') {
                if b[k].1 != '+' {
                    sign = -1;
                }
                k += 1;
            }
            let start = k;
            while k < b.len() && b[k].1.is_ascii_digit() {
                k += 1;
            }
            if k > start {
                let e: String = b[start..k].iter().map(|x| x.1).collect();
                exponent = sign * e.parse::<i32>().unwrap_or(0);
                j = k;
            }
        }
        if b.get(j).is_some_and(|x| word(x.1)) {
            // `2nd`, `3½`, `10⁶`: part of a word.
            while j < b.len() && (word(b[j].1) || b[j].1 == '.') {
                j += 1;
            }
            i = j;
            continue;
        }
        let (start, negative) = match prev {
            Some('-' | '−') => (i - 1, true),
            Some('+') => (i - 1, false),
            _ => (i, false),
        };
        // A sign only when it does not join two numbers (`0.2–0.7`, `3-5`).
        let (start, negative) = if start < i
            && start > 0
            && (b[start - 1].1.is_alphanumeric() || b[start - 1].1 == ')')
        {
            (i, false)
        } else {
            (start, negative)
        };
        let magnitude: f64 = digits.parse().unwrap_or(f64::NAN);
        let value = if negative { -magnitude } else { magnitude } * 10f64.powi(exponent);
        let end = if j < b.len() { b[j].0 } else { text.len() };
        out.push(Written {
            text: text[b[start].0..end].to_string(),
            value,
            half_ulp: 0.5 * 10f64.powi(exponent - decimals),
            at: b[start].0.min(at),
        });
        i = j;
    }
    out
}

/// The value of one query, or what is wrong with it.
fn evaluate(q: &Query, base: &Path) -> std::result::Result<f64, String> {
    let sources = [q.csv.is_some(), q.yaml.is_some(), q.text.is_some()];
    if sources.iter().filter(|s| **s).count() != 1 {
        return Err("a query names exactly one of `csv`, `yaml`, `text`".into());
    }
    let v = if let Some(csv) = &q.csv {
        csv_value(q, &base.join(csv))?
    } else if let Some(yaml) = &q.yaml {
        yaml_value(q, &base.join(yaml))?
    } else {
        text_value(q, &base.join(q.text.as_ref().expect("one source")))?
    };
    Ok(v * q.scale)
}

fn read(path: &Path) -> std::result::Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn csv_value(q: &Query, path: &Path) -> std::result::Result<f64, String> {
    let text = read(path)?;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .iter()
        .map(str::to_string)
        .collect();
    let index = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("{}: no column `{name}`", path.display()))
    };
    let filters = q
        .row
        .iter()
        .map(|(c, cond)| Ok((index(c)?, cond)))
        .collect::<std::result::Result<Vec<_>, String>>()?;
    let column = match (&q.column, q.agg) {
        (Some(c), _) => Some(index(c)?),
        (None, Agg::Count) => None,
        (None, _) => return Err(format!("{}: the query needs `column`", path.display())),
    };
    let mut values = Vec::new();
    let mut rows = 0;
    for record in reader.records() {
        let record = record.map_err(|e| format!("{}: {e}", path.display()))?;
        let keep = filters
            .iter()
            .all(|(i, cond)| cond.holds(record.get(*i).unwrap_or("")));
        if !keep {
            continue;
        }
        rows += 1;
        if let Some(c) = column {
            let cell = record.get(c).unwrap_or("");
            let v: f64 = cell.trim().parse().map_err(|_| {
                format!(
                    "{}: `{}` is `{cell}`, not a number",
                    path.display(),
                    header[c]
                )
            })?;
            values.push(v);
        }
    }
    if q.agg == Agg::Count {
        return Ok(rows as f64);
    }
    aggregate(&values, q.agg)
        .map_err(|m| format!("{}: {} rows match: {m}", path.display(), values.len()))
}

fn matches(cell: &str, cond: &str) -> bool {
    let number = |s: &str| s.trim().parse::<f64>().ok();
    for (op, f) in [
        ("<=", (|a: f64, b: f64| a <= b) as fn(f64, f64) -> bool),
        (">=", |a, b| a >= b),
        ("!=", |a, b| a != b),
        ("<", |a, b| a < b),
        (">", |a, b| a > b),
    ] {
        if let Some(rest) = cond.strip_prefix(op) {
            return match (number(cell), number(rest)) {
                (Some(a), Some(b)) => f(a, b),
                _ => op == "!=" && cell != rest.trim(),
            };
        }
    }
    cell == cond
}

fn aggregate(values: &[f64], agg: Agg) -> std::result::Result<f64, String> {
    if values.is_empty() {
        return Err("nothing to aggregate".into());
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Ok(match agg {
        Agg::One if values.len() == 1 => values[0],
        Agg::One => {
            return Err("exactly one was expected (add a `row` condition or an `agg`)".into())
        }
        Agg::Mean => values.iter().sum::<f64>() / values.len() as f64,
        Agg::Median => {
            let n = sorted.len();
            if n % 2 == 1 {
                sorted[n / 2]
            } else {
                (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
            }
        }
        Agg::Min => sorted[0],
        Agg::Max => sorted[sorted.len() - 1],
        Agg::MaxAbs => values.iter().fold(0.0, |m, v| v.abs().max(m)),
        Agg::Sum => values.iter().sum(),
        Agg::Count => values.len() as f64,
    })
}

fn yaml_value(q: &Query, path: &Path) -> std::result::Result<f64, String> {
    let doc: serde_yaml::Value =
        serde_yaml::from_str(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?;
    let key = q.path.as_deref().unwrap_or("");
    let mut node = &doc;
    for part in key.split('.').filter(|p| !p.is_empty()) {
        node = match node {
            serde_yaml::Value::Sequence(s) => part.parse::<usize>().ok().and_then(|i| s.get(i)),
            serde_yaml::Value::Mapping(m) => m.get(part),
            _ => None,
        }
        .ok_or_else(|| format!("{}: no `{key}`", path.display()))?;
    }
    match node {
        serde_yaml::Value::Sequence(items) => {
            if q.agg == Agg::Count {
                return Ok(items.len() as f64);
            }
            let values: Vec<f64> = items.iter().filter_map(serde_yaml::Value::as_f64).collect();
            aggregate(&values, q.agg).map_err(|m| format!("{}: `{key}`: {m}", path.display()))
        }
        other => other
            .as_f64()
            .ok_or_else(|| format!("{}: `{key}` is not a number", path.display())),
    }
}

fn text_value(q: &Query, path: &Path) -> std::result::Result<f64, String> {
    let text = read(path)?;
    let marker = q
        .after
        .as_deref()
        .ok_or_else(|| "a `text` query needs `after`".to_string())?;
    let at = text
        .find(marker)
        .ok_or_else(|| format!("{}: no `{marker}`", path.display()))?;
    let rest = &text[at + marker.len()..];
    let rest = rest.trim_start();
    if let Some(part) = q.time {
        let rest = rest.trim_start_matches(|c: char| !c.is_ascii_digit());
        let token: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ':' || *c == '.')
            .collect();
        let fields: Vec<f64> = token.split(':').filter_map(|f| f.parse().ok()).collect();
        let (h, m, s) = match fields.as_slice() {
            [h, m, s] => (*h, *m, *s),
            [m, s] => (0.0, *m, *s),
            _ => {
                return Err(format!(
                    "{}: `{token}` after `{marker}` is not a time",
                    path.display()
                ))
            }
        };
        return Ok(match part {
            TimePart::Hours => h,
            TimePart::Minutes => m,
            TimePart::Seconds => s,
            TimePart::TotalMinutes => h * 60.0 + m + s / 60.0,
        });
    }
    numbers(rest)
        .first()
        .map(|n| n.value)
        .ok_or_else(|| format!("{}: no number after `{marker}`", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<(String, f64)> {
        numbers(text)
            .into_iter()
            .map(|n| (n.text, n.value))
            .collect()
    }

    #[test]
    fn numbers_are_read_as_written() {
        assert_eq!(
            values("gains +0.66 [−1.66, −0.74], p_H 0.042, 1,008 images, 4.7e-10 and 1.27–7.21"),
            vec![
                ("+0.66".into(), 0.66),
                ("−1.66".into(), -1.66),
                ("−0.74".into(), -0.74),
                ("0.042".into(), 0.042),
                ("1,008".into(), 1008.0),
                ("4.7e-10".into(), 4.7e-10),
                ("1.27".into(), 1.27),
                ("7.21".into(), 7.21),
            ]
        );
        // Parts of words are not numbers.
        assert!(values("w1 fig2.png K4 3½ 10⁶ α/14")
            .iter()
            .map(|v| &v.0)
            .eq(["14"].iter()));
        // A list's comma is not a thousands separator; a range's dash is not a sign.
        assert_eq!(
            values("1, 2 and 3-5"),
            vec![
                ("1".into(), 1.0),
                ("2".into(), 2.0),
                ("3".into(), 3.0),
                ("5".into(), 5.0)
            ]
        );
        let n = &numbers("0.853")[0];
        assert!((n.half_ulp - 0.0005).abs() < 1e-15);
    }

    #[test]
    fn prose_drops_code_links_and_emphasis() {
        assert_eq!(
            prose("**+0.66** [a](x/fig2-1.png)\n`train.epochs=5`\n```\n42\n```\nend"),
            "+0.66 [a] end"
        );
    }

    #[test]
    fn conditions_filter_rows() {
        assert!(matches("0.25", "<0.3"));
        assert!(!matches("0.35", "<=0.3"));
        assert!(matches("static w1=0.9", "static w1=0.9"));
        assert!(matches("gamma", "!=delta"));
        let any = Condition::AnyOf(vec!["a".into(), "b".into()]);
        assert!(any.holds("b") && !any.holds("c"));
        assert_eq!(aggregate(&[0.0, -0.0, 0.0], Agg::MaxAbs).unwrap(), 0.0);
        assert_eq!(aggregate(&[1.0, -3.0], Agg::MaxAbs).unwrap(), 3.0);
        assert_eq!(aggregate(&[3.0, 1.0, 2.0, 10.0], Agg::Median).unwrap(), 2.5);
        assert!(aggregate(&[1.0, 2.0], Agg::One).is_err());
    }
}
