//! The report: runs benchmarks, writes their figures as JSON, and regenerates
//! `docs/benchmarks.md` with one SVG chart per family.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::figure::{Benchmark, Figure, Mode};

/// Everything one report run measured: what `results.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// `quick` or `full`.
    pub mode: String,
    /// The CPUs this process could use.
    pub cpus: usize,
    /// The git commit measured, when git could tell.
    pub commit: Option<String>,
    /// Families whose benchmark failed (panicked), with the message; their figures are missing.
    pub failed: Vec<(String, String)>,
    /// Every figure, in the order measured.
    pub figures: Vec<Figure>,
}

impl Results {
    /// Keeps the figures (and failures) of `last` for the families this run did not measure.
    pub fn merge_previous(&mut self, last: Results) {
        let ran: std::collections::BTreeSet<String> = self
            .figures
            .iter()
            .map(|f| f.family.clone())
            .chain(self.failed.iter().map(|(f, _)| f.clone()))
            .collect();
        let when = last.started_at;
        self.figures
            .extend(last.figures.into_iter().filter(|f| !ran.contains(&f.family)).map(|f| {
                // Say so when a kept figure is not from this run.
                if f.note.as_deref().is_some_and(|n| n.contains("(run of ")) {
                    f
                } else {
                    f.note(format!("(run of {when})"))
                }
            }));
        self.failed
            .extend(last.failed.into_iter().filter(|(f, _)| !ran.contains(f)));
    }
}

/// Where a report writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The JSON file.
    pub json: PathBuf,
    /// The Markdown page.
    pub markdown: PathBuf,
    /// The folder of the SVG charts, which the page links relative to its own folder.
    pub charts: PathBuf,
}

impl Output {
    /// The checked-in places, under the workspace root `root`: `bench/results.json`,
    /// `docs/benchmarks.md`, `docs/benchmarks/<family>.svg`.
    pub fn docs(root: &Path) -> Self {
        Self {
            json: root.join("bench/results.json"),
            markdown: root.join("docs/benchmarks.md"),
            charts: root.join("docs/benchmarks"),
        }
    }

    /// Everything inside `dir` (quick runs write to `target/zoom-bench-report`, so they never
    /// overwrite the checked-in figures).
    pub fn dir(dir: &Path) -> Self {
        Self {
            json: dir.join("results.json"),
            markdown: dir.join("benchmarks.md"),
            charts: dir.join("benchmarks"),
        }
    }
}

/// Runs each benchmark (a panicking one is recorded in [`Results::failed`] and the others go
/// on), printing each family's table as it finishes.
pub fn run(benchmarks: &[Benchmark], mode: Mode) -> Results {
    // A child process of the streams benchmark measures its part and exits here.
    crate::streams::child_if_asked();
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut results = Results {
        started_at,
        mode: mode.pick("quick", "full").into(),
        cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        commit: git_commit(),
        failed: vec![],
        figures: vec![],
    };
    for b in benchmarks {
        eprintln!("== {} ({})", b.title, b.family);
        let started = std::time::Instant::now();
        match std::panic::catch_unwind(|| (b.run)(mode)) {
            Ok(mut figures) => {
                for f in &mut figures {
                    f.family = b.family.to_owned();
                }
                print!("{}", table(&figures, mode));
                eprintln!("   {:.1} s", started.elapsed().as_secs_f64());
                results.figures.extend(figures);
            }
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "panicked".into());
                eprintln!("   FAILED: {message}");
                results.failed.push((b.family.to_owned(), message));
            }
        }
    }
    results
}

fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Writes the JSON, the charts and the page.
///
/// # Errors
/// Any file that cannot be written, or a chart that cannot be drawn.
pub fn write(benchmarks: &[Benchmark], results: &Results, out: &Output) -> Result<(), String> {
    let io = |p: &Path| {
        let p = p.display().to_string();
        move |e: std::io::Error| format!("{p}: {e}")
    };
    for p in [&out.json, &out.markdown] {
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
    }
    std::fs::create_dir_all(&out.charts).map_err(io(&out.charts))?;
    let json = serde_json::to_string_pretty(results).map_err(|e| e.to_string())?;
    std::fs::write(&out.json, json + "\n").map_err(io(&out.json))?;
    let charts_rel = relative(&out.charts, out.markdown.parent().unwrap_or(Path::new(".")));
    let mut page = header(results);
    for b in benchmarks {
        let figures: Vec<&Figure> = results.figures.iter().filter(|f| f.family == b.family).collect();
        let failed = results.failed.iter().find(|(f, _)| f == b.family);
        let _ = write!(
            page,
            "\n## {}\n\n{}\n\nRun alone: `{}`\n\n",
            b.title,
            b.about.trim(),
            b.command
        );
        if figures.is_empty() && failed.is_none() {
            let _ = writeln!(page, "Not measured yet.");
            continue;
        }
        if let Some((_, why)) = failed {
            let _ = writeln!(page, "**Not measured in this run: the benchmark failed: {why}**");
            continue;
        }
        if figures.iter().any(|f| f.ratio.is_some()) {
            let file = out.charts.join(format!("{}.svg", b.family));
            crate::chart::draw(&file, b.title, &figures)?;
            let _ = writeln!(page, "![{} ratios]({charts_rel}/{}.svg)\n", b.title, b.family);
        }
        let owned: Vec<Figure> = figures.into_iter().cloned().collect();
        page.push_str(&table(&owned, Mode::Full));
    }
    std::fs::write(&out.markdown, page).map_err(io(&out.markdown))?;
    Ok(())
}

fn relative(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.display().to_string())
}

fn header(r: &Results) -> String {
    format!(
        "# Benchmarks\n\n\
<!-- Generated by `cargo run --release -p zoom-bench -- report`: edit the benchmarks in bench/src/ \
(their descriptions included), not this file. -->\n\n\
Every figure stands beside its peer (another library, the physical floor of raw SQLite or a \
minimal handler, or a budget) measured on the same machine in the same run, and their ratio. \
Targets are the ones of the issues; none is a test, and a missed one is marked **missed**. This \
machine is shared and noisy: figures move by ±30 % between runs. Every benchmark runs with \
mimalloc, the allocator zoom-server ships with ([decision](decisions/mimalloc.md)), on both \
sides of each comparison.\n\n\
This run: {} ({} mode), {} CPU{}, commit {}. The figures as JSON: `bench/results.json`.\n\n\
`cargo run --release -p zoom-bench -- report` reruns every benchmark and rewrites this page; \
`-- report --quick` runs them all at tiny sizes into `target/zoom-bench-report/` (CI does, so \
the harness cannot rot); `--only sqlite,engine` runs some families.\n",
        r.started_at,
        r.mode,
        r.cpus,
        if r.cpus == 1 { "" } else { "s" },
        r.commit.as_deref().unwrap_or("unknown"),
    )
}

/// A number with thousands separators and sensible precision.
fn number(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    if v.abs() >= 1000.0 {
        let s = format!("{:.0}", v.abs());
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        if v < 0.0 { format!("-{out}") } else { out }
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

/// The Markdown table of `figures`: figure, value, peer, ratio, target, note.
pub fn table(figures: &[Figure], mode: Mode) -> String {
    let mut t = String::from("| figure | value | peer | ratio | target | note |\n|---|---|---|---|---|---|\n");
    for f in figures {
        let value = match f.value {
            Some(v) => format!("{} {}", number(v), f.unit),
            None => "skipped".into(),
        };
        let peer = f
            .peer
            .as_ref()
            .map(|p| format!("{}: {} {}", p.name, number(p.value), f.unit))
            .unwrap_or_default();
        let ratio = f.ratio.map(|r| format!("**{r:.2}**")).unwrap_or_default();
        let target = match (f.target, f.met(), mode) {
            (Some(t), Some(false), Mode::Full) => format!("{} **missed**", t.label()),
            (Some(t), _, _) => t.label(),
            (None, _, _) => String::new(),
        };
        let note = f.note.clone().unwrap_or_default().replace('|', "\\|");
        let _ = writeln!(
            t,
            "| {} | {value} | {peer} | {ratio} | {target} | {note} |",
            f.name.replace('|', "\\|")
        );
    }
    t
}

/// The thin `cargo bench --bench X` entry point: runs one benchmark and prints its table.
/// `cargo test --benches` runs bench binaries without `--bench`; that run is quick.
pub fn bench_main(b: &Benchmark) {
    let mode = if std::env::args().any(|a| a == "--bench") {
        Mode::Full
    } else {
        Mode::Quick
    };
    let results = run(std::slice::from_ref(b), mode);
    if !results.failed.is_empty() {
        std::process::exit(1);
    }
}
