//! Pipeline specs: the text form of a [`Pipeline`] that the CLI's `--augment LIST` takes, e.g.
//! `crop:pad=4,flip,brightness:0.2,gaussian-blur:1.5@0.3`. Every transform is one row of
//! [`TABLE`], from which [`help`] documents each name with its defaults and [`parse_pipeline`]
//! turns a spec into a pipeline or a [`SpecError`] naming the bad item.
//!
//! Grammar:
//!
//! ```text
//! LIST  := ITEM ( "," ITEM )*
//! ITEM  := NAME [ ":" ARG ( "," ARG )* ] [ "@" P ]
//! ARG   := VALUE | KEY "=" VALUE
//! ```
//!
//! Arguments are positional (in the order [`help`] lists them) or named; omitted ones take their
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
use crate::warp::{Affine, Elastic};
use crate::{Brightness, Contrast, PcaNoise};

/// One transform of the spec language: its name, its arguments in positional order, its line of
/// [`help`], and how to build it. The parser, the help text, the list of names and the
/// catalogue are all read from [`TABLE`], so a transform is added in one place (the catalogue
/// only adds `@1` to the ops with a default probability and picks a size for `resize`).
pub struct Entry {
    /// The name in a spec.
    pub name: &'static str,
    /// Argument names, in positional order.
    pub params: &'static [&'static str],
    /// The usage column of [`help`] (`flip[:P]`).
    pub usage: &'static str,
    /// What it does, with the defaults; `\n` continues on the next help line.
    pub summary: &'static str,
    /// Builds the transform from its bound arguments.
    build: fn(&Args<'_>) -> Result<Box<dyn Transform>, SpecError>,
}

/// Every transform the parser knows, in the order [`help`] lists them.
pub const TABLE: &[Entry] = &[
    Entry {
        name: "flip",
        params: &["p"],
        usage: "flip[:P]",
        summary: "horizontal flip with probability P (default 0.5)",
        build: |a| Ok(Box::new(HorizontalFlip::new(a.probability(0.5)?))),
    },
    Entry {
        name: "vflip",
        params: &["p"],
        usage: "vflip[:P]",
        summary: "vertical flip with probability P (default 0.5)",
        build: |a| Ok(Box::new(VerticalFlip::new(a.probability(0.5)?))),
    },
    Entry {
        name: "translate",
        params: &["px", "fill"],
        usage: "translate[:PX[,FILL]]",
        summary: "shift by up to ±PX pixels on each axis (PX=4);\nFILL = a value (0), edge or reflect",
        build: |a| {
            let px = a.bounded_count("px", 4, MAX_SIDE)?;
            Ok(Box::new(Translate { p: a.p_or_one(), ..Translate::new(px, a.fill("fill")?) }))
        },
    },
    Entry {
        name: "crop",
        params: &["pad", "fill"],
        usage: "crop[:pad=P[,fill=FILL]]",
        summary: "pad by P pixels (4) with FILL (0), crop back to size",
        build: |a| {
            let pad = a.bounded_count("pad", 4, MAX_PAD)?;
            Ok(Box::new(RandomCrop { p: a.p_or_one(), ..RandomCrop::new(pad, a.fill("fill")?) }))
        },
    },
    Entry {
        name: "resized-crop",
        params: &["scale", "ratio"],
        usage: "resized-crop[:SCALE[,RATIO]]",
        summary: "crop SCALE..1 of the area (0.08), aspect ratio\nRATIO..1/RATIO (0.75), resize back (zoom)",
        build: |a| {
            let scale = a.fraction("scale", 0.08, false)?;
            let ratio = a.fraction("ratio", 0.75, false)?;
            Ok(Box::new(RandomResizedCrop {
                ratio: (ratio, 1.0 / ratio),
                p: a.p_or_one(),
                ..RandomResizedCrop::new((scale, 1.0))
            }))
        },
    },
    Entry {
        name: "rotate",
        params: &["deg"],
        usage: "rotate[:DEG]",
        summary: "rotate by up to ±DEG degrees (15) about the centre",
        build: |a| Ok(Box::new(Affine { p: a.p_or_one(), ..Affine::rotation(a.bounded("deg", 15.0, 180.0)?) })),
    },
    Entry {
        name: "affine",
        params: &["deg", "scale", "shear", "shift"],
        usage: "affine[:DEG[,SCALE[,SHEAR[,SHIFT]]]]",
        summary: "rotate ±DEG (10), scale 1±SCALE (0.1), shear ±SHEAR\ndegrees (10), shift ±SHIFT of the side (0.1)",
        build: |a| {
            let deg = a.bounded("deg", 10.0, 180.0)?;
            let scale = a.bounded("scale", 0.1, 0.9)?;
            let shear = a.bounded("shear", 10.0, 45.0)?;
            let shift = a.bounded("shift", 0.1, 0.5)?;
            Ok(Box::new(Affine { p: a.p_or_one(), ..Affine::new(deg, scale, shear, shift) }))
        },
    },
    Entry {
        name: "elastic",
        params: &["alpha", "sigma"],
        usage: "elastic[:ALPHA[,SIGMA]]",
        summary: "elastic distortion (Simard 2003): a random field\nsmoothed by SIGMA pixels (4), scaled by ALPHA (34)",
        build: |a| {
            let alpha = a.bounded("alpha", 34.0, 100.0)?;
            let sigma = a.bounded("sigma", 4.0, 16.0)?;
            if sigma <= 0.0 {
                return Err(a.bad(format!("sigma = {sigma} must be positive")));
            }
            Ok(Box::new(Elastic { p: a.p_or_one(), ..Elastic::new(alpha, sigma) }))
        },
    },
    Entry {
        name: "resize",
        params: &["size", "mode"],
        usage: "resize:WxH[,MODE]",
        summary: "resize to W×H pixels; MODE = bilinear (default) or nearest",
        build: build_resize,
    },
    Entry {
        name: "brightness",
        params: &["delta"],
        usage: "brightness[:DELTA]",
        summary: "add a value uniform in ±DELTA (0.2)",
        build: |a| Ok(Box::new(Brightness { p: a.p_or_one(), ..Brightness::additive(a.non_negative("delta", 0.2)?) })),
    },
    Entry {
        name: "brightness-mul",
        params: &["f"],
        usage: "brightness-mul[:F]",
        summary: "multiply by a value uniform in 1±F (0.2)",
        build: |a| {
            Ok(Box::new(Brightness { p: a.p_or_one(), ..Brightness::multiplicative(a.non_negative("f", 0.2)?) }))
        },
    },
    Entry {
        name: "contrast",
        params: &["f"],
        usage: "contrast[:F]",
        summary: "scale contrast by a factor uniform in 1±F (0.2)",
        build: |a| Ok(Box::new(Contrast { p: a.p_or_one(), ..Contrast::new(a.non_negative("f", 0.2)?) })),
    },
    Entry {
        name: "erase",
        params: &["p", "fill"],
        usage: "erase[:P[,FILL]]",
        summary: "erase a rectangle (2-33% of the area) with probability\nP (0.5); FILL = a value (0) or random",
        build: |a| {
            let fill = match a.get("fill") {
                Some("random") => EraseFill::Random,
                _ => match a.fill("fill")? {
                    Fill::Constant(v) => EraseFill::Constant(v),
                    _ => return Err(a.bad("fill must be a value in [0, 1] or random".to_string())),
                },
            };
            Ok(Box::new(RandomErasing::new(a.probability(0.5)?, fill)))
        },
    },
    Entry {
        name: "gaussian-blur",
        params: &["sigma", "k"],
        usage: "gaussian-blur[:SIGMA[,K]]",
        summary: "Gaussian blur of SIGMA pixels (1), K×K kernel\n(K odd, default 2*ceil(3*SIGMA)+1)",
        build: |a| {
            let sigma = a.bounded("sigma", 1.0, MAX_SIGMA)?;
            let k = a.bounded_count("k", auto_kernel_size(sigma), MAX_KERNEL)?;
            if k % 2 == 0 {
                return Err(a.bad(format!("kernel size K = {k} must be odd")));
            }
            Ok(Box::new(GaussianBlur { kernel_size: Some(k), p: a.p_or_one(), ..GaussianBlur::new(sigma) }))
        },
    },
    Entry {
        name: "median-blur",
        params: &["k"],
        usage: "median-blur[:K]",
        summary: "median of each K×K window, K = 3 (default) or 5",
        build: |a| {
            let k = a.count("k", 3)?;
            if k != 3 && k != 5 {
                return Err(a.bad(format!("window K = {k}, expected 3 or 5")));
            }
            Ok(Box::new(MedianBlur { p: a.p_or_one(), ..MedianBlur::new(k) }))
        },
    },
    Entry {
        name: "bilateral-blur",
        params: &["sigma_space", "sigma_color"],
        usage: "bilateral-blur[:SIGMA_SPACE,SIGMA_COLOR]",
        summary: "edge-preserving blur (1 pixel, 0.1)",
        build: |a| {
            let space = a.bounded("sigma_space", 1.0, MAX_SIGMA)?;
            let color = a.number("sigma_color", 0.1)?;
            if color <= 0.0 {
                return Err(a.bad(format!("sigma_color = {color} must be positive")));
            }
            Ok(Box::new(BilateralBlur { p: a.p_or_one(), ..BilateralBlur::new(space, color) }))
        },
    },
    Entry {
        name: "pca-noise",
        params: &["sigma"],
        usage: "pca-noise[:SIGMA]",
        summary: "AlexNet PCA colour noise, alpha ~ N(0, SIGMA) (0.1)",
        build: |a| Ok(Box::new(PcaNoise { p: a.p_or_one(), ..PcaNoise::new(a.non_negative("sigma", 0.1)?) })),
    },
    Entry {
        name: "noise",
        params: &["sigma"],
        usage: "noise[:SIGMA]",
        summary: "add N(0, SIGMA²) noise to every value (0.05)",
        build: |a| {
            Ok(Box::new(GaussianNoise { p: a.p_or_one(), ..GaussianNoise::new(a.non_negative("sigma", 0.05)?) }))
        },
    },
    Entry {
        name: "salt-pepper",
        params: &["amount"],
        usage: "salt-pepper[:AMOUNT]",
        summary: "set a fraction AMOUNT (0.02) of pixels to black or white",
        build: |a| Ok(Box::new(SaltPepper { p: a.p_or_one(), ..SaltPepper::new(a.fraction("amount", 0.02, true)?) })),
    },
];

/// Every transform name the parser knows, in the order of [`TABLE`].
pub const NAMES: &[&str] = &NAME_ARRAY;

const NAME_ARRAY: [&str; TABLE.len()] = {
    let mut names = [""; TABLE.len()];
    let mut i = 0;
    while i < TABLE.len() {
        names[i] = TABLE[i].name;
        i += 1;
    }
    names
};

/// Width of the usage column of [`help`].
const USAGE_WIDTH: usize = 36;

/// What `--augment` accepts, one transform per line with its arguments and defaults.
pub fn help() -> String {
    let mut out = String::from(
        "Augmentation: a comma-separated list of NAME[:ARGS][@P] items, applied in order.\n\
         ARGS are positional or KEY=VALUE; omitted ones take the defaults shown. @P is the\n\
         probability that a sample is transformed (default 1, or as noted).\n\n",
    );
    for e in TABLE {
        let mut lines = e.summary.lines();
        let first = lines.next().unwrap_or("");
        if e.usage.len() + 2 < USAGE_WIDTH {
            out.push_str(&format!("  {:<w$}{first}\n", e.usage, w = USAGE_WIDTH - 2));
        } else {
            out.push_str(&format!("  {}\n{:w$}{first}\n", e.usage, "", w = USAGE_WIDTH));
        }
        for line in lines {
            out.push_str(&format!("{:w$}{line}\n", "", w = USAGE_WIDTH));
        }
    }
    out.push_str("\nResults are clamped to [0, 1]. Example: crop:pad=4,flip,brightness:0.2,noise:0.02@0.5");
    out
}

/// The largest side `resize` accepts, as for decoded images; also the largest shift.
const MAX_SIDE: usize = 16_384;
/// The largest padding of `crop`: a 1,024-pixel border all round is already more than any
/// image it could apply to needs.
const MAX_PAD: usize = 1024;
/// The largest blur σ in pixels (a 97-tap kernel, applied per pixel).
const MAX_SIGMA: f32 = 16.0;
/// The largest Gaussian kernel side.
const MAX_KERNEL: usize = 255;

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

/// The items of a spec (`crop:pad=2,flip` gives `crop:pad=2` and `flip`), as the parser splits
/// them: argument tokens glued back onto their item.
///
/// # Errors
/// [`SpecError::EmptyItem`] for an empty item.
pub fn items(spec: &str) -> Result<Vec<String>, SpecError> {
    split_items(spec)
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
            _ if token.is_empty() => return Err(SpecError::EmptyItem { spec: shown(spec) }),
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

/// The arguments of one item, bound to the parameter names of its transform, and the item's `@P`.
struct Args<'a> {
    item: &'a str,
    names: &'static [&'static str],
    values: Vec<Option<&'a str>>,
    at: Option<f32>,
}

impl<'a> Args<'a> {
    fn bind(
        item: &'a str,
        raw: &[&'a str],
        names: &'static [&'static str],
        at: Option<f32>,
    ) -> Result<Self, SpecError> {
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
        Ok(Args { item, names, values, at })
    }

    fn bad(&self, problem: String) -> SpecError {
        bad(self.item, problem)
    }

    /// The `@P` of the item, 1 when absent.
    fn p_or_one(&self) -> f32 {
        self.at.unwrap_or(1.0)
    }

    /// The probability of a transform that also takes it as its argument `p` (flip, erase): from
    /// the argument or from `@P`, not both.
    fn probability(&self, default: f32) -> Result<f32, SpecError> {
        match (self.get("p"), self.at) {
            (Some(_), Some(_)) => Err(self.bad("probability given both as an argument and after @".to_string())),
            (Some(_), None) => self.fraction("p", default, true),
            (None, Some(p)) => Ok(p),
            (None, None) => Ok(default),
        }
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

    /// A number in [0, `max`].
    fn bounded(&self, name: &str, default: f32, max: f32) -> Result<f32, SpecError> {
        let x = self.non_negative(name, default)?;
        if x > max {
            return Err(bad(self.item, format!("{name} = {x} is more than the largest supported, {max}")));
        }
        Ok(x)
    }

    /// A whole number in [0, `max`].
    fn bounded_count(&self, name: &str, default: usize, max: usize) -> Result<usize, SpecError> {
        let n = self.count(name, default)?;
        if n > max {
            return Err(bad(self.item, format!("{name} = {n} is more than the largest supported, {max}")));
        }
        Ok(n)
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

/// Text from the spec as an error message quotes it: control characters (a line break) escaped,
/// so the message stays one line.
fn shown(text: &str) -> String {
    text.escape_debug().to_string()
}

fn bad(item: &str, problem: String) -> SpecError {
    SpecError::BadItem { item: shown(item), problem: shown(&problem) }
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
    let Some(entry) = TABLE.iter().find(|e| e.name == name) else {
        let closest = NAMES.iter().min_by_key(|n| distance(name, n)).filter(|n| distance(name, n) <= 2);
        return Err(SpecError::UnknownTransform {
            name: shown(name),
            suggestion: closest.map_or(String::new(), |n| format!("; did you mean `{n}`?")),
            known: NAMES.join(", "),
        });
    };
    (entry.build)(&Args::bind(item, &raw_args, entry.params, p)?)
}

/// `resize:WxH[,MODE]`: always applied, so it takes no `@P`.
fn build_resize(a: &Args<'_>) -> Result<Box<dyn Transform>, SpecError> {
    if a.at.is_some() {
        return Err(a.bad("resize is always applied and takes no @P".to_string()));
    }
    let Some(size) = a.get("size") else {
        return Err(a.bad("needs a size WxH, e.g. resize:32x32".to_string()));
    };
    let parsed =
        size.split_once(['x', 'X']).and_then(|(w, h)| Some((w.parse::<usize>().ok()?, h.parse::<usize>().ok()?)));
    let Some((w, h)) = parsed.filter(|&(w, h)| (1..=MAX_SIDE).contains(&w) && (1..=MAX_SIDE).contains(&h)) else {
        return Err(a.bad(format!("expected a size WxH of whole numbers from 1 to {MAX_SIDE}, got `{size}`")));
    };
    let mode = match a.get("mode") {
        None | Some("bilinear") => Interpolation::Bilinear,
        Some("nearest") => Interpolation::Nearest,
        Some(other) => return Err(a.bad(format!("mode must be bilinear or nearest, got `{other}`"))),
    };
    Ok(Box::new(Resize::new(h, w, mode)))
}

/// One instance of every transform, always applied, with the spec item that builds it: the
/// defaults of [`help`], `resize` to half of `size`. For benchmarks ("each transform") and
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
    fn errors_quote_a_line_break_as_an_escape() {
        let err = parse_pipeline("flip:0.\n5").unwrap_err().to_string();
        assert_eq!(err, "augment: `flip:0.\\n5`: expected a number for p, got `0.\\n5`");
    }

    #[test]
    fn edit_distance_counts_single_changes() {
        assert_eq!(distance("flip", "flip"), 0);
        assert_eq!(distance("flp", "flip"), 1);
        assert_eq!(distance("noize", "noise"), 1);
        assert_eq!(distance("", "abc"), 3);
    }
}
