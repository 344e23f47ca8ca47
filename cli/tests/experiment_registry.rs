//! The experiment registry: `list()` names every experiment once, and `run` refuses any other name
//! with a usage error (exit code 2) that lists the known ones.

use neurite_cli::backend::BackendKind;
use neurite_cli::experiment::{ExperimentOptions, list, run};

#[test]
fn the_list_names_ten_experiments_once_each_with_a_summary() {
    let names: Vec<&str> = list().iter().map(|e| e.name).collect();
    assert_eq!(names.len(), 10);
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "{names:?}");
    assert!(list().iter().all(|e| !e.summary.is_empty()));
}

#[test]
fn an_unknown_experiment_is_a_usage_error() {
    let options = ExperimentOptions {
        out: std::env::temp_dir(),
        quick: true,
        seed: 1,
        backend: BackendKind::default_kind(),
        test_data: None,
    };
    let err = run("no-such-thing", &options).expect_err("unknown");
    assert_eq!(neurite_cli::error::exit_code(&err), 2);
    let message = err.to_string();
    for e in list() {
        assert!(message.contains(e.name), "{message}");
    }
}
