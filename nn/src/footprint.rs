//! What a network described by [`LayerSpec`]s needs, worked out from the descriptions alone,
//! before anything is built or run: the shape each layer outputs for a given input (with checked
//! arithmetic; a layer that does not fit its input is named), the parameter and buffer values,
//! and the values a forward pass holds per sample; and the memory [`Budget`] they must fit. A
//! checkpoint or a recipe from a file goes through [`Footprint::of`] first, so no description,
//! however crafted, makes a command panic or allocate more than the budget.

use std::fmt;

use neurite_core::backend::window_positions;

use crate::spec::{LayerSpec, SpecError, check_nesting, state_values, validate};

/// What a network needs for one input shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Footprint {
    /// The shape each top-level layer outputs for the input given (batch dimension included).
    pub shapes: Vec<Vec<usize>>,
    /// The network's output shape (the input's, for no layer at all).
    pub output: Vec<usize>,
    /// Values of the parameters and buffers (weights, biases, batch-norm statistics).
    pub state_values: u64,
    /// Values a forward pass holds for each sample of the batch: the input, every layer's
    /// output, and a convolution's column matrix (all held at once while training).
    pub values_per_sample: u64,
    /// The most values a forward pass without a graph holds at once for each sample: one
    /// layer's input, its output and its workspace (a block's: all of its branches).
    pub peak_values_per_sample: u64,
}

/// Bytes per value (f32).
const VALUE_BYTES: u64 = 4;

impl Footprint {
    /// Propagates `input` (batch dimension first; its size does not matter) through
    /// `architecture`, layer by layer.
    ///
    /// # Errors
    /// [`SpecError::Shape`] naming the first layer whose input does not fit it (a width that
    /// differs, a kernel larger than the padded image, a size that overflows), or
    /// [`SpecError::InvalidSettings`] / [`SpecError::CustomLayer`] as building would.
    pub fn of(architecture: &[LayerSpec], input: &[usize]) -> Result<Footprint, SpecError> {
        check_nesting(architecture)?;
        let state = state_values(architecture).ok_or_else(|| SpecError::Shape {
            index: String::new(),
            layer: "the network".into(),
            input: input.to_vec(),
            reason: "its parameters hold more values than memory can address".into(),
        })?;
        let mut sample = input.to_vec();
        if let Some(n) = sample.first_mut() {
            *n = 1;
        }
        let mut values = numel(&sample).ok_or_else(|| too_large("the input", &sample))?;
        let mut peak = values;
        let mut shapes = Vec::with_capacity(architecture.len());
        for (i, spec) in architecture.iter().enumerate() {
            let input_values = numel(&sample).ok_or_else(|| too_large(&i.to_string(), &sample))?;
            let (out, held) = layer_output(&i.to_string(), spec, &sample)?;
            values = values.checked_add(held).ok_or_else(|| too_large(&i.to_string(), &out))?;
            peak = peak.max(input_values.saturating_add(held));
            sample = out;
            shapes.push(restore_batch(&sample, input));
        }
        Ok(Footprint {
            output: restore_batch(&sample, input),
            shapes,
            state_values: state as u64,
            values_per_sample: values,
            peak_values_per_sample: peak,
        })
    }

    /// Bytes to run the network without a graph on a batch of `batch` samples: the parameters
    /// and the busiest layer's input, output and workspace (each layer's input is released
    /// once it has run).
    pub fn inference_bytes(&self, batch: usize) -> u64 {
        let activations = self.peak_values_per_sample.saturating_mul(batch as u64);
        self.state_values.saturating_add(activations).saturating_mul(VALUE_BYTES)
    }

    /// Bytes to train on a batch of `batch` samples: the parameters, their gradients and up to two
    /// optimizer buffers each; the forward values, their gradients and the backward workspace.
    pub fn training_bytes(&self, batch: usize) -> u64 {
        let activations = self.values_per_sample.saturating_mul(batch as u64).saturating_mul(3);
        self.state_values.saturating_mul(4).saturating_add(activations).saturating_mul(VALUE_BYTES)
    }
}

/// `dims` with the batch dimension of `input` put back.
fn restore_batch(dims: &[usize], input: &[usize]) -> Vec<usize> {
    let mut out = dims.to_vec();
    if let (Some(n), Some(&batch)) = (out.first_mut(), input.first()) {
        *n = batch;
    }
    out
}

fn numel(dims: &[usize]) -> Option<u64> {
    dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
}

fn too_large(index: &str, shape: &[usize]) -> SpecError {
    SpecError::Shape {
        index: index.to_string(),
        layer: "the network".into(),
        input: shape.to_vec(),
        reason: "its values outnumber what memory can address".into(),
    }
}

/// The output of one layer for a one-sample input, and the values it holds (its output, plus a
/// convolution's columns).
fn layer_output(index: &str, spec: &LayerSpec, input: &[usize]) -> Result<(Vec<usize>, u64), SpecError> {
    let fail = |reason: String| SpecError::Shape {
        index: index.to_string(),
        layer: spec.to_string(),
        input: input.to_vec(),
        reason,
    };
    // The layers of a chain one after the other, named `{index}{sep}{j}`.
    let chain = |sep: &str, layers: &[LayerSpec]| -> Result<(Vec<usize>, u64), SpecError> {
        let mut shape = input.to_vec();
        let mut held = 0u64;
        for (j, inner) in layers.iter().enumerate() {
            let (out, values) = layer_output(&format!("{index}{sep}{j}"), inner, &shape)?;
            held = held.checked_add(values).ok_or_else(|| fail("its values overflow".into()))?;
            shape = out;
        }
        Ok((shape, held))
    };
    if let LayerSpec::Sequential { layers } = spec {
        return chain(".", layers);
    }
    if let LayerSpec::Residual { body, shortcut, activation } = spec {
        validate(0, spec).map_err(|e| match e {
            SpecError::InvalidSettings { reason, .. } => fail(reason),
            other => other,
        })?;
        let (main, main_held) = chain(".body.", body)?;
        let (skip, skip_held) = chain(".shortcut.", shortcut)?;
        if main != skip {
            return Err(fail(format!(
                "the body gives {main:?} and the shortcut {skip:?}; the two are added, so they must agree"
            )));
        }
        // Both branches, the sum, and the activation's output.
        let sums = numel(&main).and_then(|v| v.checked_mul(1 + u64::from(activation.is_some())));
        let held = [main_held, skip_held, sums.ok_or_else(|| fail("its output is too large".into()))?]
            .into_iter()
            .try_fold(0u64, u64::checked_add)
            .ok_or_else(|| fail("its values overflow".into()))?;
        return Ok((main, held));
    }
    validate(0, spec).map_err(|e| match e {
        SpecError::InvalidSettings { reason, .. } => fail(reason),
        other => other,
    })?;
    let rank4 = |what: &str| -> Result<[usize; 4], SpecError> {
        <[usize; 4]>::try_from(input).map_err(|_| fail(format!("{what} takes [batch, channels, height, width]")))
    };
    let mut workspace = 0u64;
    let out = match spec {
        LayerSpec::Linear { in_features, out_features, .. } => match input.last() {
            Some(last) if input.len() >= 2 && last == in_features => {
                let mut out = input.to_vec();
                *out.last_mut().expect("not empty") = *out_features;
                out
            }
            Some(last) if input.len() >= 2 => {
                return Err(fail(format!("expects {in_features} features in its last dimension, got {last}")));
            }
            _ => return Err(fail("takes [batch, features]".into())),
        },
        LayerSpec::Conv2d { in_channels, out_channels, kernel_size, stride, padding, .. } => {
            let [n, c, h, w] = rank4("a convolution")?;
            if c != *in_channels {
                return Err(fail(format!("expects {in_channels} channels, got {c}")));
            }
            let oh = window_count(h, kernel_size[0], stride[0], padding[0]).map_err(&fail)?;
            let ow = window_count(w, kernel_size[1], stride[1], padding[1]).map_err(&fail)?;
            // The column matrix of one image: channels·kh·kw rows, one column per position.
            workspace = numel(&[c, kernel_size[0], kernel_size[1], oh, ow])
                .ok_or_else(|| fail("its column matrix is too large to address".into()))?;
            vec![n, *out_channels, oh, ow]
        }
        LayerSpec::MaxPool2d { kernel_size, stride, padding }
        | LayerSpec::AvgPool2d { kernel_size, stride, padding } => {
            let [n, c, h, w] = rank4("pooling")?;
            let oh = window_count(h, kernel_size[0], stride[0], padding[0]).map_err(&fail)?;
            let ow = window_count(w, kernel_size[1], stride[1], padding[1]).map_err(&fail)?;
            vec![n, c, oh, ow]
        }
        LayerSpec::Flatten => match input.split_first() {
            Some((n, rest)) => {
                let rest = numel(rest).and_then(|v| usize::try_from(v).ok());
                vec![*n, rest.ok_or_else(|| fail("the flattened size overflows".into()))?]
            }
            None => return Err(fail("takes a batch".into())),
        },
        LayerSpec::BatchNorm1d { num_features, .. } => match input {
            [_, f] if f == num_features => input.to_vec(),
            [_, f] => return Err(fail(format!("expects {num_features} features, got {f}"))),
            _ => return Err(fail("takes [batch, features]".into())),
        },
        LayerSpec::BatchNorm2d { num_features, .. } => {
            let [_, c, _, _] = rank4("batch norm 2d")?;
            if c != *num_features {
                return Err(fail(format!("expects {num_features} channels, got {c}")));
            }
            input.to_vec()
        }
        LayerSpec::Softmax { dim } if *dim >= input.len() => {
            return Err(fail(format!("axis {dim} does not exist in a {}-dimensional input", input.len())));
        }
        LayerSpec::GlobalAvgPool => {
            let [n, c, _, _] = rank4("global average pooling")?;
            vec![n, c]
        }
        LayerSpec::ChannelPad { stride, before, after } => {
            let [n, c, h, w] = rank4("a channel pad")?;
            let channels = c
                .checked_add(*before)
                .and_then(|c| c.checked_add(*after))
                .ok_or_else(|| fail("its channel count overflows".into()))?;
            vec![n, channels, h.div_ceil(stride[0]), w.div_ceil(stride[1])]
        }
        LayerSpec::Dropout { .. }
        | LayerSpec::ReLU
        | LayerSpec::Sigmoid
        | LayerSpec::Tanh
        | LayerSpec::LeakyReLU { .. }
        | LayerSpec::ELU { .. }
        | LayerSpec::GELU
        | LayerSpec::Softmax { .. } => input.to_vec(),
        LayerSpec::Custom { name, settings } => match crate::registry::custom_output_shape(name, settings, input) {
            Some(shape) => shape.map_err(fail)?,
            None => return Err(SpecError::CustomLayer { index: index.parse().unwrap_or(0), name: name.clone() }),
        },
        LayerSpec::Sequential { .. } | LayerSpec::Residual { .. } => unreachable!("handled above"),
    };
    let held =
        numel(&out).and_then(|v| v.checked_add(workspace)).ok_or_else(|| fail("its output is too large".into()))?;
    Ok((out, held))
}

/// [`window_positions`], with the reason when there are none.
fn window_count(len: usize, kernel: usize, stride: usize, padding: usize) -> Result<usize, String> {
    window_positions(len, kernel, stride, padding).ok_or_else(|| {
        match padding.checked_mul(2).and_then(|p| p.checked_add(len)) {
            None => "the padding overflows".to_string(),
            Some(_) => format!("a window of {kernel} does not fit a side of {len} padded by {padding}"),
        }
    })
}

/// The most memory a command may plan to use: networks, batches and images are checked against
/// it before they are allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Bytes.
    pub bytes: u64,
}

impl Budget {
    /// The default, 4 GiB: fits a laptop beside everything else it runs.
    pub const DEFAULT: Budget = Budget { bytes: 4 << 30 };
    /// The environment variable that sets another budget (`8G`, `512M`, or bytes).
    pub const ENV: &'static str = "NEURITE_MEMORY_BUDGET";

    /// The budget the environment sets, else the default.
    ///
    /// # Errors
    /// A message if the variable is set but is not a size.
    pub fn from_env() -> Result<Budget, String> {
        match std::env::var(Self::ENV) {
            Ok(text) => text.parse(),
            Err(_) => Ok(Self::DEFAULT),
        }
    }

    /// Checks that `what` fits.
    ///
    /// # Errors
    /// [`SpecError::OverBudget`] naming both sizes.
    pub fn check(&self, what: impl Into<String>, needed: u64) -> Result<(), SpecError> {
        if needed <= self.bytes {
            return Ok(());
        }
        Err(SpecError::OverBudget { what: what.into(), needed: Bytes(needed), budget: Bytes(self.bytes) })
    }
}

impl std::str::FromStr for Budget {
    type Err = String;

    fn from_str(text: &str) -> Result<Budget, String> {
        let t = text.trim();
        let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
            Some((i, _)) => t.split_at(i),
            None => (t, ""),
        };
        let scale: u64 = match unit.trim().to_ascii_uppercase().as_str() {
            "" | "B" => 1,
            "K" | "KB" | "KIB" => 1 << 10,
            "M" | "MB" | "MIB" => 1 << 20,
            "G" | "GB" | "GIB" => 1 << 30,
            "T" | "TB" | "TIB" => 1 << 40,
            _ => return Err(format!("{}: `{text}` is not a size (e.g. 8G, 512M)", Self::ENV)),
        };
        digits
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(scale))
            .filter(|&b| b > 0)
            .map(|bytes| Budget { bytes })
            .ok_or_else(|| format!("{}: `{text}` is not a size (e.g. 8G, 512M)", Self::ENV))
    }
}

/// A byte count, displayed in binary units (`3.2 GiB`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0 as f64;
        match self.0 {
            0..1024 => write!(f, "{} bytes", self.0),
            1024..1_048_576 => write!(f, "{:.1} KiB", b / 1024.0),
            1_048_576..1_073_741_824 => write!(f, "{:.1} MiB", b / 1_048_576.0),
            _ => write!(f, "{:.1} GiB", b / 1_073_741_824.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linear(i: usize, o: usize) -> LayerSpec {
        LayerSpec::Linear { in_features: i, out_features: o, bias: true }
    }

    fn conv(i: usize, o: usize, k: usize, p: usize) -> LayerSpec {
        LayerSpec::Conv2d {
            in_channels: i,
            out_channels: o,
            kernel_size: [k, k],
            stride: [1, 1],
            padding: [p, p],
            bias: true,
        }
    }

    #[test]
    fn the_mnist_cnn_propagates_to_ten_scores() {
        let pool = LayerSpec::MaxPool2d { kernel_size: [2, 2], stride: [2, 2], padding: [0, 0] };
        let arch = [
            conv(1, 16, 5, 2),
            LayerSpec::ReLU,
            pool.clone(),
            conv(16, 32, 5, 2),
            pool,
            LayerSpec::Flatten,
            linear(1568, 10),
        ];
        let f = Footprint::of(&arch, &[64, 1, 28, 28]).expect("fits");
        assert_eq!(f.output, [64, 10]);
        assert_eq!(f.shapes[2], [64, 16, 14, 14]);
        // 16·25 + 16 + 32·16·25 + 32 + 1568·10 + 10 = 416 + 12,832 + 15,690
        assert_eq!(f.state_values, 28_938);
        // input 784; conv1 16·784 + columns 25·784; relu 12,544; pool 3,136; conv2 32·196 +
        // columns 400·196; pool 1,568; flatten 1,568; linear 10.
        let expected = 784 + (12_544 + 19_600) + 12_544 + 3_136 + (6_272 + 78_400) + 1_568 + 1_568 + 10;
        assert_eq!(f.values_per_sample, expected);
        // Without a graph the busiest layer is conv2: its input, output and columns.
        assert_eq!(f.peak_values_per_sample, 3_136 + 6_272 + 78_400);
        assert_eq!(f.inference_bytes(2), 4 * (28_938 + 2 * (3_136 + 6_272 + 78_400)));
    }

    #[test]
    fn a_layer_that_does_not_fit_is_named() {
        let check = |arch: &[LayerSpec], input: &[usize]| Footprint::of(arch, input).unwrap_err().to_string();
        assert_eq!(
            check(&[LayerSpec::Flatten, linear(784, 10)], &[1, 1, 20, 20]),
            "layer 1 (Linear(in=784, out=10)): input [1, 400]: expects 784 features in its last dimension, got 400"
        );
        assert_eq!(
            check(&[conv(1, 4, 9, 0)], &[1, 1, 4, 4]),
            "layer 0 (Conv2d(in=1, out=4, kernel=9x9, stride=1x1, padding=0x0)): input [1, 1, 4, 4]: \
             a window of 9 does not fit a side of 4 padded by 0"
        );
        assert!(check(&[conv(1, 4, 3, usize::MAX / 2 + 1)], &[1, 1, 4, 4]).ends_with("the padding overflows"));
        assert!(check(&[conv(3, 4, 3, 1)], &[1, 1, 4, 4]).ends_with("expects 3 channels, got 1"));
        assert!(
            check(&[LayerSpec::Softmax { dim: 2 }], &[1, 10])
                .ends_with("axis 2 does not exist in a 2-dimensional input")
        );
        let nested = LayerSpec::Sequential { layers: vec![LayerSpec::ReLU, linear(3, 2)] };
        assert!(check(&[nested], &[1, 4]).starts_with("layer 0.1 (Linear(in=3, out=2))"));
    }

    #[test]
    fn budgets_parse_and_refuse_what_does_not_fit() {
        assert_eq!("8G".parse::<Budget>(), Ok(Budget { bytes: 8 << 30 }));
        assert_eq!("512 MiB".parse::<Budget>(), Ok(Budget { bytes: 512 << 20 }));
        assert_eq!("1000".parse::<Budget>(), Ok(Budget { bytes: 1000 }));
        assert!("lots".parse::<Budget>().is_err() && "0".parse::<Budget>().is_err());
        let f = Footprint::of(&[linear(100_000, 100_000)], &[1, 100_000]).expect("shapes fit");
        let err = Budget::DEFAULT.check("this network", f.inference_bytes(1)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "this network needs 37.3 GiB of memory, more than the budget of 4.0 GiB (NEURITE_MEMORY_BUDGET sets another)"
        );
    }
}
