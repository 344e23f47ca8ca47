//! The gradient-check table (every differentiable op against central finite differences) on the
//! reference backend, and checks that the checker itself catches wrong gradients.

use neurite_core::gradcheck::{GradcheckConfig, gradcheck, smooth_values};
use neurite_core::reference::ReferenceBackend as R;
use neurite_core::{Shape, Tensor};

#[test]
fn every_differentiable_op_passes_gradcheck() {
    neurite_core::conformance::gradients::every_differentiable_op_passes_gradcheck::<R>();
}

#[test]
fn gradcheck_catches_a_missing_gradient_path() {
    // f(x) = x·detach(x) has derivative 2x, but backward only sees the first factor (x).
    let x = Tensor::<R>::from_vec(vec![1.0, -2.0, 3.0], [3]).require_grad();
    let report = gradcheck(|xs| xs[0].mul(&xs[0].detach()), &[x], GradcheckConfig::default());
    assert!(!report.passed());
    assert_eq!(report.mismatches.len(), 3);
    // Entry 0: analytic x = 1 against numeric 2x = 2 (times the checker's weight for that output).
    let (_, index, analytic, numeric) = report.mismatches[0];
    assert_eq!(index, 0);
    assert!((numeric / analytic - 2.0).abs() < 1e-2, "analytic {analytic}, numeric {numeric}");
}

#[test]
fn gradcheck_passes_a_correct_composite() {
    // u = Σ x³ built from ops whose rules are all checked: d/dx = 3x².
    let x = Tensor::<R>::from_vec(smooth_values(Shape::new([5]), 1), [5]).require_grad();
    let report = gradcheck(|xs| xs[0].mul(&xs[0]).mul(&xs[0]).sum(), &[x], GradcheckConfig::default());
    assert!(report.passed(), "{report}");
    assert_eq!(report.checked, 5);
}

#[test]
fn smooth_values_stay_away_from_kinks_and_ties() {
    let v = smooth_values(Shape::new([100]), 3);
    assert!(v.iter().all(|x| x.abs() >= 0.3 && x.abs() <= 1.5));
    let mut sorted = v.clone();
    sorted.sort_by(f32::total_cmp);
    assert!(sorted.windows(2).all(|w| w[1] - w[0] > 0.0));
}
