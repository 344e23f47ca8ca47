//! The course's MNIST classifier, trained with the library API: what `neurite train` does with
//! its defaults, in a page a Rust user can copy. An MLP 784-512-256-10 (ReLU, He init, dropout
//! 0.2) learns the 5,000 digits embedded in `neurite-data` with Adam (lr 0.001), batches of 64,
//! random 2-pixel shifts, for 20 epochs, holding 500 digits out for validation.
//!
//! `cargo run --release -p neurite-example-train-mnist` (about 10 seconds on 2 cores).
#![forbid(unsafe_code)]

use neurite_augment::{Fill, Pipeline, RandomCrop};
use neurite_backend_simd::SimdBackend;
use neurite_nn::models::MlpConfig;
use neurite_optim::{Adam, AdamConfig};
use neurite_train::{BatchSize, Learner, on_epoch_end};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 4,500 digits to learn from, 500 to check on, split with seed 1.
    let digits = neurite_data::embedded()?;
    let (train, validation) = digits.dataset.split(500, 1)?;

    let model = MlpConfig::new(28 * 28, &[512, 256], 10).with_dropout(0.2).init::<SimdBackend>(1);
    let adam = Adam::new(AdamConfig { lr: 1e-3, ..AdamConfig::default() })?;
    let shift = Pipeline::new().then(RandomCrop::new(2, Fill::Constant(0.0)));
    let mut learner = Learner::new(model, adam).epochs(20).batch_size(BatchSize::Samples(64)).seed(1).augment(shift);

    let mut log = on_epoch_end(|m| {
        let val = m.val_acc.unwrap_or(f64::NAN);
        println!("epoch {:>2}  train loss {:.4}  validation accuracy {val:.4}", m.epoch, m.train_loss);
    });
    learner.fit(&train, Some(&validation), &mut log)?;

    let accuracy = learner.history().last().and_then(|m| m.val_acc).unwrap_or(0.0);
    println!("validation accuracy: {accuracy:.4}");
    Ok(())
}
