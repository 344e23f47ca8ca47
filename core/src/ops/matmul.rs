//! Matrix products of 2-D and batched 3-D tensors, with transpose flags so that no transpose is
//! ever copied. For Y = X·W the backward pass gives ∂L/∂X = ∂L/∂Y·Wᵀ and ∂L/∂W = Xᵀ·∂L/∂Y, each
//! itself one product with flags.

use crate::backend::{Backend, MatmulSpec};
use crate::check;
use crate::shape::Shape;
use crate::tensor::{Backward, Tensor};

struct Matmul {
    lhs_t: bool,
    rhs_t: bool,
}

impl<B: Backend> Backward<B> for Matmul {
    fn name(&self) -> &'static str {
        "matmul"
    }

    fn backward(&self, inputs: &[Tensor<B>], _y: &Tensor<B>, dy: &Tensor<B>) -> Vec<Option<Tensor<B>>> {
        let (a, b) = (&inputs[0], &inputs[1]);
        let (ta, tb) = (self.lhs_t, self.rhs_t);
        // With C = op(A)·op(B): d op(A) = dC·op(B)ᵀ and d op(B) = op(A)ᵀ·dC; transpose back where
        // the operand was stored transposed.
        // A 2-D operand shared by every batch item collects the sum over the batch.
        let fold = |g: Tensor<B>, like: &Tensor<B>| if g.rank() > like.rank() { g.sum_axis(0, false) } else { g };
        // An input that needs no gradient (the data batch of a first layer) costs no product.
        let da =
            a.is_tracked().then(|| fold(if ta { b.matmul_t(dy, tb, true) } else { dy.matmul_t(b, false, !tb) }, a));
        let db =
            b.is_tracked().then(|| fold(if tb { dy.matmul_t(a, true, ta) } else { a.matmul_t(dy, !ta, false) }, b));
        vec![da, db]
    }
}

impl<B: Backend> Tensor<B> {
    /// The matrix product: `[m, k]·[k, n] → [m, n]`, or batched `[b, m, k]·[b, k, n] → [b, m, n]`,
    /// where a 2-D operand is shared by every batch item (`[b, m, k]·[k, n]`).
    ///
    /// # Panics
    /// If an operand is not 2-D or 3-D, the inner dimensions differ, or batch sizes differ.
    #[track_caller]
    pub fn matmul(&self, other: &Tensor<B>) -> Tensor<B> {
        self.matmul_t(other, false, false)
    }

    /// `op(self)·op(other)` where `op` transposes the last two dimensions when its flag is set;
    /// the kernel reads the operand transposed, it is never copied. `x.matmul_t(w, false, true)`
    /// is x·Wᵀ for a PyTorch-layout `[out, in]` weight.
    ///
    /// # Panics
    /// As [`Tensor::matmul`], for the transposed shapes.
    #[track_caller]
    pub fn matmul_t(&self, other: &Tensor<B>, lhs_t: bool, rhs_t: bool) -> Tensor<B> {
        let (spec, out) = matmul_spec(self.shape(), other.shape(), lhs_t, rhs_t);
        let data = B::matmul(self.storage(), other.storage(), spec);
        Tensor::from_op(data, out, &[self, other], Matmul { lhs_t, rhs_t })
    }
}

/// Checks the operand shapes and describes the product.
#[track_caller]
fn matmul_spec(lhs: &Shape, rhs: &Shape, lhs_t: bool, rhs_t: bool) -> (MatmulSpec, Shape) {
    for (what, s) in [("lhs", lhs), ("rhs", rhs)] {
        if !(2..=3).contains(&s.rank()) {
            check::fail("matmul", format_args!("{what} {s} must have 2 or 3 dimensions"));
        }
    }
    let last2 = |s: &Shape, t: bool| {
        let r = s.rank();
        let (rows, cols) = (s.dim(r - 2), s.dim(r - 1));
        if t { (cols, rows) } else { (rows, cols) }
    };
    let (m, k) = last2(lhs, lhs_t);
    let (k2, n) = last2(rhs, rhs_t);
    if k != k2 {
        check::fail(
            "matmul",
            format_args!("lhs {lhs} and rhs {rhs} need lhs.cols == rhs.rows (transposed: {lhs_t}, {rhs_t})"),
        );
    }
    let lhs_batch = (lhs.rank() == 3).then(|| lhs.dim(0));
    let rhs_batch = (rhs.rank() == 3).then(|| rhs.dim(0));
    let batch = match (lhs_batch, rhs_batch) {
        (Some(x), Some(y)) if x != y => {
            check::fail("matmul", format_args!("lhs {lhs} and rhs {rhs} have different batch sizes"))
        }
        (Some(x), _) | (None, Some(x)) => Some(x),
        (None, None) => None,
    };
    let spec = MatmulSpec {
        batch: batch.unwrap_or(1),
        m,
        k,
        n,
        lhs_transposed: lhs_t,
        rhs_transposed: rhs_t,
        lhs_batched: lhs_batch.is_some(),
        rhs_batched: rhs_batch.is_some(),
    };
    let out = match batch {
        Some(b) => Shape::new([b, m, n]),
        None => Shape::new([m, n]),
    };
    (spec, out)
}
