//! Batch norm and the residual sum, each fused with the activation after it. The loops are plain
//! Rust over eight lanes of partial sums, compiled twice (the baseline, and with AVX2 through
//! [`crate::arch::vectorized`]); neither level fuses a multiply and an add, so both compute the
//! same operations in the same order and agree to the bit.
//!
//! Batch norm's statistics run one channel per task (its rows read twice while they are in
//! cache: once for the mean, once for the variance around it); the normalised output is then
//! written row by row. Backward likewise: per-channel sums of dz and dz·(x − μ), then one pass that
//! writes dx. Each channel's sums run over its rows in order, so the bits do not depend on the
//! number of threads.

use neurite_core::backend::{BatchNormSpec, BiasAct};
use rayon::prelude::*;

use crate::arch::vectorized;
use crate::buffer::Buffer;

/// Values per parallel task, at least, when rows are written.
const TASK_VALUES: usize = 1 << 14;

/// An activation with its derivative from the output, as inlinable code for the loops below.
trait Act: Copy + Send + Sync {
    fn apply(self, z: f32) -> f32;
    fn derivative(self, y: f32) -> f32;
}

#[derive(Clone, Copy)]
struct Identity;
#[derive(Clone, Copy)]
struct Relu;
/// Sigmoid or tanh: `exp` is a library call, so these run one value at a time either way.
#[derive(Clone, Copy)]
struct Other(BiasAct);

impl Act for Identity {
    #[inline(always)]
    fn apply(self, z: f32) -> f32 {
        z
    }
    #[inline(always)]
    fn derivative(self, _: f32) -> f32 {
        1.0
    }
}

impl Act for Relu {
    #[inline(always)]
    fn apply(self, z: f32) -> f32 {
        z.max(0.0)
    }
    #[inline(always)]
    fn derivative(self, y: f32) -> f32 {
        if y > 0.0 { 1.0 } else { 0.0 }
    }
}

impl Act for Other {
    #[inline(always)]
    fn apply(self, z: f32) -> f32 {
        self.0.apply(z)
    }
    #[inline(always)]
    fn derivative(self, y: f32) -> f32 {
        self.0.derivative_from_output(y)
    }
}

/// Runs `f` with `act` as one of the types above (the `match` stays outside the loops).
macro_rules! with_act {
    ($act:expr, |$a:ident| $body:expr) => {
        match $act {
            BiasAct::None => {
                let $a = Identity;
                $body
            }
            BiasAct::Relu => {
                let $a = Relu;
                $body
            }
            other => {
                let $a = Other(other);
                $body
            }
        }
    };
}

/// Σ f(i) over a row of `len` values, in eight lanes, then the tail in order.
#[inline(always)]
fn lane_sum(len: usize, f: impl Fn(usize) -> f32) -> f32 {
    let mut acc = [0.0f32; 8];
    let body = len - len % 8;
    for i in (0..body).step_by(8) {
        for (l, a) in acc.iter_mut().enumerate() {
            *a += f(i + l);
        }
    }
    let mut total = crate::arch::fold_lanes(acc);
    for i in body..len {
        total += f(i);
    }
    total
}

/// Row `n` of channel `c`.
#[inline(always)]
fn row<'a>(x: &'a [f32], spec: &BatchNormSpec, n: usize, c: usize) -> &'a [f32] {
    let at = (n * spec.channels + c) * spec.inner;
    &x[at..at + spec.inner]
}

/// Each channel's mean and biased variance.
fn statistics(x: &[f32], spec: &BatchNormSpec) -> (Vec<f32>, Vec<f32>) {
    let count = spec.count().max(1) as f32;
    let per_channel: Vec<(f32, f32)> = (0..spec.channels)
        .into_par_iter()
        .map(|c| {
            vectorized(
                #[inline(always)]
                || {
                    let mut sum = 0.0;
                    for n in 0..spec.outer {
                        let r = row(x, spec, n, c);
                        sum += lane_sum(r.len(), |i| r[i]);
                    }
                    let mean = sum / count;
                    let mut squares = 0.0;
                    for n in 0..spec.outer {
                        let r = row(x, spec, n, c);
                        squares += lane_sum(r.len(), |i| (r[i] - mean) * (r[i] - mean));
                    }
                    (mean, squares / count)
                },
            )
        })
        .collect();
    per_channel.into_iter().unzip()
}

/// Rows of `out` (each `inner` long, channel = row index mod channels) in parallel tasks.
fn rows_mut(out: &mut [f32], spec: &BatchNormSpec, f: impl Fn(usize, usize, &mut [f32]) + Sync) {
    let inner = spec.inner.max(1);
    out.par_chunks_mut(inner).with_min_len((TASK_VALUES / inner).max(1)).enumerate().for_each(|(i, r)| {
        f(i, i % spec.channels, r);
    });
}

pub(crate) fn batch_norm(x: &[f32], gamma: &[f32], beta: &[f32], spec: &BatchNormSpec) -> (Buffer, Buffer, Buffer) {
    let (mean, var) = statistics(x, spec);
    let mut y = Buffer::uninit(x.len());
    with_act!(spec.act, |act| rows_mut(y.as_mut_slice(), spec, |i, c, out| {
        let (m, scale, b) = (mean[c], gamma[c] * spec.inv_std(var[c]), beta[c]);
        let src = &x[i * spec.inner..(i + 1) * spec.inner];
        vectorized(
            #[inline(always)]
            || {
                for (o, &v) in out.iter_mut().zip(src) {
                    *o = act.apply((v - m) * scale + b);
                }
            },
        );
    }));
    (y, Buffer::from_vec(mean), Buffer::from_vec(var))
}

pub(crate) fn batch_norm_backward(
    (x, y, dy): (&[f32], &[f32], &[f32]),
    gamma: &[f32],
    (mean, var): (&[f32], &[f32]),
    spec: &BatchNormSpec,
) -> (Buffer, Buffer, Buffer) {
    let count = spec.count().max(1) as f32;
    // dβ = Σ dz and Σ dz·(x − μ), per channel.
    let sums: Vec<(f32, f32)> = with_act!(spec.act, |act| (0..spec.channels)
        .into_par_iter()
        .map(|c| {
            vectorized(
                #[inline(always)]
                || {
                    let (mut dbeta, mut dzx) = (0.0, 0.0);
                    for n in 0..spec.outer {
                        let (x, y, dy) = (row(x, spec, n, c), row(y, spec, n, c), row(dy, spec, n, c));
                        dbeta += lane_sum(x.len(), |i| dy[i] * act.derivative(y[i]));
                        dzx += lane_sum(x.len(), |i| dy[i] * act.derivative(y[i]) * (x[i] - mean[c]));
                    }
                    (dbeta, dzx)
                },
            )
        })
        .collect());
    let dbeta: Vec<f32> = sums.iter().map(|s| s.0).collect();
    let dgamma: Vec<f32> = sums.iter().zip(var).map(|(s, &v)| s.1 * spec.inv_std(v)).collect();
    let mut dx = Buffer::uninit(x.len());
    with_act!(spec.act, |act| rows_mut(dx.as_mut_slice(), spec, |i, c, out| {
        let inv_std = spec.inv_std(var[c]);
        let (m, k) = (mean[c], gamma[c] * inv_std);
        let (db, dg) = (dbeta[c] / count, dgamma[c] / count);
        let at = i * spec.inner;
        let (x, y, dy) = (&x[at..at + out.len()], &y[at..at + out.len()], &dy[at..at + out.len()]);
        vectorized(
            #[inline(always)]
            || {
                for j in 0..out.len() {
                    let dz = dy[j] * act.derivative(y[j]);
                    out[j] = k * (dz - db - (x[j] - m) * inv_std * dg);
                }
            },
        );
    }));
    (dx, Buffer::from_vec(dgamma), Buffer::from_vec(dbeta))
}

pub(crate) fn add_act(a: &[f32], b: &[f32], act: BiasAct) -> Buffer {
    let mut out = Buffer::uninit(a.len());
    with_act!(act, |act| out.as_mut_slice().par_chunks_mut(TASK_VALUES).enumerate().for_each(|(t, o)| {
        let at = t * TASK_VALUES;
        let (a, b) = (&a[at..at + o.len()], &b[at..at + o.len()]);
        vectorized(
            #[inline(always)]
            || {
                for j in 0..o.len() {
                    o[j] = act.apply(a[j] + b[j]);
                }
            },
        );
    }));
    out
}

pub(crate) fn add_act_backward(y: &[f32], dy: &[f32], act: BiasAct) -> Buffer {
    let mut out = Buffer::uninit(y.len());
    with_act!(act, |act| out.as_mut_slice().par_chunks_mut(TASK_VALUES).enumerate().for_each(|(t, o)| {
        let at = t * TASK_VALUES;
        let (y, dy) = (&y[at..at + o.len()], &dy[at..at + o.len()]);
        vectorized(
            #[inline(always)]
            || {
                for j in 0..o.len() {
                    o[j] = dy[j] * act.derivative(y[j]);
                }
            },
        );
    }));
    out
}
