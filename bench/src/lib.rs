//! Benchmarks and side-by-side comparisons of the meeting engine.
//!
//! Every figure is a ratio against a peer or a physical floor measured in the same run. Each
//! benchmark is a module here exposing a [`figure::Benchmark`]: a function that measures and
//! returns [`figure::Figure`]s. Two ways to run them:
//!
//! - `cargo run --release -p zoom-bench -- report` runs every benchmark, writes
//!   `bench/results.json` and regenerates `docs/benchmarks.md` with an SVG chart per family
//!   (`--quick`: tiny sizes, into `target/zoom-bench-report/`; `--only a,b`: some families);
//! - `cargo bench -p zoom-bench --bench <family>` runs one and prints its table (the
//!   `benches/*.rs` entry points are one line each).
//!
//! # Layout
//! - [`figure`]: `Figure`, `Peer`, `Target`, `Mode`, `Benchmark`.
//! - [`report`]: running, the JSON, the Markdown page; `chart`: the SVG charts.
//! - one module per family: [`engine`], [`sqlite`], [`http`], [`server`], [`webhooks`],
//!   [`streams`], [`oauth`] (the engine's also prints its own lines through `benches/engine.rs` and
//!   `bin/engine-bench`).
//!
//! # Adding a benchmark
//! Write a module with `pub const BENCH: Benchmark` whose `run` returns figures built with
//! [`figure::Figure::new`] and `.peer(..)`, list it in [`benchmarks`], and add a
//! `benches/<family>.rs` calling [`report::bench_main`] plus its `[[bench]]` entry.

mod chart;
pub mod engine;
pub mod figure;
pub mod http;
pub mod oauth;
pub mod report;
pub mod server;
pub mod sqlite;
pub mod streams;
pub mod webhooks;

/// Every benchmark the report runs, in order.
pub fn benchmarks() -> Vec<figure::Benchmark> {
    vec![
        engine::BENCH,
        sqlite::BENCH,
        http::BENCH,
        server::BENCH,
        webhooks::BENCH,
        streams::BENCH,
        oauth::BENCH,
    ]
}

/// Engine settings for the benchmarks: the defaults, with a fixed file-URL key (never a
/// deployment's; the engine has no default key).
pub fn engine_config() -> zoom_core::EngineConfig {
    zoom_core::EngineConfig::new(zoom_core::files::FileUrlSigner::new(
        "https://files.invalid/recordings",
        b"benchmark file-url key".to_vec(),
    ))
}
