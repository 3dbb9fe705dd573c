//! Webhook delivery against plain HTTP and raw HMAC: `cargo bench -p zoom-bench --bench webhooks`
//! (`WEBHOOK_BENCH_EVENTS` changes the size). The measuring code is `zoom_bench::webhooks`;
//! `cargo run --release -p zoom-bench -- report` runs it with the others.

/// The allocator zoom-server ships with, for both sides of every comparison in this run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    zoom_bench::report::bench_main(&zoom_bench::webhooks::BENCH);
}
