//! Adding a strategy changes no file but its own and the registry (`src/strategy/mod.rs`):
//! every type, function and log name a strategy file declares appears in no other source file.
//! `static_weights.rs` is the exception by design: the static grid's w1 is the x axis of the
//! paper's Figure 2, so ids and reports format it.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `pub struct X`, `pub enum X`, `pub fn x` names and the `"name"` of `fn name`.
fn declared(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        for kw in ["pub struct ", "pub enum ", "pub fn ", "pub const "] {
            if let Some(rest) = line.strip_prefix(kw) {
                let ident: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                // Methods (`pub fn new`) are reached through their type; only free items count.
                if !ident.is_empty() && !["new", "step"].contains(&ident.as_str()) {
                    names.push(ident);
                }
            }
        }
    }
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if l.contains("fn name(&self)") {
            if let Some(n) = lines.next().and_then(|n| n.trim().strip_prefix('"')) {
                names.push(format!("\"{}", n));
            }
        }
    }
    names
}

fn mentions(text: &str, name: &str) -> bool {
    if name.starts_with('"') {
        return text.contains(name);
    }
    text.match_indices(name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !word(before) && !word(after)
    })
}

#[test]
fn strategies_are_named_only_in_their_file_and_the_registry() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let strategy_dir = root.join("src/strategy");
    let mut sources = Vec::new();
    rust_files(&root.join("src"), &mut sources);
    let mut checked = 0;
    for file in std::fs::read_dir(&strategy_dir).unwrap().flatten() {
        let path = file.path();
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        if ["mod", "static_weights", "scalar_adam"].contains(&stem.as_str()) {
            continue;
        }
        let names = declared(&std::fs::read_to_string(&path).unwrap());
        assert!(names.len() >= 3, "{stem}: found only {names:?}");
        for other in &sources {
            if *other == path || *other == strategy_dir.join("mod.rs") {
                continue;
            }
            // Code only: prose (doc comments, `main.rs`'s about text) may speak of L3.
            let text: String = std::fs::read_to_string(other)
                .unwrap()
                .lines()
                .map(|l| l.split("//").next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join("\n");
            for name in &names {
                assert!(
                    !mentions(&text, name),
                    "{} names {name} of strategy {stem}: a new strategy would have to edit it too",
                    other.display()
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} strategy files checked");
}
