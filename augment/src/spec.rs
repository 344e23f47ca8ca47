//! Pipeline specs: the text form of a [`Pipeline`] that the CLI's `--augment LIST` takes, e.g.
//! `crop:pad=4,flip,brightness:0.2,gaussian-blur:1.5@0.3`. [`HELP`] documents every name with its
//! defaults; [`parse_pipeline`] turns a spec into a pipeline or a [`SpecError`] naming the bad item.
//!
//! Grammar:
//!
//! ```text
//! LIST  := ITEM ( "," ITEM )*
//! ITEM  := NAME [ ":" ARG ( "," ARG )* ] [ "@" P ]
//! ARG   := VALUE | KEY "=" VALUE
//! ```
//!
//! Arguments are positional (in the order [`HELP`] lists them) or named; omitted ones take their
//! defaults. Because items and arguments are both comma-separated, a comma-separated token
//! continues the previous item's arguments unless it holds a `:`, starts with a transform name, or
//! the previous item had no `:`. `@P` sets the probability that a sample is transformed.

use crate::batch::ImageSize;
use crate::filter::{BilateralBlur, GaussianBlur, MedianBlur, auto_kernel_size};
use crate::geometry::{
    Fill, HorizontalFlip, Interpolation, RandomCrop, RandomResizedCrop, Resize, Translate, VerticalFlip,
};
use crate::noise::{EraseFill, GaussianNoise, RandomErasing, SaltPepper};
use crate::transform::{Pipeline, Transform};
use crate::{Brightness, Contrast, PcaNoise};

/// What `--augment` accepts, one transform per line with its arguments and defaults.
pub const HELP: &str = "\
Augmentation: a comma-separated list of NAME[:ARGS][@P] items, applied in order.
ARGS are positional or KEY=VALUE; omitted ones take the defaults shown. @P is the
probability that a sample is transformed (default 1, or as noted).

  flip[:P]                          horizontal flip with probability P (default 0.5)
  vflip[:P]                         vertical flip with probability P (default 0.5)
  translate[:PX[,FILL]]             shift by up to ±PX pixels on each axis (PX=4);
                                    FILL = a value (0), edge or reflect
  crop[:pad=P[,fill=FILL]]          pad by P pixels (4) with FILL (0), crop back to size
  resized-crop[:SCALE[,RATIO]]      crop SCALE..1 of the area (0.08), aspect ratio
                                    RATIO..1/RATIO (0.75), resize back (zoom)
  resize:WxH[,MODE]                 resize to W×H pixels; MODE = bilinear (default) or nearest
  brightness[:DELTA]                add a value uniform in ±DELTA (0.2)
  brightness-mul[:F]                multiply by a value uniform in 1±F (0.2)
  contrast[:F]                      scale contrast by a factor uniform in 1±F (0.2)
  erase[:P[,FILL]]                  erase a rectangle (2-33% of the area) with probability
                                    P (0.5); FILL = a value (0) or random
  gaussian-blur[:SIGMA[,K]]         Gaussian blur of SIGMA pixels (1), K×K kernel
                                    (K odd, default 2*ceil(3*SIGMA)+1)
  median-blur[:K]                   median of each K×K window, K = 3 (default) or 5
  bilateral-blur[:SIGMA_SPACE,SIGMA_COLOR]
                                    edge-preserving blur (1 pixel, 0.1)
  pca-noise[:SIGMA]                 AlexNet PCA colour noise, alpha ~ N(0, SIGMA) (0.1)
  noise[:SIGMA]                     add N(0, SIGMA²) noise to every value (0.05)
  salt-pepper[:AMOUNT]              set a fraction AMOUNT (0.02) of pixels to black or white

Results are clamped to [0, 1]. Example: crop:pad=4,flip,brightness:0.2,noise:0.02@0.5";

/// Every transform name the parser knows, in the order of [`HELP`].
pub const NAMES: &[&str] = &[
    "flip",
    "vflip",
    "translate",
    "crop",
    "resized-crop",
    "resize",
    "brightness",
    "brightness-mul",
    "contrast",
    "erase",
    "gaussian-blur",
    "median-blur",
    "bilateral-blur",
    "pca-noise",
    "noise",
    "salt-pepper",
];

/// The largest side `resize` accepts, as for decoded images.
const MAX_SIDE: usize = 16_384;

/// A typical training pipeline (the CIFAR recipe plus mild photometric changes), for benchmarks
/// and examples.
pub const TYPICAL: &str = "crop:pad=4,flip,brightness:0.1,contrast:0.1,erase:0.25";

/// A pipeline spec that could not be parsed. Messages start with `augment:` and quote the item.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// An empty item (`flip,,crop`) or an empty list.
    #[error("augment: empty item in `{spec}`")]
    EmptyItem {
        /// The whole spec.
        spec: String,
    },
    /// A name no transform has.
    #[error("augment: unknown transform `{name}`{suggestion}; known: {known}")]
    UnknownTransform {
        /// The name given.
        name: String,
        /// `; did you mean `…`?` or empty.
        suggestion: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// A known transform with a bad argument or probability.
    #[error("augment: `{item}`: {problem}")]
    BadItem {
        /// The item as written.
        item: String,
        /// What is wrong and what was expected.
        problem: String,
    },
}

/// Parses a comma-separated list of transforms into a [`Pipeline`].
///
/// # Errors
/// A [`SpecError`] naming the first bad item.
pub fn parse_pipeline(spec: &str) -> Result<Pipeline, SpecError> {
    split_items(spec)?.iter().map(|item| parse_transform(item)).collect()
}

/// Splits a spec into items, gluing argument tokens back onto their item.
fn split_items(spec: &str) -> Result<Vec<String>, SpecError> {
    let mut items: Vec<String> = Vec::new();
    for token in spec.split(',').map(str::trim) {
        let head = token.split(['@', ':']).next().unwrap_or("");
        let continues = match items.last() {
            Some(previous) => previous.contains(':') && !token.contains(':') && !NAMES.contains(&head),
            None => false,
        };
        match items.last_mut() {
            Some(previous) if continues && !token.is_empty() => {
                previous.push(',');
                previous.push_str(token);
            }
            _ if token.is_empty() => return Err(SpecError::EmptyItem { spec: spec.to_string() }),
            _ => items.push(token.to_string()),
        }
    }
    Ok(items)
}

/// Edit distance between two short names.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != cb)).min(row[j] + 1).min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The arguments of one item, bound to the parameter names of its transform.
struct Args<'a> {
    item: &'a str,
    names: &'static [&'static str],
    values: Vec<Option<&'a str>>,
}

impl<'a> Args<'a> {
    fn bind(item: &'a str, raw: &[&'a str], names: &'static [&'static str]) -> Result<Self, SpecError> {
        let mut values: Vec<Option<&str>> = vec![None; names.len()];
        for (i, &arg) in raw.iter().enumerate() {
            let (slot, value) = match arg.split_once('=') {
                Some((key, value)) => {
                    let key = key.trim();
                    let Some(slot) = names.iter().position(|n| *n == key) else {
                        return Err(bad(
                            item,
                            if names.is_empty() {
                                format!("takes no arguments, got `{arg}`")
                            } else {
                                format!("unknown argument `{key}`; expected {}", names.join(", "))
                            },
                        ));
                    };
                    (slot, value.trim())
                }
                None if i < names.len() => (i, arg.trim()),
                None => {
                    return Err(bad(
                        item,
                        match names.len() {
                            0 => "takes no arguments".to_string(),
                            n => format!(
                                "takes at most {n} argument{} ({})",
                                if n == 1 { "" } else { "s" },
                                names.join(", ")
                            ),
                        },
                    ));
                }
            };
            if values[slot].replace(value).is_some() {
                return Err(bad(item, format!("argument `{}` given twice", names[slot])));
            }
        }
        Ok(Args { item, names, values })
    }

    fn get(&self, name: &str) -> Option<&'a str> {
        let slot = self.names.iter().position(|n| *n == name).expect("parameter names come from the table");
        self.values[slot]
    }

    fn number(&self, name: &str, default: f32) -> Result<f32, SpecError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => match v.parse::<f32>() {
                Ok(x) if x.is_finite() => Ok(x),
                _ => Err(bad(self.item, format!("expected a number for {name}, got `{v}`"))),
            },
        }
    }

    fn non_negative(&self, name: &str, default: f32) -> Result<f32, SpecError> {
        let x = self.number(name, default)?;
        if x < 0.0 {
            return Err(bad(self.item, format!("{name} = {x} must not be negative")));
        }
        Ok(x)
    }

    fn fraction(&self, name: &str, default: f32, zero_ok: bool) -> Result<f32, SpecError> {
        let x = self.number(name, default)?;
        if !(x <= 1.0 && (x > 0.0 || (zero_ok && x == 0.0))) {
            let range = if zero_ok { "[0, 1]" } else { "(0, 1]" };
            return Err(bad(self.item, format!("{name} = {x} is not in {range}")));
        }
        Ok(x)
    }

    fn count(&self, name: &str, default: usize) -> Result<usize, SpecError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| bad(self.item, format!("expected a whole number for {name}, got `{v}`"))),
        }
    }

    fn fill(&self, name: &str) -> Result<Fill, SpecError> {
        match self.get(name) {
            None | Some("constant") => Ok(Fill::Constant(0.0)),
            Some("edge") => Ok(Fill::Edge),
            Some("reflect") => Ok(Fill::Reflect),
            Some(v) => match v.parse::<f32>() {
                Ok(x) if (0.0..=1.0).contains(&x) => Ok(Fill::Constant(x)),
                _ => Err(bad(self.item, format!("{name} must be a value in [0, 1], edge or reflect, got `{v}`"))),
            },
        }
    }
}

fn bad(item: &str, problem: String) -> SpecError {
    SpecError::BadItem { item: item.to_string(), problem }
}

/// Parses one item (`name[:args][@p]`) into a transform.
///
/// # Errors
/// [`SpecError::UnknownTransform`] or [`SpecError::BadItem`].
pub fn parse_transform(item: &str) -> Result<Box<dyn Transform>, SpecError> {
    let item = item.trim();
    let (body, p) = match item.rsplit_once('@') {
        Some((body, p)) => match p.trim().parse::<f32>() {
            Ok(p) if (0.0..=1.0).contains(&p) => (body, Some(p)),
            _ => return Err(bad(item, format!("probability `{}` is not a number in [0, 1]", p.trim()))),
        },
        None => (item, None),
    };
    let (name, raw_args): (&str, Vec<&str>) = match body.split_once(':') {
        Some((name, args)) => (name.trim(), args.split(',').map(str::trim).collect()),
        None => (body.trim(), Vec::new()),
    };
    if raw_args.iter().any(|a| a.is_empty()) {
        return Err(bad(item, "empty argument".to_string()));
    }
    let names: &'static [&'static str] = match name {
        "flip" | "vflip" => &["p"],
        "translate" => &["px", "fill"],
        "crop" => &["pad", "fill"],
        "resized-crop" => &["scale", "ratio"],
        "resize" => &["size", "mode"],
        "brightness" => &["delta"],
        "brightness-mul" | "contrast" => &["f"],
        "erase" => &["p", "fill"],
        "gaussian-blur" => &["sigma", "k"],
        "median-blur" => &["k"],
        "bilateral-blur" => &["sigma_space", "sigma_color"],
        "pca-noise" | "noise" => &["sigma"],
        "salt-pepper" => &["amount"],
        _ => {
            let closest = NAMES.iter().min_by_key(|n| distance(name, n)).filter(|n| distance(name, n) <= 2);
            return Err(SpecError::UnknownTransform {
                name: name.to_string(),
                suggestion: closest.map_or(String::new(), |n| format!("; did you mean `{n}`?")),
                known: NAMES.join(", "),
            });
        }
    };
    let args = Args::bind(item, &raw_args, names)?;
    // Flip and erase take their probability as an argument too; it may not be given twice.
    let probability = |default: f32| -> Result<f32, SpecError> {
        match (args.get("p"), p) {
            (Some(_), Some(_)) => Err(bad(item, "probability given both as an argument and after @".to_string())),
            (Some(_), None) => args.fraction("p", default, true),
            (None, Some(p)) => Ok(p),
            (None, None) => Ok(default),
        }
    };
    let p_or_one = p.unwrap_or(1.0);
    let t: Box<dyn Transform> = match name {
        "flip" => Box::new(HorizontalFlip::new(probability(0.5)?)),
        "vflip" => Box::new(VerticalFlip::new(probability(0.5)?)),
        "translate" => {
            let px = args.count("px", 4)?;
            Box::new(Translate { p: p_or_one, ..Translate::new(px, args.fill("fill")?) })
        }
        "crop" => Box::new(RandomCrop { p: p_or_one, ..RandomCrop::new(args.count("pad", 4)?, args.fill("fill")?) }),
        "resized-crop" => {
            let scale = args.fraction("scale", 0.08, false)?;
            let ratio = args.fraction("ratio", 0.75, false)?;
            Box::new(RandomResizedCrop {
                ratio: (ratio, 1.0 / ratio),
                p: p_or_one,
                ..RandomResizedCrop::new((scale, 1.0))
            })
        }
        "resize" => {
            if p.is_some() {
                return Err(bad(item, "resize is always applied and takes no @P".to_string()));
            }
            let Some(size) = args.get("size") else {
                return Err(bad(item, "needs a size WxH, e.g. resize:32x32".to_string()));
            };
            let parsed = size
                .split_once(['x', 'X'])
                .and_then(|(w, h)| Some((w.parse::<usize>().ok()?, h.parse::<usize>().ok()?)));
            let Some((w, h)) = parsed.filter(|&(w, h)| (1..=MAX_SIDE).contains(&w) && (1..=MAX_SIDE).contains(&h))
            else {
                return Err(bad(
                    item,
                    format!("expected a size WxH of whole numbers from 1 to {MAX_SIDE}, got `{size}`"),
                ));
            };
            let mode = match args.get("mode") {
                None | Some("bilinear") => Interpolation::Bilinear,
                Some("nearest") => Interpolation::Nearest,
                Some(other) => return Err(bad(item, format!("mode must be bilinear or nearest, got `{other}`"))),
            };
            Box::new(Resize::new(h, w, mode))
        }
        "brightness" => Box::new(Brightness { p: p_or_one, ..Brightness::additive(args.non_negative("delta", 0.2)?) }),
        "brightness-mul" => {
            Box::new(Brightness { p: p_or_one, ..Brightness::multiplicative(args.non_negative("f", 0.2)?) })
        }
        "contrast" => Box::new(Contrast { p: p_or_one, ..Contrast::new(args.non_negative("f", 0.2)?) }),
        "erase" => {
            let fill = match args.get("fill") {
                Some("random") => EraseFill::Random,
                _ => match args.fill("fill")? {
                    Fill::Constant(v) => EraseFill::Constant(v),
                    _ => return Err(bad(item, "fill must be a value in [0, 1] or random".to_string())),
                },
            };
            Box::new(RandomErasing::new(probability(0.5)?, fill))
        }
        "gaussian-blur" => {
            let sigma = args.non_negative("sigma", 1.0)?;
            let k = args.count("k", auto_kernel_size(sigma))?;
            if k % 2 == 0 {
                return Err(bad(item, format!("kernel size K = {k} must be odd")));
            }
            Box::new(GaussianBlur { kernel_size: Some(k), p: p_or_one, ..GaussianBlur::new(sigma) })
        }
        "median-blur" => {
            let k = args.count("k", 3)?;
            if k != 3 && k != 5 {
                return Err(bad(item, format!("window K = {k}, expected 3 or 5")));
            }
            Box::new(MedianBlur { p: p_or_one, ..MedianBlur::new(k) })
        }
        "bilateral-blur" => {
            let space = args.non_negative("sigma_space", 1.0)?;
            let color = args.number("sigma_color", 0.1)?;
            if color <= 0.0 {
                return Err(bad(item, format!("sigma_color = {color} must be positive")));
            }
            Box::new(BilateralBlur { p: p_or_one, ..BilateralBlur::new(space, color) })
        }
        "pca-noise" => Box::new(PcaNoise { p: p_or_one, ..PcaNoise::new(args.non_negative("sigma", 0.1)?) }),
        "noise" => Box::new(GaussianNoise { p: p_or_one, ..GaussianNoise::new(args.non_negative("sigma", 0.05)?) }),
        "salt-pepper" => Box::new(SaltPepper { p: p_or_one, ..SaltPepper::new(args.fraction("amount", 0.02, true)?) }),
        _ => unreachable!("every name of the table above is built here"),
    };
    Ok(t)
}

/// One instance of every transform, always applied, with the spec item that builds it: the
/// defaults of [`HELP`], `resize` to half of `size`. For benchmarks ("each transform") and
/// previews.
pub fn catalogue(size: ImageSize) -> Vec<(String, Box<dyn Transform>)> {
    NAMES
        .iter()
        .map(|&name| {
            let item = match name {
                "resize" => format!("resize:{}x{}", (size.width / 2).max(1), (size.height / 2).max(1)),
                "flip" | "vflip" | "erase" => format!("{name}@1"),
                _ => name.to_string(),
            };
            let t = parse_transform(&item).expect("catalogue items are valid specs");
            (item, t)
        })
        .collect()
}

/// The [`TYPICAL`] pipeline.
pub fn typical_pipeline() -> Pipeline {
    parse_pipeline(TYPICAL).expect("TYPICAL is a valid spec")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_glue_back_onto_their_item() {
        let items = split_items("bilateral-blur:2,0.2,flip,resize:8x8,nearest,erase:0.3,random@0.5,noise").unwrap();
        assert_eq!(items, ["bilateral-blur:2,0.2", "flip", "resize:8x8,nearest", "erase:0.3,random@0.5", "noise"]);
    }

    #[test]
    fn edit_distance_counts_single_changes() {
        assert_eq!(distance("flip", "flip"), 0);
        assert_eq!(distance("flp", "flip"), 1);
        assert_eq!(distance("noize", "noise"), 1);
        assert_eq!(distance("", "abc"), 3);
    }
}
