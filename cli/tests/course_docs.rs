//! The command lines of the documentation are real: every `neurite …` line of the README's and
//! the docs' code blocks, and every example in the README's tables, parses (each flag and value
//! is one the command accepts); every experiment and graph example the course companion
//! (`docs/course.md` and its Korean twin) names exists, and both languages show the same
//! commands.

mod common;

use std::collections::BTreeSet;

use common::*;

/// How a code block may spell the command: `neurite …` or the cargo line that runs it.
const PREFIXES: [&str; 2] = ["neurite ", "cargo run --release -p neurite-cli -- "];

/// The `neurite` command lines of a document (a path from the repository root) as `neurite …`:
/// the lines of its code blocks, and the backticked examples in its tables, each without its
/// comment or output redirection.
fn command_lines(doc: &str) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(doc);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{doc}: {e}"));
    let mut in_block = false;
    let mut lines = Vec::new();
    let mut take = |line: &str| {
        let line = line.split(" # ").next().unwrap_or(line);
        let line = line.split(" > ").next().unwrap_or(line).trim();
        if let Some(rest) = PREFIXES.iter().find_map(|p| line.strip_prefix(p)) {
            lines.push(format!("neurite {rest}"));
        }
    };
    for line in text.lines() {
        if line.starts_with("```") {
            in_block = !in_block;
        } else if in_block {
            take(line);
        } else if line.starts_with('|') {
            for (i, cell) in line.split('`').enumerate() {
                if i % 2 == 1 {
                    take(cell);
                }
            }
        }
    }
    lines
}

/// Runs each line with `--help` appended: clap checks each flag and value as it reads them, so
/// the command exits 0 only when everything before `--help` is accepted.
fn assert_parses(doc: &str, lines: &[String]) {
    for line in lines {
        let words: Vec<&str> = line.split_whitespace().skip(1).collect();
        let o = neurite().args(&words).arg("--help").output().expect("runs");
        assert!(o.status.success(), "{doc}: {line}: {}", stderr(&o));
    }
}

fn names_listed(what: &str) -> BTreeSet<String> {
    let o = neurite().args([what, "list"]).output().expect("runs");
    assert!(o.status.success(), "{what} list: {}", stderr(&o));
    stdout(&o).lines().filter_map(|l| l.split_whitespace().next()).map(str::to_string).collect()
}

#[test]
fn every_command_of_the_course_companion_parses_and_names_what_exists() {
    let english = command_lines("docs/course.md");
    assert!(english.len() >= 20, "{english:?}");
    assert_eq!(english, command_lines("docs/course.ko.md"), "the two languages show different commands");
    let experiments = names_listed("experiment");
    let graphs = names_listed("graph");
    for line in &english {
        let words: Vec<&str> = line.split_whitespace().skip(1).collect();
        match words.as_slice() {
            ["experiment", name, ..] if *name != "list" => {
                assert!(experiments.contains(*name), "{line}: no experiment {name} in {experiments:?}")
            }
            ["graph", name, ..] if !name.starts_with('-') && *name != "list" => {
                assert!(graphs.contains(*name), "{line}: no graph example {name} in {graphs:?}")
            }
            _ => {}
        }
    }
    assert_parses("docs/course.md", &english);
}

#[test]
fn every_command_of_the_readme_and_the_docs_parses() {
    let readme = command_lines("README.md");
    // The two set-up commands, the examples of the command table, the training examples.
    assert!(readme.len() >= 14, "{readme:?}");
    assert!(readme.contains(&"neurite train".to_string()), "the main job is missing: {readme:?}");
    assert_parses("README.md", &readme);
    for doc in ["docs/README.md", "docs/cli.md", "docs/data.md", "docs/models.md"] {
        let lines = command_lines(doc);
        assert!(!lines.is_empty(), "{doc} shows no command");
        assert_parses(doc, &lines);
    }
}
