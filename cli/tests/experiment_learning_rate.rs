//! `neurite experiment learning-rate --quick`: too small barely moves, too large diverges.

mod experiment_support;
use experiment_support::{check, mean, num};

#[test]
fn too_small_barely_moves_a_good_rate_learns_and_too_large_diverges() {
    let out = check("learning-rate", (800, 480));
    let losses = |lr: &str| out.with("lr", lr).iter().map(|r| num(r, "loss")).collect::<Vec<f64>>();
    let first_last = |l: &[f64]| (mean(&l[..10]), mean(&l[l.len() - l.len() / 10..]));
    let (tiny, good, huge) = (losses("0.0001"), losses("0.1"), losses("3"));
    let (tiny_first, tiny_last) = first_last(&tiny);
    assert!(tiny_last > 0.9 * tiny_first, "lr 1e-4: {tiny_first} → {tiny_last}");
    let (good_first, good_last) = first_last(&good);
    assert!(good_last < 0.5 * good_first, "lr 0.1: {good_first} → {good_last}");
    // The run stops once the loss is no longer finite or passes 10³.
    let blew_up = huge.len() < good.len() || huge.iter().any(|l| !l.is_finite() || *l > 1e3);
    let rose = mean(&huge[huge.len().saturating_sub(10)..]) > mean(&huge[..huge.len().min(10)]);
    assert!(blew_up || rose, "lr 3 neither diverged nor rose: {huge:?}");
}
