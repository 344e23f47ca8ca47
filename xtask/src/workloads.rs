//! The benchmark workloads, written once and generic over `B: Backend`: the criterion benches
//! (`benches/backends.rs`) and the quick in-process run (`cargo xtask bench --quick`) both use
//! them. Shapes come from real models: the MNIST MLP 784-512-256-10, a two-layer MNIST CNN, the
//! course's XOR network; training workloads build them with `neurite_nn::models` and step them
//! with `neurite_train::train_step`, so they time the code users run.

use neurite_augment::spec::{catalogue, typical_pipeline};
use std::cell::RefCell;
use std::rc::Rc;

use neurite_augment::{ImageBatch, ImageSize, Pixel, Transform};
use neurite_core::{Backend, Rng, Tensor, no_grad};
use neurite_nn::models::{CnnConfig, MlpConfig, ResNetConfig};
use neurite_nn::{Module, Sequential};
use neurite_optim::{Sgd, SgdConfig};
use neurite_train::{CrossEntropy, Loss, Mse, StepSettings, train_step};

/// What one iteration of a workload counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Floating-point operations (reported as GFLOP/s).
    Flops,
    /// Training or inference samples (reported as samples/s).
    Samples,
    /// Elements processed (reported as Melem/s).
    Elements,
}

/// A ready-to-run workload: call `run` once per iteration.
pub struct Workload {
    /// Group name (`matmul`, `mlp_train_step`, `augment_flip`, …).
    pub name: String,
    /// The shape part of the id (`256x256x256`).
    pub shape: String,
    /// What `per_iter` counts.
    pub unit: Unit,
    /// Units of work per iteration.
    pub per_iter: u64,
    /// Untimed work before each iteration (a fresh input for a transform that consumes it).
    pub setup: Option<Box<dyn FnMut()>>,
    /// One iteration.
    pub run: Box<dyn FnMut()>,
}

/// A plain `[n, n]·[n, n]` product.
pub fn sgemm<B: Backend>(n: usize) -> Workload {
    let mut rng = Rng::seed(1);
    let a = Tensor::<B>::randn([n, n], 0.0, 1.0, &mut rng);
    let b = Tensor::<B>::randn([n, n], 0.0, 1.0, &mut rng);
    Workload {
        name: "matmul".into(),
        shape: format!("{n}x{n}x{n}"),
        unit: Unit::Flops,
        per_iter: 2 * (n * n * n) as u64,
        setup: None,
        run: Box::new(move || {
            std::hint::black_box(a.matmul(&b));
        }),
    }
}

/// A training workload: `steps` of `neurite_train::train_step` (the step `neurite train`, the
/// experiments and `neurite xor` run) with SGD on a fixed batch.
fn training<B: Backend, M: Module<B> + 'static>(
    name: &str,
    shape: &str,
    mut model: M,
    lr: f32,
    (x, targets): (Tensor<B>, Tensor<B>),
    loss: impl Loss<B> + 'static,
) -> Workload {
    let mut sgd = Sgd::new(SgdConfig { lr, ..SgdConfig::default() }).expect("a valid learning rate");
    let settings = StepSettings::new(loss);
    let samples = x.dims()[0] as u64;
    Workload {
        name: name.into(),
        shape: shape.into(),
        unit: Unit::Samples,
        per_iter: samples,
        setup: None,
        run: Box::new(move || {
            train_step(&mut model, &mut sgd, &x, &targets, &settings).expect("a finite step");
        }),
    }
}

/// `[batch, features…]` uniform inputs and `[batch]` class labels below `classes`.
fn synthetic_batch<B: Backend>(dims: &[usize], classes: usize, rng: &mut Rng) -> (Tensor<B>, Tensor<B>) {
    let x = Tensor::rand_uniform(dims.to_vec(), 0.0, 1.0, rng);
    let labels: Vec<f32> = (0..dims[0]).map(|_| rng.below(classes) as f32).collect();
    (x, Tensor::from_vec(labels, [dims[0]]))
}

/// The course's MNIST MLP 784-512-256-10 (ReLU, He init), as `neurite train` builds it.
fn mnist_mlp<B: Backend>(seed: u64) -> Sequential<B> {
    MlpConfig::new(784, &[512, 256], 10).init::<B>(seed)
}

/// One SGD step (lr 0.05) of the 784-512-256-10 ReLU MLP with softmax cross-entropy, batch 128.
pub fn mlp_train_step<B: Backend>() -> Workload {
    let batch = synthetic_batch::<B>(&[128, 784], 10, &mut Rng::seed(2));
    training("mlp_train_step", "784-512-256-10xb128", mnist_mlp::<B>(2), 0.05, batch, CrossEntropy)
}

/// Inference of the same MLP on a batch of 1,000, no graph.
pub fn mlp_infer<B: Backend>() -> Workload {
    let mut mlp = mnist_mlp::<B>(3);
    mlp.set_training(false);
    let (x, _) = synthetic_batch::<B>(&[1000, 784], 10, &mut Rng::seed(3));
    Workload {
        name: "mlp_infer".into(),
        shape: "784-512-256-10xb1000".into(),
        unit: Unit::Samples,
        per_iter: 1000,
        setup: None,
        run: Box::new(move || {
            std::hint::black_box(no_grad(|| mlp.forward(&x).argmax(1, false)));
        }),
    }
}

/// One SGD step of the MNIST CNN of `neurite train --model cnn`: conv 1→16 5×5 pad 2, ReLU,
/// max-pool 2, conv 16→32 5×5 pad 2, ReLU, max-pool 2, flatten, linear 1568→10, softmax
/// cross-entropy; batch 64.
pub fn cnn_train_step<B: Backend>() -> Workload {
    let cnn = CnnConfig::new([1, 28, 28], 10).init::<B>(4).expect("28×28 images fit the CNN");
    let batch = synthetic_batch::<B>(&[64, 1, 28, 28], 10, &mut Rng::seed(4));
    training("cnn_train_step", "28x28x1-c16-c32-fc10xb64", cnn, 0.05, batch, CrossEntropy)
}

/// One SGD step of He et al.'s ResNet-20 for CIFAR-10 (`neurite train --model resnet`: widths
/// 16/32/64, shortcut A, batch norm), softmax cross-entropy; batch 128 of 32×32×3.
pub fn resnet20_train_step<B: Backend>() -> Workload {
    let resnet = ResNetConfig::new([3, 32, 32], 10, 20).init::<B>(6).expect("ResNet-20 builds");
    let batch = synthetic_batch::<B>(&[128, 3, 32, 32], 10, &mut Rng::seed(6));
    training("resnet20_train_step", "32x32x3-resnet20xb128", resnet, 0.05, batch, CrossEntropy)
}

/// One full-batch GD step of the course's 2-4-1 sigmoid XOR network (`neurite xor`): per-op
/// overhead.
pub fn tiny_mlp_train_step<B: Backend>() -> Workload {
    let x = Tensor::<B>::from_vec(vec![0., 0., 0., 1., 1., 0., 1., 1.], [4, 2]);
    let t = Tensor::<B>::from_vec(vec![0., 1., 1., 0.], [4, 1]);
    training("tiny_mlp_train_step", "2-4-1xb4", MlpConfig::xor(4).init::<B>(5), 0.5, (x, t), Mse)
}

/// Element-wise ReLU over `n` values.
pub fn relu<B: Backend>(n: usize) -> Workload {
    let x = Tensor::<B>::randn([n], 0.0, 1.0, &mut Rng::seed(6));
    Workload {
        name: "relu".into(),
        shape: format!("{n}"),
        unit: Unit::Elements,
        per_iter: n as u64,
        setup: None,
        run: Box::new(move || {
            std::hint::black_box(x.relu());
        }),
    }
}

/// Element-wise exp over `n` values.
pub fn exp<B: Backend>(n: usize) -> Workload {
    let x = Tensor::<B>::randn([n], 0.0, 1.0, &mut Rng::seed(7));
    Workload {
        name: "exp".into(),
        shape: format!("{n}"),
        unit: Unit::Elements,
        per_iter: n as u64,
        setup: None,
        run: Box::new(move || {
            std::hint::black_box(x.exp());
        }),
    }
}

/// Row softmax of `[rows, cols]`.
pub fn softmax<B: Backend>(rows: usize, cols: usize) -> Workload {
    let x = Tensor::<B>::randn([rows, cols], 0.0, 1.0, &mut Rng::seed(8));
    Workload {
        name: "softmax".into(),
        shape: format!("{rows}x{cols}"),
        unit: Unit::Elements,
        per_iter: (rows * cols) as u64,
        setup: None,
        run: Box::new(move || {
            std::hint::black_box(x.softmax(1));
        }),
    }
}

/// Forward convolution of a batch of 64 MNIST-sized feature maps: 16→32 channels, 5×5, pad 2.
pub fn conv2d<B: Backend>() -> Workload {
    let mut rng = Rng::seed(9);
    let x = Tensor::<B>::randn([64, 16, 14, 14], 0.0, 1.0, &mut rng);
    let w = Tensor::<B>::randn([32, 16, 5, 5], 0.0, 0.1, &mut rng);
    Workload {
        name: "conv2d".into(),
        shape: "64x16x14x14-k32x5x5".into(),
        unit: Unit::Flops,
        per_iter: 2 * 64 * 32 * 16 * 25 * 14 * 14,
        setup: None,
        run: Box::new(move || {
            std::hint::black_box(x.conv2d(&w, None, (1, 1), (2, 2)));
        }),
    }
}

/// How a workload runs a transform on a batch of `T`: `apply_batch` or `apply_batch_u8`.
type Apply<T> = fn(&dyn Transform, ImageBatch<T>, &mut Rng) -> ImageBatch<T>;

/// One augmentation transform (or `pipeline`) on a batch: 256 grey 28×28 digits or 32 RGB
/// 224×224 photos, of `f32` values or (shape suffix `xu8`) `u8` levels, counted in images.
/// Transforms run on host data, so they are registered once, not per backend.
fn augment_workload<T: Pixel>(
    name: String,
    transform: Box<dyn Transform>,
    size: ImageSize,
    batch: usize,
    apply: Apply<T>,
) -> Workload {
    let mut rng = Rng::seed(10);
    let n = batch * size.channels * size.height * size.width;
    let values = rng.uniform_vec(n, 0.0, 1.0).into_iter().map(T::from_unit).collect();
    let input = ImageBatch::new(values, batch, size);
    let dtype = if std::any::TypeId::of::<T>() == std::any::TypeId::of::<u8>() { "xu8" } else { "" };
    let shape = format!("{}x{}x{}xb{batch}{dtype}", size.channels, size.height, size.width);
    // A transform takes its batch by value. One that keeps the size gets its own output back
    // next time, so what is timed is the transform alone (a fresh copy of the input would cost
    // as much as a flip). One that changes the size gets a fresh copy of the input, made by the
    // untimed `setup`.
    let keeps_size = transform.output_size(size) == size;
    let current = Rc::new(RefCell::new(Some(input.clone())));
    let refill = Rc::clone(&current);
    let setup: Option<Box<dyn FnMut()>> = (!keeps_size).then(|| {
        Box::new(move || {
            let mut slot = refill.borrow_mut();
            if slot.is_none() {
                *slot = Some(input.clone());
            }
        }) as Box<dyn FnMut()>
    });
    Workload {
        name: format!("augment_{name}"),
        shape,
        unit: Unit::Samples,
        per_iter: batch as u64,
        setup,
        run: Box::new(move || {
            let batch = current.borrow_mut().take().expect("the setup refills the batch");
            let out = std::hint::black_box(apply(transform.as_ref(), batch, &mut rng));
            if keeps_size {
                *current.borrow_mut() = Some(out);
            }
        }),
    }
}

/// Every augmentation transform and the typical pipeline, at 28×28 grey and 224×224 RGB, on
/// `f32` values and on `u8` levels.
pub fn augmentation() -> Vec<Workload> {
    let mut out = Vec::new();
    for (size, batch) in [
        (ImageSize { channels: 1, height: 28, width: 28 }, 256),
        (ImageSize { channels: 3, height: 224, width: 224 }, 32),
    ] {
        // Two of each transform: one for the f32 workload, one for the u8 one.
        let twice = || {
            let mut named: Vec<(String, Box<dyn Transform>)> = vec![("pipeline".into(), Box::new(typical_pipeline()))];
            for (spec, t) in catalogue(size) {
                named.push((spec.split([':', '@']).next().unwrap_or(&spec).replace('-', "_"), t));
            }
            named
        };
        for ((name, t), (_, again)) in twice().into_iter().zip(twice()) {
            out.push(augment_workload::<f32>(name.clone(), t, size, batch, |t, b, rng| t.apply_batch(b, rng)));
            out.push(augment_workload::<u8>(name, again, size, batch, |t, b, rng| t.apply_batch_u8(b, rng)));
        }
    }
    out
}

/// Every workload for backend `B`, in report order.
pub fn all<B: Backend>() -> Vec<Workload> {
    vec![
        sgemm::<B>(256),
        sgemm::<B>(1024),
        mlp_train_step::<B>(),
        mlp_infer::<B>(),
        cnn_train_step::<B>(),
        resnet20_train_step::<B>(),
        tiny_mlp_train_step::<B>(),
        conv2d::<B>(),
        relu::<B>(1 << 20),
        exp::<B>(1 << 20),
        softmax::<B>(1000, 10),
    ]
}
