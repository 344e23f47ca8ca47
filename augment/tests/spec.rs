//! The `--augment` spec parser: names, positional and named arguments, defaults, probabilities,
//! and the error for each kind of bad item.

use neurite_augment::spec::{NAMES, SpecError, TYPICAL, help, parse_pipeline, parse_transform};

/// The `Debug` form of the transform an item parses to.
fn parsed(item: &str) -> String {
    format!("{:?}", parse_transform(item).unwrap_or_else(|e| panic!("{item}: {e}")))
}

/// The message of the error a spec gives.
fn error(spec: &str) -> String {
    match parse_pipeline(spec) {
        Ok(p) => panic!("`{spec}` parsed as {p:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn every_name_is_documented_in_help_and_parses_with_its_defaults() {
    for name in NAMES {
        assert!(help().contains(&format!("\n  {name}")), "{name} is missing from the help");
        let item = if *name == "resize" { "resize:32x24".to_string() } else { name.to_string() };
        assert_eq!(parse_transform(&item).unwrap().name(), *name);
    }
    assert_eq!(parse_pipeline(TYPICAL).unwrap().names(), "crop,flip,brightness,contrast,erase");
}

#[test]
fn omitted_arguments_take_the_documented_defaults() {
    assert_eq!(parsed("flip"), "HorizontalFlip { p: 0.5 }");
    assert_eq!(parsed("vflip"), "VerticalFlip { p: 0.5 }");
    assert_eq!(parsed("translate"), "Translate { max_dx: 4, max_dy: 4, fill: Constant(0.0), p: 1.0 }");
    assert_eq!(parsed("crop"), "RandomCrop { padding: 4, size: None, fill: Constant(0.0), p: 1.0 }");
    assert_eq!(
        parsed("resized-crop"),
        "RandomResizedCrop { scale: (0.08, 1.0), ratio: (0.75, 1.3333334), size: None, interpolation: Bilinear, p: 1.0 }"
    );
    assert_eq!(parsed("brightness"), "Brightness { amount: 0.2, mode: Additive, p: 1.0 }");
    assert_eq!(parsed("brightness-mul"), "Brightness { amount: 0.2, mode: Multiplicative, p: 1.0 }");
    assert_eq!(parsed("contrast"), "Contrast { factor: 0.2, p: 1.0 }");
    assert_eq!(
        parsed("erase"),
        "RandomErasing { scale: (0.02, 0.33), ratio: (0.3, 3.3333333), fill: Constant(0.0), p: 0.5 }"
    );
    assert_eq!(parsed("gaussian-blur"), "GaussianBlur { sigma: (1.0, 1.0), kernel_size: Some(7), p: 1.0 }");
    assert_eq!(parsed("median-blur"), "MedianBlur { size: 3, p: 1.0 }");
    assert_eq!(parsed("bilateral-blur"), "BilateralBlur { sigma_space: 1.0, sigma_color: 0.1, p: 1.0 }");
    assert_eq!(parsed("pca-noise"), "PcaNoise { sigma: 0.1, basis: None, p: 1.0 }");
    assert_eq!(parsed("noise"), "GaussianNoise { sigma: 0.05, p: 1.0 }");
    assert_eq!(parsed("salt-pepper"), "SaltPepper { amount: 0.02, p: 1.0 }");
}

#[test]
fn arguments_are_positional_or_named_and_at_sets_the_probability() {
    assert_eq!(parsed("flip:0.3"), "HorizontalFlip { p: 0.3 }");
    assert_eq!(parsed("flip@0.3"), "HorizontalFlip { p: 0.3 }");
    assert_eq!(parsed("translate:2,reflect"), "Translate { max_dx: 2, max_dy: 2, fill: Reflect, p: 1.0 }");
    assert_eq!(parsed("translate:fill=edge"), "Translate { max_dx: 4, max_dy: 4, fill: Edge, p: 1.0 }");
    assert_eq!(parsed("crop:pad=2,fill=0.5@0.9"), "RandomCrop { padding: 2, size: None, fill: Constant(0.5), p: 0.9 }");
    assert_eq!(parsed("resize:32x24,nearest"), "Resize { height: 24, width: 32, interpolation: Nearest }");
    assert_eq!(parsed("gaussian-blur:1.5,5@0.25"), "GaussianBlur { sigma: (1.5, 1.5), kernel_size: Some(5), p: 0.25 }");
    assert_eq!(
        parsed("bilateral-blur:sigma_color=0.3"),
        "BilateralBlur { sigma_space: 1.0, sigma_color: 0.3, p: 1.0 }"
    );
    assert_eq!(
        parsed("erase:1,random"),
        "RandomErasing { scale: (0.02, 0.33), ratio: (0.3, 3.3333333), fill: Random, p: 1.0 }"
    );
}

#[test]
fn a_list_splits_into_items_around_their_arguments() {
    let p = parse_pipeline("crop:pad=4, flip ,bilateral-blur:2,0.2,resize:8x8,nearest,noise:0.01@0.5").unwrap();
    assert_eq!(p.names(), "crop,flip,bilateral-blur,resize,noise");
    assert_eq!(format!("{:?}", p.steps()[2]), "BilateralBlur { sigma_space: 2.0, sigma_color: 0.2, p: 1.0 }");
}

#[test]
fn an_unknown_name_lists_the_known_ones() {
    let known = NAMES.join(", ");
    assert_eq!(error("flip,blurr"), format!("augment: unknown transform `blurr`; known: {known}"));
    assert_eq!(
        error("noize:0.1"),
        format!("augment: unknown transform `noize`; did you mean `noise`?; known: {known}")
    );
    assert!(matches!(parse_pipeline("zoom"), Err(SpecError::UnknownTransform { .. })));
}

#[test]
fn bad_arguments_name_the_item_and_what_was_expected() {
    assert_eq!(error("noise:abc"), "augment: `noise:abc`: expected a number for sigma, got `abc`");
    assert_eq!(error("flip:0.5,0.3"), "augment: `flip:0.5,0.3`: takes at most 1 argument (p)");
    assert_eq!(error("crop:size=3"), "augment: `crop:size=3`: unknown argument `size`; expected pad, fill");
    assert_eq!(error("crop:4,pad=2"), "augment: `crop:4,pad=2`: argument `pad` given twice");
    assert_eq!(error("translate:-1"), "augment: `translate:-1`: expected a whole number for px, got `-1`");
    assert_eq!(
        error("translate:2,wrap"),
        "augment: `translate:2,wrap`: fill must be a value in [0, 1], edge or reflect, got `wrap`"
    );
    assert_eq!(
        error("crop:fill=2"),
        "augment: `crop:fill=2`: fill must be a value in [0, 1], edge or reflect, got `2`"
    );
    assert_eq!(error("median-blur:4"), "augment: `median-blur:4`: window K = 4, expected 3 or 5");
    assert_eq!(error("gaussian-blur:1,4"), "augment: `gaussian-blur:1,4`: kernel size K = 4 must be odd");
    assert_eq!(error("brightness:-0.1"), "augment: `brightness:-0.1`: delta = -0.1 must not be negative");
    assert_eq!(error("resized-crop:1.5"), "augment: `resized-crop:1.5`: scale = 1.5 is not in (0, 1]");
    assert_eq!(error("bilateral-blur:1,0"), "augment: `bilateral-blur:1,0`: sigma_color = 0 must be positive");
    assert_eq!(error("erase:0.5,edge"), "augment: `erase:0.5,edge`: fill must be a value in [0, 1] or random");
}

#[test]
fn bad_probabilities_and_sizes_are_refused() {
    assert_eq!(error("flip@2"), "augment: `flip@2`: probability `2` is not a number in [0, 1]");
    assert_eq!(error("flip:0.2@0.3"), "augment: `flip:0.2@0.3`: probability given both as an argument and after @");
    assert_eq!(error("resize"), "augment: `resize`: needs a size WxH, e.g. resize:32x32");
    assert_eq!(
        error("resize:0x3"),
        "augment: `resize:0x3`: expected a size WxH of whole numbers from 1 to 16384, got `0x3`"
    );
    assert!(error("resize:100000x8").contains("from 1 to 16384"));
    assert_eq!(error("resize:8x8,cubic"), "augment: `resize:8x8,cubic`: mode must be bilinear or nearest, got `cubic`");
    assert_eq!(error("resize:8x8@0.5"), "augment: `resize:8x8@0.5`: resize is always applied and takes no @P");
}

#[test]
fn empty_items_are_refused() {
    assert_eq!(error("flip,,crop"), "augment: empty item in `flip,,crop`");
    assert_eq!(error(""), "augment: empty item in ``");
    assert_eq!(error("noise:"), "augment: `noise:`: empty argument");
}
