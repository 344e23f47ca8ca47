//! Arithmetic operators on tensor references, so formulas read as they do on paper:
//! `&x * &x + &y * 2.0`. Each one calls the named op (`add`, `mul`, …) and broadcasts like it.

use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::backend::Backend;
use crate::tensor::Tensor;

macro_rules! tensor_op {
    ($trait:ident, $method:ident, $op:ident, $scalar:expr) => {
        impl<B: Backend> $trait<&Tensor<B>> for &Tensor<B> {
            type Output = Tensor<B>;
            #[track_caller]
            fn $method(self, rhs: &Tensor<B>) -> Tensor<B> {
                Tensor::$op(self, rhs)
            }
        }
        impl<B: Backend> $trait<Tensor<B>> for Tensor<B> {
            type Output = Tensor<B>;
            #[track_caller]
            fn $method(self, rhs: Tensor<B>) -> Tensor<B> {
                Tensor::$op(&self, &rhs)
            }
        }
        impl<B: Backend> $trait<&Tensor<B>> for Tensor<B> {
            type Output = Tensor<B>;
            #[track_caller]
            fn $method(self, rhs: &Tensor<B>) -> Tensor<B> {
                Tensor::$op(&self, rhs)
            }
        }
        impl<B: Backend> $trait<Tensor<B>> for &Tensor<B> {
            type Output = Tensor<B>;
            #[track_caller]
            fn $method(self, rhs: Tensor<B>) -> Tensor<B> {
                Tensor::$op(self, &rhs)
            }
        }
        impl<B: Backend> $trait<f32> for &Tensor<B> {
            type Output = Tensor<B>;
            fn $method(self, rhs: f32) -> Tensor<B> {
                let f: fn(&Tensor<B>, f32) -> Tensor<B> = $scalar;
                f(self, rhs)
            }
        }
        impl<B: Backend> $trait<f32> for Tensor<B> {
            type Output = Tensor<B>;
            fn $method(self, rhs: f32) -> Tensor<B> {
                let f: fn(&Tensor<B>, f32) -> Tensor<B> = $scalar;
                f(&self, rhs)
            }
        }
    };
}

tensor_op!(Add, add, add, |t, c| t.add_scalar(c));
tensor_op!(Sub, sub, sub, |t, c| t.sub_scalar(c));
tensor_op!(Mul, mul, mul, |t, c| t.mul_scalar(c));
tensor_op!(Div, div, div, |t, c| t.div_scalar(c));

impl<B: Backend> Neg for &Tensor<B> {
    type Output = Tensor<B>;
    fn neg(self) -> Tensor<B> {
        Tensor::neg(self)
    }
}

impl<B: Backend> Neg for Tensor<B> {
    type Output = Tensor<B>;
    fn neg(self) -> Tensor<B> {
        Tensor::neg(&self)
    }
}
