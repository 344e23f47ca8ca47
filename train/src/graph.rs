//! Computational graphs drawn with their numbers: every edge carries the value that flows
//! forward along it (above, black) and the gradient of the output with respect to that value
//! (below, red), as in the lecture's pictures of backpropagation. The layout is computed here
//! (columns by depth, rows by the positions of neighbours), and the same drawing goes to SVG or
//! PNG, so no system Graphviz is needed.
//!
//! [`ValueGraph::of_tensor`] draws the graph that autodiff recorded, op by op;
//! [`ValueGraph::of_model`] draws a network layer by layer on one sample; [`example`] builds the
//! lecture's small graphs by name ([`EXAMPLES`]).

use std::collections::HashMap;
use std::path::Path;

use neurite_core::{Backend, Tensor, TensorId};
use neurite_nn::{LayerSpec, Module, Sequential};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::plot::{PlotError, draw_error, register_embedded_font, save_image};

/// The colour of gradients.
const GRADIENT_RED: RGBColor = RGBColor(200, 30, 30);

/// What a node stands for, which decides how it is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// Data that is not differentiated (an input sample, a label): a grey box.
    Input,
    /// A leaf that is differentiated (a weight, a price): a box.
    Parameter,
    /// An operation or a layer: a circle (an op) or a rounded label (a layer).
    Op,
}

/// One node: its label, and the value it outputs with the gradient of the graph's output with
/// respect to that value, both already formatted.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphNode {
    /// The text in the node (a name for leaves, a symbol or layer for ops).
    pub label: String,
    /// How it is drawn.
    pub kind: NodeKind,
    /// The value it passes on.
    pub value: String,
    /// ∂output/∂value, if the value is differentiated.
    pub grad: Option<String>,
}

/// A graph to draw: nodes, and edges `(from, to)` by index, the value of `from` flowing to `to`.
/// The last node is the output.
#[derive(Clone, Debug, PartialEq)]
pub struct ValueGraph {
    /// The caption above the drawing.
    pub title: String,
    /// Every node, inputs before the nodes that use them.
    pub nodes: Vec<GraphNode>,
    /// Value-carrying edges.
    pub edges: Vec<(usize, usize)>,
}

/// Where each node sits, in pixels, and the size of the drawing.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// Centre of each node.
    pub positions: Vec<(i32, i32)>,
    /// Column of each node (its depth).
    pub columns: Vec<usize>,
    /// Width and height of the drawing.
    pub size: (u32, u32),
}

/// The size of the edges' value and gradient labels (plotters' units: 17 draws 13.7 px in SVG).
const LABEL_SIZE: i32 = 17;

/// Pixels right of the last column's centre: half a node, the output arrow and its labels.
const OUTPUT_ROOM: i32 = 110;

/// The lecture's graphs that [`example`] builds: name and what it shows.
pub const EXAMPLES: &[(&str, &str)] = &[
    ("apples", "the shopping bill: 2 apples at 100, 3 oranges at 150, 10 % tax = 715"),
    ("add-mul", "f = (x + y)·z: an add node passes its gradient on, a multiply node swaps its inputs"),
    ("sigmoid", "y = 1/(1 + exp(−x)) as four nodes: the gradient at x is y(1 − y)"),
    ("two-layer", "a 2-3-2 network on one sample: affine, sigmoid, affine, softmax with cross-entropy"),
    ("composite", "z = t², t = x + y: ∂z/∂x = ∂z/∂t·∂t/∂x = 2t"),
    ("chain-rule", "u = x² + 2y, x = r·sin t, y = sin² t: ∂u/∂r = 2r·sin² t, ∂u/∂t = (r² + 2)·sin 2t"),
];

/// A number with four significant digits and no trailing zeros: `715`, `2.2`, `0.04521`.
pub fn format_number(v: f32) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if !v.is_finite() {
        return v.to_string();
    }
    let magnitude = v.abs().log10().floor() as i32;
    if !(-4..6).contains(&magnitude) {
        return format!("{v:.3e}");
    }
    let text = format!("{v:.*}", (3 - magnitude).max(0) as usize);
    let text = if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.') } else { &text };
    if text == "-0" { "0".into() } else { text.to_string() }
}

/// A tensor's values for an edge label: the numbers when there are at most four, else its shape
/// and mean (values) or its norm (gradients).
fn describe<B: Backend>(t: &Tensor<B>, gradient: bool) -> String {
    let values = t.to_vec();
    match values.len() {
        1 => format_number(values[0]),
        2..=4 => format!("[{}]", values.iter().map(|v| format_number(*v)).collect::<Vec<_>>().join(", ")),
        n => {
            let shape = t.dims().iter().map(|d| d.to_string()).collect::<Vec<_>>().join("×");
            if gradient {
                let norm = values.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt();
                format!("{shape} ‖·‖ {}", format_number(norm as f32))
            } else {
                let mean = values.iter().map(|v| f64::from(*v)).sum::<f64>() / n as f64;
                format!("{shape} mean {}", format_number(mean as f32))
            }
        }
    }
}

/// The symbol drawn in an op's circle.
fn op_symbol(name: &str) -> String {
    match name {
        "add" => "+",
        "sub" => "−",
        "mul" => "×",
        "div" => "÷",
        "matmul" => "dot",
        "sigmoid" => "σ",
        "neg" => "−x",
        "recip" => "1/x",
        "broadcast_to" => "copy",
        "softmax_cross_entropy" => "CE",
        "bias_act" => "b+σ",
        other => other,
    }
    .to_string()
}

impl ValueGraph {
    /// The graph autodiff recorded for `output`, op by op, with the gradients of `output` (its
    /// sum, if it holds more than one value). `names` labels leaves (and may relabel ops, e.g.
    /// `+1` for an `add_scalar`); other leaves are labelled by their shape.
    pub fn of_tensor<B: Backend>(title: &str, output: &Tensor<B>, names: &[(&Tensor<B>, &str)]) -> Self {
        let grads = output.backward_all(&Tensor::ones(output.shape().clone()));
        // Every tensor reachable through recorded ops, untracked inputs included, inputs first.
        let mut order: Vec<Tensor<B>> = Vec::new();
        let mut seen: HashMap<TensorId, usize> = HashMap::new();
        let mut stack = vec![(output.clone(), false)];
        while let Some((t, expanded)) = stack.pop() {
            if expanded {
                seen.insert(t.id(), order.len());
                order.push(t);
                continue;
            }
            if seen.contains_key(&t.id()) || stack.iter().any(|(s, done)| *done && s.id() == t.id()) {
                continue;
            }
            stack.push((t.clone(), true));
            for input in t.op_inputs().into_iter().rev() {
                if !seen.contains_key(&input.id()) {
                    stack.push((input, false));
                }
            }
        }
        let label_of = |t: &Tensor<B>| names.iter().find(|(n, _)| n.id() == t.id()).map(|(_, l)| l.to_string());
        let nodes = order
            .iter()
            .map(|t| {
                let (kind, fallback) = match t.op_name() {
                    Some(op) => (NodeKind::Op, op_symbol(op)),
                    None if t.requires_grad() => (NodeKind::Parameter, format!("param {}", t.shape())),
                    None => (NodeKind::Input, format!("input {}", t.shape())),
                };
                GraphNode {
                    label: label_of(t).unwrap_or(fallback),
                    kind,
                    value: describe(t, false),
                    grad: grads.get(t).map(|g| describe(g, true)),
                }
            })
            .collect();
        let edges = order
            .iter()
            .enumerate()
            .flat_map(|(to, t)| t.op_inputs().into_iter().map(move |i| (i, to)))
            .map(|(input, to)| (seen[&input.id()], to))
            .collect();
        ValueGraph { title: title.to_string(), nodes, edges }
    }

    /// `model` layer by layer on one sample `x` (`[1, …]`) with label `target`: the input, each
    /// layer, and the cross-entropy loss; each edge carries the activation (shape and mean) and
    /// ∂loss/∂activation (its norm), and each layer with weights gets a box for them with the norm
    /// of their gradient. The model is used as it is (call `set_training(false)` first for
    /// evaluation behaviour).
    pub fn of_model<B: Backend>(title: &str, model: &Sequential<B>, x: &Tensor<B>, target: usize) -> Self {
        // Every value drawn: a plain layer's output, or a block's body, shortcut, sum and output.
        enum Step<B: Backend> {
            Layer(Tensor<B>),
            Block { body: Tensor<B>, shortcut: Option<Tensor<B>>, sum: Tensor<B>, out: Option<Tensor<B>> },
        }
        let mut steps = Vec::with_capacity(model.len());
        let mut current = x.clone();
        for layer in model.layers() {
            let step = match layer.as_residual() {
                Some(block) => {
                    let body = block.body().forward(&current);
                    let shortcut = (!block.shortcut().is_empty()).then(|| block.shortcut().forward(&current));
                    let sum = body.add(shortcut.as_ref().unwrap_or(&current));
                    let out = block.activation().map(|a| a.forward(&sum));
                    current = out.clone().unwrap_or_else(|| sum.clone());
                    Step::Block { body, shortcut, sum, out }
                }
                None => {
                    current = layer.forward(&current);
                    Step::Layer(current.clone())
                }
            };
            steps.push(step);
        }
        let logits = current;
        let classes = logits.dims().last().copied().unwrap_or(1);
        let one_hot = (0..classes).map(|c| if c == target { 1.0 } else { 0.0 }).collect();
        let loss = logits.softmax_cross_entropy(&Tensor::from_vec(one_hot, [1, classes]));
        let grads = loss.backward_all(&Tensor::ones(loss.shape().clone()));
        let mut graph = ValueGraph {
            title: title.to_string(),
            nodes: vec![GraphNode {
                label: format!("input (label {target})"),
                kind: NodeKind::Input,
                value: describe(x, false),
                grad: None,
            }],
            edges: Vec::new(),
        };
        // A node for `out` fed by `from`, after a box for `params` if there are any.
        let add = |graph: &mut ValueGraph, label: String, params: Vec<&Tensor<B>>, out: &Tensor<B>, from: &[usize]| {
            if !params.is_empty() {
                let count: usize = params.iter().map(|p| p.numel()).sum();
                let norm = params.iter().flat_map(|p| p.to_vec()).map(|v| f64::from(v).powi(2)).sum::<f64>().sqrt();
                let grad: f64 = params
                    .iter()
                    .filter_map(|t| grads.get(t))
                    .flat_map(|g| g.to_vec())
                    .map(|v| f64::from(v).powi(2))
                    .sum();
                graph.nodes.push(GraphNode {
                    label: format!("{count} weights"),
                    kind: NodeKind::Parameter,
                    value: format!("‖·‖ {}", format_number(norm as f32)),
                    grad: Some(format!("‖·‖ {}", format_number(grad.sqrt() as f32))),
                });
                graph.edges.push((graph.nodes.len() - 1, graph.nodes.len()));
            }
            let here = graph.nodes.len();
            graph.nodes.push(GraphNode {
                label,
                kind: NodeKind::Op,
                value: describe(out, false),
                grad: grads.get(out).map(|g| describe(g, true)),
            });
            graph.edges.extend(from.iter().map(|&f| (f, here)));
            here
        };
        fn weights<B: Backend>(layer: &dyn Module<B>) -> Vec<&Tensor<B>> {
            layer.params().into_iter().map(|(_, p)| p).collect()
        }
        let mut previous = 0;
        for (layer, step) in model.layers().iter().zip(&steps) {
            previous = match (step, layer.as_residual()) {
                (Step::Block { body, shortcut, sum, out }, Some(block)) => {
                    let main = add(
                        &mut graph,
                        chain_label(&block.body().architecture()),
                        weights(block.body()),
                        body,
                        &[previous],
                    );
                    let skip = match shortcut {
                        Some(s) => {
                            let label = format!("shortcut {}", chain_label(&block.shortcut().architecture()));
                            add(&mut graph, label, weights(block.shortcut()), s, &[previous])
                        }
                        None => previous,
                    };
                    let plus = add(&mut graph, "+".into(), Vec::new(), sum, &[main, skip]);
                    match (out, block.activation()) {
                        (Some(out), Some(a)) => {
                            add(&mut graph, short_layer(&a.spec().to_string()), Vec::new(), out, &[plus])
                        }
                        _ => plus,
                    }
                }
                (Step::Layer(out), _) | (Step::Block { sum: out, .. }, None) => {
                    add(&mut graph, short_layer(&layer.spec().to_string()), weights(layer.as_ref()), out, &[previous])
                }
            };
        }
        graph.nodes.push(GraphNode {
            label: "CE loss".into(),
            kind: NodeKind::Op,
            value: format_number(loss.item()),
            grad: Some("1".into()),
        });
        graph.edges.push((previous, graph.nodes.len() - 1));
        graph
    }

    /// Columns by depth (a leaf sits just before its first consumer), rows placed at the mean
    /// height of their neighbours and pushed apart where they would overlap.
    pub fn layout(&self) -> Layout {
        let n = self.nodes.len();
        let inputs: Vec<Vec<usize>> =
            (0..n).map(|v| self.edges.iter().filter(|e| e.1 == v).map(|e| e.0).collect()).collect();
        let consumers: Vec<Vec<usize>> =
            (0..n).map(|v| self.edges.iter().filter(|e| e.0 == v).map(|e| e.1).collect()).collect();
        // Depth: longest path from a leaf (nodes are listed inputs first).
        let mut column = vec![0usize; n];
        for v in 0..n {
            column[v] = inputs[v].iter().map(|&u| column[u] + 1).max().unwrap_or(0);
        }
        for v in (0..n).rev() {
            if inputs[v].is_empty() {
                if let Some(first) = consumers[v].iter().map(|&c| column[c]).min() {
                    column[v] = first.saturating_sub(1);
                }
            }
        }
        let columns = column.iter().max().map_or(0, |c| c + 1);
        let mut y: Vec<f32> = vec![0.0; n];
        let mut next_free = vec![0.0f32; columns];
        for v in 0..n {
            y[v] = next_free[column[v]];
            next_free[column[v]] += 1.0;
        }
        let mean =
            |of: &[usize], y: &[f32]| (!of.is_empty()).then(|| of.iter().map(|&u| y[u]).sum::<f32>() / of.len() as f32);
        for _ in 0..4 {
            // Forward: ops to the mean of their inputs; backward: leaves to their consumers.
            let wanted: Vec<f32> = (0..n).map(|v| mean(&inputs[v], &y).unwrap_or(y[v])).collect();
            separate(&column, columns, &wanted, &mut y);
            let wanted: Vec<f32> = (0..n)
                .map(|v| if inputs[v].is_empty() { mean(&consumers[v], &y).unwrap_or(y[v]) } else { y[v] })
                .collect();
            separate(&column, columns, &wanted, &mut y);
        }
        let top = y.iter().copied().fold(f32::INFINITY, f32::min);
        let rows = y.iter().map(|v| v - top).fold(0.0f32, f32::max);
        let label_chars = self
            .nodes
            .iter()
            .flat_map(|nd| [nd.value.chars().count(), nd.grad.as_ref().map_or(0, |g| g.chars().count())])
            .max()
            .unwrap_or(4);
        let column_width = (label_chars as i32 * 8 + 90).max(170);
        let (margin, row_height) = (70, 120);
        let positions = (0..n)
            .map(|v| {
                (
                    margin + column[v] as i32 * column_width,
                    margin + 30 + ((y[v] - top) * row_height as f32).round() as i32,
                )
            })
            .collect();
        // The last column needs room for its node, the output arrow and that arrow's labels only.
        let width = 2 * margin + (columns.max(1) as i32 - 1) * column_width + OUTPUT_ROOM;
        let height = 2 * margin + 30 + (rows * row_height as f32).round() as i32;
        Layout { positions, columns: column, size: (width as u32, height.max(200) as u32) }
    }

    /// The drawing as an SVG document.
    ///
    /// # Errors
    /// [`PlotError::Draw`] if plotters fails.
    pub fn to_svg(&self) -> Result<String, PlotError> {
        let layout = self.layout();
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, layout.size).into_drawing_area();
            self.draw(&root, &layout)?;
            root.present().map_err(|e| draw_error("graph", e))?;
        }
        Ok(svg)
    }

    /// The drawing as an RGB image.
    ///
    /// # Errors
    /// [`PlotError::Draw`] if plotters fails.
    pub fn to_image(&self) -> Result<image::RgbImage, PlotError> {
        register_embedded_font();
        let layout = self.layout();
        let (w, h) = layout.size;
        let mut buffer = vec![255u8; w as usize * h as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut buffer, (w, h)).into_drawing_area();
            self.draw(&root, &layout)?;
            root.present().map_err(|e| draw_error("graph", e))?;
        }
        image::RgbImage::from_raw(w, h, buffer).ok_or_else(|| draw_error("graph", "buffer size"))
    }

    /// Writes the drawing to `path`: SVG if it ends in `.svg`, PNG otherwise.
    ///
    /// # Errors
    /// [`PlotError`] if drawing or writing fails.
    pub fn save(&self, path: &Path) -> Result<(), PlotError> {
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("svg")) {
            let svg = self.to_svg()?;
            neurite_core::fs::write_atomic(path, svg.as_bytes())
                .map_err(|source| PlotError::Write { path: path.display().to_string(), source })
        } else {
            save_image(path, &self.to_image()?)
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, layout: &Layout) -> Result<(), PlotError> {
        let fail = |e: DrawingAreaErrorKind<DB::ErrorType>| draw_error("graph", e);
        root.fill(&WHITE).map_err(fail)?;
        let font = |size: i32| ("sans-serif", size).into_font();
        let centred = |size: i32, color: &'static RGBColor| {
            TextStyle::from(font(size)).color(color).pos(Pos::new(HPos::Center, VPos::Center))
        };
        root.draw(&Text::new(self.title.clone(), (20, 24), TextStyle::from(font(18)).color(&BLACK))).map_err(fail)?;
        let legend = "above each arrow: the value passed forward; below, in red: ∂output/∂value";
        root.draw(&Text::new(legend, (20, 48), TextStyle::from(font(15)).color(&RGBColor(90, 90, 90))))
            .map_err(fail)?;
        let half_width = |v: usize| match self.nodes[v].kind {
            NodeKind::Op if self.nodes[v].label.chars().count() <= 4 => 22,
            _ => (self.nodes[v].label.chars().count() as i32 * 4 + 12).max(28),
        };
        let edge = |from: (i32, i32), to: (i32, i32), value: &str, grad: Option<&str>| {
            root.draw(&PathElement::new(vec![from, to], BLACK.stroke_width(1))).map_err(fail)?;
            let (dx, dy) = ((to.0 - from.0) as f32, (to.1 - from.1) as f32);
            let len = (dx * dx + dy * dy).sqrt().max(1.0);
            let (ux, uy) = (dx / len, dy / len);
            let back = |d: f32, side: f32| {
                ((to.0 as f32 - ux * d - uy * side) as i32, (to.1 as f32 - uy * d + ux * side) as i32)
            };
            root.draw(&Polygon::new(vec![to, back(10.0, 4.5), back(10.0, -4.5)], BLACK.filled())).map_err(fail)?;
            // Labels beside the edge, 40 % of the way along (where converging edges are still apart), on either side of it: the value on the upper
            // side, the gradient on the lower, pushed further out the steeper the edge.
            let mid = (from.0 as f32 + 0.4 * dx, from.1 as f32 + 0.4 * dy);
            let (nx, ny) = if ux >= 0.0 { (uy, -ux) } else { (-uy, ux) };
            let away = 13.0 + 14.0 * uy.abs();
            let at = |side: f32| ((mid.0 + nx * away * side) as i32, (mid.1 + ny * away * side) as i32);
            root.draw(&Text::new(value.to_string(), at(1.0), centred(LABEL_SIZE, &BLACK))).map_err(fail)?;
            if let Some(g) = grad {
                root.draw(&Text::new(g.to_string(), at(-1.0), centred(LABEL_SIZE, &GRADIENT_RED))).map_err(fail)?;
            }
            Ok::<(), PlotError>(())
        };
        for &(from, to) in &self.edges {
            let (a, b) = (layout.positions[from], layout.positions[to]);
            let start = (a.0 + half_width(from), a.1);
            let end = (b.0 - half_width(to), b.1);
            edge(start, end, &self.nodes[from].value, self.nodes[from].grad.as_deref())?;
        }
        if let Some(last) = self.nodes.len().checked_sub(1) {
            let (x, y) = layout.positions[last];
            let start = (x + half_width(last), y);
            edge(start, (start.0 + 70, y), &self.nodes[last].value, self.nodes[last].grad.as_deref())?;
        }
        for (v, node) in self.nodes.iter().enumerate() {
            let (x, y) = layout.positions[v];
            let hw = half_width(v);
            match node.kind {
                NodeKind::Op if hw == 22 => {
                    root.draw(&Circle::new((x, y), 22, RGBColor(230, 238, 250).filled())).map_err(fail)?;
                    root.draw(&Circle::new((x, y), 22, BLACK.stroke_width(1))).map_err(fail)?;
                }
                kind => {
                    let fill = match kind {
                        NodeKind::Input => RGBColor(235, 235, 235),
                        NodeKind::Parameter => RGBColor(255, 245, 220),
                        NodeKind::Op => RGBColor(230, 238, 250),
                    };
                    let corners = [(x - hw, y - 15), (x + hw, y + 15)];
                    root.draw(&Rectangle::new(corners, fill.filled())).map_err(fail)?;
                    root.draw(&Rectangle::new(corners, BLACK.stroke_width(1))).map_err(fail)?;
                }
            }
            let size = if node.kind == NodeKind::Op && hw == 22 { 20 } else { 16 };
            root.draw(&Text::new(node.label.clone(), (x, y), centred(size, &BLACK))).map_err(fail)?;
        }
        Ok(())
    }
}

/// Places the nodes of each column at their `wanted` heights, in that order, at least one row
/// apart, the group centred on the mean of what its nodes wanted.
fn separate(column: &[usize], columns: usize, wanted: &[f32], y: &mut [f32]) {
    for c in 0..columns {
        let mut members: Vec<usize> = (0..column.len()).filter(|&v| column[v] == c).collect();
        members.sort_by(|&a, &b| wanted[a].total_cmp(&wanted[b]).then(a.cmp(&b)));
        // Push down where two would overlap, then shift the run so it keeps its mean.
        let mut placed: Vec<f32> = Vec::with_capacity(members.len());
        for &v in &members {
            let at = match placed.last() {
                Some(&above) => wanted[v].max(above + 1.0),
                None => wanted[v],
            };
            placed.push(at);
        }
        let drift = members.iter().zip(&placed).map(|(&v, p)| p - wanted[v]).sum::<f32>() / members.len().max(1) as f32;
        for (&v, p) in members.iter().zip(&placed) {
            y[v] = p - drift;
        }
    }
}

/// A layer's description made short enough for a node: `Conv2d(1→16, 5×5)`.
/// A branch of a block in a few characters per layer: `Conv3x3/2·BN·ReLU·Conv3x3·BN`.
fn chain_label(layers: &[LayerSpec]) -> String {
    let short = |spec: &LayerSpec| match spec {
        LayerSpec::Conv2d { kernel_size: [kh, kw], stride, .. } if stride[0] > 1 || stride[1] > 1 => {
            format!("Conv{kh}x{kw}/{}", stride[0])
        }
        LayerSpec::Conv2d { kernel_size: [kh, kw], .. } => format!("Conv{kh}x{kw}"),
        LayerSpec::BatchNorm1d { .. } | LayerSpec::BatchNorm2d { .. } => "BN".into(),
        LayerSpec::ChannelPad { stride, before, after } => format!("pad/{} +{}", stride[0], before + after),
        other => short_layer(&other.to_string()),
    };
    layers.iter().map(short).collect::<Vec<_>>().join("·")
}

fn short_layer(spec: &str) -> String {
    spec.split(" {").next().unwrap_or(spec).chars().take(28).collect()
}

/// Builds the lecture's graph called `name` (one of [`EXAMPLES`]), `None` for another name.
pub fn example<B: Backend>(name: &str) -> Option<ValueGraph> {
    let scalar = |v: f32| Tensor::<B>::scalar(v).require_grad();
    Some(match name {
        "apples" => {
            let (apple, apples, orange, oranges, tax) =
                (scalar(100.0), scalar(2.0), scalar(150.0), scalar(3.0), scalar(1.1));
            let apple_cost = apple.mul(&apples);
            let orange_cost = orange.mul(&oranges);
            let price = apple_cost.add(&orange_cost).mul(&tax);
            ValueGraph::of_tensor(
                "buying 2 apples at 100 and 3 oranges at 150 with 10 % tax",
                &price,
                &[
                    (&apple, "apple price"),
                    (&apples, "apples"),
                    (&orange, "orange price"),
                    (&oranges, "oranges"),
                    (&tax, "tax"),
                ],
            )
        }
        "add-mul" => {
            let (x, y, z) = (scalar(2.0), scalar(3.0), scalar(4.0));
            let f = x.add(&y).mul(&z);
            ValueGraph::of_tensor("f = (x + y)·z", &f, &[(&x, "x"), (&y, "y"), (&z, "z")])
        }
        "sigmoid" => {
            let x = scalar(0.4);
            let negated = x.neg();
            let exponential = negated.exp();
            let plus_one = exponential.add_scalar(1.0);
            let y = plus_one.recip();
            ValueGraph::of_tensor(
                "y = σ(x) = 1/(1 + exp(−x)) at x = 0.4: ∂y/∂x = y(1 − y)",
                &y,
                &[(&x, "x"), (&negated, "×(−1)"), (&exponential, "exp"), (&plus_one, "+1"), (&y, "1/x")],
            )
        }
        "two-layer" => {
            let x = Tensor::<B>::from_vec(vec![1.0, 0.5], [1, 2]);
            let w1 = Tensor::<B>::from_vec(vec![0.1, 0.3, 0.5, 0.2, 0.4, 0.6], [2, 3]).require_grad();
            let b1 = Tensor::<B>::from_vec(vec![0.1, 0.2, 0.3], [1, 3]).require_grad();
            let w2 = Tensor::<B>::from_vec(vec![0.1, 0.4, 0.2, 0.5, 0.3, 0.6], [3, 2]).require_grad();
            let b2 = Tensor::<B>::from_vec(vec![0.1, 0.2], [1, 2]).require_grad();
            let target = Tensor::<B>::from_vec(vec![0.0, 1.0], [1, 2]);
            let z1 = x.matmul(&w1);
            let a1 = z1.add(&b1);
            let h = a1.sigmoid();
            let z2 = h.matmul(&w2);
            let y = z2.add(&b2);
            let loss = y.softmax_cross_entropy(&target);
            ValueGraph::of_tensor(
                "a 2-3-2 network on x = (1, 0.5) with label 1",
                &loss,
                &[
                    (&x, "x"),
                    (&w1, "W1"),
                    (&b1, "b1"),
                    (&w2, "W2"),
                    (&b2, "b2"),
                    (&target, "one-hot label"),
                    (&loss, "CE"),
                ],
            )
        }
        "composite" => {
            let (x, y) = (scalar(1.0), scalar(2.0));
            let t = x.add(&y);
            let z = t.square();
            ValueGraph::of_tensor(
                "z = t², t = x + y at x = 1, y = 2",
                &z,
                &[(&x, "x"), (&y, "y"), (&t, "t = x + y"), (&z, "z = t²")],
            )
        }
        "chain-rule" => {
            // sin t feeds both x and y, so t's gradient is the sum of the two paths' products.
            let (r, t) = (scalar(2.0), scalar(std::f32::consts::FRAC_PI_6));
            let sin_t = t.sin();
            let x = r.mul(&sin_t);
            let y = sin_t.square();
            let x2 = x.square();
            let two_y = y.mul_scalar(2.0);
            let u = x2.add(&two_y);
            ValueGraph::of_tensor(
                "u = x² + 2y, x = r·sin t, y = sin² t at r = 2, t = π/6",
                &u,
                &[
                    (&r, "r"),
                    (&t, "t"),
                    (&sin_t, "sin"),
                    (&x, "x = r·sin t"),
                    (&y, "y = sin² t"),
                    (&x2, "x²"),
                    (&two_y, "2y"),
                    (&u, "u = x² + 2y"),
                ],
            )
        }
        _ => return None,
    })
}
