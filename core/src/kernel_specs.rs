//! The geometry of the structured kernels, as values a backend receives: [`MatmulSpec`] (batched,
//! with transpose flags), [`Conv2dSpec`] and [`Pool2dSpec`], with their output sizes and the
//! checks that make them consistent.

use crate::shape::Shape;

/// How many positions a window of `kernel` takes along a side of `len` padded by `padding` at
/// each end, `stride` apart: `(len + 2·padding − kernel) / stride + 1`, computed with checked
/// arithmetic. `None` when the padded side overflows, is shorter than the window, or the stride
/// is 0. The one formula of convolution and pooling sizes.
pub fn window_positions(len: usize, kernel: usize, stride: usize, padding: usize) -> Option<usize> {
    let padded = padding.checked_mul(2)?.checked_add(len)?;
    let room = padded.checked_sub(kernel)?;
    Some(room.checked_div(stride)? + 1)
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
        window_positions(self.height, self.kernel_h, self.stride.0, self.padding.0)
            .expect("conv2d: the spec's window fits its padded input")
    }

    /// Output width: (W + 2·pad − kw) / stride + 1.
    pub fn out_w(&self) -> usize {
        window_positions(self.width, self.kernel_w, self.stride.1, self.padding.1)
            .expect("conv2d: the spec's window fits its padded input")
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
        window_positions(self.height, self.kernel.0, self.stride.0, self.padding.0)
            .expect("pool2d: the spec's window fits its padded input")
    }

    /// Output width: (W + 2·pad − k) / stride + 1.
    pub fn out_w(&self) -> usize {
        window_positions(self.width, self.kernel.1, self.stride.1, self.padding.1)
            .expect("pool2d: the spec's window fits its padded input")
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

/// A fused batch-norm pass over `x` viewed as `[outer, channels, inner]` (`[N, C]` rows have
/// inner = 1; `[N, C, H, W]` maps have inner = H·W): each channel is normalised with the mean and
/// variance of its `outer·inner` values, scaled by γ, shifted by β, then `act` is applied.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNormSpec {
    /// Leading extent (the batch).
    pub outer: usize,
    /// Channels (features): one mean, variance, γ and β each.
    pub channels: usize,
    /// Trailing extent (pixels per channel).
    pub inner: usize,
    /// Added to the variance before the square root.
    pub eps: f32,
    /// The activation after the affine step.
    pub act: crate::backend::BiasAct,
}

impl BatchNormSpec {
    /// Values each channel's statistics are taken over: outer·inner.
    pub fn count(&self) -> usize {
        self.outer * self.inner
    }

    /// 1/√(σ² + ε), the one formula every backend uses for it.
    pub fn inv_std(&self, var: f32) -> f32 {
        1.0 / (var + self.eps).sqrt()
    }
}
