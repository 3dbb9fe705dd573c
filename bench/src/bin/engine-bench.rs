//! The engine benchmark as a plain binary: it links only zoom-bench's own dependencies, so a
//! release build of it does not build the whole workspace's benchmarks first.
//!
//! ```text
//! cargo run --release -p zoom-bench --bin engine-bench [-- --quick] > /dev/null
//! ```

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let figures = zoom_bench::engine::run(quick);
    zoom_bench::engine::print(&figures);
}
