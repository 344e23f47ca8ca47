//! The one place where misuse of the tensor API panics. Each check names the op and the shapes,
//! so a message reads `matmul: lhs [32, 784] and rhs [128, 10] need lhs.cols == rhs.rows`.

use crate::shape::Shape;

/// Panics with `"{op}: {message}"`. Never returns.
#[cold]
#[track_caller]
pub(crate) fn fail(op: &str, message: std::fmt::Arguments<'_>) -> ! {
    panic!("{op}: {message}")
}

/// The broadcast shape of `lhs` and `rhs`, or a panic naming `op` and both shapes.
#[track_caller]
pub(crate) fn broadcast(op: &str, lhs: &Shape, rhs: &Shape) -> Shape {
    Shape::broadcast(lhs, rhs).unwrap_or_else(|| fail(op, format_args!("shapes {lhs} and {rhs} do not broadcast")))
}

/// `axis` must index into a tensor of `shape`.
#[track_caller]
pub(crate) fn axis(op: &str, shape: &Shape, axis: usize) {
    if axis >= shape.rank() {
        fail(op, format_args!("axis {axis} out of range for shape {shape}"));
    }
}

/// Two shapes must be equal.
#[track_caller]
pub(crate) fn same_shape(op: &str, lhs: &Shape, rhs: &Shape) {
    if lhs != rhs {
        fail(op, format_args!("shapes {lhs} and {rhs} must be equal"));
    }
}

/// A tensor must have the given rank.
#[track_caller]
pub(crate) fn rank(op: &str, what: &str, shape: &Shape, rank: usize) {
    if shape.rank() != rank {
        fail(op, format_args!("{what} {shape} must have {rank} dimensions"));
    }
}
