//! `TrainConfig` end to end: every recipe committed so far reads (the flat ones of earlier
//! versions and the ones in tables, which say the same), a configuration initialises a run that
//! writes its folder and records exactly its settings, and a checkpoint written by an earlier
//! version, whose recorded recipe is flat, resumes to the bits of a straight run.

use std::path::{Path, PathBuf};

use neurite_backend_cpu::CpuBackend as B;
use neurite_nn::Checkpoint;
use neurite_nn::models::{ModelKind, Widths};
use neurite_train::{CHECKPOINT_FILE, METRICS_FILE, RECIPE_FILE, RECIPE_KEY, Resumed, TrainConfig};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `.toml` files of a folder of the repository.
fn recipes_in(folder: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(folder))
        .expect("a folder of the repository")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_committed_recipe_reads_and_is_valid() {
    let files: Vec<PathBuf> =
        ["cli/recipes", "fuzz/seeds/recipe", "train/tests/recipes"].iter().flat_map(|f| recipes_in(f)).collect();
    // cnn-99 and cnn-augment in tables and flat, the fuzz seeds flat and in tables.
    assert!(files.len() >= 9, "{files:?}");
    for file in &files {
        let config = TrainConfig::load(file).unwrap_or_else(|e| panic!("{e}"));
        config.validate().unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        // What it reads is what it writes back.
        // (Nor how many threads prepare the data, nor whether it streams: neither changes a number.)
        let data = neurite_data::DataConfig { workers: 1, stream: false, ..config.data.clone() };
        let unrecorded = TrainConfig { threads: None, out: None, resume: None, data, ..config.clone() };
        assert_eq!(TrainConfig::parse(&config.to_toml()), Ok(unrecorded), "{}", file.display());
    }
}

#[test]
fn the_recipes_in_tables_say_what_their_flat_originals_said() {
    for name in ["cnn-99", "cnn-augment"] {
        let tables = TrainConfig::load(&root().join(format!("cli/recipes/{name}.toml"))).expect("reads");
        let flat = TrainConfig::load(&root().join(format!("train/tests/recipes/{name}-flat.toml"))).expect("reads");
        assert_eq!(tables, flat, "{name}");
    }
    let cnn99 = TrainConfig::load(&root().join("cli/recipes/cnn-99.toml")).expect("reads");
    assert_eq!(
        (cnn99.model.kind, cnn99.model.filters.clone(), cnn99.epochs),
        (ModelKind::Cnn, Widths(vec![16, 32]), 55)
    );
    assert_eq!((cnn99.optimizer.lr, cnn99.data.val_split), (0.002, 0.0));
}

/// A small, quick run on the embedded digits.
fn small(out: &Path, epochs: usize) -> TrainConfig {
    let mut config =
        TrainConfig { epochs, out: Some(out.to_path_buf()), augment: "crop:pad=1".into(), ..TrainConfig::default() };
    config.model.hidden = Widths(vec![16]);
    config.data.val_split = 0.05;
    config
}

#[test]
fn a_config_initialises_a_run_that_records_exactly_its_settings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("run");
    let config = small(&out, 1);
    let mut run = config.init::<B>().expect("initialises");
    assert_eq!((run.data.train.len(), run.data.validation.as_ref().map(|v| v.len())), (4750, Some(250)));
    assert_eq!(run.config.backend.as_deref(), Some("cpu"), "the run names its backend");
    let report = run.fit(&mut ()).expect("trains");
    assert_eq!((report.fit.epochs, report.fit.stopped.is_none(), report.test.is_none()), (1, true, true));
    let recorded = std::fs::read_to_string(out.join(RECIPE_FILE)).expect("written");
    let expected = TrainConfig { backend: Some("cpu".into()), ..config.clone() };
    assert_eq!(TrainConfig::parse(&recorded), Ok(TrainConfig { out: None, ..expected }));
    let checkpoint = Checkpoint::load(out.join(CHECKPOINT_FILE)).expect("written");
    assert_eq!(checkpoint.metadata(RECIPE_KEY), Some(recorded.as_str()));
    // One epoch of a 16-unit MLP with dropout: 0.668 measured, chance is 0.1.
    let accuracy = run.learner.history()[0].val_acc.expect("validated");
    assert!(accuracy > 0.5, "{accuracy}");
    // A second run into the same folder is refused: it holds another run's files.
    let err = config.init::<B>().err().expect("refused");
    assert!(err.to_string().contains("run"), "{err}");
}

#[test]
fn a_backend_other_than_the_recorded_one_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = TrainConfig { backend: Some("simd".into()), ..small(&dir.path().join("run"), 1) };
    let err = config.init::<B>().err().expect("refused");
    assert_eq!(err.to_string(), "the settings name backend `simd`, but this run is on `cpu`");
    assert!(!dir.path().join("run").exists(), "nothing written");
}

/// A checkpoint written by `neurite train --backend cpu --epochs 1 --hidden 4 --augment ""
/// --val-split 0.05` of the version before `TrainConfig` (commit 97d04b6), whose recorded recipe
/// is in the flat form.
const EARLIER: &str = "train/tests/recipes/flat-v1-run/model.ckpt";

#[test]
fn a_checkpoint_of_an_earlier_version_resumes_to_the_bits_of_a_straight_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (resumed_dir, straight_dir) = (dir.path().join("resumed"), dir.path().join("straight"));
    std::fs::create_dir_all(&resumed_dir).expect("folder");
    let copy = resumed_dir.join(CHECKPOINT_FILE);
    std::fs::copy(root().join(EARLIER), &copy).expect("copied");
    let resumed = Resumed::read(&copy).expect("reads");
    assert_eq!(resumed.state.epoch, 1);
    let recorded = resumed.checkpoint.metadata(RECIPE_KEY).expect("a recipe");
    assert!(recorded.contains("hidden = [4]") && !recorded.contains("[model]"), "flat: {recorded}");
    let config = TrainConfig { epochs: 2, ..resumed.config.clone() };
    assert_eq!((config.model.hidden.0.as_slice(), config.backend.as_deref()), ([4].as_slice(), Some("cpu")));
    config.init_with::<B>(Some(resumed), None).expect("initialises").fit(&mut ()).expect("trains");

    let straight = TrainConfig { out: Some(straight_dir.clone()), resume: None, ..config };
    straight.init::<B>().expect("initialises").fit(&mut ()).expect("trains");
    let read = |d: &Path, f: &str| std::fs::read(d.join(f)).expect("written");
    assert_eq!(read(&resumed_dir, METRICS_FILE), read(&straight_dir, METRICS_FILE));
    let weights = |d: &Path| Checkpoint::load(d.join(CHECKPOINT_FILE)).expect("written").tensors;
    assert_eq!(weights(&resumed_dir), weights(&straight_dir), "this version trains the numbers the earlier one did");
}

#[test]
fn init_refuses_to_resume_with_other_settings_than_the_recorded_ones() {
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = dir.path().join(CHECKPOINT_FILE);
    std::fs::copy(root().join(EARLIER), &copy).expect("copied");
    // The defaults with `resume` set are not the settings the checkpoint was trained with.
    let other = TrainConfig { resume: Some(copy.clone()), epochs: 2, ..TrainConfig::default() };
    let err = other.init::<B>().err().expect("refused");
    assert!(err.to_string().starts_with("`augment` differs from the setting"), "{err}");
    // Its own settings, with more epochs, continue it.
    let recorded = Resumed::read(&copy).expect("reads").config;
    let mut run = TrainConfig { epochs: 2, ..recorded }.init::<B>().expect("initialises");
    assert_eq!(run.resumed_from(), Some(copy.display().to_string().as_str()));
    assert_eq!(run.fit(&mut ()).expect("trains").fit.epochs, 2);
}
