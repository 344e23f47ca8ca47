//! An ensemble of checkpoints: its output is the log of the members' averaged probabilities, and
//! members that disagree on what they take are refused.

use neurite_core::Tensor;
use neurite_core::reference::ReferenceBackend as R;
use neurite_nn::models::MlpConfig;
use neurite_nn::{Checkpoint, Module};
use neurite_train::{INPUT_KEY, TrainedModel};

/// A tiny MLP for 2×2 grey images, written as a checkpoint and read back.
fn saved(dir: &std::path::Path, name: &str, seed: u64, classes: usize) -> TrainedModel<R> {
    let model = MlpConfig::new(4, &[5], classes).init::<R>(seed);
    let path = dir.join(name);
    Checkpoint::from_module(&model).with_metadata(INPUT_KEY, "[1,2,2]").save(&path).expect("writes");
    TrainedModel::load(&path, neurite_nn::Budget::DEFAULT).expect("loads")
}

#[test]
fn an_ensemble_outputs_the_log_of_the_averaged_probabilities() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (saved(dir.path(), "a.ckpt", 1, 3), saved(dir.path(), "b.ckpt", 2, 3));
    let x = Tensor::<R>::from_vec(vec![0.1, 0.9, 0.4, 0.3, 1.0, 0.0, 0.5, 0.5], [2, 1, 2, 2]);
    let (pa, pb) = (a.model.forward(&x).softmax(1).to_vec(), b.model.forward(&x).softmax(1).to_vec());
    let names = vec!["a.ckpt".to_string(), "b.ckpt".to_string()];
    let both = TrainedModel::ensemble(vec![a, b], &names).expect("they agree");
    let out = both.model.forward(&x).to_vec();
    for ((o, p), q) in out.iter().zip(&pa).zip(&pb) {
        let want = ((p + q) / 2.0).ln();
        assert!((o - want).abs() < 1e-6, "{o} vs {want}");
    }
    assert_eq!(both.classes(), 3);
}

#[test]
fn members_that_disagree_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (saved(dir.path(), "a.ckpt", 1, 3), saved(dir.path(), "b.ckpt", 2, 4));
    let names = vec!["a.ckpt".to_string(), "b.ckpt".to_string()];
    let err = TrainedModel::ensemble(vec![a, b], &names).err().expect("different classes");
    assert_eq!(err.to_string(), "b.ckpt: not the same classes as a.ckpt; an ensemble's members must agree");
    assert!(TrainedModel::<R>::ensemble(Vec::new(), &[]).is_err());
}
