//! The engine on the memory store against cqrs-es 0.5, long meetings, and memory per live
//! meeting (issue 9). The measuring code is `zoom_bench::engine`; this prints its figures.
//!
//! ```text
//! cargo bench -p zoom-bench --bench engine > /dev/null            # the full run (figures on stderr)
//! cargo bench -p zoom-bench --bench engine -- --quick > /dev/null # a smoke run
//! ```

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let figures = zoom_bench::engine::run(quick);
    zoom_bench::engine::print(&figures);
}
