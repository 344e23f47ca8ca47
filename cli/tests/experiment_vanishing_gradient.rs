//! `neurite experiment vanishing-gradient --quick`: sigmoid's gradient vanishes towards the input.

mod experiment_support;
use experiment_support::{check, num};

#[test]
fn sigmoid_first_layer_gradient_is_orders_of_magnitude_below_its_last() {
    let out = check("vanishing-gradient", (1240, 420));
    let norm = |activation: &str, phase: &str, layer: &str| {
        let rows = out.with("activation", activation);
        num(rows.iter().find(|r| r["phase"] == phase && r["layer"] == layer).expect("a row"), "grad_norm")
    };
    for phase in ["init", "trained"] {
        let sigmoid = norm("sigmoid", phase, "1") / norm("sigmoid", phase, "10");
        assert!(sigmoid < 1e-3, "sigmoid ‖∇W1‖/‖∇W10‖ = {sigmoid} ({phase})");
        for other in ["tanh", "relu"] {
            let ratio = norm(other, phase, "1") / norm(other, phase, "10");
            assert!(ratio > 0.1, "{other} ‖∇W1‖/‖∇W10‖ = {ratio} ({phase})");
        }
    }
}
