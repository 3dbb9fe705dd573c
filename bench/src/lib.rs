//! Benchmarks and side-by-side comparisons of the meeting engine (docs/benchmarks.md).
//!
//! The benchmarks live in `benches/`; each reports its figures as ratios against a peer or a
//! physical floor measured in the same run. Run one with `cargo bench -p zoom-bench --bench <name>`.
//!
//! [`engine`] holds the engine benchmark as a library function, so a report harness can run it.

pub mod engine;
