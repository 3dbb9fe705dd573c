//! The OAuth 2 token and introspection endpoints against a minimal axum handler: `cargo bench -p
//! zoom-bench --bench oauth` (`OAUTH_BENCH_RATE`, `OAUTH_BENCH_SECS`, `OAUTH_BENCH_ROUNDS`,
//! `OAUTH_BENCH_CHAINS` change the defaults). The measuring code is `zoom_bench::oauth`;
//! `cargo run --release -p zoom-bench -- report` runs it with the others.

/// The allocator zoom-server ships with, for both sides of every comparison in this run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    zoom_bench::report::bench_main(&zoom_bench::oauth::BENCH);
}
