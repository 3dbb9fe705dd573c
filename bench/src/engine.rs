//! The engine on the memory store against cqrs-es 0.5 and its `MemStore`, a command's cost in
//! long meetings, and the memory a live meeting takes (issue 9).
//!
//! - Meetings: each meeting is a schedule, 10 joins (the host first; on the engine a `Redeem`
//!   at the seam with already-verified claims, waiting room off, muting off), then 10 leaves,
//!   the last of which ends the meeting: 21 commands. 10,000 meetings, one task, commands per
//!   second; the median of 3 rounds, alternating the engine and cqrs-es. The cqrs-es side is an
//!   equivalent `Meeting` aggregate written here: the same checks, the same events.
//! - Long meetings: one meeting, `n` joins then `n` leaves (n = 1,000 and 10,000), each command
//!   timed; the figure is the mean cost of the last 100 commands over the first 100.
//! - Memory: 50,000 live meetings of 10 joined participants each in one engine, the process's
//!   resident memory before and after, per meeting.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zoom_core::clock::{SeededEntropy, SystemClock, SystemEntropy};
use zoom_core::engine::{Engine, EngineConfig};
use zoom_core::files::FileUrlSigner;
use zoom_core::id::{MeetingId, Name, ParticipantId, TokenId};
use zoom_core::meeting::{MeetingCommand, MeetingSettings, ScheduleMeeting};
use zoom_core::principal::{Principal, Scope};
use zoom_core::store::Store;
use zoom_core::token::JoinClaims;
use zoom_store_memory::MemoryStore;

/// One measured figure, with its peer and their ratio when it has one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    /// The family (`engine`).
    pub family: &'static str,
    /// What was measured.
    pub name: String,
    /// The value.
    pub value: f64,
    /// Its unit.
    pub unit: &'static str,
    /// The peer's value, when compared with one.
    pub peer: Option<f64>,
    /// value / peer (or the figure's own ratio), when there is one.
    pub ratio: Option<f64>,
    /// The target, as text.
    pub target: &'static str,
}

/// The memory budget of one live meeting of 10 participants.
const BUDGET_KIB: f64 = 16.0;

/// The engine family of the report (`zoom-bench report`).
pub const BENCH: crate::figure::Benchmark = crate::figure::Benchmark {
    family: "engine",
    title: "Engine (memory store) against cqrs-es",
    about: "The meeting workload on the engine and on cqrs-es 0.5 with its `MemStore` and an \
equivalent aggregate written for the benchmark: each meeting is scheduled, joined by 10 (the host \
first; on the engine a redeem at the seam with verified claims), then left by the 10, the last \
leave ending it; one task, median of 3 alternating rounds. Long meetings: one meeting, 1,000 and \
then 10,000 joins followed by as many leaves, the mean cost of the last 100 commands against the \
first 100. Memory: resident memory per LIVE meeting of 10 participants, 50,000 of them in one \
process, against a 16 KiB budget.",
    command: "cargo run --release -p zoom-bench --bin engine-bench > /dev/null",
    run: harness_run,
};

fn harness_run(mode: crate::figure::Mode) -> Vec<crate::figure::Figure> {
    run(mode.pick(true, false))
        .into_iter()
        .map(|f| {
            let peer = if f.unit == "commands/s" {
                "cqrs-es 0.5 MemStore"
            } else if f.unit == "KiB" {
                "budget"
            } else {
                "the first 100 commands"
            };
            let figure = crate::figure::Figure::new(f.family, f.name, f.value, f.unit);
            let figure = match f.peer {
                Some(p) => figure.peer(peer, p),
                None => figure,
            };
            match f.unit {
                "commands/s" => figure.at_least(2.0),
                "KiB" => figure.at_most(1.0),
                _ => figure.at_most(1.5),
            }
        })
        .collect()
}

/// Runs every engine benchmark: `quick` shrinks them to a smoke run (CI, no thresholds).
pub fn run(quick: bool) -> Vec<Figure> {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("engine benchmark: no tokio runtime: {e}");
            return Vec::new();
        }
    };
    runtime.block_on(async {
        let mut figures = Vec::new();
        figures.extend(meetings(if quick { 300 } else { 10_000 }, if quick { 1 } else { 3 }).await);
        if std::env::var_os("ZOOM_BENCH_SIDE").is_some() {
            return figures;
        }
        let sizes: &[usize] = if quick { &[200] } else { &[1_000, 10_000] };
        for &n in sizes {
            figures.push(long_meeting(n).await);
        }
        figures.push(memory(if quick { 2_000 } else { 50_000 }).await);
        figures
    })
}

fn app() -> Principal {
    Principal::app(name("acme"), name("app_bench"), Scope::ALL)
}

fn name(s: &str) -> Name {
    Name::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

/// The engine as a single-process deployment runs it on the memory store.
async fn engine() -> Engine {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let config = EngineConfig {
        exclusive: true,
        ..EngineConfig::new(FileUrlSigner::new(
            "https://files.invalid/recordings",
            b"engine benchmark file-url key".to_vec(),
        ))
    };
    match Engine::open(store, Arc::new(SystemClock), Arc::new(SystemEntropy), config).await {
        Ok(e) => e,
        Err(e) => panic!("engine opens on a memory store: {e}"),
    }
}

fn schedule() -> MeetingCommand {
    MeetingCommand::Schedule(ScheduleMeeting {
        topic: "Weekly sync".into(),
        start_time: "2030-01-01T09:00:00Z".into(),
        duration_minutes: 30,
        timezone: None,
        passcode: None,
        waiting_room: Some(false),
        settings: Some(MeetingSettings {
            mute_upon_entry: false,
            ..MeetingSettings::default()
        }),
        host_id: Some("alice".into()),
    })
}

/// The ids of participant `i` of meeting `m`: distinct for every pair, made without entropy on
/// both sides so neither pays for randomness the other does not.
fn ids(m: u64, i: u64) -> (String, String) {
    let mut raw = [0u8; 16];
    raw[..8].copy_from_slice(&m.to_le_bytes());
    raw[8..].copy_from_slice(&i.to_le_bytes());
    (
        ParticipantId::from_entropy(raw).as_str().to_owned(),
        TokenId::from_entropy(raw).as_str().to_owned(),
    )
}

fn claims(meeting: &MeetingId, m: u64, i: u64, n: u64) -> JoinClaims {
    let (pid, jti) = ids(m, i);
    let (sub, role) = if i == 0 {
        ("alice".to_owned(), "host")
    } else {
        (format!("user{}", i % n.max(1)), "attendee")
    };
    JoinClaims {
        iss: "http://127.0.0.1:8080".into(),
        aud: "sfu".into(),
        name: sub.clone(),
        sub,
        iat: 0,
        nbf: 0,
        exp: i64::MAX,
        jti,
        mid: meeting.as_str().to_owned(),
        pid,
        role: role.into(),
    }
}

async fn engine_meeting(engine: &Engine, principal: &Principal, m: u64, joins: u64) -> u64 {
    let meeting = match engine.execute(principal, None, schedule(), None).await {
        Ok(meeting) => meeting.id.clone(),
        Err(e) => panic!("schedule: {e}"),
    };
    let mut pids = Vec::with_capacity(joins as usize);
    for i in 0..joins {
        match engine.redeem_claims(principal, claims(&meeting, m, i, joins)).await {
            Ok((_, pid)) => pids.push(pid),
            Err(e) => panic!("join {i}: {e}"),
        }
    }
    for pid in pids {
        if let Err(e) = engine
            .execute(
                principal,
                Some(&meeting),
                MeetingCommand::Leave { participant_id: pid },
                None,
            )
            .await
        {
            panic!("leave: {e}");
        }
    }
    1 + 2 * joins
}

async fn cqrs_meeting(
    cqrs: &cqrs_es::CqrsFramework<CqrsMeeting, cqrs_es::mem_store::MemStore<CqrsMeeting>>,
    m: u64,
    joins: u64,
) -> u64 {
    let id = MeetingId::from_entropy({
        let mut raw = [0u8; 16];
        raw[..8].copy_from_slice(&m.to_le_bytes());
        raw
    });
    let run = |c| async { cqrs.execute(id.as_str(), c).await };
    if let Err(e) = run(CqrsCommand::Schedule {
        topic: "Weekly sync".into(),
        host_id: "alice".into(),
        start_time: "2030-01-01T09:00:00Z".into(),
        duration_minutes: 30,
    })
    .await
    {
        panic!("cqrs schedule: {e}");
    }
    let mut pids = Vec::with_capacity(joins as usize);
    for i in 0..joins {
        let (pid, jti) = ids(m, i);
        let user = if i == 0 {
            "alice".to_owned()
        } else {
            format!("user{}", i % joins.max(1))
        };
        if let Err(e) = run(CqrsCommand::Join {
            participant_id: pid.clone(),
            jti,
            display_name: user.clone(),
            user_id: user,
            host: i == 0,
        })
        .await
        {
            panic!("cqrs join: {e}");
        }
        pids.push(pid);
    }
    for pid in pids {
        if let Err(e) = run(CqrsCommand::Leave { participant_id: pid }).await {
            panic!("cqrs leave: {e}");
        }
    }
    1 + 2 * joins
}

async fn meetings(count: u64, rounds: usize) -> Vec<Figure> {
    let principal = app();
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    // `ZOOM_BENCH_SIDE=engine` or `cqrs` runs one side alone (for profiling, e.g. `perf stat`).
    let side = std::env::var("ZOOM_BENCH_SIDE").unwrap_or_default();
    for _ in 0..rounds {
        if side == "cqrs" {
            ours.push(f64::NAN);
        } else {
            let engine = engine().await;
            let start = Instant::now();
            let mut commands = 0;
            for m in 0..count {
                commands += engine_meeting(&engine, &principal, m, 10).await;
            }
            ours.push(commands as f64 / start.elapsed().as_secs_f64());
            drop(engine);
        }
        if side == "engine" {
            theirs.push(f64::NAN);
            continue;
        }
        let cqrs = cqrs_es::CqrsFramework::new(cqrs_es::mem_store::MemStore::<CqrsMeeting>::default(), vec![], ());
        let start = Instant::now();
        let mut commands = 0;
        for m in 0..count {
            commands += cqrs_meeting(&cqrs, m, 10).await;
        }
        theirs.push(commands as f64 / start.elapsed().as_secs_f64());
    }
    let (ours, theirs) = (median(&mut ours), median(&mut theirs));
    vec![Figure {
        family: "engine",
        name: format!("{count} meetings (schedule, 10 joins, 10 leaves), one task, vs cqrs-es 0.5 MemStore"),
        value: ours,
        unit: "commands/s",
        peer: Some(theirs),
        ratio: Some(ours / theirs),
        target: ">= 2",
    }]
}

async fn long_meeting(n: usize) -> Figure {
    let engine = engine().await;
    let principal = app();
    let mut costs = Vec::with_capacity(2 * n + 1);
    let start = Instant::now();
    let meeting = match engine.execute(&principal, None, schedule(), None).await {
        Ok(meeting) => meeting.id.clone(),
        Err(e) => panic!("schedule: {e}"),
    };
    costs.push(start.elapsed());
    let mut pids = Vec::with_capacity(n);
    for i in 0..n as u64 {
        let c = claims(&meeting, 0, i, n as u64);
        let start = Instant::now();
        match engine.redeem_claims(&principal, c).await {
            Ok((_, pid)) => pids.push(pid),
            Err(e) => panic!("join {i}: {e}"),
        }
        costs.push(start.elapsed());
    }
    for pid in pids {
        let command = MeetingCommand::Leave { participant_id: pid };
        let start = Instant::now();
        if let Err(e) = engine.execute(&principal, Some(&meeting), command, None).await {
            panic!("leave: {e}");
        }
        costs.push(start.elapsed());
    }
    let mean = |d: &[Duration]| d.iter().map(Duration::as_secs_f64).sum::<f64>() / d.len().max(1) as f64;
    let first = mean(&costs[..100.min(costs.len())]);
    let last = mean(&costs[costs.len().saturating_sub(100)..]);
    Figure {
        family: "engine",
        name: format!(
            "one meeting, {n} joins then {n} leaves: mean of the last 100 commands over the first 100 (first {:.1} us, last {:.1} us)",
            first * 1e6,
            last * 1e6
        ),
        value: last * 1e6,
        unit: "us",
        peer: Some(first * 1e6),
        ratio: Some(last / first),
        target: "<= 1.5",
    }
}

fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

async fn memory(count: u64) -> Figure {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let config = EngineConfig {
        exclusive: true,
        cache_capacity: count as usize + 16,
        ..EngineConfig::new(FileUrlSigner::new(
            "https://files.invalid/recordings",
            b"memory benchmark".to_vec(),
        ))
    };
    let engine = match Engine::open(store, Arc::new(SystemClock), Arc::new(SeededEntropy::new(3)), config).await {
        Ok(e) => e,
        Err(e) => panic!("engine opens: {e}"),
    };
    let principal = app();
    let before = rss_bytes().unwrap_or(0);
    for m in 0..count {
        let meeting = match engine.execute(&principal, None, schedule(), None).await {
            Ok(meeting) => meeting.id.clone(),
            Err(e) => panic!("schedule: {e}"),
        };
        for i in 0..10 {
            if let Err(e) = engine.redeem_claims(&principal, claims(&meeting, m, i, 10)).await {
                panic!("join: {e}");
            }
        }
    }
    let after = rss_bytes().unwrap_or(0);
    let per = after.saturating_sub(before) as f64 / count as f64 / 1024.0;
    Figure {
        family: "engine",
        name: format!(
            "{count} live meetings of 10 participants (log, cache, index in one process): resident memory per meeting"
        ),
        value: per,
        unit: "KiB",
        peer: Some(BUDGET_KIB),
        ratio: Some(per / BUDGET_KIB),
        target: "<= 1 (16 KiB)",
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Prints figures, one a line, on standard error: cqrs-es's `MemStore` prints a line per commit
/// on standard output, which a run sends to `/dev/null`.
pub fn print(figures: &[Figure]) {
    for f in figures {
        match (f.peer, f.ratio) {
            (Some(peer), Some(ratio)) => eprintln!(
                "{}: {:.0} vs {:.0} {} = {:.2}x (target {})",
                f.name, f.value, peer, f.unit, ratio, f.target
            ),
            _ => eprintln!("{}: {:.2} {} (target {})", f.name, f.value, f.unit, f.target),
        }
    }
}

// ---- The cqrs-es side: an equivalent meeting aggregate. ----

/// The meeting as a cqrs-es aggregate: the same rules the engine applies to this workload.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct CqrsMeeting {
    state: Lifecycle,
    host_id: String,
    topic: String,
    start_time: Option<DateTime<Utc>>,
    participants: Vec<CqrsParticipant>,
    by_id: HashMap<String, usize>,
    joined: usize,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Lifecycle {
    #[default]
    None,
    Scheduled,
    Live,
    Ended,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CqrsParticipant {
    participant_id: String,
    user_id: String,
    display_name: String,
    jti: String,
    joined: bool,
}

/// Its commands.
#[derive(Debug, Clone)]
pub enum CqrsCommand {
    /// Schedule.
    Schedule {
        /// Topic.
        topic: String,
        /// Host.
        host_id: String,
        /// RFC 3339.
        start_time: String,
        /// Minutes.
        duration_minutes: u32,
    },
    /// A verified join.
    Join {
        /// Session id.
        participant_id: String,
        /// Token id.
        jti: String,
        /// User.
        user_id: String,
        /// Name.
        display_name: String,
        /// Whether it is the host.
        host: bool,
    },
    /// A leave.
    Leave {
        /// Session id.
        participant_id: String,
    },
}

/// Its events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CqrsEvent {
    /// Scheduled.
    Scheduled {
        /// Topic.
        topic: String,
        /// Host.
        host_id: String,
        /// Start.
        start_time: DateTime<Utc>,
        /// Minutes.
        duration_minutes: u32,
        /// When.
        at: DateTime<Utc>,
    },
    /// Went live.
    Started {
        /// When.
        at: DateTime<Utc>,
    },
    /// Joined.
    Joined {
        /// Session.
        participant_id: String,
        /// User.
        user_id: String,
        /// Name.
        display_name: String,
        /// Token.
        jti: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Left.
    Left {
        /// Session.
        participant_id: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Ended.
    Ended {
        /// When.
        at: DateTime<Utc>,
    },
}

impl cqrs_es::DomainEvent for CqrsEvent {
    fn event_type(&self) -> String {
        match self {
            CqrsEvent::Scheduled { .. } => "meeting.scheduled",
            CqrsEvent::Started { .. } => "meeting.started",
            CqrsEvent::Joined { .. } => "participant.joined",
            CqrsEvent::Left { .. } => "participant.left",
            CqrsEvent::Ended { .. } => "meeting.ended",
        }
        .to_owned()
    }
    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

/// Why a cqrs-es command is refused.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CqrsError(String);

impl cqrs_es::Aggregate for CqrsMeeting {
    const TYPE: &'static str = "meeting";
    type Command = CqrsCommand;
    type Event = CqrsEvent;
    type Error = CqrsError;
    type Services = ();

    async fn handle(
        &mut self,
        command: CqrsCommand,
        _services: &(),
        sink: &cqrs_es::event_sink::EventSink<Self>,
    ) -> Result<(), CqrsError> {
        let now = Utc::now();
        match command {
            CqrsCommand::Schedule {
                topic,
                host_id,
                start_time,
                duration_minutes,
            } => {
                if self.state != Lifecycle::None {
                    return Err(CqrsError("already exists".into()));
                }
                if topic.is_empty() || topic.chars().count() > 200 {
                    return Err(CqrsError("topic".into()));
                }
                if !(1..=1440).contains(&duration_minutes) {
                    return Err(CqrsError("duration".into()));
                }
                let start_time = DateTime::parse_from_rfc3339(&start_time)
                    .map_err(|e| CqrsError(e.to_string()))?
                    .with_timezone(&Utc);
                sink.write(
                    CqrsEvent::Scheduled {
                        topic,
                        host_id,
                        start_time,
                        duration_minutes,
                        at: now,
                    },
                    self,
                )
                .await;
            }
            CqrsCommand::Join {
                participant_id,
                jti,
                user_id,
                display_name,
                host,
            } => {
                match self.state {
                    Lifecycle::None => return Err(CqrsError("not found".into())),
                    Lifecycle::Ended => return Err(CqrsError("ended".into())),
                    Lifecycle::Scheduled if !host => return Err(CqrsError("not started".into())),
                    _ => {}
                }
                if self.by_id.contains_key(&participant_id) {
                    return Err(CqrsError("token reused".into()));
                }
                if self.state == Lifecycle::Scheduled {
                    sink.write(CqrsEvent::Started { at: now }, self).await;
                }
                sink.write(
                    CqrsEvent::Joined {
                        participant_id,
                        user_id,
                        display_name,
                        jti,
                        at: now,
                    },
                    self,
                )
                .await;
            }
            CqrsCommand::Leave { participant_id } => {
                let Some(&i) = self.by_id.get(&participant_id) else {
                    return Err(CqrsError("no such participant".into()));
                };
                if !self.participants[i].joined {
                    return Ok(());
                }
                let last = self.joined == 1;
                sink.write(
                    CqrsEvent::Left {
                        participant_id,
                        at: now,
                    },
                    self,
                )
                .await;
                if last && self.state == Lifecycle::Live {
                    sink.write(CqrsEvent::Ended { at: now }, self).await;
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: CqrsEvent) {
        match event {
            CqrsEvent::Scheduled {
                topic,
                host_id,
                start_time,
                ..
            } => {
                self.state = Lifecycle::Scheduled;
                self.topic = topic;
                self.host_id = host_id;
                self.start_time = Some(start_time);
            }
            CqrsEvent::Started { .. } => self.state = Lifecycle::Live,
            CqrsEvent::Joined {
                participant_id,
                user_id,
                display_name,
                jti,
                ..
            } => {
                self.by_id.insert(participant_id.clone(), self.participants.len());
                self.participants.push(CqrsParticipant {
                    participant_id,
                    user_id,
                    display_name,
                    jti,
                    joined: true,
                });
                self.joined += 1;
            }
            CqrsEvent::Left { participant_id, .. } => {
                if let Some(&i) = self.by_id.get(&participant_id)
                    && self.participants[i].joined
                {
                    self.participants[i].joined = false;
                    self.joined -= 1;
                }
            }
            CqrsEvent::Ended { .. } => self.state = Lifecycle::Ended,
        }
    }
}
