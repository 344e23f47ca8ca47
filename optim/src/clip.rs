//! Gradient clipping, by global norm or by value. Clipping reads the gradients of the given
//! parameters and returns a new `Gradients` store holding only theirs, so it composes with any
//! optimizer: clip, then `step` with the result. `Clipped` wraps an optimizer to do both at once.

use neurite_core::{Backend, Gradients, Tensor};

use crate::error::{OptimError, check_positive};
use crate::optimizer::{Optimizer, OptimizerState};

/// The L2 norm of all the parameters' gradients taken together, √(Σ g²) over every element of
/// every parameter that has a gradient; accumulated in f64, in parameter order.
pub fn global_grad_norm<B: Backend>(params: &[(String, &mut Tensor<B>)], grads: &Gradients<B>) -> f32 {
    let sum_sq: f64 = params
        .iter()
        .filter_map(|(_, p)| grads.get(p))
        .flat_map(|g| g.as_slice())
        .map(|&g| f64::from(g) * f64::from(g))
        .sum();
    sum_sq.sqrt() as f32
}

/// Scales the parameters' gradients by `max_norm / norm` when their global norm exceeds
/// `max_norm`, so the norm becomes `max_norm` and every direction is kept. Returns the new store
/// (the parameters' gradients only; unchanged ones share their buffers) and the norm before
/// clipping. A non-finite norm (a NaN or infinite gradient) leaves the gradients as they are: the
/// returned norm tells the caller to skip the step.
///
/// # Panics
/// If `max_norm` is not a finite number > 0 (use [`GradClip::by_norm`] to get an error instead).
pub fn clip_grad_norm<B: Backend>(
    params: &[(String, &mut Tensor<B>)],
    grads: &Gradients<B>,
    max_norm: f32,
) -> (Gradients<B>, f32) {
    assert!(max_norm.is_finite() && max_norm > 0.0, "clip_grad_norm: max_norm = {max_norm}, expected a number > 0");
    let norm = global_grad_norm(params, grads);
    let scale = if norm.is_finite() && norm > max_norm { Some(max_norm / norm) } else { None };
    let clipped = map_grads(params, grads, |g| scale.map(|s| g.iter().map(|&x| x * s).collect()));
    (clipped, norm)
}

/// Clamps every gradient element of the parameters into [−`max_value`, `max_value`]. Returns
/// the new store (the parameters' gradients only; unchanged ones share their buffers).
///
/// # Panics
/// If `max_value` is not a finite number > 0 (use [`GradClip::by_value`] to get an error
/// instead).
pub fn clip_grad_value<B: Backend>(
    params: &[(String, &mut Tensor<B>)],
    grads: &Gradients<B>,
    max_value: f32,
) -> Gradients<B> {
    assert!(
        max_value.is_finite() && max_value > 0.0,
        "clip_grad_value: max_value = {max_value}, expected a number > 0"
    );
    map_grads(params, grads, |g| {
        let inside = g.iter().all(|x| x.abs() <= max_value);
        (!inside).then(|| g.iter().map(|x| x.clamp(-max_value, max_value)).collect())
    })
}

/// A new store with, for each parameter that has a gradient, `f(gradient)` (or the gradient
/// itself, shared, where `f` gives `None`).
fn map_grads<B: Backend>(
    params: &[(String, &mut Tensor<B>)],
    grads: &Gradients<B>,
    mut f: impl FnMut(&[f32]) -> Option<Vec<f32>>,
) -> Gradients<B> {
    let mut out = Gradients::new();
    for (_, param) in params {
        let Some(grad) = grads.get(param) else { continue };
        if out.get(param).is_some() {
            continue; // the same tensor listed twice
        }
        let new = match f(grad.as_slice()) {
            Some(values) => Tensor::from_vec(values, grad.shape().clone()),
            None => grad.clone(),
        };
        out.accumulate(param.id(), new);
    }
    out
}

/// A validated clipping rule.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum GradClip {
    /// Rescale when the global L2 norm exceeds this bound ([`clip_grad_norm`]).
    Norm(f32),
    /// Clamp each element into [−bound, bound] ([`clip_grad_value`]).
    Value(f32),
}

impl GradClip {
    /// Clipping by global norm.
    ///
    /// # Errors
    /// [`OptimError::InvalidSetting`] unless `max_norm` is a finite number > 0.
    pub fn by_norm(max_norm: f32) -> Result<Self, OptimError> {
        check_positive("clip_grad_norm", "max_norm", max_norm)?;
        Ok(GradClip::Norm(max_norm))
    }

    /// Clipping by value.
    ///
    /// # Errors
    /// [`OptimError::InvalidSetting`] unless `max_value` is a finite number > 0.
    pub fn by_value(max_value: f32) -> Result<Self, OptimError> {
        check_positive("clip_grad_value", "max_value", max_value)?;
        Ok(GradClip::Value(max_value))
    }

    /// Checks the bound (for a rule built directly or deserialized).
    ///
    /// # Errors
    /// As [`GradClip::by_norm`] and [`GradClip::by_value`].
    pub fn validate(self) -> Result<Self, OptimError> {
        match self {
            GradClip::Norm(bound) => Self::by_norm(bound),
            GradClip::Value(bound) => Self::by_value(bound),
        }
    }

    /// The clipped gradients of `params`.
    ///
    /// # Panics
    /// If the bound is invalid (see [`GradClip::validate`]).
    pub fn apply<B: Backend>(&self, params: &[(String, &mut Tensor<B>)], grads: &Gradients<B>) -> Gradients<B> {
        match *self {
            GradClip::Norm(bound) => clip_grad_norm(params, grads, bound).0,
            GradClip::Value(bound) => clip_grad_value(params, grads, bound),
        }
    }
}

/// An optimizer that clips the gradients before each step. Its state and learning rate are the
/// wrapped optimizer's.
#[derive(Clone, Debug)]
pub struct Clipped<O> {
    inner: O,
    clip: GradClip,
}

impl<O> Clipped<O> {
    /// `inner`, clipping with `clip` first.
    ///
    /// # Errors
    /// As [`GradClip::validate`].
    pub fn new(inner: O, clip: GradClip) -> Result<Self, OptimError> {
        Ok(Clipped { inner, clip: clip.validate()? })
    }

    /// The clipping rule.
    pub fn clip(&self) -> GradClip {
        self.clip
    }

    /// The wrapped optimizer.
    pub fn inner(&self) -> &O {
        &self.inner
    }

    /// The wrapped optimizer, mutably.
    pub fn inner_mut(&mut self) -> &mut O {
        &mut self.inner
    }

    /// The wrapped optimizer, unwrapped.
    pub fn into_inner(self) -> O {
        self.inner
    }
}

impl<B: Backend, O: Optimizer<B>> Optimizer<B> for Clipped<O> {
    fn step(&mut self, params: &mut [(String, &mut Tensor<B>)], grads: &Gradients<B>) {
        let clipped = self.clip.apply(params, grads);
        self.inner.step(params, &clipped);
    }
    fn state(&self) -> OptimizerState {
        self.inner.state()
    }
    fn load_state(&mut self, state: OptimizerState) -> Result<(), OptimError> {
        self.inner.load_state(state)
    }
    fn learning_rate(&self) -> f32 {
        self.inner.learning_rate()
    }
    fn set_learning_rate(&mut self, lr: f32) {
        self.inner.set_learning_rate(lr)
    }
    fn name(&self) -> &str {
        self.inner.name()
    }
}

#[cfg(test)]
mod tests {
    use neurite_core::reference::ReferenceBackend as R;

    use super::*;
    use crate::{Sgd, SgdConfig};

    type T = Tensor<R>;

    /// Two parameters, a = [1, 2] and b = [3], with gradients ga and gb (from L = ga·a + gb·b).
    fn setup(ga: [f32; 2], gb: f32) -> (T, T, Gradients<R>) {
        let a = T::from_vec(vec![1.0, 2.0], [2]).require_grad();
        let b = T::from_vec(vec![3.0], [1]).require_grad();
        let loss = a.mul(&T::from_vec(ga.to_vec(), [2])).sum().add(&b.mul(&T::from_vec(vec![gb], [1])).sum());
        let grads = loss.backward();
        (a, b, grads)
    }

    #[test]
    fn global_norm_spans_every_parameter() {
        // √(3² + 0² + 4²) = 5
        let (mut a, mut b, grads) = setup([3.0, 0.0], 4.0);
        let params = vec![("a".to_string(), &mut a), ("b".to_string(), &mut b)];
        assert_eq!(global_grad_norm(&params, &grads), 5.0);
    }

    #[test]
    fn clip_grad_norm_rescales_to_the_bound() {
        // norm 5 > 1: scale 1/5, so [3, 0] → [0.6, 0] and [4] → [0.8]
        let (mut a, mut b, grads) = setup([3.0, 0.0], 4.0);
        let params = vec![("a".to_string(), &mut a), ("b".to_string(), &mut b)];
        let (clipped, norm) = clip_grad_norm(&params, &grads, 1.0);
        assert_eq!(norm, 5.0);
        assert_eq!(clipped.get(params[0].1).unwrap().to_vec(), vec![0.6, 0.0]);
        assert_eq!(clipped.get(params[1].1).unwrap().to_vec(), vec![0.8]);
        assert!((global_grad_norm(&params, &clipped) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn clip_grad_norm_keeps_small_gradients() {
        // norm 5 ≤ 10: nothing changes
        let (mut a, mut b, grads) = setup([3.0, 0.0], -4.0);
        let params = vec![("a".to_string(), &mut a), ("b".to_string(), &mut b)];
        let (clipped, norm) = clip_grad_norm(&params, &grads, 10.0);
        assert_eq!(norm, 5.0);
        assert_eq!(clipped.get(params[0].1).unwrap().to_vec(), vec![3.0, 0.0]);
        assert_eq!(clipped.get(params[1].1).unwrap().to_vec(), vec![-4.0]);
    }

    #[test]
    fn clip_grad_value_clamps_each_element() {
        // bound 2: [3, −0.5] → [2, −0.5], [−4] → [−2]
        let (mut a, mut b, grads) = setup([3.0, -0.5], -4.0);
        let params = vec![("a".to_string(), &mut a), ("b".to_string(), &mut b)];
        let clipped = clip_grad_value(&params, &grads, 2.0);
        assert_eq!(clipped.get(params[0].1).unwrap().to_vec(), vec![2.0, -0.5]);
        assert_eq!(clipped.get(params[1].1).unwrap().to_vec(), vec![-2.0]);
    }

    #[test]
    fn clipping_keeps_only_the_given_parameters() {
        let (mut a, _b, grads) = setup([3.0, 0.0], 4.0);
        let params = vec![("a".to_string(), &mut a)];
        let (clipped, norm) = clip_grad_norm(&params, &grads, 1.0);
        // Only a counts: norm 3, scaled by 1/3.
        assert_eq!(norm, 3.0);
        assert_eq!(clipped.len(), 1);
        assert_eq!(clipped.get(params[0].1).unwrap().to_vec(), vec![1.0, 0.0]);
    }

    #[test]
    fn non_finite_norm_leaves_gradients_alone() {
        let (mut a, mut b, grads) = setup([f32::INFINITY, 1.0], 1.0);
        let params = vec![("a".to_string(), &mut a), ("b".to_string(), &mut b)];
        let (clipped, norm) = clip_grad_norm(&params, &grads, 1.0);
        assert!(norm.is_infinite());
        assert_eq!(clipped.get(params[1].1).unwrap().to_vec(), vec![1.0]);
    }

    #[test]
    fn clipped_optimizer_steps_with_clipped_gradients() {
        // SGD lr 0.5 after value clipping at 1: a = [1, 2] − 0.5·[1, −1] = [0.5, 2.5], b = 3 − 0.5·0.25
        let (mut a, mut b, grads) = setup([3.0, -2.0], 0.25);
        let sgd = Sgd::new(SgdConfig { lr: 0.5, weight_decay: 0.0 }).unwrap();
        let mut opt = Clipped::new(sgd, GradClip::by_value(1.0).unwrap()).unwrap();
        let mut params = vec![("a".to_string(), &mut a), ("b".to_string(), &mut b)];
        Optimizer::<R>::step(&mut opt, &mut params, &grads);
        assert_eq!(a.to_vec(), vec![0.5, 2.5]);
        assert_eq!(b.to_vec(), vec![2.875]);
        assert_eq!(Optimizer::<R>::name(&opt), "sgd");
    }

    #[test]
    fn bad_bounds_are_rejected() {
        assert_eq!(
            GradClip::by_norm(0.0).unwrap_err().to_string(),
            "clip_grad_norm: max_norm = 0, expected a finite number > 0"
        );
        assert!(GradClip::by_value(f32::NAN).is_err());
        assert!(Clipped::new((), GradClip::Norm(-1.0)).is_err());
        assert_eq!(GradClip::Value(0.5).validate(), Ok(GradClip::Value(0.5)));
    }

    #[test]
    #[should_panic(expected = "clip_grad_value")]
    fn clip_grad_value_panics_on_a_bad_bound() {
        let (mut a, _b, grads) = setup([3.0, 0.0], 4.0);
        let params = vec![("a".to_string(), &mut a)];
        let _ = clip_grad_value(&params, &grads, -1.0);
    }
}
