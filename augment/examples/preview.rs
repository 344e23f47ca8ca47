//! Writes a preview grid of an image under every augmentation, or under one pipeline several times.
//!
//! ```text
//! cargo run -p neurite-augment --example preview -- data/images/chelsea.png preview.png
//! cargo run -p neurite-augment --example preview -- data/images/chelsea.png runs.png "crop:pad=16,flip,contrast:0.4"
//! ```
//!
//! Without a spec the grid shows the source, then each transform of `spec::catalogue` in the order
//! of `spec::NAMES`; with one, the source then seven runs of the pipeline. Four cells per row.

use std::process::ExitCode;

use neurite_augment::spec::{catalogue, parse_pipeline};
use neurite_augment::{GridLayout, ImageBatch, Transform, load_image, preview_runs, preview_transforms, save_png};
use neurite_core::reference::ReferenceBackend as B;
use neurite_core::{Rng, Stream, Tensor};

fn run(args: &[String]) -> Result<String, String> {
    let [input, output, rest @ ..] = args else {
        return Err("usage: preview INPUT OUTPUT.png [SPEC]".to_string());
    };
    let image: Tensor<B> = load_image(input).map_err(|e| e.to_string())?;
    let mut rng = Rng::stream(0, Stream::Augment);
    let grid = match rest.first() {
        Some(spec) => {
            let pipeline = parse_pipeline(spec).map_err(|e| e.to_string())?;
            preview_runs(&image, &pipeline, 7, GridLayout::default(), &mut rng)
        }
        None => {
            let entries = catalogue(ImageBatch::from_tensor(&image).size());
            let transforms: Vec<&dyn Transform> = entries.iter().map(|(_, t)| t.as_ref()).collect();
            let names: Vec<&str> = entries.iter().map(|(item, _)| item.as_str()).collect();
            println!("cells: source, {}", names.join(", "));
            preview_transforms(&image, &transforms, GridLayout::default(), &mut rng)
        }
    };
    save_png(&grid, output).map_err(|e| e.to_string())?;
    Ok(format!("wrote {output} ({:?})", grid.dims()))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}
