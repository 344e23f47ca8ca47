//! Fuzzes recipe parsing and the network it describes: `TrainConfig::parse` on the input as text
//! (in tables or in the flat form of earlier versions), then `validate`, a TOML round trip, and
//! `TrainConfig::load_over` (a recipe file applied over the defaults); for a valid recipe, the
//! network it asks for on 28×28 digits, checked against a small memory budget as `neurite train`
//! checks it, then built. Nothing may panic and every error is
//! one line; the heap holds at most the budget plus 1 KiB per input byte beyond a fixed base.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use neurite_core::reference::ReferenceBackend;
use neurite_fuzz::{BASE_BYTES, within_memory};
use neurite_nn::{Budget, Footprint};
use neurite_train::TrainConfig;

/// What the network of a recipe may need to be built.
const BUDGET: Budget = Budget { bytes: 8 << 20 };

fuzz_target!(|data: &[u8]| within_memory(BASE_BYTES + BUDGET.bytes as usize + 1024 * data.len(), || check(data)));

/// Builds the recipe's network if it fits the budget, as `neurite train` would.
fn build(config: &TrainConfig) {
    let Ok(architecture) = config.model.architecture([1, 28, 28], 10) else { return };
    let Ok(footprint) = Footprint::of(&architecture, &[1, 1, 28, 28]) else { return };
    if BUDGET.check("the network", footprint.training_bytes(1)).is_ok() {
        if let Ok(model) = config.model.init::<ReferenceBackend>([1, 28, 28], 10, config.seed) {
            assert_eq!(neurite_nn::Module::<ReferenceBackend>::output_shape(&model, &[1, 1, 28, 28]), footprint.output);
        }
    }
}

fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match TrainConfig::parse(text) {
        Ok(config) => {
            if config.validate().is_ok() {
                build(&config);
            }
            let toml = config.to_toml();
            let back = TrainConfig::parse(&toml).expect("a written recipe parses");
            assert_eq!(back.to_toml(), toml, "the TOML round trip changed the recipe");
        }
        Err(message) => assert!(!message.contains('\n'), "multi-line error: {message}"),
    }
    let mut file = tempfile::NamedTempFile::new().expect("temporary file");
    file.write_all(data).expect("temporary file written");
    if let Err(e) = TrainConfig::load_over(&TrainConfig::default(), file.path()) {
        assert!(!e.to_string().contains('\n'), "multi-line error: {e}");
    }
}
