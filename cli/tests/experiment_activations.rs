//! `neurite experiment activations --quick`: the activation statistics show the book's claims.

mod experiment_support;
use experiment_support::{check, num};

#[test]
fn he_keeps_relu_activations_spread_where_small_weights_collapse_them() {
    let out = check("activations", (1320, 640));
    // Layer statistics repeat on every histogram row of a layer; take the first.
    let stat = |activation: &str, init: &str, layer: &str, column: &str| {
        let rows = out.with("activation", activation);
        let row = rows.iter().find(|r| r["init"] == init && r["layer"] == layer).expect("a row for the layer");
        num(row, column)
    };
    let he = stat("relu", "He", "5", "std");
    let small = stat("relu", "σ = 0.01", "5", "std");
    assert!(he > 1000.0 * small, "5th-layer std: He {he} vs σ = 0.01 {small}");
    // Xavier's ReLU activations shrink with depth; He's stay within a factor of two.
    assert!(stat("relu", "Xavier", "5", "std") < 0.5 * stat("relu", "Xavier", "1", "std"));
    assert!(he > 0.5 * stat("relu", "He", "1", "std"));
    // Sigmoid with σ = 1 saturates; with σ = 0.01 it collapses near 0.5.
    assert!(stat("sigmoid", "σ = 1", "5", "flat_fraction") > 0.3);
    assert!(stat("sigmoid", "σ = 0.01", "5", "std") < 0.05);
    assert!((stat("sigmoid", "σ = 0.01", "5", "mean") - 0.5).abs() < 0.02);
}
