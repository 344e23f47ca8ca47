//! FGSM on a small trained MNIST model: a softmax regression (784 → 10) trained by plain gradient
//! descent on 600 digits of the embedded subset; its accuracy on 400 other digits falls as ε grows.

mod common;

use std::io::Read;

use neurite_augment::{accuracy_under_attack, fgsm, input_gradient};
use neurite_backend_cpu::CpuBackend as B;
use neurite_core::{Tensor, no_grad};

type T = Tensor<B>;

/// The big-endian u32 at `at`.
fn be32(bytes: &[u8], at: usize) -> usize {
    u32::from_be_bytes(bytes[at..at + 4].try_into().expect("four bytes")) as usize
}

/// The first `n` digits of the MNIST subset: `[n, 1, 28, 28]` in [0, 1] and their labels.
fn mnist(n: usize) -> (T, Vec<usize>) {
    let read = |name: &str| {
        let path = common::data_dir().join("mnist").join(name);
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap()).read_to_end(&mut bytes).unwrap();
        bytes
    };
    let images = read("train-5k-images-idx3-ubyte.gz");
    let labels = read("train-5k-labels-idx1-ubyte.gz");
    assert_eq!((be32(&images, 0), be32(&images, 8), be32(&images, 12)), (0x803, 28, 28), "IDX image header");
    assert_eq!(be32(&labels, 0), 0x801, "IDX label header");
    let pixels = images[16..16 + n * 784].iter().map(|&p| p as f32 / 255.0).collect();
    (T::from_vec(pixels, [n, 1, 28, 28]), labels[8..8 + n].iter().map(|&l| l as usize).collect())
}

/// Softmax regression: logits = x·W + b for `[n, 1, 28, 28]` inputs.
fn logits(x: &T, w: &T, b: &T) -> T {
    x.reshape([x.dims()[0], 784]).matmul(w).add(b)
}

/// W and b after `steps` of full-batch gradient descent on the mean cross-entropy.
fn train(x: &T, labels: &[usize], steps: usize, lr: f32) -> (T, T) {
    let mut w = T::zeros([784, 10]).require_grad();
    let mut b = T::zeros([10]).require_grad();
    let targets = T::from_vec(labels.iter().map(|&l| l as f32).collect(), [labels.len()]).one_hot(10);
    for _ in 0..steps {
        let (gw, gb) = {
            let grads = logits(x, &w, &b).softmax_cross_entropy(&targets).backward();
            (grads.get(&w).unwrap().clone(), grads.get(&b).unwrap().clone())
        };
        w.update_data(|v| v.iter_mut().zip(gw.as_slice()).for_each(|(v, g)| *v -= lr * g));
        b.update_data(|v| v.iter_mut().zip(gb.as_slice()).for_each(|(v, g)| *v -= lr * g));
    }
    (w, b)
}

#[test]
fn fgsm_lowers_the_accuracy_of_a_trained_mnist_model_as_epsilon_grows() {
    let (x, labels) = mnist(1000);
    let (train_x, test_x) = (x.narrow(0, 0, 600), x.narrow(0, 600, 400));
    let (w, b) = train(&train_x, &labels[..600], 100, 0.5);
    let model = |x: &T| logits(x, &w, &b);
    let epsilons = [0.0, 0.02, 0.05, 0.1, 0.2];
    let points = accuracy_under_attack(model, &test_x, &labels[600..], &epsilons, 128);
    let acc: Vec<f32> = points.iter().map(|p| p.accuracy()).collect();
    println!("accuracy under FGSM for ε = {epsilons:?}: {acc:?}");
    assert!(acc[0] > 0.8, "clean accuracy {}", acc[0]);
    assert!(acc.windows(2).all(|w| w[1] <= w[0]), "accuracy should fall as ε grows: {acc:?}");
    assert!(acc[4] < acc[0] - 0.5, "ε = 0.2 should break the model: {acc:?}");
}

#[test]
fn an_fgsm_example_moves_each_value_by_epsilon_up_the_loss_and_stays_in_range() {
    let (x, labels) = mnist(64);
    let (w, b) = train(&x, &labels, 20, 0.5);
    let model = |x: &T| logits(x, &w, &b);
    let (loss, grad) = input_gradient(model, &x, &labels);
    let adv = fgsm(model, &x, &labels, 0.1);
    assert_eq!(adv.dims(), x.dims());
    assert!(!adv.is_tracked());
    for ((&a, &v), &g) in adv.as_slice().iter().zip(x.as_slice()).zip(grad.as_slice()) {
        let want = (v + 0.1 * g.signum() * f32::from(g != 0.0)).clamp(0.0, 1.0);
        assert!((a - want).abs() < 1e-6, "{v} with gradient {g} became {a}");
    }
    let targets = T::from_vec(labels.iter().map(|&l| l as f32).collect(), [64]).one_hot(10);
    let adv_loss = no_grad(|| model(&adv).softmax_cross_entropy(&targets).item());
    assert!(adv_loss > loss, "the attack should raise the loss: {loss} → {adv_loss}");
}

#[test]
#[should_panic(expected = "fgsm: the model gave logits of shape [3, 10] for 2 labels")]
fn a_label_count_that_does_not_match_the_batch_panics() {
    let (x, _) = mnist(3);
    let (w, b) = (T::zeros([784, 10]), T::zeros([10]));
    input_gradient(|x: &T| logits(x, &w, &b), &x, &[1, 2]);
}
