//! Criterion benchmarks of every workload on every backend, ids `name/shape/backend`
//! (`matmul/256x256x256/simd`), with the workload's throughput (FLOPs, samples or elements) so
//! reports read GFLOP/s or samples/s. Run through `cargo xtask bench`.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use neurite_backend_cpu::CpuBackend;
use neurite_backend_simd::SimdBackend;
use neurite_core::Backend;
use xtask::report::timed;
use xtask::workloads::{self, Workload};

fn register(c: &mut Criterion, backend: &str, list: Vec<Workload>) {
    for mut w in list {
        let (name, shape, per_iter) = (w.name.clone(), w.shape.clone(), w.per_iter);
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(per_iter));
        group.measurement_time(Duration::from_secs(3));
        group.warm_up_time(Duration::from_millis(700));
        group.sample_size(20);
        // `iter_custom` so that a workload's untimed setup stays out of the figure.
        group.bench_function(BenchmarkId::new(shape, backend), |b| b.iter_custom(|iters| timed(&mut w, iters)));
        group.finish();
    }
}

fn backends(c: &mut Criterion) {
    register(c, SimdBackend::name(), workloads::all::<SimdBackend>());
    register(c, CpuBackend::name(), workloads::all::<CpuBackend>());
    // Augmentation runs on host data whatever the backend: registered once.
    register(c, "host", workloads::augmentation());
}

criterion_group!(benches, backends);
criterion_main!(benches);
