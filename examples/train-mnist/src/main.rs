//! The course's MNIST classifier, trained with the library API: what `neurite train` does with
//! its defaults, in a page a Rust user can copy. The defaults of `TrainConfig` are the recipe of
//! `neurite train`: an MLP 784-512-256-10 (ReLU, He init, dropout 0.2) learns the 5,000 digits
//! embedded in `neurite-data` with Adam (lr 0.001), batches of 64, random 2-pixel shifts, for 20
//! epochs, holding 500 digits out for validation; the run writes `model.ckpt`, `metrics.csv`,
//! `recipe.toml` and `curves.png` into `runs/<timestamp>/`, byte for byte what `neurite train`
//! writes. Then the same network is built by hand and trained by a `Learner` directly.
//!
//! `cargo run --release -p neurite-example-train-mnist` (about 20 seconds on 2 cores).
#![forbid(unsafe_code)]

use neurite_augment::{Fill, Pipeline, RandomCrop};
use neurite_backend_simd::SimdBackend;
use neurite_nn::models::MlpConfig;
use neurite_optim::{Adam, AdamConfig};
use neurite_train::{BatchSize, Learner, Progress, TrainConfig, on_epoch_end};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. The settings as data: every default is `neurite train`'s; change any field (or read a
    //    recipe with `TrainConfig::load`) before `init`.
    let config = TrainConfig::default();
    let mut run = config.init::<SimdBackend>()?;
    run.fit(&mut Progress::new())?;
    let accuracy = run.learner.history().last().and_then(|m| m.val_acc).unwrap_or(0.0);
    println!(
        "validation accuracy: {accuracy:.4} (written to {})",
        run.output_dir().map_or_else(String::new, |d| d.display().to_string())
    );

    // 2. The same run, piece by piece: 4,500 digits to learn from, 500 to check on, split with
    //    seed 1; the network's weights drawn from seed 1; shuffles and shifts from seed 1.
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
    let by_hand = learner.history().last().and_then(|m| m.val_acc).unwrap_or(0.0);
    println!("validation accuracy: {by_hand:.4} (the same run, built by hand)");
    Ok(())
}
