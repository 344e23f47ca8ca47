//! Saving and restoring: an optimizer's state, written with the checkpoint encoding (bincode)
//! and read back into a freshly built optimizer and freshly built parameters, continues
//! bit-identically to a run that was never interrupted. Bad states are rejected with errors.

mod common;

use std::collections::BTreeMap;

use common::{T, grads, params, values};
use neurite_core::reference::ReferenceBackend as R;
use neurite_optim::{
    AdaGrad, AdaGradConfig, Adam, AdamConfig, AdamW, AdamWConfig, Clipped, GradClip, Momentum, MomentumConfig,
    OptimError, Optimizer, OptimizerState, ParamState, RmsProp, RmsPropConfig, Sgd, SgdConfig,
};

type Make = fn() -> Box<dyn Optimizer<R>>;

fn all() -> Vec<Make> {
    vec![
        || Box::new(Sgd::new(SgdConfig { lr: 0.1, weight_decay: 0.01 }).unwrap()),
        || Box::new(Momentum::new(MomentumConfig { lr: 0.05, ..Default::default() }).unwrap()),
        || Box::new(Momentum::new(MomentumConfig { lr: 0.05, nesterov: true, ..Default::default() }).unwrap()),
        || Box::new(AdaGrad::new(AdaGradConfig { lr: 0.3, ..Default::default() }).unwrap()),
        || Box::new(RmsProp::new(RmsPropConfig { lr: 0.01, ..Default::default() }).unwrap()),
        || Box::new(Adam::new(AdamConfig { lr: 0.05, weight_decay: 0.01, ..Default::default() }).unwrap()),
        || Box::new(AdamW::new(AdamWConfig { lr: 0.05, ..Default::default() }).unwrap()),
        || {
            let adam = Adam::new(AdamConfig { lr: 0.2, ..Default::default() }).unwrap();
            Box::new(Clipped::new(adam, GradClip::by_norm(1.0).unwrap()).unwrap())
        },
    ]
}

/// Runs `steps` steps on (w, b), lowering the learning rate to 80% after each step (as a
/// schedule would), so the state must carry the rate too.
fn run(optimizer: &mut dyn Optimizer<R>, w: &mut T, b: &mut T, steps: usize) {
    for _ in 0..steps {
        let g = grads(w, b);
        optimizer.step(&mut [("w".to_string(), &mut *w), ("b".to_string(), &mut *b)], &g);
        let lr = optimizer.learning_rate();
        optimizer.set_learning_rate(lr * 0.8);
    }
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

fn encode(state: &OptimizerState) -> Vec<u8> {
    bincode::serde::encode_to_vec(state, bincode::config::standard()).expect("a state encodes")
}

fn decode(bytes: &[u8]) -> OptimizerState {
    bincode::serde::decode_from_slice(bytes, bincode::config::standard()).expect("a state decodes").0
}

/// 4 steps, save, restore into new objects, 4 more steps ≡ 8 uninterrupted steps, bit for bit.
fn check_resume(make: Make) {
    let (mut w, mut b) = params();
    let mut uninterrupted = make();
    run(uninterrupted.as_mut(), &mut w, &mut b, 8);
    let want = values(&w, &b);

    let (mut w, mut b) = params();
    let mut first = make();
    run(first.as_mut(), &mut w, &mut b, 4);
    let bytes = encode(&first.state());
    let (w_saved, b_saved) = (w.to_vec(), b.to_vec());
    drop((first, w, b));

    let mut w = T::from_vec(w_saved, [2, 2]).require_grad();
    let mut b = T::from_vec(b_saved, [3]).require_grad();
    let mut resumed = make();
    let state = decode(&bytes);
    state.check_params(&[("w".to_string(), &mut w), ("b".to_string(), &mut b)]).unwrap();
    resumed.load_state(state).unwrap();
    run(resumed.as_mut(), &mut w, &mut b, 4);
    assert_eq!(bits(&values(&w, &b)), bits(&want), "{}", resumed.name());
    assert_eq!(resumed.learning_rate().to_bits(), uninterrupted.learning_rate().to_bits());
    assert_eq!(resumed.state(), uninterrupted.state());
}

#[test]
fn every_optimizer_resumes_bit_identically() {
    for make in all() {
        check_resume(make);
    }
}

#[test]
fn state_records_steps_rate_and_named_buffers() {
    let (mut w, mut b) = params();
    let mut adam = Adam::new(AdamConfig { lr: 0.05, ..Default::default() }).unwrap();
    run(&mut adam, &mut w, &mut b, 3);
    let state = adam.state();
    assert_eq!(state.optimizer, "adam");
    assert_eq!(state.steps, 3);
    // 0.05 · 0.8³ = 0.0256
    assert!((state.lr - 0.0256).abs() < 1e-8);
    let w_state = &state.params["w"];
    assert_eq!(w_state.step, 3);
    assert_eq!(w_state.buffers.keys().collect::<Vec<_>>(), ["m", "v"]);
    assert_eq!(w_state.buffers["m"].len(), 4);
    assert_eq!(state.params["b"].buffers["v"].len(), 3);
}

#[test]
fn a_state_of_another_optimizer_is_rejected() {
    let state = Adam::new(AdamConfig::default()).unwrap().state();
    let mut sgd = Sgd::new(SgdConfig::default()).unwrap();
    let err = sgd.load_state(state).unwrap_err();
    assert_eq!(err.to_string(), "optimizer state was saved by `adam`, expected `sgd`");
    // Momentum's state does not load into Nesterov either.
    let state = Momentum::new(MomentumConfig::default()).unwrap().state();
    let mut nesterov = Momentum::new(MomentumConfig { nesterov: true, ..Default::default() }).unwrap();
    assert!(matches!(nesterov.load_state(state), Err(OptimError::WrongOptimizer { .. })));
}

fn adam_state(buffers: &[(&str, usize)]) -> OptimizerState {
    let buffers = buffers.iter().map(|&(name, len)| (name.to_string(), vec![0.0; len])).collect();
    let mut state = OptimizerState::new("adam", 0.01);
    state.params = BTreeMap::from([("w".to_string(), ParamState { step: 2, buffers })]);
    state
}

#[test]
fn broken_buffers_are_rejected_and_nothing_changes() {
    let mut adam = Adam::new(AdamConfig { lr: 0.5, ..Default::default() }).unwrap();
    let err = adam.load_state(adam_state(&[("m", 4)])).unwrap_err();
    assert_eq!(err.to_string(), "adam: state of `w` lacks buffer `v`");
    let err = adam.load_state(adam_state(&[("m", 4), ("v", 4), ("u", 4)])).unwrap_err();
    assert_eq!(err.to_string(), "adam: state of `w` has unknown buffer `u`");
    let err = adam.load_state(adam_state(&[("m", 4), ("v", 3)])).unwrap_err();
    assert_eq!(err.to_string(), "state of `w`: buffer `v` holds 3 values, expected 4");
    let mut bad_lr = adam_state(&[("m", 4), ("v", 4)]);
    bad_lr.lr = f32::NAN;
    assert!(matches!(adam.load_state(bad_lr), Err(OptimError::InvalidSetting { .. })));
    assert_eq!(adam.learning_rate(), 0.5);
    assert!(adam.state().params.is_empty());
}

#[test]
fn check_params_catches_a_state_for_another_model() {
    let (mut w, mut b) = params();
    let list = [("w".to_string(), &mut w), ("b".to_string(), &mut b)];
    assert_eq!(adam_state(&[("m", 4), ("v", 4)]).check_params(&list), Ok(()));
    let err = adam_state(&[("m", 5), ("v", 5)]).check_params(&list).unwrap_err();
    assert_eq!(err.to_string(), "state of `w`: buffer `m` holds 5 values, expected 4");
    let mut other = adam_state(&[("m", 4), ("v", 4)]);
    other.params.insert("fc9.bias".to_string(), ParamState { step: 1, buffers: BTreeMap::new() });
    let err = other.check_params(&list).unwrap_err();
    assert_eq!(err.to_string(), "optimizer state names parameter `fc9.bias`, which the model does not have");
}

#[test]
#[should_panic(expected = "adam: restored state of `w` holds 5 values, parameter has 4")]
fn stepping_with_a_mismatched_restored_state_panics() {
    let (mut w, mut b) = params();
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    adam.load_state(adam_state(&[("m", 5), ("v", 5)])).unwrap();
    let g = grads(&w, &b);
    adam.step(&mut [("w".to_string(), &mut w), ("b".to_string(), &mut b)], &g);
}
