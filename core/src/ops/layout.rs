//! Ops that move values without arithmetic: reshape, permute/transpose, broadcast, slice, pad,
//! concat, flip, index-select, gather, one-hot. Each backward is the adjoint move: slice ↔ pad,
//! index-select ↔ index-add, gather ↔ scatter-add, permute ↔ the inverse permutation.

use std::ops::Range;

use crate::backend::Backend;
use crate::check;
use crate::shape::Shape;
use crate::tensor::{Backward, Tensor};

struct Reshape;

impl<B: Backend> Backward<B> for Reshape {
    fn name(&self) -> &'static str {
        "reshape"
    }
    fn backward(&self, inputs: &[Tensor<B>], _y: &Tensor<B>, dy: &Tensor<B>) -> Vec<Option<Tensor<B>>> {
        vec![Some(dy.reshape(inputs[0].shape().clone()))]
    }
}

struct Permute(Vec<usize>);

impl<B: Backend> Backward<B> for Permute {
    fn name(&self) -> &'static str {
        "permute"
    }
    fn backward(&self, _inputs: &[Tensor<B>], _y: &Tensor<B>, dy: &Tensor<B>) -> Vec<Option<Tensor<B>>> {
        let mut inverse = vec![0; self.0.len()];
        for (i, &a) in self.0.iter().enumerate() {
            inverse[a] = i;
        }
        vec![Some(dy.permute(&inverse))]
    }
}

struct BroadcastTo;

impl<B: Backend> Backward<B> for BroadcastTo {
    fn name(&self) -> &'static str {
        "broadcast_to"
    }
    fn backward(&self, inputs: &[Tensor<B>], _y: &Tensor<B>, dy: &Tensor<B>) -> Vec<Option<Tensor<B>>> {
        vec![Some(dy.sum_to(inputs[0].shape()))]
    }
}

struct Slice {
    starts: Vec<usize>,
}

impl<B: Backend> Backward<B> for Slice {
    fn name(&self) -> &'static str {
        "slice"
    }
    fn backward(&self, inputs: &[Tensor<B>], y: &Tensor<B>, dy: &Tensor<B>) -> Vec<Option<Tensor<B>>> {
        let x = inputs[0].shape();
        let after: Vec<usize> = (0..x.rank()).map(|i| x.dim(i) - self.starts[i] - y.dims()[i]).collect();
        vec![Some(dy.pad(&self.starts, &after, 0.0))]
    }
}

struct Pad {
    before: Vec<usize>,
}

impl<B: Backend> Backward<B> for Pad {
    fn name(&self) -> &'static str {
        "pad"
    }
    fn backward(&self, inputs: &[Tensor<B>], _y: &Tensor<B>, dy: &Tensor<B>) -> Vec<Option<Tensor<B>>> {
        let x = inputs[0].shape();
        let ranges: Vec<Range<usize>> = (0..x.rank()).map(|i| self.before[i]..self.before[i] + x.dim(i)).collect();
        vec![Some(dy.slice(&ranges))]
    }
}

struct Concat {
    axis: usize,
}

impl<B: Backend> Backward<B> for Concat {
    fn name(&self) -> &'static str {
        "concat"
    }
    fn backward(&self, inputs: &[Tensor<B>], _y: &Tensor<B>, dy: &Tensor<B>) -> Vec<Option<Tensor<B>>> {
        let mut start = 0;
        inputs
            .iter()
            .map(|x| {
                let len = x.dims()[self.axis];
                let g = dy.narrow(self.axis, start, len);
                start += len;
                Some(g)
            })
            .collect()
    }
}

struct Flip(Vec<usize>);

impl<B: Backend> Backward<B> for Flip {
    fn name(&self) -> &'static str {
        "flip"
    }
    fn backward(&self, _inputs: &[Tensor<B>], _y: &Tensor<B>, dy: &Tensor<B>) -> Vec<Option<Tensor<B>>> {
        vec![Some(dy.flip(&self.0))]
    }
}

struct IndexSelect {
    axis: usize,
    indices: Vec<usize>,
}

impl<B: Backend> Backward<B> for IndexSelect {
    fn name(&self) -> &'static str {
        "index_select"
    }
    fn backward(&self, inputs: &[Tensor<B>], _y: &Tensor<B>, dy: &Tensor<B>) -> Vec<Option<Tensor<B>>> {
        let x = &inputs[0];
        let len = x.dims()[self.axis];
        let data = B::index_add(dy.storage(), dy.shape(), self.axis, &self.indices, len);
        vec![Some(Tensor::from_storage(data, x.shape().clone()))]
    }
}

struct Gather {
    axis: usize,
}

impl<B: Backend> Backward<B> for Gather {
    fn name(&self) -> &'static str {
        "gather"
    }
    fn backward(&self, inputs: &[Tensor<B>], _y: &Tensor<B>, dy: &Tensor<B>) -> Vec<Option<Tensor<B>>> {
        let (x, index) = (&inputs[0], &inputs[1]);
        let data = B::scatter_add(dy.storage(), index.storage(), index.shape(), self.axis, x.shape());
        vec![Some(Tensor::from_storage(data, x.shape().clone())), None]
    }
}

impl<B: Backend> Tensor<B> {
    /// The same values read with another shape of as many elements (no copy).
    ///
    /// # Panics
    /// If the element counts differ.
    #[track_caller]
    pub fn reshape(&self, shape: impl Into<Shape>) -> Tensor<B> {
        let shape = shape.into();
        if shape.numel() != self.numel() {
            check::fail("reshape", format_args!("cannot reshape {} into {shape}", self.shape()));
        }
        Tensor::from_op_shared(self.inner.data.clone(), shape, &[self], Reshape)
    }

    /// Keeps the first dimension and merges the rest: `[n, c, h, w] → [n, c·h·w]`.
    pub fn flatten_batch(&self) -> Tensor<B> {
        let n = self.dims().first().copied().unwrap_or(1);
        let rest = self.numel().checked_div(n).unwrap_or(0);
        self.reshape([n, rest])
    }

    /// Inserts a dimension of size 1 at `axis`.
    #[track_caller]
    pub fn unsqueeze(&self, axis: usize) -> Tensor<B> {
        if axis > self.rank() {
            check::fail("unsqueeze", format_args!("axis {axis} out of range for shape {}", self.shape()));
        }
        let mut dims = self.dims().to_vec();
        dims.insert(axis, 1);
        self.reshape(dims)
    }

    /// Removes dimension `axis`, which must have size 1.
    #[track_caller]
    pub fn squeeze(&self, axis: usize) -> Tensor<B> {
        check::axis("squeeze", self.shape(), axis);
        if self.dims()[axis] != 1 {
            check::fail("squeeze", format_args!("axis {axis} of {} is not of size 1", self.shape()));
        }
        self.reshape(self.shape().without_axis(axis))
    }

    /// Reorders the axes: output axis `i` is input axis `axes[i]`.
    ///
    /// # Panics
    /// If `axes` is not a permutation of `0..rank`.
    #[track_caller]
    pub fn permute(&self, axes: &[usize]) -> Tensor<B> {
        let mut seen = vec![false; self.rank()];
        let valid = axes.len() == self.rank()
            && axes.iter().all(|&a| a < self.rank() && !std::mem::replace(&mut seen[a], true));
        if !valid {
            check::fail("permute", format_args!("{axes:?} is not a permutation of the axes of {}", self.shape()));
        }
        let shape = Shape::new(axes.iter().map(|&a| self.dims()[a]).collect::<Vec<_>>());
        let data = B::permute(self.storage(), self.shape(), axes);
        Tensor::from_op(data, shape, &[self], Permute(axes.to_vec()))
    }

    /// Swaps two axes.
    #[track_caller]
    pub fn transpose(&self, a: usize, b: usize) -> Tensor<B> {
        check::axis("transpose", self.shape(), a);
        check::axis("transpose", self.shape(), b);
        let mut axes: Vec<usize> = (0..self.rank()).collect();
        axes.swap(a, b);
        self.permute(&axes)
    }

    /// The transpose of a 2-D tensor (a copy; `matmul_t` avoids it).
    #[track_caller]
    pub fn t(&self) -> Tensor<B> {
        check::rank("t", "tensor", self.shape(), 2);
        self.transpose(0, 1)
    }

    /// Repeats this tensor along broadcast dimensions to `shape`.
    ///
    /// # Panics
    /// If this shape does not broadcast to `shape`.
    #[track_caller]
    pub fn broadcast_to(&self, shape: &Shape) -> Tensor<B> {
        if self.shape() == shape {
            return self.clone();
        }
        if Shape::broadcast(self.shape(), shape).as_ref() != Some(shape) {
            check::fail("broadcast_to", format_args!("{} cannot broadcast to {shape}", self.shape()));
        }
        let data = B::broadcast_to(self.storage(), self.shape(), shape);
        Tensor::from_op(data, shape.clone(), &[self], BroadcastTo)
    }

    /// The block `ranges[i]` along every axis.
    ///
    /// # Panics
    /// If there is not one range per axis or a range is out of bounds.
    #[track_caller]
    pub fn slice(&self, ranges: &[Range<usize>]) -> Tensor<B> {
        if ranges.len() != self.rank() {
            check::fail("slice", format_args!("{} ranges for shape {}", ranges.len(), self.shape()));
        }
        for (axis, r) in ranges.iter().enumerate() {
            if r.start > r.end || r.end > self.dims()[axis] {
                check::fail("slice", format_args!("range {r:?} out of bounds for axis {axis} of {}", self.shape()));
            }
        }
        let starts: Vec<usize> = ranges.iter().map(|r| r.start).collect();
        let ends: Vec<usize> = ranges.iter().map(|r| r.end).collect();
        let shape = Shape::new(ranges.iter().map(|r| r.end - r.start).collect::<Vec<_>>());
        let data = B::slice(self.storage(), self.shape(), &starts, &ends);
        Tensor::from_op(data, shape, &[self], Slice { starts })
    }

    /// `len` entries from `start` along `axis`, everything along the others.
    #[track_caller]
    pub fn narrow(&self, axis: usize, start: usize, len: usize) -> Tensor<B> {
        check::axis("narrow", self.shape(), axis);
        let ranges: Vec<Range<usize>> =
            (0..self.rank()).map(|i| if i == axis { start..start + len } else { 0..self.dims()[i] }).collect();
        self.slice(&ranges)
    }

    /// Surrounds the tensor with `before[i]` and `after[i]` cells of `value` along every axis.
    ///
    /// # Panics
    /// If there is not one entry per axis in each list.
    #[track_caller]
    pub fn pad(&self, before: &[usize], after: &[usize], value: f32) -> Tensor<B> {
        if before.len() != self.rank() || after.len() != self.rank() {
            check::fail("pad", format_args!("needs one before/after entry per axis of {}", self.shape()));
        }
        let shape = Shape::new((0..self.rank()).map(|i| before[i] + self.dims()[i] + after[i]).collect::<Vec<_>>());
        let data = B::pad(self.storage(), self.shape(), before, after, value);
        Tensor::from_op(data, shape, &[self], Pad { before: before.to_vec() })
    }

    /// Joins tensors along `axis`; all other dimensions must agree.
    ///
    /// # Panics
    /// If `parts` is empty or the shapes disagree off `axis`.
    #[track_caller]
    pub fn concat(parts: &[Tensor<B>], axis: usize) -> Tensor<B> {
        let Some(first) = parts.first() else { check::fail("concat", format_args!("needs at least one tensor")) };
        check::axis("concat", first.shape(), axis);
        let mut dims = first.dims().to_vec();
        dims[axis] = 0;
        for p in parts {
            let ok = p.rank() == first.rank() && (0..first.rank()).all(|i| i == axis || p.dims()[i] == first.dims()[i]);
            if !ok {
                check::fail(
                    "concat",
                    format_args!("shapes {} and {} differ off axis {axis}", first.shape(), p.shape()),
                );
            }
            dims[axis] += p.dims()[axis];
        }
        let storages: Vec<(&B::Storage, &Shape)> = parts.iter().map(|p| (p.storage(), p.shape())).collect();
        let data = B::concat(&storages, axis);
        let refs: Vec<&Tensor<B>> = parts.iter().collect();
        Tensor::from_op(data, Shape::new(dims), &refs, Concat { axis })
    }

    /// Reverses the order along each of `axes` (a horizontal image flip is `flip(&[3])`).
    #[track_caller]
    pub fn flip(&self, axes: &[usize]) -> Tensor<B> {
        for &a in axes {
            check::axis("flip", self.shape(), a);
        }
        let data = B::flip(self.storage(), self.shape(), axes);
        Tensor::from_op(data, self.shape().clone(), &[self], Flip(axes.to_vec()))
    }

    /// Picks `indices` along `axis` (repeats allowed): rows of a batch, or embedding lookups.
    ///
    /// # Panics
    /// If `axis` or an index is out of range.
    #[track_caller]
    pub fn index_select(&self, axis: usize, indices: &[usize]) -> Tensor<B> {
        check::axis("index_select", self.shape(), axis);
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.dims()[axis]) {
            check::fail("index_select", format_args!("index {bad} out of range for axis {axis} of {}", self.shape()));
        }
        let mut dims = self.dims().to_vec();
        dims[axis] = indices.len();
        let data = B::index_select(self.storage(), self.shape(), axis, indices);
        Tensor::from_op(data, Shape::new(dims), &[self], IndexSelect { axis, indices: indices.to_vec() })
    }

    /// PyTorch's `gather`: `out[.., i, ..] = self[.., index[.., i, ..], ..]` along `axis`, with
    /// `index` (integral values) of the output's shape, agreeing with `self` off `axis`.
    /// `logp.gather(1, &labels.unsqueeze(1))` picks each row's label entry.
    ///
    /// # Panics
    /// If the shapes disagree or an index is out of range.
    #[track_caller]
    pub fn gather(&self, axis: usize, index: &Tensor<B>) -> Tensor<B> {
        check::axis("gather", self.shape(), axis);
        let ok =
            index.rank() == self.rank() && (0..self.rank()).all(|i| i == axis || index.dims()[i] == self.dims()[i]);
        if !ok {
            check::fail("gather", format_args!("index {} must match {} off axis {axis}", index.shape(), self.shape()));
        }
        let len = self.dims()[axis] as f32;
        if let Some(bad) = index.as_slice().iter().find(|&&i| !(i >= 0.0 && i < len && i.fract() == 0.0)) {
            check::fail("gather", format_args!("index {bad} out of range for axis {axis} of {}", self.shape()));
        }
        let data = B::gather(self.storage(), self.shape(), axis, index.storage(), index.shape());
        Tensor::from_op(data, index.shape().clone(), &[self, index], Gather { axis })
    }

    /// `[n, classes]` rows with a single 1 at each label of this `[n]` tensor (no gradient).
    ///
    /// # Panics
    /// If this is not 1-D or a label is not an integer in `0..classes`.
    #[track_caller]
    pub fn one_hot(&self, classes: usize) -> Tensor<B> {
        check::rank("one_hot", "labels", self.shape(), 1);
        if let Some(bad) = self.as_slice().iter().find(|&&i| !(i >= 0.0 && i < classes as f32 && i.fract() == 0.0)) {
            check::fail("one_hot", format_args!("label {bad} is not in 0..{classes}"));
        }
        let data = B::one_hot(self.storage(), classes);
        Tensor::from_storage(data, Shape::new([self.numel(), classes]))
    }
}
