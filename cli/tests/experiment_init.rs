//! `neurite experiment init --quick`: σ = 0.01 barely learns, He does.

mod experiment_support;
use experiment_support::{check, mean, num};

#[test]
fn small_weights_barely_lower_the_loss_while_he_does() {
    let out = check("init", (800, 480));
    let losses = |init: &str| out.with("init", init).iter().map(|r| num(r, "loss")).collect::<Vec<f64>>();
    let first_last = |l: &[f64]| (mean(&l[..10]), mean(&l[l.len() - 30..]));
    let (small_first, small_last) = first_last(&losses("σ = 0.01"));
    let (he_first, he_last) = first_last(&losses("He"));
    assert!(small_last > 0.97 * small_first, "σ = 0.01: {small_first} → {small_last}");
    assert!(he_last < 0.6 * he_first, "He: {he_first} → {he_last}");
    assert!(he_last < small_last - 0.5);
}
