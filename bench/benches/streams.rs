//! Live event streams against a plain tokio-tungstenite server: `cargo bench -p zoom-bench --bench
//! streams` (`STREAMS_BENCH_IDLE` changes the number of idle streams). The measuring code is
//! `zoom_bench::streams`; `cargo run --release -p zoom-bench -- report` runs it with the others.

/// The allocator zoom-server ships with, for both sides of every comparison in this run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    zoom_bench::report::bench_main(&zoom_bench::streams::BENCH);
}
