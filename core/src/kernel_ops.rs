//! What an element-wise or reduction kernel computes, as values: [`UnaryOp`], [`BinaryOp`],
//! [`ReduceOp`] and the fused [`BiasAct`], each with the reference function every backend must
//! match, its name in the graph, and whether it has a gradient. Stating that once per variant, in
//! exhaustive matches, means a new op does not compile until someone decides; the backward rules
//! themselves live in `ops/`.

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
    /// One value of every variant (parameters at typical values), for registries and tests.
    pub const ALL: [UnaryOp; 25] = [
        UnaryOp::Neg,
        UnaryOp::Exp,
        UnaryOp::Log,
        UnaryOp::Sqrt,
        UnaryOp::Square,
        UnaryOp::Abs,
        UnaryOp::Sign,
        UnaryOp::Recip,
        UnaryOp::Sin,
        UnaryOp::Cos,
        UnaryOp::Sigmoid,
        UnaryOp::Tanh,
        UnaryOp::Relu,
        UnaryOp::LeakyRelu(0.01),
        UnaryOp::Elu(1.0),
        UnaryOp::Gelu,
        UnaryOp::Softplus,
        UnaryOp::Step,
        UnaryOp::LeakyReluDeriv(0.01),
        UnaryOp::EluDeriv(1.0),
        UnaryOp::GeluDeriv,
        UnaryOp::AddScalar(1.0),
        UnaryOp::MulScalar(2.0),
        UnaryOp::PowScalar(2.0),
        UnaryOp::Clamp(-1.0, 1.0),
    ];

    /// The op's name, as its graph node reports it.
    pub fn name(self) -> &'static str {
        match self {
            UnaryOp::Neg => "neg",
            UnaryOp::Exp => "exp",
            UnaryOp::Log => "log",
            UnaryOp::Sqrt => "sqrt",
            UnaryOp::Square => "square",
            UnaryOp::Abs => "abs",
            UnaryOp::Sign => "sign",
            UnaryOp::Recip => "recip",
            UnaryOp::Sin => "sin",
            UnaryOp::Cos => "cos",
            UnaryOp::Sigmoid => "sigmoid",
            UnaryOp::Tanh => "tanh",
            UnaryOp::Relu => "relu",
            UnaryOp::LeakyRelu(_) => "leaky_relu",
            UnaryOp::Elu(_) => "elu",
            UnaryOp::Gelu => "gelu",
            UnaryOp::Softplus => "softplus",
            UnaryOp::Step => "step",
            UnaryOp::LeakyReluDeriv(_) => "leaky_relu_deriv",
            UnaryOp::EluDeriv(_) => "elu_deriv",
            UnaryOp::GeluDeriv => "gelu_deriv",
            UnaryOp::AddScalar(_) => "add_scalar",
            UnaryOp::MulScalar(_) => "mul_scalar",
            UnaryOp::PowScalar(_) => "pow_scalar",
            UnaryOp::Clamp(..) => "clamp",
        }
    }

    /// Whether the op has a gradient rule, and so records a graph node. Piecewise-constant ops
    /// (sign, step) have none, and the derivatives used inside backward rules are not
    /// differentiated again.
    pub fn differentiable(self) -> bool {
        match self {
            UnaryOp::Neg
            | UnaryOp::Exp
            | UnaryOp::Log
            | UnaryOp::Sqrt
            | UnaryOp::Square
            | UnaryOp::Abs
            | UnaryOp::Recip
            | UnaryOp::Sin
            | UnaryOp::Cos
            | UnaryOp::Sigmoid
            | UnaryOp::Tanh
            | UnaryOp::Relu
            | UnaryOp::LeakyRelu(_)
            | UnaryOp::Elu(_)
            | UnaryOp::Gelu
            | UnaryOp::Softplus
            | UnaryOp::AddScalar(_)
            | UnaryOp::MulScalar(_)
            | UnaryOp::PowScalar(_)
            | UnaryOp::Clamp(..) => true,
            UnaryOp::Sign | UnaryOp::Step | UnaryOp::LeakyReluDeriv(_) | UnaryOp::EluDeriv(_) | UnaryOp::GeluDeriv => {
                false
            }
        }
    }

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

/// The activation of a fused bias-and-activation pass ([`crate::Backend::bias_act`]): the common
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
    /// Every variant.
    pub const ALL: [BinaryOp; 13] = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Pow,
        BinaryOp::Max,
        BinaryOp::Min,
        BinaryOp::Eq,
        BinaryOp::Ne,
        BinaryOp::Lt,
        BinaryOp::Le,
        BinaryOp::Gt,
        BinaryOp::Ge,
    ];

    /// The op's name, as its graph node (or its `Tensor` method) calls it.
    pub fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
            BinaryOp::Pow => "pow",
            BinaryOp::Max => "maximum",
            BinaryOp::Min => "minimum",
            BinaryOp::Eq => "eq",
            BinaryOp::Ne => "ne",
            BinaryOp::Lt => "lt",
            BinaryOp::Le => "le",
            BinaryOp::Gt => "gt",
            BinaryOp::Ge => "ge",
        }
    }

    /// Whether the op has a gradient rule, and so records a graph node (comparisons have none).
    pub fn differentiable(self) -> bool {
        match self {
            BinaryOp::Add
            | BinaryOp::Sub
            | BinaryOp::Mul
            | BinaryOp::Div
            | BinaryOp::Pow
            | BinaryOp::Max
            | BinaryOp::Min => true,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => false,
        }
    }

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
    /// Σ, summed in chunks of [`crate::backend::REDUCE_CHUNK`]
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `ALL` holds every variant exactly once: the match below is exhaustive, so a new variant
    /// fails to compile here until it gets an index, and the test fails until `ALL` holds it.
    #[test]
    fn all_lists_every_unary_op_once() {
        let index = |op: UnaryOp| match op {
            UnaryOp::Neg => 0,
            UnaryOp::Exp => 1,
            UnaryOp::Log => 2,
            UnaryOp::Sqrt => 3,
            UnaryOp::Square => 4,
            UnaryOp::Abs => 5,
            UnaryOp::Sign => 6,
            UnaryOp::Recip => 7,
            UnaryOp::Sin => 8,
            UnaryOp::Cos => 9,
            UnaryOp::Sigmoid => 10,
            UnaryOp::Tanh => 11,
            UnaryOp::Relu => 12,
            UnaryOp::LeakyRelu(_) => 13,
            UnaryOp::Elu(_) => 14,
            UnaryOp::Gelu => 15,
            UnaryOp::Softplus => 16,
            UnaryOp::Step => 17,
            UnaryOp::LeakyReluDeriv(_) => 18,
            UnaryOp::EluDeriv(_) => 19,
            UnaryOp::GeluDeriv => 20,
            UnaryOp::AddScalar(_) => 21,
            UnaryOp::MulScalar(_) => 22,
            UnaryOp::PowScalar(_) => 23,
            UnaryOp::Clamp(..) => 24,
        };
        let mut seen: Vec<usize> = UnaryOp::ALL.iter().map(|&op| index(op)).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..25).collect::<Vec<_>>());
    }

    /// As above, for binary ops.
    #[test]
    fn all_lists_every_binary_op_once() {
        let index = |op: BinaryOp| match op {
            BinaryOp::Add => 0,
            BinaryOp::Sub => 1,
            BinaryOp::Mul => 2,
            BinaryOp::Div => 3,
            BinaryOp::Pow => 4,
            BinaryOp::Max => 5,
            BinaryOp::Min => 6,
            BinaryOp::Eq => 7,
            BinaryOp::Ne => 8,
            BinaryOp::Lt => 9,
            BinaryOp::Le => 10,
            BinaryOp::Gt => 11,
            BinaryOp::Ge => 12,
        };
        let mut seen: Vec<usize> = BinaryOp::ALL.iter().map(|&op| index(op)).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..13).collect::<Vec<_>>());
    }
}
