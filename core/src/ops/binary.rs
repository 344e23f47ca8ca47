//! Element-wise ops of two tensors with NumPy broadcasting (add, sub, mul, div, pow, maximum,
//! minimum), comparisons (no gradient), and `where`. A broadcast input's gradient is summed back
//! over the dimensions it was stretched along (`sum_to`).

use crate::backend::{Backend, BinaryOp};
use crate::check;
use crate::shape::Shape;
use crate::tensor::{Backward, Tensor};

struct Binary(BinaryOp);

impl<B: Backend> Backward<B> for Binary {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn backward(&self, inputs: &[Tensor<B>], y: &Tensor<B>, dy: &Tensor<B>) -> Vec<Option<Tensor<B>>> {
        let (a, b) = (&inputs[0], &inputs[1]);
        let (da, db) = match self.0 {
            // The add node passes the gradient on unchanged to both inputs.
            BinaryOp::Add => (dy.clone(), dy.clone()),
            BinaryOp::Sub => (dy.clone(), dy.neg()),
            // The mul node swaps its inputs: d(ab)/da = b, d(ab)/db = a.
            BinaryOp::Mul => {
                let da = if a.is_tracked() { dy.mul(b) } else { dy.clone() };
                let db = if b.is_tracked() { dy.mul(a) } else { dy.clone() };
                (da, db)
            }
            // d(a/b) = dy/b, −dy·a/b² = −dy·y/b
            BinaryOp::Div => {
                let da = dy.div(b);
                let db = da.mul(y).neg();
                (da, db)
            }
            // d aᵇ/da = b·aᵇ⁻¹, d aᵇ/db = aᵇ·ln a
            BinaryOp::Pow => {
                let da = dy.mul(b).mul(&a.pow(&b.sub_scalar(1.0)));
                let db = dy.mul(y).mul(&a.log());
                (da, db)
            }
            // The larger input takes the gradient; a tie splits it in half.
            BinaryOp::Max | BinaryOp::Min => {
                let wins = if self.0 == BinaryOp::Max { a.gt(b) } else { a.lt(b) };
                let share_a = wins.add(&a.eq_t(b).mul_scalar(0.5));
                let share_b = share_a.neg().add_scalar(1.0);
                (dy.mul(&share_a), dy.mul(&share_b))
            }
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                unreachable!("{} has no gradient and records no node", self.0.name())
            }
        };
        vec![a.is_tracked().then(|| da.sum_to(a.shape())), b.is_tracked().then(|| db.sum_to(b.shape()))]
    }
}

struct Where;

impl<B: Backend> Backward<B> for Where {
    fn name(&self) -> &'static str {
        "where"
    }

    fn backward(&self, inputs: &[Tensor<B>], _y: &Tensor<B>, dy: &Tensor<B>) -> Vec<Option<Tensor<B>>> {
        let (cond, a, b) = (&inputs[0], &inputs[1], &inputs[2]);
        let zero = Tensor::scalar(0.0);
        let da = Tensor::where_select(cond, dy, &zero).sum_to(a.shape());
        let db = Tensor::where_select(cond, &zero, dy).sum_to(b.shape());
        vec![None, Some(da), Some(db)]
    }
}

impl<B: Backend> Tensor<B> {
    fn binary(&self, other: &Tensor<B>, op: BinaryOp) -> Tensor<B> {
        let shape = check::broadcast(op.name(), self.shape(), other.shape());
        let data = B::binary(op, self.storage(), self.shape(), other.storage(), other.shape());
        if op.differentiable() {
            Tensor::from_op(data, shape, &[self, other], Binary(op))
        } else {
            Tensor::from_storage(data, shape)
        }
    }

    /// a + b, broadcasting.
    ///
    /// # Panics
    /// If the shapes do not broadcast (as for every binary op).
    #[track_caller]
    pub fn add(&self, other: &Tensor<B>) -> Tensor<B> {
        self.binary(other, BinaryOp::Add)
    }
    /// a − b, broadcasting.
    #[track_caller]
    pub fn sub(&self, other: &Tensor<B>) -> Tensor<B> {
        self.binary(other, BinaryOp::Sub)
    }
    /// a · b element-wise, broadcasting.
    #[track_caller]
    pub fn mul(&self, other: &Tensor<B>) -> Tensor<B> {
        self.binary(other, BinaryOp::Mul)
    }
    /// a / b element-wise, broadcasting.
    #[track_caller]
    pub fn div(&self, other: &Tensor<B>) -> Tensor<B> {
        self.binary(other, BinaryOp::Div)
    }
    /// aᵇ element-wise, broadcasting (a > 0 for a gradient with respect to b).
    #[track_caller]
    pub fn pow(&self, other: &Tensor<B>) -> Tensor<B> {
        self.binary(other, BinaryOp::Pow)
    }
    /// max(a, b) element-wise, broadcasting.
    #[track_caller]
    pub fn maximum(&self, other: &Tensor<B>) -> Tensor<B> {
        self.binary(other, BinaryOp::Max)
    }
    /// min(a, b) element-wise, broadcasting.
    #[track_caller]
    pub fn minimum(&self, other: &Tensor<B>) -> Tensor<B> {
        self.binary(other, BinaryOp::Min)
    }
    /// 1.0 where a == b, else 0.0 (no gradient).
    #[track_caller]
    pub fn eq_t(&self, other: &Tensor<B>) -> Tensor<B> {
        self.binary(other, BinaryOp::Eq)
    }
    /// 1.0 where a != b (no gradient).
    #[track_caller]
    pub fn ne_t(&self, other: &Tensor<B>) -> Tensor<B> {
        self.binary(other, BinaryOp::Ne)
    }
    /// 1.0 where a < b (no gradient).
    #[track_caller]
    pub fn lt(&self, other: &Tensor<B>) -> Tensor<B> {
        self.binary(other, BinaryOp::Lt)
    }
    /// 1.0 where a <= b (no gradient).
    #[track_caller]
    pub fn le(&self, other: &Tensor<B>) -> Tensor<B> {
        self.binary(other, BinaryOp::Le)
    }
    /// 1.0 where a > b (no gradient).
    #[track_caller]
    pub fn gt(&self, other: &Tensor<B>) -> Tensor<B> {
        self.binary(other, BinaryOp::Gt)
    }
    /// 1.0 where a >= b (no gradient).
    #[track_caller]
    pub fn ge(&self, other: &Tensor<B>) -> Tensor<B> {
        self.binary(other, BinaryOp::Ge)
    }

    /// `cond != 0 ? a : b` element-wise, all three broadcast together. Differentiable in `a` and
    /// `b`, not in `cond`.
    ///
    /// # Panics
    /// If the three shapes do not broadcast.
    #[track_caller]
    pub fn where_select(cond: &Tensor<B>, a: &Tensor<B>, b: &Tensor<B>) -> Tensor<B> {
        let ab = check::broadcast("where", a.shape(), b.shape());
        let out = check::broadcast("where", cond.shape(), &ab);
        let data =
            B::where_select((cond.storage(), cond.shape()), (a.storage(), a.shape()), (b.storage(), b.shape()), &out);
        Tensor::from_op(data, out, &[cond, a, b], Where)
    }

    /// Sums this tensor down to `shape`, which it must broadcast from: the adjoint of
    /// broadcasting, used by backward rules.
    ///
    /// # Panics
    /// If `shape` does not broadcast to this tensor's shape.
    #[track_caller]
    pub fn sum_to(&self, shape: &Shape) -> Tensor<B> {
        if self.shape() == shape {
            return self.clone();
        }
        if Shape::broadcast(shape, self.shape()).as_ref() != Some(self.shape()) {
            check::fail("sum_to", format_args!("{shape} does not broadcast to {}", self.shape()));
        }
        let lead = self.rank() - shape.rank();
        let mut t = self.clone();
        // Sum away the leading dimensions, then every dimension where the target has size 1.
        for _ in 0..lead {
            t = t.sum_axis(0, false);
        }
        for axis in 0..shape.rank() {
            if shape.dim(axis) == 1 && t.dims()[axis] != 1 {
                t = t.sum_axis(axis, true);
            }
        }
        t.reshape(shape.clone())
    }
}
