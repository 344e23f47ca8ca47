//! `neurite experiment augmentation --quick`: augmentation helps a CNN trained on few digits (200 in
//! the quick form).

mod experiment_support;
use experiment_support::{check, num};

#[test]
fn augmentation_raises_test_accuracy_on_the_small_set() {
    let out = check("augmentation", (1040, 380));
    let small = out.with("train_size", "200");
    let accuracy =
        |augmented: &str| num(small.iter().find(|r| r["augmented"] == augmented).expect("a run"), "test_acc");
    let (plain, augmented) = (accuracy("false"), accuracy("true"));
    assert!(augmented > plain, "200 digits: plain {plain}, augmented {augmented}");
}
