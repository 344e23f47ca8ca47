//! Reductions along an axis (sum, mean, max, min, argmax, argmin) with `keepdim`, and over the whole
//! tensor. Backward spreads the output gradient back over the reduced axis: evenly for sum and
//! mean, to the winners for max and min (ties share).

use crate::backend::{Backend, ReduceOp};
use crate::check;
use crate::shape::Shape;
use crate::tensor::{Backward, Tensor};

struct Reduce {
    op: ReduceOp,
    axis: usize,
}

impl<B: Backend> Backward<B> for Reduce {
    fn name(&self) -> &'static str {
        match self.op {
            ReduceOp::Sum => "sum_axis",
            ReduceOp::Mean => "mean_axis",
            ReduceOp::Max => "max_axis",
            ReduceOp::Min => "min_axis",
            ReduceOp::ArgMax | ReduceOp::ArgMin => "arg",
        }
    }

    fn backward(&self, inputs: &[Tensor<B>], y: &Tensor<B>, dy: &Tensor<B>) -> Vec<Option<Tensor<B>>> {
        let x = &inputs[0];
        let kept = x.shape().with_axis_one(self.axis);
        let dy = dy.reshape(kept.clone());
        let dx = match self.op {
            ReduceOp::Sum => dy.broadcast_to(x.shape()),
            ReduceOp::Mean => dy.mul_scalar(1.0 / x.dims()[self.axis] as f32).broadcast_to(x.shape()),
            ReduceOp::Max | ReduceOp::Min => {
                let hits = x.eq_t(&y.reshape(kept));
                let count = hits.sum_axis(self.axis, true);
                hits.div(&count).mul(&dy)
            }
            ReduceOp::ArgMax | ReduceOp::ArgMin => unreachable!("arg reductions record no node"),
        };
        vec![Some(dx)]
    }
}

struct SumAll;

impl<B: Backend> Backward<B> for SumAll {
    fn name(&self) -> &'static str {
        "sum"
    }

    fn backward(&self, inputs: &[Tensor<B>], _y: &Tensor<B>, dy: &Tensor<B>) -> Vec<Option<Tensor<B>>> {
        vec![Some(dy.broadcast_to(inputs[0].shape()))]
    }
}

impl<B: Backend> Tensor<B> {
    fn reduce(&self, op: ReduceOp, axis: usize, keepdim: bool, name: &str) -> Tensor<B> {
        check::axis(name, self.shape(), axis);
        let data = B::reduce(op, self.storage(), self.shape(), axis);
        let shape = if keepdim { self.shape().with_axis_one(axis) } else { self.shape().without_axis(axis) };
        match op {
            ReduceOp::ArgMax | ReduceOp::ArgMin => Tensor::from_storage(data, shape),
            _ => Tensor::from_op(data, shape, &[self], Reduce { op, axis }),
        }
    }

    /// The sum of all elements, as a scalar.
    pub fn sum(&self) -> Tensor<B> {
        let flat = Shape::new([self.numel()]);
        let data = B::reduce(ReduceOp::Sum, self.storage(), &flat, 0);
        Tensor::from_op(data, Shape::scalar(), &[self], SumAll)
    }

    /// The mean of all elements, as a scalar.
    pub fn mean(&self) -> Tensor<B> {
        self.sum().mul_scalar(1.0 / self.numel() as f32)
    }

    /// Sums along `axis`; with `keepdim` that axis stays with size 1.
    ///
    /// # Panics
    /// If `axis` is out of range (as for every axis reduction).
    #[track_caller]
    pub fn sum_axis(&self, axis: usize, keepdim: bool) -> Tensor<B> {
        self.reduce(ReduceOp::Sum, axis, keepdim, "sum_axis")
    }
    /// Mean along `axis`.
    #[track_caller]
    pub fn mean_axis(&self, axis: usize, keepdim: bool) -> Tensor<B> {
        self.reduce(ReduceOp::Mean, axis, keepdim, "mean_axis")
    }
    /// Largest value along `axis`.
    #[track_caller]
    pub fn max_axis(&self, axis: usize, keepdim: bool) -> Tensor<B> {
        self.reduce(ReduceOp::Max, axis, keepdim, "max_axis")
    }
    /// Smallest value along `axis`.
    #[track_caller]
    pub fn min_axis(&self, axis: usize, keepdim: bool) -> Tensor<B> {
        self.reduce(ReduceOp::Min, axis, keepdim, "min_axis")
    }
    /// Index of the first largest value along `axis`, as f32 (no gradient).
    #[track_caller]
    pub fn argmax(&self, axis: usize, keepdim: bool) -> Tensor<B> {
        self.reduce(ReduceOp::ArgMax, axis, keepdim, "argmax")
    }
    /// Index of the first smallest value along `axis`, as f32 (no gradient).
    #[track_caller]
    pub fn argmin(&self, axis: usize, keepdim: bool) -> Tensor<B> {
        self.reduce(ReduceOp::ArgMin, axis, keepdim, "argmin")
    }

    /// Population variance along `axis`: mean((x − mean)²).
    #[track_caller]
    pub fn var_axis(&self, axis: usize, keepdim: bool) -> Tensor<B> {
        let centered = self.sub(&self.mean_axis(axis, true));
        centered.square().mean_axis(axis, keepdim)
    }

    /// The Euclidean norm of all elements, √Σx², as a scalar.
    pub fn norm(&self) -> Tensor<B> {
        self.square().sum().sqrt()
    }
}
