//! Fuzzes recipe parsing: `Recipe::parse` on the input as text, then `validate`, a TOML round
//! trip, and `Recipe::load_over` (a recipe file applied over the defaults). Nothing may panic and
//! every error is one line; the heap holds at most 1 KiB per input byte beyond a fixed base.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use neurite_cli::recipe::Recipe;
use neurite_fuzz::{BASE_BYTES, within_memory};

fuzz_target!(|data: &[u8]| within_memory(BASE_BYTES + 1024 * data.len(), || check(data)));

fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Recipe::parse(text) {
        Ok(recipe) => {
            let _ = recipe.validate();
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
