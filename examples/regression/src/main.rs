//! `cargo run --release -p neurite-example-regression`: fits sin(2x) from noisy samples and
//! prints the validation loss per epoch and how close the network came to the curve.
#![forbid(unsafe_code)]

use neurite_backend_simd::SimdBackend;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fit = neurite_example_regression::fit::<SimdBackend>(100, 1)?;
    for (epoch, loss) in fit.val_loss.iter().enumerate().filter(|(e, _)| (e + 1) % 10 == 0) {
        println!("epoch {:>3}  validation squared error {loss:.5}", epoch + 1);
    }
    println!("mean absolute error on the validation points: {:.4}", fit.mae);
    println!(
        "the noise alone leaves {:.4}; the network is never more than {:.3} from sin(2x)",
        neurite_example_regression::NOISE * (2.0 / std::f32::consts::PI).sqrt(),
        fit.worst_error
    );
    Ok(())
}
