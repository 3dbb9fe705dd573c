//! The OAuth 2 authorization server (issue 11): the token and introspection endpoints open loop
//! at a fixed rate, each beside a minimal axum handler measured in the same run and beside the
//! issue's budget (p99 under 5 ms), and the cost of one login.
//!
//! zoom-server runs in this process with its production wiring (SQLite store in a temporary
//! directory, the directory of accounts, users, apps and grants, EdDSA access tokens, the accept
//! loop of `zoom_server::serve` with the default connection limits; rate limits off), on a
//! runtime of its own with two workers. The peer is a minimal axum handler on the same accept
//! loop that reads the same form body (`axum::Form`) and answers with a JSON body of the same
//! size (a real answer of the endpoint, captured in setup, serialised again every time), with no
//! crypto and no store.
//!
//! The client: one `reqwest::Client` (keep-alive connections) on a runtime of its own. Sends
//! follow a fixed schedule, open loop: request `i` is due at `start + i / rate`; a thread sleeps
//! until that instant and starts it, whether or not earlier ones have answered, and its latency
//! counts from that instant to the end of its answer's body, so a stall is not hidden by
//! coordinated omission. Every round of the server is followed by one of the peer; each figure
//! is the median of the rounds' p99. Beside it, the CPU time of the server's threads per request
//! over the rounds (their `schedstat`), which other work on a shared machine moves less (its caches and cores still count).
//!
//! - `POST /oauth/token`, `grant_type=client_credentials`, HTTP Basic (a server app);
//! - `POST /oauth/token`, `grant_type=refresh_token` (a confidential user app): setup runs the
//!   authorization-code flow for `CHAINS` users (the consent through
//!   `zoom_auth::Directory::authorize`, which is what the consent page calls, and the code
//!   exchange with PKCE over HTTP), one refresh-token family each. Request `i` uses chain
//!   `i mod CHAINS`, with the refresh token the previous answer of that chain returned (every
//!   refresh rotates it); a request whose chain still waits for its previous answer waits too,
//!   and that wait counts in its latency;
//! - `POST /oauth/introspect` of an access token (the server app's, asked by itself);
//! - one login: `zoom_auth::password::verify` of a hash made with the defaults of
//!   `PasswordParams` (Argon2id), and `Login::login` of the server's directory (the email's
//!   lookup and the same hash); the median of several runs. Logins are slow on purpose and are
//!   excluded from the budget.
//!
//! Run: `cargo bench -p zoom-bench --bench oauth` (`OAUTH_BENCH_RATE`, `OAUTH_BENCH_SECS`,
//! `OAUTH_BENCH_ROUNDS`, `OAUTH_BENCH_CHAINS` change the defaults 500, 4, 5, 64).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clap::Parser;
use serde_json::Value;
use tokio::runtime::Runtime;
use zoom_auth::app::AppKind;
use zoom_auth::password::{self, PasswordParams};
use zoom_auth::user::Role;
use zoom_auth::{AppInput, AuthorizeRequest, Directory, Login, UserInput, UserRef};
use zoom_core::clock::SystemEntropy;
use zoom_core::id::{Name, UserId};
use zoom_core::principal::Scope;
use zoom_server::Server;
use zoom_server::config::{Args, Bootstrap};

use crate::figure::{Benchmark, Figure, Mode};

const FAMILY: &str = "oauth";

/// The budget for every endpoint's p99.
const P99_BUDGET_MS: f64 = 5.0;
/// The user app's only redirect URI.
const REDIRECT_URI: &str = "https://bench.invalid/callback";
/// The bootstrap (server) app.
const SERVER_APP: (&str, &str) = ("bench", "bench-secret");
/// The password of the user who logs in.
const PASSWORD: &str = "correct horse battery staple";
/// Requests sent to each side before the rounds, so the connection pool is open.
const WARM_UP: u64 = 200;
/// How long the last answers of a round may take before it is given up (they count as failed).
const DRAIN: Duration = Duration::from_secs(10);

/// The token and introspection endpoints against a minimal axum handler.
pub const BENCH: Benchmark = Benchmark {
    family: FAMILY,
    title: "OAuth 2 token and introspection endpoints",
    about: "zoom-server in this process with its production wiring (SQLite store, the directory of \
accounts, users, apps and grants, EdDSA access tokens, its own accept loop; rate limits off) on \
127.0.0.1, its client (one reqwest client, keep-alive connections) on a runtime of its own. Each \
endpoint is driven open loop at 500 requests/s on a fixed schedule, each latency counted from the \
request's scheduled instant to the end of its answer (no coordinated omission), 5 rounds of 4 s, \
each server round followed by one of the peer: a minimal axum handler on the same accept loop \
that reads the same form body and answers a JSON body of the same size (no crypto, no store). \
The figures are the medians of the rounds' p99, beside the peer and beside the budget of issue 11 \
(p99 under 5 ms):

- `POST /oauth/token`, `grant_type=client_credentials`, HTTP Basic;
- `POST /oauth/token`, `grant_type=refresh_token`: 64 refresh-token families made in setup by \
the authorization-code flow with PKCE (one user each); request `i` uses family `i mod 64` with \
the token the previous answer of that family returned (every refresh rotates it), waiting for \
that answer if need be (the wait counts);
- `POST /oauth/introspect` of an access token.

Beside each tail, the CPU time the server's threads (its runtime's workers and the SQLite \
store's) spent per request over the rounds, from `/proc/self/task/*/schedstat`, against the \
peer's: on a shared machine the tail mostly measures the other work, this moves less (by tens of percent between runs).

A login is excluded from the budget (Argon2id is slow on purpose): its cost is the median of 15 \
hashes with the defaults of `zoom_auth::password::PasswordParams` (Argon2id, m = 19456 KiB, \
t = 2, p = 1, a 32-byte tag), alone and through the directory's `Login::login`.",
    command: "cargo bench -p zoom-bench --bench oauth",
    run,
};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// What one open-loop round measured.
#[derive(Debug, Clone)]
struct Round {
    /// The latencies of the requests that succeeded, sorted.
    latencies: Vec<Duration>,
    /// Requests that failed (an error, a non-2xx answer, an unexpected body, no answer in time).
    failed: usize,
    /// How late the sending thread started a request at worst, after its scheduled instant.
    worst_send_lag: Duration,
    /// The CPU time the server's threads (its runtime's and the SQLite store's) used during the
    /// round, in nanoseconds.
    server_cpu_ns: u64,
}

impl Round {
    fn p(&self, p: f64) -> f64 {
        ms(percentile(&self.latencies, p))
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Sends `rate` requests/s for `secs` seconds on a fixed schedule, open loop: `make(i)` is
/// started on `client` at `start + i / rate` by this thread, which sleeps in between (a thread's
/// sleep is precise to tens of microseconds, a tokio timer only to the millisecond). Each
/// latency counts from the scheduled instant; the future answers whether the request succeeded.
fn open_loop<F, Fut>(client: &Runtime, rate: u64, secs: u64, make: F) -> Round
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = bool> + Send + 'static,
{
    let total = rate * secs;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let start = Instant::now() + Duration::from_millis(20);
    let mut tasks = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    let mut worst_send_lag = Duration::ZERO;
    let cpu_before = server_cpu_ns();
    for i in 0..total {
        let at = start + interval.mul_f64(i as f64);
        let now = Instant::now();
        if at > now {
            std::thread::sleep(at - now);
        }
        worst_send_lag = worst_send_lag.max(at.elapsed());
        let request = {
            let _inside = client.enter();
            make(i)
        };
        tasks.push(client.spawn(async move {
            let ok = request.await;
            (at.elapsed(), ok)
        }));
    }
    let deadline = tokio::time::Instant::now() + DRAIN;
    let mut round = client.block_on(async move {
        let mut latencies = Vec::with_capacity(tasks.len());
        let mut failed = 0;
        for task in tasks {
            match tokio::time::timeout_at(deadline, task).await {
                Ok(Ok((latency, true))) => latencies.push(latency),
                _ => failed += 1,
            }
        }
        latencies.sort();
        Round {
            latencies,
            failed,
            worst_send_lag,
            server_cpu_ns: 0,
        }
    });
    round.server_cpu_ns = server_cpu_ns().saturating_sub(cpu_before);
    round
}

/// The CPU time used so far by this process's server threads: the runtime's workers
/// (`oauth-server`) and the SQLite store's (`zoom-sqlite-…`), in nanoseconds, from the first
/// field of each thread's `/proc/self/task/*/schedstat`; 0 where it cannot be read.
fn server_cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| c.starts_with("oauth-server") || c.starts_with("zoom-sqlite"))
        })
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()))
        .sum()
}

/// The two servers and what the requests need.
struct Setup {
    /// zoom-server's base URL.
    zoom: String,
    /// The minimal handler's base URL.
    peer: String,
    /// The user app's credentials.
    user_app: (String, String),
    /// One refresh token per chain, each of another user's grant.
    refresh_tokens: Vec<String>,
    /// An access token of the server app, for introspection.
    access_token: String,
    /// The directory, for the login.
    directory: Directory,
    /// The email of the user with a password.
    login_email: String,
}

/// Real answers of the endpoints, which the peer sends back (serialised again each time).
#[derive(Debug, Clone)]
struct Answers {
    client_credentials: Value,
    refresh: Value,
    introspection: Value,
}

fn run(mode: Mode) -> Vec<Figure> {
    let rate = env_or("OAUTH_BENCH_RATE", mode.pick(100, 500)).max(1);
    let secs = env_or("OAUTH_BENCH_SECS", mode.pick(1, 4)).max(1);
    let rounds = env_or("OAUTH_BENCH_ROUNDS", mode.pick(1, 5)).max(1);
    let chains = usize::try_from(env_or("OAUTH_BENCH_CHAINS", mode.pick(8, 64)))
        .unwrap_or(64)
        .max(1);
    let login_runs = mode.pick(2, 15);
    let warm_up = mode.pick(20, WARM_UP);
    let dir = tempfile::tempdir().expect("a temporary directory");

    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("oauth-server")
        .enable_all()
        .build()
        .expect("a runtime");
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("oauth-client")
        .enable_all()
        .build()
        .expect("a runtime");
    let http = reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(50))
        .build()
        .expect("an HTTP client");

    // The server lives until the end of this function (its routers hold what they need).
    let (mut setup, _server) = server_rt.block_on(start(&dir.path().join("oauth.db")));
    let answers = client_rt.block_on(prepare(&http, &mut setup, chains));
    setup.peer = server_rt.block_on(start_peer(answers.clone()));

    let mut figures = Vec::new();
    let measure = |name: &str, what: &Senders<'_>| -> Vec<Figure> {
        // Warm-up, both sides: the connection pool and the server's caches.
        for base in [&setup.zoom, &setup.peer] {
            let make = what(base, base == &setup.peer);
            let warm = open_loop(&client_rt, rate, warm_up.div_ceil(rate).max(1), &*make);
            assert!(
                warm.failed == 0,
                "{name}: {} of the warm-up requests to {base} failed",
                warm.failed
            );
        }
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for _ in 0..rounds {
            let make = what(&setup.zoom, false);
            ours.push(open_loop(&client_rt, rate, secs, &*make));
            let make = what(&setup.peer, true);
            theirs.push(open_loop(&client_rt, rate, secs, &*make));
        }
        report(name, rate, secs, &ours, &theirs)
    };

    // 1. Client credentials.
    let cc = |base: &str, _peer: bool| -> Sender {
        let (http, url) = (http.clone(), format!("{base}/oauth/token"));
        Box::new(move |_| -> Request {
            let send = http
                .post(&url)
                .basic_auth(SERVER_APP.0, Some(SERVER_APP.1))
                .form(&[("grant_type", "client_credentials")])
                .send();
            Box::pin(async move { answered(send.await, "access_token").await.is_some() })
        })
    };
    figures.extend(measure("POST /oauth/token, client_credentials", &cc));

    // 2. Refresh: the chains of the server carry on from round to round; the peer's have their
    //    own (its answer's token is not one of the server's).
    let ours = Arc::new(
        setup
            .refresh_tokens
            .iter()
            .cloned()
            .map(tokio::sync::Mutex::new)
            .collect::<Vec<_>>(),
    );
    let theirs = Arc::new(
        setup
            .refresh_tokens
            .iter()
            .map(|_| tokio::sync::Mutex::new(String::new()))
            .collect::<Vec<_>>(),
    );
    let refresh = |base: &str, peer: bool| -> Sender {
        let (http, url) = (http.clone(), format!("{base}/oauth/token"));
        let chains = if peer { theirs.clone() } else { ours.clone() };
        let (id, secret) = setup.user_app.clone();
        Box::new(move |i| -> Request {
            let (http, url, chains, id, secret) =
                (http.clone(), url.clone(), chains.clone(), id.clone(), secret.clone());
            Box::pin(async move {
                let n = usize::try_from(i).unwrap_or(0) % chains.len();
                let mut token = chains[n].lock().await;
                let send = http
                    .post(&url)
                    .basic_auth(&id, Some(&secret))
                    .form(&[("grant_type", "refresh_token"), ("refresh_token", token.as_str())])
                    .send();
                match answered(send.await, "refresh_token").await {
                    Some(answer) => {
                        if let Some(next) = answer["refresh_token"].as_str() {
                            next.clone_into(&mut *token);
                        }
                        true
                    }
                    None => false,
                }
            })
        })
    };
    figures.extend(measure("POST /oauth/token, refresh_token", &refresh));

    // 3. Introspection of an access token.
    let introspect = |base: &str, _peer: bool| -> Sender {
        let (http, url) = (http.clone(), format!("{base}/oauth/introspect"));
        let token = setup.access_token.clone();
        Box::new(move |_| -> Request {
            let send = http
                .post(&url)
                .basic_auth(SERVER_APP.0, Some(SERVER_APP.1))
                .form(&[("token", token.as_str())])
                .send();
            Box::pin(async move {
                answered(send.await, "active")
                    .await
                    .is_some_and(|a| a["active"] == Value::Bool(true))
            })
        })
    };
    figures.extend(measure("POST /oauth/introspect of an access token", &introspect));
    drop(client_rt);

    // 4. One login, with nothing else running.
    figures.extend(server_rt.block_on(login_cost(&setup.directory, &setup.login_email, login_runs)));
    drop(server_rt);
    figures
}

/// One request of the open loop: whether it succeeded.
type Request = std::pin::Pin<Box<dyn Future<Output = bool> + Send>>;
/// What starts request `i` of an open loop.
type Sender = Box<dyn Fn(u64) -> Request>;
/// The [`Sender`] of the requests to a base URL; `true` for the peer's.
type Senders<'a> = dyn Fn(&str, bool) -> Sender + 'a;

/// The answer's JSON when the request got a 2xx answer whose body is an object holding `key`.
async fn answered(sent: reqwest::Result<reqwest::Response>, key: &str) -> Option<Value> {
    let response = sent.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let body = response.bytes().await.ok()?;
    let value: Value = serde_json::from_slice(&body).ok()?;
    value.get(key).is_some().then_some(value)
}

/// The figures of one endpoint: beside the peer, and beside the budget.
fn report(name: &str, rate: u64, secs: u64, ours: &[Round], theirs: &[Round]) -> Vec<Figure> {
    let p99s = |rounds: &[Round]| rounds.iter().map(|r| r.p(0.99)).collect::<Vec<_>>();
    let (our_p99s, their_p99s) = (p99s(ours), p99s(theirs));
    let (p99, peer_p99) = (median(&our_p99s), median(&their_p99s));
    let describe = |rounds: &[Round], p99s: &[f64]| {
        let n: usize = rounds.iter().map(|r| r.latencies.len()).sum();
        let failed: usize = rounds.iter().map(|r| r.failed).sum();
        let p50 = median(&rounds.iter().map(|r| r.p(0.5)).collect::<Vec<_>>());
        let max = rounds.iter().map(|r| r.p(1.0)).fold(0.0, f64::max);
        let lag = rounds.iter().map(|r| r.worst_send_lag).max().unwrap_or_default();
        let each: Vec<String> = p99s.iter().map(|p| format!("{p:.2}")).collect();
        format!(
            "n={n} failed={failed}, p99 of each round {} ms, median p50 {p50:.2} ms, max {max:.2} ms, sends at worst {:.2} ms late",
            each.join(" / "),
            ms(lag)
        )
    };
    let setup = format!(
        "open loop at {rate}/s, {} alternating rounds of {secs} s, median of the rounds' p99",
        ours.len()
    );
    let ours_text = describe(ours, &our_p99s);
    let cpu_us = |rounds: &[Round]| {
        let ns: u64 = rounds.iter().map(|r| r.server_cpu_ns).sum();
        let n: usize = rounds.iter().map(|r| r.latencies.len() + r.failed).sum();
        ns as f64 / 1e3 / n.max(1) as f64
    };
    vec![
        Figure::new(FAMILY, format!("{name}, p99"), p99, "ms")
            .peer("minimal axum handler, same form and answer size", peer_p99)
            .note(format!(
                "{setup}; ours: {ours_text}; peer: {}",
                describe(theirs, &their_p99s)
            )),
        Figure::new(FAMILY, format!("{name}, p99, against the budget"), p99, "ms")
            .peer("budget (issue 11)", P99_BUDGET_MS)
            .at_most(1.0)
            .note(format!("{setup}; {ours_text}")),
        Figure::new(FAMILY, format!("{name}, server CPU per request"), cpu_us(ours), "µs")
            .peer("minimal axum handler, same form and answer size", cpu_us(theirs))
            .note(
                "CPU time of the server's threads (runtime workers and SQLite store) over every round, \
                 from /proc/self/task/*/schedstat, divided by the requests sent; less moved than the tail \
                 by other work on the machine",
            ),
    ]
}

/// Starts zoom-server on a real socket with SQLite at `db`, rate limits off.
async fn start(db: &std::path::Path) -> (Setup, Server) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let args = Args::try_parse_from([
        "zoom-server",
        "--listen",
        &addr.to_string(),
        "--store",
        &format!("sqlite://{}", db.display()),
        "--rate-limit",
        "off",
    ])
    .expect("flags");
    let bootstrap =
        Bootstrap::from_values(Some(SERVER_APP.0.into()), Some(SERVER_APP.1.into()), None).expect("bootstrap");
    let server = Server::start(&args, &bootstrap).await.expect("the server starts");
    let app = server.router();
    let limits = server.connections;
    tokio::spawn(zoom_server::serve::serve(listener, app, limits, std::future::pending()));
    let setup = Setup {
        zoom: format!("http://{addr}"),
        peer: String::new(),
        user_app: (String::new(), String::new()),
        refresh_tokens: Vec::new(),
        access_token: String::new(),
        directory: server.directory.clone(),
        login_email: "login@bench.invalid".into(),
    };
    (setup, server)
}

/// Makes the user app, the users and their grants (one refresh-token family each, by the
/// authorization-code flow), the user who logs in, and an access token; returns real answers
/// of the endpoints for the peer. The directory calls run on the server's runtime through its
/// store; the HTTP calls on the client's.
async fn prepare(http: &reqwest::Client, setup: &mut Setup, chains: usize) -> Answers {
    let directory = setup.directory.clone();
    let account = directory.platform_account().clone();
    let app = directory
        .create_app(
            None,
            AppInput {
                client_id: None,
                account_id: Some(account.clone()),
                name: "Benchmark user app".into(),
                kind: AppKind::User,
                redirect_uris: vec![REDIRECT_URI.into()],
                scopes: vec![Scope::MeetingRead, Scope::MeetingWrite],
                published: false,
                public: false,
            },
        )
        .await
        .expect("the user app");
    let client_id: Name = app.app.client_id.clone();
    let secret = app.client_secret.expect("a confidential app has a secret");
    setup.user_app = (client_id.to_string(), secret.clone());

    directory
        .create_user(
            None,
            &account,
            UserInput {
                id: None,
                email: setup.login_email.clone(),
                display_name: "Login".into(),
                role: None,
                password: Some(PASSWORD.into()),
            },
        )
        .await
        .expect("the user who logs in");

    let token_url = format!("{}/oauth/token", setup.zoom);
    let mut redeemed = None;
    for n in 0..chains {
        let user_id = UserId::parse(&format!("bench{n}")).expect("a user id");
        directory
            .create_user(
                None,
                &account,
                UserInput {
                    id: Some(user_id.clone()),
                    email: format!("chain{n}@bench.invalid"),
                    display_name: format!("Chain {n}"),
                    role: Some(Role::Member),
                    password: None,
                },
            )
            .await
            .expect("a user");
        let verifier = format!("bench-verifier-{n:040}");
        let issued = directory
            .authorize(AuthorizeRequest {
                user: UserRef {
                    account_id: account.clone(),
                    user_id,
                    role: Role::Member,
                },
                client_id: client_id.clone(),
                redirect_uri: REDIRECT_URI.into(),
                scopes: vec![Scope::MeetingRead, Scope::MeetingWrite],
                code_challenge: zoom_auth::grant::pkce::challenge_of(&verifier),
            })
            .await
            .expect("the consent");
        let answer: Value = http
            .post(&token_url)
            .basic_auth(client_id.as_str(), Some(&secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", issued.code.as_str()),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", verifier.as_str()),
            ])
            .send()
            .await
            .expect("the code exchange")
            .json()
            .await
            .expect("its JSON");
        let refresh = answer["refresh_token"]
            .as_str()
            .unwrap_or_else(|| panic!("the code exchange gave no refresh token: {answer}"))
            .to_owned();
        setup.refresh_tokens.push(refresh);
        redeemed.get_or_insert(answer);
    }
    let mut refresh = redeemed.expect("at least one chain");
    // The peer's refresh token has the length of a real one (never sent to the server).
    refresh["refresh_token"] = Value::String("x".repeat(setup.refresh_tokens[0].len()));

    let client_credentials: Value = http
        .post(&token_url)
        .basic_auth(SERVER_APP.0, Some(SERVER_APP.1))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("client credentials")
        .json()
        .await
        .expect("its JSON");
    setup.access_token = client_credentials["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access token: {client_credentials}"))
        .to_owned();
    let introspection: Value = http
        .post(format!("{}/oauth/introspect", setup.zoom))
        .basic_auth(SERVER_APP.0, Some(SERVER_APP.1))
        .form(&[("token", setup.access_token.as_str())])
        .send()
        .await
        .expect("introspection")
        .json()
        .await
        .expect("its JSON");
    assert_eq!(
        introspection["active"],
        Value::Bool(true),
        "the access token is not active: {introspection}"
    );
    Answers {
        client_credentials,
        refresh,
        introspection,
    }
}

/// The peer: a minimal axum handler on zoom-server's accept loop, reading the same form bodies
/// and sending back `answers` (serialised again each time).
async fn start_peer(answers: Answers) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new()
        .route("/oauth/token", axum::routing::post(peer_token))
        .route("/oauth/introspect", axum::routing::post(peer_introspect))
        .with_state(Arc::new(answers));
    tokio::spawn(zoom_server::serve::serve(
        listener,
        app,
        zoom_server::serve::ConnectionLimits::default(),
        std::future::pending(),
    ));
    format!("http://{addr}")
}

/// A form body parsed as zoom-server's OAuth endpoints parse theirs: the content type must say
/// it is a form and no parameter may repeat; `None` otherwise.
fn parse_form(headers: &HeaderMap, body: &[u8]) -> Option<Vec<(String, String)>> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok())?;
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return None;
    }
    let mut form: Vec<(String, String)> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        if form.iter().any(|(seen, _)| *seen == k) {
            return None;
        }
        form.push((k.into_owned(), v.into_owned()));
    }
    Some(form)
}

/// The form's value of `name`.
fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The peer's answer: the body `pick` chooses, uncacheable like the server's, when the request
/// is a form that names a client (an `Authorization` header) and holds `needed`; else a 400.
fn peer_answer(
    headers: &HeaderMap,
    body: &[u8],
    needed: &str,
    pick: impl Fn(&[(String, String)]) -> Value,
) -> Response {
    let form = parse_form(headers, body);
    match form {
        Some(form) if headers.contains_key(header::AUTHORIZATION) && field(&form, needed).is_some() => (
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            Json(pick(&form)),
        )
            .into_response(),
        _ => (StatusCode::BAD_REQUEST, "not a form with the parameters needed").into_response(),
    }
}

async fn peer_token(State(answers): State<Arc<Answers>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    peer_answer(&headers, &body, "grant_type", |form| match field(form, "grant_type") {
        Some("refresh_token") => answers.refresh.clone(),
        _ => answers.client_credentials.clone(),
    })
}

async fn peer_introspect(State(answers): State<Arc<Answers>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    peer_answer(&headers, &body, "token", |_| answers.introspection.clone())
}

/// The cost of one login: the median of `runs` Argon2id verifications with the default
/// parameters, and of `runs` logins through the directory.
async fn login_cost(directory: &Directory, email: &str, runs: usize) -> Vec<Figure> {
    let params = PasswordParams::default();
    let hash = password::hash(PASSWORD, params, &SystemEntropy).expect("a hash");
    let mut hashes = Vec::with_capacity(runs);
    let mut logins = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        assert!(password::verify(PASSWORD, &hash), "the password verifies");
        hashes.push(ms(started.elapsed()));
        let started = Instant::now();
        directory.login(email, PASSWORD).await.expect("the login succeeds");
        logins.push(ms(started.elapsed()));
    }
    let described = format!(
        "Argon2id v19, m = {} KiB, t = {}, p = {}, 32-byte tag (zoom_auth::password::PasswordParams::default())",
        params.memory_kib, params.iterations, params.parallelism
    );
    let spread = |v: &[f64]| {
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(0.0, f64::max);
        format!("median of {} runs, min {min:.1} ms, max {max:.1} ms", v.len())
    };
    let hash_ms = median(&hashes);
    vec![
        Figure::new(FAMILY, "one login: one Argon2id hash (password::verify)", hash_ms, "ms").note(format!(
            "{described}; {}; excluded from the p99 budget (slow on purpose)",
            spread(&hashes)
        )),
        Figure::new(
            FAMILY,
            "one login: Login::login of the directory (email lookup and the hash)",
            median(&logins),
            "ms",
        )
        .peer("one Argon2id hash alone", hash_ms)
        .note(format!("{described}; {}", spread(&logins))),
    ]
}
