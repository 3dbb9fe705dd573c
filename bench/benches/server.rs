//! zoom-server over loopback sockets: `cargo bench -p zoom-bench --bench server` (needs `wrk`
//! and `oha`; `SERVER_BENCH_RATE`, `SERVER_BENCH_SECS`, `SERVER_BENCH_WRK_SECS` change the
//! defaults 2000, 5, 5). The measuring code is `zoom_bench::server`;
//! `cargo run --release -p zoom-bench -- report` runs it with the others.

/// The allocator zoom-server ships with, for both sides of every comparison in this run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    zoom_bench::report::bench_main(&zoom_bench::server::BENCH);
}
