//! Benchmarks of the meeting engine (DESIGN section 9). The benchmarks live in `benches/`; each
//! compares a figure with a peer or a floor measured in the same run and reports the ratio.
