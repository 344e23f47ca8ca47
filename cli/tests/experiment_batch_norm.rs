//! `neurite experiment batch-norm --quick`: batch norm learns where the plain network's initial
//! weights are too small to.

mod experiment_support;
use experiment_support::{check, num};

#[test]
fn batch_norm_wins_at_bad_initial_scales() {
    let out = check("batch-norm", (1380, 680));
    let finals: Vec<_> = out.rows.iter().filter(|r| !r["test_acc"].is_empty()).collect();
    let accuracy = |batch_norm: &str, scale: f64| {
        let row = finals
            .iter()
            .find(|r| r["batch_norm"] == batch_norm && (num(r, "weight_scale") / scale - 1.0).abs() < 1e-3)
            .expect("a final row for the scale");
        num(row, "train_acc")
    };
    for scale in [0.01, 0.001] {
        let (with, without) = (accuracy("true", scale), accuracy("false", scale));
        assert!(with > without + 0.3, "w = {scale}: {with} with batch norm, {without} without");
    }
}
