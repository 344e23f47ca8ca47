//! Fuzzes recipe parsing and the network it describes: `Recipe::parse` on the input as text, then
//! `validate`, a TOML round trip, and `Recipe::load_over` (a recipe file applied over the
//! defaults); for a valid recipe, the network it asks for on 28×28 digits, checked against a small
//! memory budget as `neurite train` checks it, then built. Nothing may panic and every error is
//! one line; the heap holds at most the budget plus 1 KiB per input byte beyond a fixed base.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use neurite_augment::ImageSize;
use neurite_cli::recipe::Recipe;
use neurite_cli::train::Network;
use neurite_core::reference::ReferenceBackend;
use neurite_fuzz::{BASE_BYTES, within_memory};
use neurite_nn::{Budget, Footprint};

/// What the network of a recipe may need to be built.
const BUDGET: Budget = Budget { bytes: 8 << 20 };

fuzz_target!(|data: &[u8]| within_memory(BASE_BYTES + BUDGET.bytes as usize + 1024 * data.len(), || check(data)));

/// Builds the recipe's network if it fits the budget, as `neurite train` would.
fn build(recipe: &Recipe) {
    let input = ImageSize::new(1, 28, 28);
    let Ok(network) = Network::of(recipe, input, 10) else { return };
    let Ok(footprint) = Footprint::of(&network.architecture(), &[1, 1, 28, 28]) else { return };
    if BUDGET.check("the network", footprint.training_bytes(1)).is_ok() {
        if let Ok(model) = network.init::<ReferenceBackend>(recipe.seed) {
            assert_eq!(neurite_nn::Module::<ReferenceBackend>::output_shape(&model, &[1, 1, 28, 28]), footprint.output);
        }
    }
}

fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Recipe::parse(text) {
        Ok(recipe) => {
            if recipe.validate().is_ok() {
                build(&recipe);
            }
            let toml = recipe.to_toml();
            let back = Recipe::parse(&toml).expect("a written recipe parses");
            assert_eq!(back.to_toml(), toml, "the TOML round trip changed the recipe");
        }
        Err(message) => assert!(!message.contains('\n'), "multi-line error: {message}"),
    }
    let mut file = tempfile::NamedTempFile::new().expect("temporary file");
    file.write_all(data).expect("temporary file written");
    if let Err(e) = Recipe::load_over(&Recipe::default(), file.path()) {
        assert!(!e.to_string().contains('\n'), "multi-line error: {e}");
    }
}
