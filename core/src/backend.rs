//! The `Backend` trait: the kernels a backend implements over flat f32 buffers and shapes, and the
//! small value types that describe them (`UnaryOp`, `BinaryOp`, `ReduceOp`, `MatmulSpec`,
//! `Conv2dSpec`, `Pool2dSpec`). A kernel never sees a `Tensor`, the graph or a gradient: backward
//! rules live in `ops/` and are written once for every backend.
//!
//! A handful of kernels are required (element-wise maps, broadcasting binary ops, matmul,
//! reductions, im2col/col2im). The rest have portable default bodies, built on `reference.rs` or on
//! the required kernels, which a backend overrides where a benchmark shows a gain.

use std::fmt::Debug;

use crate::reference;
use crate::shape::Shape;

/// Number of elements summed sequentially before partial sums are combined. Reductions over long
/// axes split their work into chunks of this fixed size, never into per-thread pieces, so results
/// are bit-identical at any thread count.
pub const REDUCE_CHUNK: usize = 1024;

/// An element-wise function of one f32, with its parameters. [`UnaryOp::apply`] defines its meaning.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryOp {
    /// −x
    Neg,
    /// eˣ
    Exp,
    /// ln x
    Log,
    /// √x
    Sqrt,
    /// x²
    Square,
    /// |x|
    Abs,
    /// −1, 0 or 1
    Sign,
    /// 1/x
    Recip,
    /// sin x
    Sin,
    /// cos x
    Cos,
    /// 1/(1 + e⁻ˣ), computed without overflow for large |x|
    Sigmoid,
    /// tanh x
    Tanh,
    /// max(x, 0)
    Relu,
    /// x if x > 0, else αx
    LeakyRelu(f32),
    /// x if x > 0, else α(eˣ − 1)
    Elu(f32),
    /// GELU, tanh approximation: x/2·(1 + tanh(√(2/π)(x + 0.044715x³)))
    Gelu,
    /// ln(1 + eˣ), computed without overflow
    Softplus,
    /// 1 if x > 0, else 0 (the derivative of ReLU)
    Step,
    /// 1 if x > 0, else α (the derivative of leaky ReLU)
    LeakyReluDeriv(f32),
    /// 1 if x > 0, else αeˣ (the derivative of ELU)
    EluDeriv(f32),
    /// d GELU(x)/dx for the tanh approximation
    GeluDeriv,
    /// x + c
    AddScalar(f32),
    /// x · c
    MulScalar(f32),
    /// xᶜ
    PowScalar(f32),
    /// min(max(x, lo), hi)
    Clamp(f32, f32),
}

const SQRT_2_OVER_PI: f32 = 0.797_884_6;
const GELU_C: f32 = 0.044_715;

impl UnaryOp {
    /// The function on one value: the reference every backend's kernel must match.
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            UnaryOp::Neg => -x,
            UnaryOp::Exp => x.exp(),
            UnaryOp::Log => x.ln(),
            UnaryOp::Sqrt => x.sqrt(),
            UnaryOp::Square => x * x,
            UnaryOp::Abs => x.abs(),
            UnaryOp::Sign => {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            }
            UnaryOp::Recip => 1.0 / x,
            UnaryOp::Sin => x.sin(),
            UnaryOp::Cos => x.cos(),
            UnaryOp::Sigmoid => {
                // Both branches only ever exponentiate a non-positive number.
                if x >= 0.0 {
                    1.0 / (1.0 + (-x).exp())
                } else {
                    let e = x.exp();
                    e / (1.0 + e)
                }
            }
            UnaryOp::Tanh => x.tanh(),
            UnaryOp::Relu => x.max(0.0),
            UnaryOp::LeakyRelu(alpha) => {
                if x > 0.0 {
                    x
                } else {
                    alpha * x
                }
            }
            UnaryOp::Elu(alpha) => {
                if x > 0.0 {
                    x
                } else {
                    alpha * x.exp_m1()
                }
            }
            UnaryOp::Gelu => 0.5 * x * (1.0 + (SQRT_2_OVER_PI * (x + GELU_C * x * x * x)).tanh()),
            UnaryOp::Softplus => x.max(0.0) + (-x.abs()).exp().ln_1p(),
            UnaryOp::Step => {
                if x > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            UnaryOp::LeakyReluDeriv(alpha) => {
                if x > 0.0 {
                    1.0
                } else {
                    alpha
                }
            }
            UnaryOp::EluDeriv(alpha) => {
                if x > 0.0 {
                    1.0
                } else {
                    alpha * x.exp()
                }
            }
            UnaryOp::GeluDeriv => {
                let inner = SQRT_2_OVER_PI * (x + GELU_C * x * x * x);
                let t = inner.tanh();
                let d_inner = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_C * x * x);
                0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * d_inner
            }
            UnaryOp::AddScalar(c) => x + c,
            UnaryOp::MulScalar(c) => x * c,
            UnaryOp::PowScalar(c) => x.powf(c),
            UnaryOp::Clamp(lo, hi) => x.max(lo).min(hi),
        }
    }
}

/// The activation of a fused bias-and-activation pass ([`Backend::bias_act`]): the common
/// `act(x·W + b)` of a dense or convolutional layer in one pass over memory instead of two, and
/// one backward pass instead of three. Each derivative is a function of the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BiasAct {
    /// x + b.
    None,
    /// max(x + b, 0).
    Relu,
    /// σ(x + b).
    Sigmoid,
    /// tanh(x + b).
    Tanh,
}

impl BiasAct {
    /// The activation as a unary op (`None` for the identity).
    pub fn unary(self) -> Option<UnaryOp> {
        match self {
            BiasAct::None => None,
            BiasAct::Relu => Some(UnaryOp::Relu),
            BiasAct::Sigmoid => Some(UnaryOp::Sigmoid),
            BiasAct::Tanh => Some(UnaryOp::Tanh),
        }
    }

    /// act(z).
    pub fn apply(self, z: f32) -> f32 {
        self.unary().map_or(z, |op| op.apply(z))
    }

    /// act′(z) from y = act(z): 1, (1 if y > 0 else 0), y(1 − y), 1 − y².
    pub fn derivative_from_output(self, y: f32) -> f32 {
        match self {
            BiasAct::None => 1.0,
            BiasAct::Relu => {
                if y > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            BiasAct::Sigmoid => y * (1.0 - y),
            BiasAct::Tanh => 1.0 - y * y,
        }
    }
}

/// An element-wise function of two f32s. Comparisons give 1.0 for true and 0.0 for false.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// a + b
    Add,
    /// a − b
    Sub,
    /// a · b
    Mul,
    /// a / b
    Div,
    /// aᵇ
    Pow,
    /// max(a, b)
    Max,
    /// min(a, b)
    Min,
    /// a == b
    Eq,
    /// a != b
    Ne,
    /// a < b
    Lt,
    /// a <= b
    Le,
    /// a > b
    Gt,
    /// a >= b
    Ge,
}

impl BinaryOp {
    /// The function on one pair: the reference every backend's kernel must match.
    #[inline]
    pub fn apply(self, a: f32, b: f32) -> f32 {
        let truth = |t: bool| if t { 1.0 } else { 0.0 };
        match self {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            BinaryOp::Div => a / b,
            BinaryOp::Pow => a.powf(b),
            BinaryOp::Max => a.max(b),
            BinaryOp::Min => a.min(b),
            BinaryOp::Eq => truth(a == b),
            BinaryOp::Ne => truth(a != b),
            BinaryOp::Lt => truth(a < b),
            BinaryOp::Le => truth(a <= b),
            BinaryOp::Gt => truth(a > b),
            BinaryOp::Ge => truth(a >= b),
        }
    }
}

/// A reduction along one axis. `ArgMax`/`ArgMin` give the index (as f32) of the first extreme value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    /// Σ, summed in chunks of [`REDUCE_CHUNK`]
    Sum,
    /// Σ / len
    Mean,
    /// the largest value (−∞ for an empty axis)
    Max,
    /// the smallest value (+∞ for an empty axis)
    Min,
    /// the index of the first largest value
    ArgMax,
    /// the index of the first smallest value
    ArgMin,
}

/// A (batched) matrix product `out[b] = op(lhs[b]) · op(rhs[b])`, `out` being `[batch, m, n]`.
///
/// `lhs` holds `[m, k]` per batch item, or `[k, m]` when `lhs_transposed`; `rhs` holds `[k, n]`, or
/// `[n, k]` when `rhs_transposed`. An operand that is not `batched` is shared by every batch item
/// (its batch stride is 0), which is how `[b, m, k] · [k, n]` broadcasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatmulSpec {
    /// Number of independent products.
    pub batch: usize,
    /// Rows of the output.
    pub m: usize,
    /// The shared (contracted) dimension.
    pub k: usize,
    /// Columns of the output.
    pub n: usize,
    /// `lhs` is stored as `[k, m]` and read transposed.
    pub lhs_transposed: bool,
    /// `rhs` is stored as `[n, k]` and read transposed.
    pub rhs_transposed: bool,
    /// `lhs` has one matrix per batch item (else one shared matrix).
    pub lhs_batched: bool,
    /// `rhs` has one matrix per batch item (else one shared matrix).
    pub rhs_batched: bool,
}

impl MatmulSpec {
    /// A plain `[m, k] · [k, n]` product.
    pub fn plain(m: usize, k: usize, n: usize) -> Self {
        MatmulSpec {
            batch: 1,
            m,
            k,
            n,
            lhs_transposed: false,
            rhs_transposed: false,
            lhs_batched: true,
            rhs_batched: true,
        }
    }

    /// Elements of one `lhs` matrix.
    pub fn lhs_stride(&self) -> usize {
        if self.lhs_batched { self.m * self.k } else { 0 }
    }

    /// Elements of one `rhs` matrix.
    pub fn rhs_stride(&self) -> usize {
        if self.rhs_batched { self.k * self.n } else { 0 }
    }

    /// `(row stride, column stride)` of the logical `[m, k]` lhs inside its stored matrix.
    pub fn lhs_strides(&self) -> (usize, usize) {
        if self.lhs_transposed { (1, self.m) } else { (self.k, 1) }
    }

    /// `(row stride, column stride)` of the logical `[k, n]` rhs inside its stored matrix.
    pub fn rhs_strides(&self) -> (usize, usize) {
        if self.rhs_transposed { (1, self.k) } else { (self.n, 1) }
    }

    /// Floating-point operations of the whole product (2·batch·m·n·k).
    pub fn flops(&self) -> u64 {
        2 * (self.batch * self.m * self.n * self.k) as u64
    }
}

/// The geometry of a 2-D convolution over `[batch, in_channels, height, width]` inputs with
/// `[out_channels, in_channels, kernel_h, kernel_w]` weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dSpec {
    /// Batch size N.
    pub batch: usize,
    /// Input channels C.
    pub in_channels: usize,
    /// Input height H.
    pub height: usize,
    /// Input width W.
    pub width: usize,
    /// Output channels F.
    pub out_channels: usize,
    /// Kernel height.
    pub kernel_h: usize,
    /// Kernel width.
    pub kernel_w: usize,
    /// Vertical and horizontal stride.
    pub stride: (usize, usize),
    /// Zero padding added above/below and left/right.
    pub padding: (usize, usize),
}

impl Conv2dSpec {
    /// Output height: (H + 2·pad − kh) / stride + 1.
    pub fn out_h(&self) -> usize {
        (self.height + 2 * self.padding.0 - self.kernel_h) / self.stride.0 + 1
    }

    /// Output width: (W + 2·pad − kw) / stride + 1.
    pub fn out_w(&self) -> usize {
        (self.width + 2 * self.padding.1 - self.kernel_w) / self.stride.1 + 1
    }

    /// Rows of one image's column matrix: C·kh·kw.
    pub fn patch_len(&self) -> usize {
        self.in_channels * self.kernel_h * self.kernel_w
    }

    /// The geometry of the column matrices: `[batch, C·kh·kw, out_h·out_w]`.
    pub fn cols_shape(&self) -> Shape {
        Shape::new([self.batch, self.patch_len(), self.out_h() * self.out_w()])
    }

    /// `[N, C, H, W]`
    pub fn input_shape(&self) -> Shape {
        Shape::new([self.batch, self.in_channels, self.height, self.width])
    }

    /// `[F, C, kh, kw]`
    pub fn weight_shape(&self) -> Shape {
        Shape::new([self.out_channels, self.in_channels, self.kernel_h, self.kernel_w])
    }

    /// `[N, F, out_h, out_w]`
    pub fn output_shape(&self) -> Shape {
        Shape::new([self.batch, self.out_channels, self.out_h(), self.out_w()])
    }

    /// Floating-point operations of the forward pass (2·N·F·C·kh·kw·out_h·out_w).
    pub fn flops(&self) -> u64 {
        2 * (self.batch * self.out_channels * self.patch_len() * self.out_h() * self.out_w()) as u64
    }
}

/// The geometry of a 2-D pooling window over `[batch, channels, height, width]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dSpec {
    /// Batch size N.
    pub batch: usize,
    /// Channels C.
    pub channels: usize,
    /// Input height H.
    pub height: usize,
    /// Input width W.
    pub width: usize,
    /// Window height and width.
    pub kernel: (usize, usize),
    /// Vertical and horizontal stride.
    pub stride: (usize, usize),
    /// Padding on each side; padded cells never win a max and count as zeros in an average.
    pub padding: (usize, usize),
}

impl Pool2dSpec {
    /// Output height: (H + 2·pad − k) / stride + 1.
    pub fn out_h(&self) -> usize {
        (self.height + 2 * self.padding.0 - self.kernel.0) / self.stride.0 + 1
    }

    /// Output width: (W + 2·pad − k) / stride + 1.
    pub fn out_w(&self) -> usize {
        (self.width + 2 * self.padding.1 - self.kernel.1) / self.stride.1 + 1
    }

    /// `[N, C, H, W]`
    pub fn input_shape(&self) -> Shape {
        Shape::new([self.batch, self.channels, self.height, self.width])
    }

    /// `[N, C, out_h, out_w]`
    pub fn output_shape(&self) -> Shape {
        Shape::new([self.batch, self.channels, self.out_h(), self.out_w()])
    }
}

/// The kernels of a tensor backend over flat, row-major f32 buffers.
///
/// Shapes arrive already checked by `Tensor` (the caller guarantees lengths match), so a kernel
/// may panic on inconsistent arguments. Kernels are pure functions: same inputs, same bits, at any
/// thread count.
pub trait Backend: Copy + Clone + Default + Debug + Send + Sync + 'static {
    /// A buffer of f32 values owned by the backend.
    type Storage: Clone + Debug + Send + Sync + 'static;

    /// A short name for reports and benchmark ids (`"cpu"`, `"simd"`).
    fn name() -> &'static str;

    // ---- storage -------------------------------------------------------------------------------

    /// Takes ownership of host values.
    fn from_vec(data: Vec<f32>) -> Self::Storage;

    /// Views the values of a buffer.
    fn as_slice(x: &Self::Storage) -> &[f32];

    /// Views the values of a buffer for writing (used for in-place updates of a buffer nothing
    /// else shares, such as an optimizer step).
    fn as_mut_slice(x: &mut Self::Storage) -> &mut [f32];

    /// Copies the values out.
    fn to_vec(x: &Self::Storage) -> Vec<f32> {
        Self::as_slice(x).to_vec()
    }

    /// A buffer of `len` copies of `value`.
    fn full(len: usize, value: f32) -> Self::Storage {
        Self::from_vec(vec![value; len])
    }

    // ---- element-wise --------------------------------------------------------------------------

    /// Applies `op` to every element.
    fn unary(op: UnaryOp, x: &Self::Storage) -> Self::Storage;

    /// Applies `op` pairwise after broadcasting both operands to `Shape::broadcast(lhs, rhs)`.
    fn binary(
        op: BinaryOp,
        lhs: &Self::Storage,
        lhs_shape: &Shape,
        rhs: &Self::Storage,
        rhs_shape: &Shape,
    ) -> Self::Storage;

    /// `cond != 0 ? a : b`, element-wise, all three broadcast to `out`.
    fn where_select(
        cond: (&Self::Storage, &Shape),
        a: (&Self::Storage, &Shape),
        b: (&Self::Storage, &Shape),
        out: &Shape,
    ) -> Self::Storage {
        Self::from_vec(reference::where_select(
            (Self::as_slice(cond.0), cond.1),
            (Self::as_slice(a.0), a.1),
            (Self::as_slice(b.0), b.1),
            out,
        ))
    }

    // ---- linear algebra ------------------------------------------------------------------------

    /// The (batched) matrix product described by `spec`; the result is `[batch, m, n]`.
    fn matmul(lhs: &Self::Storage, rhs: &Self::Storage, spec: MatmulSpec) -> Self::Storage;

    // ---- reductions ----------------------------------------------------------------------------

    /// Reduces `x` of `shape` along `axis`; the result has `shape` with that axis removed.
    fn reduce(op: ReduceOp, x: &Self::Storage, shape: &Shape, axis: usize) -> Self::Storage;

    /// Softmax of each row of a `[rows, cols]` buffer, stable for large inputs (max subtracted).
    fn softmax_rows(x: &Self::Storage, rows: usize, cols: usize) -> Self::Storage {
        Self::from_vec(reference::softmax_rows(Self::as_slice(x), rows, cols, false))
    }

    /// Log-softmax of each row of a `[rows, cols]` buffer: x − max − ln Σ exp(x − max).
    fn log_softmax_rows(x: &Self::Storage, rows: usize, cols: usize) -> Self::Storage {
        Self::from_vec(reference::softmax_rows(Self::as_slice(x), rows, cols, true))
    }

    // ---- layout --------------------------------------------------------------------------------

    /// Reorders the axes: output axis `i` is input axis `axes[i]`.
    fn permute(x: &Self::Storage, shape: &Shape, axes: &[usize]) -> Self::Storage {
        Self::from_vec(reference::permute(Self::as_slice(x), shape, axes))
    }

    /// `x` of `shape` repeated along broadcast dimensions to `out` (NumPy `broadcast_to`).
    fn broadcast_to(x: &Self::Storage, shape: &Shape, out: &Shape) -> Self::Storage {
        Self::from_vec(reference::broadcast_to(Self::as_slice(x), shape, out))
    }

    /// The block `starts[i]..ends[i]` along every axis.
    fn slice(x: &Self::Storage, shape: &Shape, starts: &[usize], ends: &[usize]) -> Self::Storage {
        Self::from_vec(reference::slice(Self::as_slice(x), shape, starts, ends))
    }

    /// Surrounds `x` with `before[i]` and `after[i]` cells of `value` along every axis.
    fn pad(x: &Self::Storage, shape: &Shape, before: &[usize], after: &[usize], value: f32) -> Self::Storage {
        Self::from_vec(reference::pad(Self::as_slice(x), shape, before, after, value))
    }

    /// Joins tensors that agree on every axis but `axis`.
    fn concat(parts: &[(&Self::Storage, &Shape)], axis: usize) -> Self::Storage {
        let slices: Vec<(&[f32], &Shape)> = parts.iter().map(|(s, shape)| (Self::as_slice(s), *shape)).collect();
        Self::from_vec(reference::concat(&slices, axis))
    }

    /// Reverses the order of elements along each of `axes`.
    fn flip(x: &Self::Storage, shape: &Shape, axes: &[usize]) -> Self::Storage {
        Self::from_vec(reference::flip(Self::as_slice(x), shape, axes))
    }

    /// Picks `indices` along `axis` (indices may repeat); that axis becomes `indices.len()` long.
    fn index_select(x: &Self::Storage, shape: &Shape, axis: usize, indices: &[usize]) -> Self::Storage {
        Self::from_vec(reference::index_select(Self::as_slice(x), shape, axis, indices))
    }

    /// The adjoint of `index_select`: a zero tensor with `axis` of length `len`, into which each
    /// slice `i` of `src` along `axis` is added at `indices[i]`.
    fn index_add(src: &Self::Storage, src_shape: &Shape, axis: usize, indices: &[usize], len: usize) -> Self::Storage {
        Self::from_vec(reference::index_add(Self::as_slice(src), src_shape, axis, indices, len))
    }

    /// `out[.., i, ..] = x[.., index[.., i, ..], ..]` along `axis` (PyTorch's `gather`); `index`
    /// holds integral f32 values and has the shape of the output.
    fn gather(
        x: &Self::Storage,
        shape: &Shape,
        axis: usize,
        index: &Self::Storage,
        index_shape: &Shape,
    ) -> Self::Storage {
        Self::from_vec(reference::gather(Self::as_slice(x), shape, axis, Self::as_slice(index), index_shape))
    }

    /// The adjoint of `gather`: a zero tensor of `out_shape` into which `src` is added at the
    /// positions `index` names along `axis`.
    fn scatter_add(
        src: &Self::Storage,
        index: &Self::Storage,
        index_shape: &Shape,
        axis: usize,
        out_shape: &Shape,
    ) -> Self::Storage {
        Self::from_vec(reference::scatter_add(Self::as_slice(src), Self::as_slice(index), index_shape, axis, out_shape))
    }

    /// `[len, classes]` rows with a 1 at each index of `indices` (integral f32 values).
    fn one_hot(indices: &Self::Storage, classes: usize) -> Self::Storage {
        Self::from_vec(reference::one_hot(Self::as_slice(indices), classes))
    }

    // ---- convolution and pooling ---------------------------------------------------------------

    /// Unfolds `[N, C, H, W]` into column matrices `[N, C·kh·kw, out_h·out_w]`; row
    /// `c·kh·kw + i·kw + j` holds input pixel `(c, y·s + i − p, x·s + j − p)` for each output
    /// position `(y, x)`, zero where it falls in the padding.
    fn im2col(x: &Self::Storage, spec: &Conv2dSpec) -> Self::Storage;

    /// The adjoint of `im2col`: sums each column entry back into the pixel it came from.
    fn col2im(cols: &Self::Storage, spec: &Conv2dSpec) -> Self::Storage;

    /// Cross-correlation of `[N, C, H, W]` inputs with `[F, C, kh, kw]` weights into
    /// `[N, F, out_h, out_w]` (no bias). Default: im2col, then one batched product.
    fn conv2d(x: &Self::Storage, weight: &Self::Storage, spec: &Conv2dSpec) -> Self::Storage {
        let cols = Self::im2col(x, spec);
        let mm = MatmulSpec {
            batch: spec.batch,
            m: spec.out_channels,
            k: spec.patch_len(),
            n: spec.out_h() * spec.out_w(),
            lhs_transposed: false,
            rhs_transposed: false,
            lhs_batched: false,
            rhs_batched: true,
        };
        Self::matmul(weight, &cols, mm)
    }

    /// Gradient of `conv2d` with respect to its input, from the output gradient `dy`.
    /// Default: Wᵀ · dy per image, then col2im.
    fn conv2d_backward_input(dy: &Self::Storage, weight: &Self::Storage, spec: &Conv2dSpec) -> Self::Storage {
        let mm = MatmulSpec {
            batch: spec.batch,
            m: spec.patch_len(),
            k: spec.out_channels,
            n: spec.out_h() * spec.out_w(),
            lhs_transposed: true,
            rhs_transposed: false,
            lhs_batched: false,
            rhs_batched: true,
        };
        let dcols = Self::matmul(weight, dy, mm);
        Self::col2im(&dcols, spec)
    }

    /// Gradient of `conv2d` with respect to its weight: Σₙ dyₙ · colsₙᵀ.
    fn conv2d_backward_weight(x: &Self::Storage, dy: &Self::Storage, spec: &Conv2dSpec) -> Self::Storage {
        let cols = Self::im2col(x, spec);
        let mm = MatmulSpec {
            batch: spec.batch,
            m: spec.out_channels,
            k: spec.out_h() * spec.out_w(),
            n: spec.patch_len(),
            lhs_transposed: false,
            rhs_transposed: true,
            lhs_batched: true,
            rhs_batched: true,
        };
        let per_image = Self::matmul(dy, &cols, mm);
        let shape = Shape::new([spec.batch, spec.out_channels * spec.patch_len()]);
        Self::reduce(ReduceOp::Sum, &per_image, &shape, 0)
    }

    /// `act(x + bias[c])` for `x` viewed as `[outer, channels, inner]` (a dense layer's
    /// `[batch, features]` has inner = 1; a convolution's `[N, F, H, W]` has inner = H·W).
    fn bias_act(x: &Self::Storage, bias: &Self::Storage, channels: usize, inner: usize, act: BiasAct) -> Self::Storage {
        Self::from_vec(reference::bias_act(Self::as_slice(x), Self::as_slice(bias), channels, inner, act))
    }

    /// The gradients of [`Backend::bias_act`] from its output `y` and output gradient `dy`:
    /// `dz = dy·act′` (the gradient of x) and `dbias[c]` = the sum of `dz` over `outer` and
    /// `inner`, summed over `inner` first, then over `outer` in order.
    fn bias_act_backward(
        y: &Self::Storage,
        dy: &Self::Storage,
        channels: usize,
        inner: usize,
        act: BiasAct,
    ) -> (Self::Storage, Self::Storage) {
        let (dz, db) = reference::bias_act_backward(Self::as_slice(y), Self::as_slice(dy), channels, inner, act);
        (Self::from_vec(dz), Self::from_vec(db))
    }

    /// Max pooling: the outputs and, for each, the flat index into the input of the winner.
    /// A window that lies wholly in the padding yields −∞ and index `usize::MAX`.
    fn max_pool2d(x: &Self::Storage, spec: &Pool2dSpec) -> (Self::Storage, Vec<usize>) {
        let (out, idx) = reference::max_pool2d(Self::as_slice(x), spec);
        (Self::from_vec(out), idx)
    }

    /// The adjoint of `max_pool2d`: each output gradient goes to its window's winner.
    fn max_pool2d_backward(dy: &Self::Storage, argmax: &[usize], spec: &Pool2dSpec) -> Self::Storage {
        Self::from_vec(reference::max_pool2d_backward(Self::as_slice(dy), argmax, spec))
    }

    /// Average pooling; padded cells count as zeros (the divisor is always kh·kw).
    fn avg_pool2d(x: &Self::Storage, spec: &Pool2dSpec) -> Self::Storage {
        Self::from_vec(reference::avg_pool2d(Self::as_slice(x), spec))
    }

    /// The adjoint of `avg_pool2d`: each output gradient is shared equally by its window.
    fn avg_pool2d_backward(dy: &Self::Storage, spec: &Pool2dSpec) -> Self::Storage {
        Self::from_vec(reference::avg_pool2d_backward(Self::as_slice(dy), spec))
    }
}
