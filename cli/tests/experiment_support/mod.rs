//! Shared by the `experiment_*` tests: run an experiment's quick form into a temporary folder,
//! check that its PNG decodes with the expected size, and read its CSV back as rows of named cells.

// Each test file uses only some of these helpers.
#![allow(dead_code)]

use std::collections::HashMap;

use neurite_cli::backend::BackendKind;
use neurite_cli::experiment::{ExperimentOptions, run};

/// The CSV of a finished run, one map from column name to cell per row.
pub struct Output {
    /// The rows, in file order.
    pub rows: Vec<HashMap<String, String>>,
}

impl Output {
    /// The rows whose column `key` equals `value`.
    pub fn with(&self, key: &str, value: &str) -> Vec<&HashMap<String, String>> {
        self.rows.iter().filter(|r| r[key] == value).collect()
    }
}

/// The number in column `key` of `row`.
pub fn num(row: &HashMap<String, String>, key: &str) -> f64 {
    row[key].parse().unwrap_or_else(|_| panic!("column {key}: `{}` is not a number", row[key]))
}

/// The mean of `values`.
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Runs `name --quick --seed 1` on the default backend into a temporary folder, checks that
/// `NAME.png` decodes to `png_size` pixels, and returns `NAME.csv`'s rows.
pub fn check(name: &str, png_size: (u32, u32)) -> Output {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let options = ExperimentOptions {
        out: dir.path().join("out"),
        quick: true,
        seed: 1,
        backend: BackendKind::default_kind(),
        test_data: None,
    };
    run(name, &options).unwrap_or_else(|e| panic!("experiment {name}: {e:#}"));
    let png = image::open(options.out.join(format!("{name}.png"))).expect("the PNG decodes");
    assert_eq!((png.width(), png.height()), png_size, "{name}.png size");
    let mut reader = csv::Reader::from_path(options.out.join(format!("{name}.csv"))).expect("the CSV exists");
    let header: Vec<String> = reader.headers().expect("a header").iter().map(String::from).collect();
    let rows: Vec<HashMap<String, String>> = reader
        .records()
        .map(|r| header.iter().cloned().zip(r.expect("a CSV record").iter().map(String::from)).collect())
        .collect();
    assert!(!rows.is_empty(), "{name}.csv has rows");
    Output { rows }
}
