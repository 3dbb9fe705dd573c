//! The API layer against a minimal axum handler: `cargo bench -p zoom-bench --bench http`
//! (`HTTP_BENCH_REQUESTS` changes the requests per round). The measuring code is
//! `zoom_bench::http`; `cargo run --release -p zoom-bench -- report` runs it with the others.

/// The allocator zoom-server ships with, for both sides of every comparison in this run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    zoom_bench::report::bench_main(&zoom_bench::http::BENCH);
}
