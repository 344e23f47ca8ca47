//! The command lines of the course companion (`docs/course.md` and its Korean twin) are real:
//! every `neurite …` line of their code blocks parses (each flag and value is one the command
//! accepts), every experiment and graph example it names exists, and both languages show the
//! same commands.

mod common;

use std::collections::BTreeSet;

use common::*;

/// The `neurite` command lines of a document's code blocks, without their comments.
fn command_lines(doc: &str) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs").join(doc);
    let text = std::fs::read_to_string(&path).expect("the course companion exists");
    let mut in_block = false;
    let mut lines = Vec::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_block = !in_block;
        } else if in_block && line.starts_with("neurite ") {
            lines.push(line.split(" # ").next().unwrap_or(line).trim().to_string());
        }
    }
    lines
}

fn names_listed(what: &str) -> BTreeSet<String> {
    let o = neurite().args([what, "list"]).output().expect("runs");
    assert!(o.status.success(), "{what} list: {}", stderr(&o));
    stdout(&o).lines().filter_map(|l| l.split_whitespace().next()).map(str::to_string).collect()
}

#[test]
fn every_command_of_the_course_companion_parses_and_names_what_exists() {
    let english = command_lines("course.md");
    assert!(english.len() >= 20, "{english:?}");
    assert_eq!(english, command_lines("course.ko.md"), "the two languages show different commands");
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
        // clap checks each flag and value as it reads them, so `--help` at the end exits 0 only
        // when everything before it is accepted.
        let o = neurite().args(&words).arg("--help").output().expect("runs");
        assert!(o.status.success(), "{line}: {}", stderr(&o));
    }
}
