//! `Shape`: the dimensions of a row-major tensor, and NumPy broadcasting between two shapes.
//! Index arithmetic that backends share (strides, broadcast strides) lives here too.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The dimensions of a tensor, outermost first: `[batch, channels, height, width]`.
#[derive(Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Shape {
    dims: Vec<usize>,
}

impl Shape {
    /// A shape from its dimensions.
    pub fn new(dims: impl Into<Vec<usize>>) -> Self {
        Shape { dims: dims.into() }
    }

    /// The shape of a scalar: no dimensions, one element.
    pub fn scalar() -> Self {
        Shape { dims: Vec::new() }
    }

    /// The dimensions, outermost first.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// The number of dimensions.
    pub fn rank(&self) -> usize {
        self.dims.len()
    }

    /// The number of elements (1 for a scalar, 0 if any dimension is 0).
    pub fn numel(&self) -> usize {
        self.dims.iter().product()
    }

    /// The size of dimension `axis`.
    ///
    /// # Panics
    /// If `axis >= rank`.
    pub fn dim(&self, axis: usize) -> usize {
        self.dims[axis]
    }

    /// Row-major strides in elements: the last dimension has stride 1.
    pub fn strides(&self) -> Vec<usize> {
        let mut strides = vec![1; self.dims.len()];
        for i in (0..self.dims.len().saturating_sub(1)).rev() {
            strides[i] = strides[i + 1] * self.dims[i + 1];
        }
        strides
    }

    /// Splits the shape around `axis` into `(outer, len, inner)`: the product of the dimensions
    /// before it, its size, and the product of those after it.
    pub fn split_at_axis(&self, axis: usize) -> (usize, usize, usize) {
        let outer = self.dims[..axis].iter().product();
        let inner = self.dims[axis + 1..].iter().product();
        (outer, self.dims[axis], inner)
    }

    /// The shape with dimension `axis` set to 1 (a reduction with `keepdim`).
    pub fn with_axis_one(&self, axis: usize) -> Shape {
        let mut dims = self.dims.clone();
        dims[axis] = 1;
        Shape { dims }
    }

    /// The shape with dimension `axis` removed (a reduction without `keepdim`).
    pub fn without_axis(&self, axis: usize) -> Shape {
        let mut dims = self.dims.clone();
        dims.remove(axis);
        Shape { dims }
    }

    /// The NumPy broadcast of two shapes: dimensions are aligned from the right, and each pair must
    /// be equal or contain a 1. Returns `None` when they are incompatible.
    pub fn broadcast(a: &Shape, b: &Shape) -> Option<Shape> {
        let rank = a.rank().max(b.rank());
        let mut dims = vec![0; rank];
        for (i, out) in dims.iter_mut().enumerate() {
            let da = a.dim_from_right(rank - 1 - i);
            let db = b.dim_from_right(rank - 1 - i);
            *out = match (da, db) {
                (x, y) if x == y => x,
                (1, y) => y,
                (x, 1) => x,
                _ => return None,
            };
        }
        Some(Shape { dims })
    }

    /// Dimension `k` counted from the right (0 = last); 1 beyond the rank, as broadcasting reads it.
    fn dim_from_right(&self, k: usize) -> usize {
        if k < self.rank() { self.dims[self.rank() - 1 - k] } else { 1 }
    }

    /// Strides for reading a tensor of this shape as if it had shape `out` (which it broadcasts to):
    /// broadcast dimensions get stride 0. The result has `out.rank()` entries.
    ///
    /// # Panics
    /// If this shape does not broadcast to `out`.
    pub fn broadcast_strides(&self, out: &Shape) -> Vec<usize> {
        assert!(self.rank() <= out.rank(), "broadcast: {self} has more dimensions than {out}");
        let own = self.strides();
        let offset = out.rank() - self.rank();
        (0..out.rank())
            .map(|i| {
                if i < offset {
                    0
                } else {
                    let d = self.dims[i - offset];
                    assert!(d == out.dims[i] || d == 1, "broadcast: {self} cannot broadcast to {out}");
                    if d == 1 { 0 } else { own[i - offset] }
                }
            })
            .collect()
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[")?;
        for (i, d) in self.dims.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{d}")?;
        }
        write!(f, "]")
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<&[usize]> for Shape {
    fn from(dims: &[usize]) -> Self {
        Shape::new(dims)
    }
}

impl<const N: usize> From<[usize; N]> for Shape {
    fn from(dims: [usize; N]) -> Self {
        Shape::new(dims)
    }
}

impl From<Vec<usize>> for Shape {
    fn from(dims: Vec<usize>) -> Self {
        Shape::new(dims)
    }
}

impl From<&Shape> for Shape {
    fn from(shape: &Shape) -> Self {
        shape.clone()
    }
}

/// Walks the flat indices of `out` in row-major order and yields, for each, the offset into a
/// source read with `strides` (from [`Shape::broadcast_strides`]). Used by portable kernels.
pub fn broadcast_offsets(out: &Shape, strides: &[usize]) -> impl Iterator<Item = usize> + use<> {
    let rank = out.rank();
    let dims = out.dims().to_vec();
    let strides = strides.to_vec();
    let mut index = vec![0usize; rank];
    let mut offset = 0usize;
    let mut remaining = out.numel();
    std::iter::from_fn(move || {
        if remaining == 0 {
            return None;
        }
        let current = offset;
        remaining -= 1;
        // Advance the multi-index like an odometer, keeping the source offset in step.
        for d in (0..rank).rev() {
            index[d] += 1;
            offset += strides[d];
            if index[d] < dims[d] {
                break;
            }
            offset -= strides[d] * index[d];
            index[d] = 0;
        }
        Some(current)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_follows_numpy_rules() {
        let s = |d: &[usize]| Shape::new(d);
        assert_eq!(Shape::broadcast(&s(&[3, 1]), &s(&[4])), Some(s(&[3, 4])));
        assert_eq!(Shape::broadcast(&s(&[2, 1, 5]), &s(&[3, 1])), Some(s(&[2, 3, 5])));
        assert_eq!(Shape::broadcast(&s(&[]), &s(&[2, 2])), Some(s(&[2, 2])));
        assert_eq!(Shape::broadcast(&s(&[0]), &s(&[1])), Some(s(&[0])));
        assert_eq!(Shape::broadcast(&s(&[3]), &s(&[4])), None);
    }

    #[test]
    fn strides_are_row_major() {
        assert_eq!(Shape::new([2, 3, 4]).strides(), vec![12, 4, 1]);
        assert_eq!(Shape::scalar().strides(), Vec::<usize>::new());
    }

    #[test]
    fn broadcast_offsets_repeat_a_row() {
        // A [3] row read as [2, 3] visits 0, 1, 2 twice.
        let out = Shape::new([2, 3]);
        let strides = Shape::new([3]).broadcast_strides(&out);
        let offsets: Vec<usize> = broadcast_offsets(&out, &strides).collect();
        assert_eq!(offsets, vec![0, 1, 2, 0, 1, 2]);
        // A [2, 1] column read as [2, 3] visits 0, 0, 0, 1, 1, 1.
        let strides = Shape::new([2, 1]).broadcast_strides(&out);
        let offsets: Vec<usize> = broadcast_offsets(&out, &strides).collect();
        assert_eq!(offsets, vec![0, 0, 0, 1, 1, 1]);
    }
}
