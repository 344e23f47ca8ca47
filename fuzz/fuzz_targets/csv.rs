//! Fuzzes the CSV data reader: the input is written to a `.csv` file and read with
//! `neurite_data::load`, as `neurite train --train-data FILE.csv` does. Nothing may panic,
//! the data set holds no more pixels than the file has bytes, and the heap no more than 256 bytes
//! per input byte beyond a fixed base.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use neurite_data::{LoadOptions, load};
use neurite_fuzz::{BASE_BYTES, within_memory};

/// One temporary folder per fuzzing process, reused by every input (a single small file is left
/// in it when libFuzzer exits).
fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("temporary folder").keep())
}

fuzz_target!(|data: &[u8]| within_memory(BASE_BYTES + 256 * data.len(), || check(data)));

fn check(data: &[u8]) {
    let path = scratch().join("data.csv");
    std::fs::write(&path, data).expect("temporary file written");
    match load(&path, &LoadOptions { colour: neurite_data::Colour::Grey, ..LoadOptions::training() }) {
        Ok(set) => {
            let d = &set.dataset;
            assert!(!d.is_empty());
            let pixels = d.len() * d.rows() * d.cols();
            assert!(pixels <= data.len(), "{pixels} pixels from {} bytes", data.len());
            assert!(d.labels().iter().all(|&l| (l as usize) < d.classes()));
            assert_eq!(set.class_names.len(), d.classes());
        }
        // Errors are one line, even for a quoted CSV field that holds a line break.
        Err(e) => assert!(!e.to_string().contains('\n'), "multi-line error: {e}"),
    }
}
