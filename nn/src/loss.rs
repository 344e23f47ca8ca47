//! Losses, each a scalar tensor whose graph `backward` differentiates: mean squared error (the
//! course's E = 1/(2N)·Σ‖d − y‖², or the plain mean), softmax cross-entropy fused with
//! log-softmax (integer labels, with or without label smoothing, or one-hot/soft targets), binary
//! cross-entropy on probabilities (clamped) or on logits (stable through softplus), and for regression the mean
//! absolute error ([`l1`]) and the Huber loss ([`huber`]).

use neurite_core::{Backend, Tensor};

/// How [`mse`] reduces the squared errors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MseReduction {
    /// The course's convention E = 1/(2N)·Σₙ‖dₙ − yₙ‖², N the batch size (the first dimension):
    /// the ½ cancels the 2 of the derivative, so ∂E/∂y = (y − d)/N.
    #[default]
    HalfSumPerSample,
    /// The plain mean over every element, PyTorch's `MSELoss()`.
    Mean,
}

/// Mean squared error between `prediction` y and `target` d, of the same shape.
///
/// # Panics
/// If the shapes differ.
#[track_caller]
pub fn mse<B: Backend>(prediction: &Tensor<B>, target: &Tensor<B>, reduction: MseReduction) -> Tensor<B> {
    assert_eq!(
        prediction.shape(),
        target.shape(),
        "mse: prediction {} and target {} differ",
        prediction.shape(),
        target.shape()
    );
    let squared = prediction.sub(target).square();
    match reduction {
        MseReduction::HalfSumPerSample => {
            let n = prediction.dims().first().copied().unwrap_or(1).max(1);
            squared.sum().mul_scalar(0.5 / n as f32)
        }
        MseReduction::Mean => squared.mean(),
    }
}

/// Mean softmax cross-entropy of `[n, classes]` logits against integer `labels` (a `[n]` tensor
/// of class indices): −(1/n)·Σᵢ log softmax(xᵢ)\[labelᵢ\]. Fused with log-softmax, so the
/// gradient is the stable (softmax − one_hot)/n.
///
/// # Panics
/// If `logits` is not 2-D, or `labels` is not `[n]` of integers in `0..classes`.
#[track_caller]
pub fn cross_entropy<B: Backend>(logits: &Tensor<B>, labels: &Tensor<B>) -> Tensor<B> {
    check_labels("cross_entropy", logits, labels);
    logits.softmax_cross_entropy(&labels.one_hot(logits.dims()[1]))
}

/// Panics, naming `who`, unless `logits` is `[n, classes]` and `labels` is `[n]`.
#[track_caller]
fn check_labels<B: Backend>(who: &str, logits: &Tensor<B>, labels: &Tensor<B>) {
    assert_eq!(logits.rank(), 2, "{who}: logits {} must be [n, classes]", logits.shape());
    assert_eq!(
        labels.dims(),
        [logits.dims()[0]],
        "{who}: labels {} must be [{}] for logits {}",
        labels.shape(),
        logits.dims()[0],
        logits.shape()
    );
}

/// [`cross_entropy`] with label smoothing ε (Szegedy et al. 2016, "Rethinking the Inception
/// Architecture", §7): the target of a sample of class y is (1 − ε)·one_hot(y) + ε/K over K
/// classes, so the loss is (1 − ε)·CE + ε·(the mean over classes of −log softmax). The network is
/// no longer pushed towards infinite margins; ε = 0 is [`cross_entropy`].
///
/// # Panics
/// As [`cross_entropy`], or if ε is not in [0, 1).
#[track_caller]
pub fn cross_entropy_smoothed<B: Backend>(logits: &Tensor<B>, labels: &Tensor<B>, smoothing: f32) -> Tensor<B> {
    assert!((0.0..1.0).contains(&smoothing), "cross_entropy_smoothed: ε = {smoothing} must be in [0, 1)");
    check_labels("cross_entropy_smoothed", logits, labels);
    let classes = logits.dims()[1];
    let targets = labels.one_hot(classes).mul_scalar(1.0 - smoothing).add_scalar(smoothing / classes as f32);
    logits.softmax_cross_entropy(&targets)
}

/// Mean softmax cross-entropy of `[n, classes]` logits against `[n, classes]` target
/// distributions (one-hot rows for hard labels): −(1/n)·Σᵢ Σⱼ tᵢⱼ log softmax(xᵢ)ⱼ.
///
/// # Panics
/// If the shapes differ or are not 2-D.
#[track_caller]
pub fn cross_entropy_one_hot<B: Backend>(logits: &Tensor<B>, targets: &Tensor<B>) -> Tensor<B> {
    logits.softmax_cross_entropy(targets)
}

/// Probabilities are clamped to [ε, 1 − ε] with this ε before the logarithm in [`bce`].
pub const BCE_EPS: f32 = 1e-7;

/// Binary cross-entropy of probabilities p in (0, 1) against targets t in [0, 1], averaged over
/// every element: −mean(t·ln p + (1 − t)·ln(1 − p)). p is clamped to [ε, 1 − ε] ([`BCE_EPS`]) so a
/// saturated sigmoid gives a large finite loss, not infinity (where the clamp bites, the gradient
/// is zero).
///
/// # Panics
/// If the shapes differ.
#[track_caller]
pub fn bce<B: Backend>(probabilities: &Tensor<B>, targets: &Tensor<B>) -> Tensor<B> {
    assert_eq!(
        probabilities.shape(),
        targets.shape(),
        "bce: probabilities {} and targets {} differ",
        probabilities.shape(),
        targets.shape()
    );
    let p = probabilities.clamp(BCE_EPS, 1.0 - BCE_EPS);
    let one_minus_t = targets.neg().add_scalar(1.0);
    let log_likelihood = targets.mul(&p.log()).add(&one_minus_t.mul(&p.neg().add_scalar(1.0).log()));
    log_likelihood.mean().neg()
}

/// Binary cross-entropy on logits x (before the sigmoid), averaged over every element:
/// mean(softplus(x) − t·x), which equals the BCE of σ(x) but never takes the log of 0 or
/// overflows (softplus is computed as max(x, 0) + ln(1 + e^−|x|)). Its gradient is (σ(x) − t)/n.
///
/// # Panics
/// If the shapes differ.
#[track_caller]
pub fn bce_with_logits<B: Backend>(logits: &Tensor<B>, targets: &Tensor<B>) -> Tensor<B> {
    assert_eq!(
        logits.shape(),
        targets.shape(),
        "bce_with_logits: logits {} and targets {} differ",
        logits.shape(),
        targets.shape()
    );
    logits.softplus().sub(&targets.mul(logits)).mean()
}

/// Mean absolute error between `prediction` y and `target` d over every element, mean(|y − d|)
/// (PyTorch's `L1Loss()`); its gradient is sign(y − d)/count.
///
/// # Panics
/// If the shapes differ.
#[track_caller]
pub fn l1<B: Backend>(prediction: &Tensor<B>, target: &Tensor<B>) -> Tensor<B> {
    assert_eq!(
        prediction.shape(),
        target.shape(),
        "l1: prediction {} and target {} differ",
        prediction.shape(),
        target.shape()
    );
    prediction.sub(target).abs().mean()
}

/// The Huber loss with threshold δ > 0 over every element (PyTorch's `HuberLoss(delta)`):
/// ½·e² where |e| ≤ δ, δ·(|e| − ½δ) beyond, for e = y − d, averaged. Quadratic near zero like
/// the squared error, linear far out like the absolute error, so outliers pull less. Written as
/// ½q² + δ·(|e| − q) with q = min(|e|, δ), which is both branches at once.
///
/// # Panics
/// If the shapes differ.
#[track_caller]
pub fn huber<B: Backend>(prediction: &Tensor<B>, target: &Tensor<B>, delta: f32) -> Tensor<B> {
    assert_eq!(
        prediction.shape(),
        target.shape(),
        "huber: prediction {} and target {} differ",
        prediction.shape(),
        target.shape()
    );
    let a = prediction.sub(target).abs();
    let q = a.minimum(&Tensor::full(a.dims().to_vec(), delta));
    q.square().mul_scalar(0.5).add(&a.sub(&q).mul_scalar(delta)).mean()
}
