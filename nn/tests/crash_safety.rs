//! Checkpoint crash safety: a writer process saving large checkpoints in a loop is killed
//! (SIGKILL on Unix) at random moments, again and again, and after every kill the checkpoint on
//! disk must load and be bit-identical to one complete version: the one that was there before
//! the writer started, or one the writer finished. A kill mid-save may leave the writer's
//! temporary file behind, never a partial checkpoint in place of the old one.
//!
//! The writer is this test binary itself, re-executed with a filter to [`writer_process`] and
//! the `NEURITE_CRASH_WRITER` variable naming the file; without the variable that test returns
//! at once. `NEURITE_CRASH_ITERATIONS` raises the number of kills for a longer manual run.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use neurite_core::{Rng, TensorRecord};
use neurite_nn::{Checkpoint, LayerSpec};

/// The checkpoint file the writer saves to.
const PATH_VAR: &str = "NEURITE_CRASH_WRITER";
/// The first version the writer saves (it counts up from there).
const START_VAR: &str = "NEURITE_CRASH_WRITER_START";
/// Versions one writer may save before it stops by itself (so it never outlives a failed test).
const MAX_SAVES: u64 = 200;
/// Weight `[OUT, IN]` plus bias `[OUT]`: about 4 MiB of f32 per checkpoint.
const IN: usize = 1024;
const OUT: usize = 1024;

/// Version `v` of the checkpoint: every value depends on `v`, so versions differ everywhere.
fn version(v: u64) -> Checkpoint {
    let values = |n: usize, salt: u64| -> Vec<f32> {
        (0..n as u64).map(|i| ((i.wrapping_mul(2_654_435_761) ^ (v * 97 + salt)) % 1_000_003) as f32 * 1e-3).collect()
    };
    Checkpoint {
        architecture: LayerSpec::Sequential {
            layers: vec![LayerSpec::Linear { in_features: IN, out_features: OUT, bias: true }],
        },
        tensors: vec![
            ("layers.0.weight".into(), TensorRecord { shape: vec![OUT, IN], data: values(OUT * IN, 1) }),
            ("layers.0.bias".into(), TensorRecord { shape: vec![OUT], data: values(OUT, 2) }),
        ],
        extra: Vec::new(),
        metadata: vec![("version".into(), v.to_string())],
    }
}

/// The writer: saves versions `start`, `start + 1`, … to the file in `NEURITE_CRASH_WRITER`
/// until killed (or [`MAX_SAVES`] saves). A no-op in an ordinary test run.
#[test]
fn writer_process() {
    let Some(path) = std::env::var_os(PATH_VAR) else { return };
    let start: u64 = std::env::var(START_VAR).ok().and_then(|s| s.parse().ok()).expect("a start version");
    for v in start..start + MAX_SAVES {
        version(v).save(Path::new(&path)).expect("the writer saves");
    }
}

/// Temporary files a killed writer left beside the checkpoint; removes them and counts them.
fn sweep_leftovers(dir: &Path) -> usize {
    let mut count = 0;
    for entry in std::fs::read_dir(dir).expect("readable folder") {
        let path = entry.expect("folder entry").path();
        if path.file_name().is_some_and(|n| n.to_string_lossy().ends_with(".tmp")) {
            std::fs::remove_file(&path).expect("leftover removed");
            count += 1;
        }
    }
    count
}

#[test]
fn killing_a_writer_mid_save_never_damages_the_checkpoint() {
    let iterations: u64 = std::env::var("NEURITE_CRASH_ITERATIONS").ok().and_then(|s| s.parse().ok()).unwrap_or(25);
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("model.ckpt");
    version(0).save(&path).expect("first save");
    let exe = std::env::current_exe().expect("the test binary");
    let mut rng = Rng::seed(9);
    let (mut current, mut replaced, mut mid_save) = (0u64, 0u64, 0usize);
    for i in 1..=iterations {
        let start = i * 1000;
        let mut writer = Command::new(&exe)
            .args(["writer_process", "--exact", "--test-threads", "1"])
            .env(PATH_VAR, &path)
            .env(START_VAR, start.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("writer started");
        // A random moment in the first few saves (each takes tens of milliseconds).
        let delay = Duration::from_micros(rng.below(300_000) as u64);
        std::thread::sleep(delay);
        writer.kill().expect("writer killed");
        writer.wait().expect("writer reaped");

        let loaded =
            Checkpoint::load(&path).unwrap_or_else(|e| panic!("kill {i}: the checkpoint no longer loads: {e}"));
        let v: u64 = loaded.metadata("version").and_then(|s| s.parse().ok()).expect("a version entry");
        assert!(v == current || (start..start + MAX_SAVES).contains(&v), "kill {i}: version {v} was never written");
        let bytes = std::fs::read(&path).expect("checkpoint readable");
        assert!(bytes == version(v).to_bytes().expect("encodes"), "kill {i}: version {v} is not bit-identical");
        if v != current {
            replaced += 1;
            current = v;
        }
        mid_save += sweep_leftovers(dir.path());
    }
    eprintln!(
        "{iterations} kills: checkpoint intact after each; {replaced} found a newer complete version, \
         {mid_save} left a half-written temporary file"
    );
}
