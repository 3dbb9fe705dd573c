//! What a benchmark measures: [`Figure`]s, each beside its peer and their ratio, and the
//! [`Benchmark`] entries the report runs.

use serde::{Deserialize, Serialize};

/// How long a benchmark may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Tiny sizes, one round: the harness runs end to end in seconds (CI runs it so it cannot
    /// rot). The figures mean nothing and no target is judged.
    Quick,
    /// The sizes and rounds the figures in `docs/benchmarks.md` come from.
    Full,
}

impl Mode {
    /// `quick` in quick mode, else `full`.
    pub fn pick<T>(self, quick: T, full: T) -> T {
        match self {
            Mode::Quick => quick,
            Mode::Full => full,
        }
    }
}

/// What a figure is compared with: a peer library, a physical floor (raw SQLite, a plain HTTP
/// handler) or a budget, measured in the same run and in the same unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Peer {
    /// What the peer is, for a person: `raw rusqlite one-row commits`.
    pub name: String,
    /// Its value, in the figure's unit.
    pub value: f64,
}

/// A target on a figure's ratio (`value / peer.value`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The ratio must be at least this (throughput against a floor).
    AtLeast(f64),
    /// The ratio must be at most this (a latency against a budget, a cost growth).
    AtMost(f64),
}

impl Target {
    /// Whether `ratio` meets the target.
    pub fn met(self, ratio: f64) -> bool {
        match self {
            Target::AtLeast(t) => ratio >= t,
            Target::AtMost(t) => ratio <= t,
        }
    }

    /// `≥ 0.25`, `≤ 1.5`.
    pub fn label(self) -> String {
        match self {
            Target::AtLeast(t) => format!("≥ {t}"),
            Target::AtMost(t) => format!("≤ {t}"),
        }
    }
}

/// One measured figure. Build it with [`Figure::new`] (or [`Figure::skipped`] when it could not
/// be measured) and the builder methods:
///
/// ```
/// use zoom_bench::figure::Figure;
/// let f = Figure::new("sqlite", "one caller, sequential commands", 20_000.0, "commands/s")
///     .peer("raw rusqlite one-row commits", 60_000.0)
///     .at_least(0.25)
///     .note("synchronous = NORMAL");
/// assert_eq!(f.ratio.map(|r| (r * 100.0).round()), Some(33.0));
/// assert_eq!(f.met(), Some(true));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// The family it belongs to (one chart and one section of `docs/benchmarks.md`): the
    /// [`Benchmark::family`] that measured it.
    pub family: String,
    /// What was measured, for a person; unique within the family.
    pub name: String,
    /// The measured value in `unit`; `None` when it was skipped (`note` says why).
    pub value: Option<f64>,
    /// The unit of `value` and of the peer's value: `commands/s`, `ms`, `req/s`.
    pub unit: String,
    /// What it is compared with, if anything.
    pub peer: Option<Peer>,
    /// `value / peer.value`, when both are there and the peer's is not zero.
    pub ratio: Option<f64>,
    /// The target on the ratio, if the issues set one. Never judged in quick mode.
    pub target: Option<Target>,
    /// What a reader needs to read it: group sizes, rounds, why it was skipped.
    pub note: Option<String>,
}

impl Figure {
    /// A measured figure with no peer yet.
    pub fn new(family: &str, name: impl Into<String>, value: f64, unit: &str) -> Self {
        Self {
            family: family.to_owned(),
            name: name.into(),
            value: Some(value),
            unit: unit.to_owned(),
            peer: None,
            ratio: None,
            target: None,
            note: None,
        }
    }

    /// A figure that could not be measured (a tool is missing); `why` is shown in its place.
    pub fn skipped(family: &str, name: impl Into<String>, unit: &str, why: impl Into<String>) -> Self {
        Self {
            value: None,
            note: Some(why.into()),
            ..Self::new(family, name, 0.0, unit)
        }
    }

    /// Compares it with `name`, measured at `value` in the same unit; sets the ratio.
    pub fn peer(mut self, name: impl Into<String>, value: f64) -> Self {
        self.ratio = match self.value {
            Some(v) if value != 0.0 && value.is_finite() => Some(v / value),
            _ => None,
        };
        self.peer = Some(Peer {
            name: name.into(),
            value,
        });
        self
    }

    /// The ratio must be at least `t`.
    pub fn at_least(mut self, t: f64) -> Self {
        self.target = Some(Target::AtLeast(t));
        self
    }

    /// The ratio must be at most `t`.
    pub fn at_most(mut self, t: f64) -> Self {
        self.target = Some(Target::AtMost(t));
        self
    }

    /// Adds a note (appended to an existing one).
    pub fn note(mut self, note: impl Into<String>) -> Self {
        let note = note.into();
        self.note = Some(match self.note.take() {
            Some(old) => format!("{old}; {note}"),
            None => note,
        });
        self
    }

    /// Whether the ratio meets the target; `None` without a target or a ratio.
    pub fn met(&self) -> Option<bool> {
        Some(self.target?.met(self.ratio?))
    }
}

/// One benchmark the report runs: a family of figures with its description.
#[derive(Debug, Clone, Copy)]
pub struct Benchmark {
    /// The family name, a short identifier (`sqlite`, `engine`, `webhooks`): the chart's file
    /// name and the `family` of every figure it returns.
    pub family: &'static str,
    /// The section title in `docs/benchmarks.md`.
    pub title: &'static str,
    /// What it measures and against what, in Markdown (a paragraph or a list).
    pub about: &'static str,
    /// The command that runs it alone.
    pub command: &'static str,
    /// Runs it. Panics only on a broken environment (no temporary directory, a store that
    /// fails); the report records such a panic as a skipped family and goes on.
    pub run: fn(Mode) -> Vec<Figure>,
}
