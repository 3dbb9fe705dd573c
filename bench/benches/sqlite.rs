//! The SQLite store against SQLite itself: `cargo bench -p zoom-bench --bench sqlite`
//! (`ZOOM_BENCH_APPENDS=20000 ZOOM_BENCH_EVENTS=1000000` change the sizes). The measuring code
//! is `zoom_bench::sqlite`; `cargo run --release -p zoom-bench -- report` runs it with the others.

/// The allocator zoom-server ships with, for both sides of every comparison in this run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    zoom_bench::report::bench_main(&zoom_bench::sqlite::BENCH);
}
