//! `neurite experiment adversarial --quick`: FGSM accuracy falls as ε grows.

mod experiment_support;
use experiment_support::{check, num};

#[test]
fn fgsm_accuracy_falls_as_epsilon_grows() {
    let out = check("adversarial", (1280, 420));
    let accuracy: Vec<f64> = out.rows.iter().map(|r| num(r, "accuracy")).collect();
    assert_eq!(num(&out.rows[0], "epsilon"), 0.0);
    assert!(accuracy[0] > 0.7, "clean accuracy {}", accuracy[0]);
    for pair in accuracy.windows(2) {
        assert!(pair[1] <= pair[0], "accuracy rose with ε: {accuracy:?}");
    }
    assert!(accuracy[accuracy.len() - 1] < accuracy[0] - 0.5, "{accuracy:?}");
}
