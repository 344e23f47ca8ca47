//! Bad settings are rejected when an optimizer is built, with an error that names the optimizer,
//! the setting, the value and what was expected; the defaults are the documented ones.

use neurite_optim::{
    AdaGrad, AdaGradConfig, Adam, AdamConfig, AdamW, AdamWConfig, Momentum, MomentumConfig, OptimError, RmsProp,
    RmsPropConfig, Sgd, SgdConfig,
};

/// The error's message, which must exist.
fn message<T: std::fmt::Debug>(result: Result<T, OptimError>) -> String {
    result.expect_err("the setting must be rejected").to_string()
}

#[test]
fn negative_or_non_finite_learning_rates_are_rejected() {
    for lr in [-0.1, f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        assert!(Sgd::new(SgdConfig { lr, ..Default::default() }).is_err(), "sgd lr {lr}");
        assert!(Momentum::new(MomentumConfig { lr, ..Default::default() }).is_err(), "momentum lr {lr}");
        assert!(AdaGrad::new(AdaGradConfig { lr, ..Default::default() }).is_err(), "adagrad lr {lr}");
        assert!(RmsProp::new(RmsPropConfig { lr, ..Default::default() }).is_err(), "rmsprop lr {lr}");
        assert!(Adam::new(AdamConfig { lr, ..Default::default() }).is_err(), "adam lr {lr}");
        assert!(AdamW::new(AdamWConfig { lr, ..Default::default() }).is_err(), "adamw lr {lr}");
    }
    assert_eq!(
        message(Sgd::new(SgdConfig { lr: -0.1, ..Default::default() })),
        "sgd: lr = -0.1, expected a finite number >= 0"
    );
    assert_eq!(
        message(Adam::new(AdamConfig { lr: f32::INFINITY, ..Default::default() })),
        "adam: lr = inf, expected a finite number >= 0"
    );
}

#[test]
fn betas_outside_zero_to_one_are_rejected() {
    for beta in [1.0, 1.5, -0.1, f32::NAN] {
        assert!(Adam::new(AdamConfig { beta1: beta, ..Default::default() }).is_err(), "beta1 {beta}");
        assert!(Adam::new(AdamConfig { beta2: beta, ..Default::default() }).is_err(), "beta2 {beta}");
        assert!(AdamW::new(AdamWConfig { beta2: beta, ..Default::default() }).is_err(), "adamw beta2 {beta}");
        assert!(Momentum::new(MomentumConfig { momentum: beta, ..Default::default() }).is_err(), "gamma {beta}");
        assert!(RmsProp::new(RmsPropConfig { gamma: beta, ..Default::default() }).is_err(), "gamma {beta}");
    }
    assert_eq!(
        message(Adam::new(AdamConfig { beta1: 1.0, ..Default::default() })),
        "adam: beta1 = 1, expected a number in [0, 1)"
    );
    assert_eq!(
        message(Momentum::new(MomentumConfig { momentum: 1.0, nesterov: true, ..Default::default() })),
        "nesterov: momentum = 1, expected a number in [0, 1)"
    );
    // 0 is allowed: Adam with β₁ = 0 is RMSProp-like, momentum 0 is SGD.
    assert!(Adam::new(AdamConfig { beta1: 0.0, ..Default::default() }).is_ok());
    assert!(Momentum::new(MomentumConfig { momentum: 0.0, ..Default::default() }).is_ok());
}

#[test]
fn eps_must_be_positive() {
    for eps in [0.0, -1e-8, f32::NAN, f32::INFINITY] {
        assert!(AdaGrad::new(AdaGradConfig { eps, ..Default::default() }).is_err(), "adagrad eps {eps}");
        assert!(RmsProp::new(RmsPropConfig { eps, ..Default::default() }).is_err(), "rmsprop eps {eps}");
        assert!(Adam::new(AdamConfig { eps, ..Default::default() }).is_err(), "adam eps {eps}");
        assert!(AdamW::new(AdamWConfig { eps, ..Default::default() }).is_err(), "adamw eps {eps}");
    }
    assert_eq!(
        message(AdaGrad::new(AdaGradConfig { eps: 0.0, ..Default::default() })),
        "adagrad: eps = 0, expected a finite number > 0"
    );
}

#[test]
fn negative_weight_decay_is_rejected() {
    assert_eq!(
        message(Sgd::new(SgdConfig { weight_decay: -0.01, ..Default::default() })),
        "sgd: weight_decay = -0.01, expected a finite number >= 0"
    );
    assert!(Momentum::new(MomentumConfig { weight_decay: -1.0, ..Default::default() }).is_err());
    assert!(AdaGrad::new(AdaGradConfig { weight_decay: f32::NAN, ..Default::default() }).is_err());
    assert!(RmsProp::new(RmsPropConfig { weight_decay: -1.0, ..Default::default() }).is_err());
    assert!(Adam::new(AdamConfig { weight_decay: -1.0, ..Default::default() }).is_err());
    assert!(AdamW::new(AdamWConfig { weight_decay: -1.0, ..Default::default() }).is_err());
}

#[test]
fn defaults_are_the_documented_ones_and_valid() {
    assert_eq!(AdamConfig::default(), AdamConfig { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 });
    assert_eq!(AdamWConfig::default().weight_decay, 0.01);
    assert_eq!(RmsPropConfig::default(), RmsPropConfig { lr: 1e-3, gamma: 0.9, eps: 1e-8, weight_decay: 0.0 });
    assert_eq!(MomentumConfig::default().momentum, 0.9);
    let adam = AdamConfig::default().init().unwrap();
    assert_eq!((adam.name(), adam.learning_rate()), ("adam", 1e-3));
    assert_eq!(SgdConfig::default().init().unwrap().name(), "sgd");
    assert_eq!(MomentumConfig { nesterov: true, ..Default::default() }.init().unwrap().name(), "nesterov");
    assert_eq!(AdaGradConfig::default().init().unwrap().name(), "adagrad");
    assert_eq!(RmsPropConfig::default().init().unwrap().name(), "rmsprop");
    assert_eq!(AdamWConfig::default().init().unwrap().name(), "adamw");
}
