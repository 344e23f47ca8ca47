//! `neurite experiment overfitting --quick`: regularization narrows the train–test gap.

mod experiment_support;
use experiment_support::{check, num};

#[test]
fn l2_and_dropout_shrink_the_gap_between_train_and_test_accuracy() {
    let out = check("overfitting", (1120, 760));
    let gap = |config: &str| {
        let last = *out.with("config", config).last().expect("epochs of the config");
        num(last, "train_acc") - num(last, "test_acc")
    };
    let none = gap("no regularization");
    assert!(none > 0.1, "no regularization: gap {none}");
    assert!(gap("L2 + dropout") < none, "L2 + dropout gap {} vs none {none}", gap("L2 + dropout"));
    assert!(gap("L2 (λ = 0.1)") < none, "L2 gap {} vs none {none}", gap("L2 (λ = 0.1)"));
}
