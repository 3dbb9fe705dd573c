//! `zoom-bench report [--quick] [--only FAMILY,…] [--out DIR]`: runs the benchmarks, writes
//! their figures as JSON and regenerates `docs/benchmarks.md` with its charts.
//!
//! - no flag: full sizes; writes `bench/results.json`, `docs/benchmarks.md` and
//!   `docs/benchmarks/<family>.svg` in the workspace;
//! - `--quick`: tiny sizes, no target judged, written to `target/zoom-bench-report/` (CI runs
//!   this so the harness cannot rot); exits 1 if a benchmark failed;
//! - `--only sqlite,engine`: only these families; the others keep their figures of the last run
//!   (from the JSON file);
//! - `--out DIR`: write everything into DIR instead.

/// The allocator zoom-server ships with, for both sides of every comparison.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::{Path, PathBuf};

use zoom_bench::figure::Mode;
use zoom_bench::report::{self, Output};

const USAGE: &str = "usage: zoom-bench report [--quick] [--only FAMILY,...] [--out DIR]";

fn main() {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() != Some("report") {
        eprintln!("{USAGE}");
        std::process::exit(2);
    }
    let (mut mode, mut only, mut out) = (Mode::Full, None::<Vec<String>>, None::<PathBuf>);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => mode = Mode::Quick,
            "--only" => only = args.next().map(|v| v.split(',').map(str::to_owned).collect()),
            "--out" => out = args.next().map(PathBuf::from),
            _ => {
                eprintln!("unknown argument {arg:?}\n{USAGE}");
                std::process::exit(2);
            }
        }
    }
    let all = zoom_bench::benchmarks();
    if let Some(only) = &only
        && let Some(unknown) = only.iter().find(|f| !all.iter().any(|b| b.family == f.as_str()))
    {
        let known: Vec<&str> = all.iter().map(|b| b.family).collect();
        eprintln!("unknown family {unknown:?}; known: {}", known.join(", "));
        std::process::exit(2);
    }
    let chosen: Vec<_> = all
        .into_iter()
        .filter(|b| only.as_ref().is_none_or(|o| o.iter().any(|f| f == b.family)))
        .collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = match (out, mode) {
        (Some(dir), _) => Output::dir(&dir),
        (None, Mode::Quick) => Output::dir(&root.join("target/zoom-bench-report")),
        (None, Mode::Full) => Output::docs(&root),
    };
    let mut results = report::run(&chosen, mode);
    // A partial run (`--only`) keeps the other families' figures from the last run, so the
    // page still shows every family.
    if only.is_some()
        && let Ok(text) = std::fs::read_to_string(&output.json)
        && let Ok(last) = serde_json::from_str::<report::Results>(&text)
    {
        results.merge_previous(last);
    }
    let every = zoom_bench::benchmarks();
    if let Err(e) = report::write(&every, &results, &output) {
        eprintln!("cannot write the report: {e}");
        std::process::exit(1);
    }
    eprintln!("wrote {}, {}", output.json.display(), output.markdown.display());
    if !results.failed.is_empty() {
        std::process::exit(1);
    }
}
