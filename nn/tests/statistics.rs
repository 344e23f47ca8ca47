//! Statistical properties, with bounds several standard errors wide: initializer variances,
//! dropout's expected activation, and batch norm's normalised outputs and running statistics.

use neurite_core::reference::ReferenceBackend as R;
use neurite_core::{Rng, Tensor};
use neurite_nn::{BatchNormConfig, Conv2dConfig, Dropout, Init, LinearConfig, Module};

type T = Tensor<R>;

fn mean_var(values: &[f32]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = values.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, var)
}

/// The weight variance of a 400 → 300 linear layer (120,000 draws: the sample variance's
/// relative standard error is √(2/n) ≈ 0.4 %, so 3 % is over seven standard errors).
fn linear_weight_variance(init: Init) -> (f64, f64) {
    let layer = LinearConfig::new(400, 300).with_init(init).init::<R>(&mut Rng::seed(3));
    let (mean, var) = mean_var(layer.weight().as_slice());
    let bias = layer.bias().expect("bias on by default").as_slice();
    assert!(bias.iter().all(|&b| b == 0.0), "biases default to zero");
    (mean, var)
}

fn assert_relative(got: f64, want: f64, tolerance: f64) {
    assert!((got - want).abs() <= tolerance * want, "got {got}, expected {want} within {}%", tolerance * 100.0);
}

#[test]
fn xavier_gives_variance_one_over_fan_in() {
    let (mean, var) = linear_weight_variance(Init::Xavier);
    assert!(mean.abs() < 1e-3, "mean {mean}");
    assert_relative(var, 1.0 / 400.0, 0.03);
}

#[test]
fn he_gives_variance_two_over_fan_in() {
    let (mean, var) = linear_weight_variance(Init::He);
    assert!(mean.abs() < 1e-3, "mean {mean}");
    assert_relative(var, 2.0 / 400.0, 0.03);
}

#[test]
fn glorot_uniform_gives_variance_two_over_fan_in_plus_fan_out() {
    let (_, var) = linear_weight_variance(Init::GlorotUniform);
    assert_relative(var, 2.0 / 700.0, 0.03);
}

#[test]
fn he_uniform_gives_variance_two_over_fan_in() {
    let (_, var) = linear_weight_variance(Init::HeUniform);
    assert_relative(var, 2.0 / 400.0, 0.03);
}

#[test]
fn naive_normal_initializers_have_the_asked_spread() {
    let (_, var) = linear_weight_variance(Init::Normal { std: 1.0 });
    assert_relative(var, 1.0, 0.03);
    let (_, var) = linear_weight_variance(Init::Normal { std: 0.01 });
    assert_relative(var, 1e-4, 0.03);
    // U[−1, 1) has variance (b − a)²/12 = 1/3.
    let (_, var) = linear_weight_variance(Init::Uniform { lo: -1.0, hi: 1.0 });
    assert_relative(var, 1.0 / 3.0, 0.03);
}

#[test]
fn constant_and_zero_initializers_and_bias_initializer() {
    let layer = LinearConfig::new(3, 2)
        .with_init(Init::Constant(0.5))
        .with_bias_init(Init::Constant(-1.0))
        .init::<R>(&mut Rng::seed(1));
    assert_eq!(layer.weight().to_vec(), vec![0.5; 6]);
    assert_eq!(layer.bias().expect("bias").to_vec(), vec![-1.0; 2]);
    let zero = LinearConfig::new(3, 2).with_init(Init::Zeros).init::<R>(&mut Rng::seed(1));
    assert_eq!(zero.weight().to_vec(), vec![0.0; 6]);
}

#[test]
fn conv_he_uses_fan_in_of_channels_times_kernel() {
    // 32 input channels × 3 × 3 = 288 inputs per output: Var = 2/288; 9,216 draws, so the
    // standard error is √(2/9216) ≈ 1.5 % and 6 % is four of them.
    let conv = Conv2dConfig::new(32, 32, (3, 3)).with_init(Init::He).init::<R>(&mut Rng::seed(4));
    let (_, var) = mean_var(conv.weight().as_slice());
    assert_relative(var, 2.0 / 288.0, 0.06);
}

// ---- dropout -----------------------------------------------------------------------------------

#[test]
fn dropout_keeps_the_expected_activation() {
    // 100,000 units of value 2 with p = 0.3: each output is 0 or 2/0.7, mean 2, variance
    // (2/0.7)²·0.7·0.3 ≈ 1.71, so the mean's standard error is ≈ 0.004; 0.02 is five of them.
    let x = T::full([200, 500], 2.0);
    let y: T = Dropout::new(0.3, 7).forward(&x);
    let (mean, _) = mean_var(y.as_slice());
    assert!((mean - 2.0).abs() < 0.02, "mean activation {mean}");
    let dropped = y.as_slice().iter().filter(|&&v| v == 0.0).count() as f64 / 100_000.0;
    assert!((dropped - 0.3).abs() < 0.006, "dropped fraction {dropped}");
    let kept_value = 2.0 / 0.7f32;
    assert!(y.as_slice().iter().all(|&v| v == 0.0 || (v - kept_value).abs() < 1e-6));
}

#[test]
fn dropout_backward_blocks_exactly_the_dropped_units() {
    let x = T::full([20, 30], 1.0).require_grad();
    let y = Module::<R>::forward(&Dropout::new(0.5, 1), &x);
    let grads = y.sum().backward();
    let dx = grads.get(&x).expect("x is a leaf").to_vec();
    // y = x·mask/(1 − p) with x = 1, so dy/dx equals y itself: 0 where dropped, 2 where kept.
    assert_eq!(dx, y.to_vec());
    assert!(dx.contains(&0.0) && dx.contains(&2.0));
}

#[test]
fn dropout_is_reproducible_from_its_seed() {
    let x = T::ones([8, 16]);
    let (a, b, c) = (Dropout::new(0.5, 42), Dropout::new(0.5, 42), Dropout::new(0.5, 43));
    let first: Vec<f32> = Module::<R>::forward(&a, &x).to_vec();
    assert_eq!(first, Module::<R>::forward(&b, &x).to_vec(), "same seed, same mask");
    assert_ne!(first, Module::<R>::forward(&c, &x).to_vec(), "another seed, another mask");
    let second = Module::<R>::forward(&a, &x).to_vec();
    assert_ne!(first, second, "each call draws a new mask");
    // A saved generator state resumes the same sequence of masks.
    let mut resumed = Dropout::new(0.5, 0);
    resumed.set_rng_state(b.rng_state());
    assert_eq!(Module::<R>::forward(&resumed, &x).to_vec(), Module::<R>::forward(&b, &x).to_vec());
}

#[test]
fn dropout_is_the_identity_in_evaluation() {
    let mut layer = Dropout::new(0.9, 3);
    Module::<R>::set_training(&mut layer, false);
    let x = T::from_vec(vec![1.0, -2.0, 3.0], [1, 3]);
    assert_eq!(Module::<R>::forward(&layer, &x).to_vec(), x.to_vec());
}

// ---- batch norm --------------------------------------------------------------------------------

/// 64 samples of 3 features, feature j shifted by 3j and scaled by j + 1.
fn skewed_batch() -> T {
    let z = T::randn([64, 3], 0.0, 1.0, &mut Rng::seed(9));
    z.mul(&T::from_vec(vec![1.0, 2.0, 3.0], [1, 3])).add(&T::from_vec(vec![0.0, 3.0, 6.0], [1, 3]))
}

fn column(t: &T, j: usize) -> Vec<f32> {
    let cols = t.dims()[1];
    t.as_slice().iter().skip(j).step_by(cols).copied().collect()
}

#[test]
fn batch_norm_1d_training_output_has_zero_mean_and_unit_variance_per_feature() {
    let bn = BatchNormConfig::new(3).init_1d::<R>();
    let x = skewed_batch();
    let y = bn.forward(&x);
    for j in 0..3 {
        let (mean, var) = mean_var(&column(&y, j));
        assert!(mean.abs() < 1e-5, "feature {j}: mean {mean}");
        // Var(x̂) = σ²/(σ² + ε), a hair under 1.
        assert!((var - 1.0).abs() < 1e-4, "feature {j}: variance {var}");
    }
}

#[test]
fn batch_norm_1d_updates_running_statistics_and_uses_them_in_evaluation() {
    let mut bn = BatchNormConfig::new(3).init_1d::<R>();
    let x = skewed_batch();
    let _ = bn.forward(&x);
    let (running_mean, running_var) = bn.running_stats();
    for j in 0..3 {
        let (mu, var) = mean_var(&column(&x, j));
        // From mean 0 and variance 1 with momentum 0.1: r_mean = 0.1·μ,
        // r_var = 0.9 + 0.1·σ²·n/(n − 1) (the unbiased batch variance, as PyTorch keeps).
        let want_var = 0.9 + 0.1 * var * 64.0 / 63.0;
        assert!((running_mean.as_slice()[j] as f64 - 0.1 * mu).abs() < 1e-5);
        assert!((running_var.as_slice()[j] as f64 - want_var).abs() < 1e-4 * want_var);
    }
    bn.set_training(false);
    let probe = T::from_vec(vec![1.0, 2.0, 3.0], [1, 3]);
    let y = bn.forward(&probe).to_vec();
    for (j, got) in y.iter().enumerate() {
        let (rm, rv) = (running_mean.as_slice()[j], running_var.as_slice()[j]);
        let want = (probe.as_slice()[j] - rm) / (rv + 1e-5).sqrt();
        assert!((got - want).abs() < 1e-6, "feature {j}: {got} vs {want}");
    }
    // Evaluation leaves the running statistics alone.
    let _ = bn.forward(&x);
    assert_eq!(bn.running_stats().0.to_vec(), running_mean.to_vec());
}

#[test]
fn batch_norm_2d_normalises_each_channel_over_batch_and_space() {
    let z = T::randn([4, 2, 5, 5], 0.0, 1.0, &mut Rng::seed(5));
    let x = z.mul(&T::from_vec(vec![0.5, 4.0], [1, 2, 1, 1])).add(&T::from_vec(vec![-2.0, 7.0], [1, 2, 1, 1]));
    let mut bn = BatchNormConfig::new(2).with_momentum(1.0).init_2d::<R>();
    let y = bn.forward(&x);
    let channel = |t: &T, c: usize| -> Vec<f32> {
        (0..4).flat_map(|n| t.as_slice()[(n * 2 + c) * 25..(n * 2 + c + 1) * 25].to_vec()).collect()
    };
    for c in 0..2 {
        let (mean, var) = mean_var(&channel(&y, c));
        assert!(mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-3, "channel {c}: mean {mean}, variance {var}");
    }
    // Momentum 1 keeps exactly the last batch's statistics (variance unbiased over 100 values).
    let (rm, rv) = bn.running_stats();
    for c in 0..2 {
        let (mu, var) = mean_var(&channel(&x, c));
        assert!((rm.as_slice()[c] as f64 - mu).abs() < 1e-4);
        assert!((rv.as_slice()[c] as f64 - var * 100.0 / 99.0).abs() < 1e-4 * var);
    }
    bn.set_training(false);
    let (mean, _) = mean_var(&channel(&bn.forward(&x), 1));
    assert!(mean.abs() < 1e-4, "evaluation with the batch's own statistics centres it: {mean}");
}
