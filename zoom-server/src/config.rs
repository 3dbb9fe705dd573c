//! Command-line flags and environment variables (docs/operations.md), and what they parse into.
//!
//! Every flag is also an environment variable `ZOOM_…`; a flag given on the command line wins.
//! Parsing never panics: a bad value is a [`ConfigError`] that `main` prints before exiting with
//! a non-zero status.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use zoom_core::id::Name;
use zoom_core::seal::SecretBox;
use zoom_core::webhook::address::{AllowList, Cidr};

/// The default retry schedule of docs/webhooks.md, as zoom-webhooks defines it.
pub use zoom_webhooks::DEFAULT_RETRY_SCHEDULE;

/// The account the bootstrap app belongs to unless `ZOOM_BOOTSTRAP_ACCOUNT_ID` says otherwise.
pub const DEFAULT_BOOTSTRAP_ACCOUNT: &str = "default";

/// The flags of `zoom-server`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "zoom-server",
    version,
    about = "The meeting control plane: REST API, media seam, OAuth client credentials and webhook delivery.",
    after_help = "Every flag is also an environment variable (shown in brackets). \
                  Bootstrap credentials come from ZOOM_BOOTSTRAP_CLIENT_ID and ZOOM_BOOTSTRAP_CLIENT_SECRET."
)]
pub struct Args {
    /// Address to listen on (`host:port`).
    #[arg(long, env = "ZOOM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,

    /// Where events live: `sqlite://PATH` (relative to the working directory),
    /// `sqlite:///ABSOLUTE/PATH`, `memory` (lost on exit) or `postgres://…`.
    #[arg(long, env = "ZOOM_STORE", default_value = "sqlite://zoom.db")]
    pub store: String,

    /// The server's public base URL: the `iss` of join and access tokens. Default `http://{listen}`.
    #[arg(long, env = "ZOOM_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// The media server (SFU) URL handed out with join tokens.
    #[arg(long, env = "ZOOM_SFU_URL", default_value = "wss://sfu.invalid")]
    pub sfu_url: String,

    /// A non-public block (CIDR) that may receive webhooks anyway, e.g. `127.0.0.0/8`.
    /// Repeatable; comma-separated in the environment variable.
    #[arg(
        long = "webhook-allow-cidr",
        env = "ZOOM_WEBHOOK_ALLOW_CIDR",
        value_name = "CIDR",
        value_delimiter = ','
    )]
    pub webhook_allow_cidr: Vec<String>,

    /// An origin (`https://app.example.com`) whose browser apps may call the API (CORS).
    /// Repeatable; comma-separated in the environment variable. None by default.
    #[arg(
        long = "cors-origin",
        env = "ZOOM_CORS_ORIGIN",
        value_name = "ORIGIN",
        value_delimiter = ','
    )]
    pub cors_origin: Vec<String>,

    /// Delays between webhook delivery attempts (units ms, s, m, h, d).
    #[arg(long, env = "ZOOM_WEBHOOK_RETRY_SCHEDULE", default_value = DEFAULT_RETRY_SCHEDULE)]
    pub webhook_retry_schedule: String,

    /// Log format.
    #[arg(long, env = "ZOOM_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,

    /// Base URL of the recording file server; recording file URLs are signed under it.
    /// Default `{public-url}/files`.
    #[arg(long, env = "ZOOM_FILES_URL")]
    pub files_url: Option<String>,

    /// Requests per second per account in each category (`light` reads, `medium` writes,
    /// `heavy` joinToken and recordings), bursts of twice that; `off` turns rate limits off.
    #[arg(long, env = "ZOOM_RATE_LIMIT", default_value = "light=1000,medium=500,heavy=200")]
    pub rate_limit: String,

    /// Meeting creates and updates per host per UTC day (Zoom's is 100). Default: no quota.
    #[arg(long, env = "ZOOM_DAILY_MEETING_WRITES", value_name = "N")]
    pub daily_meeting_writes: Option<u32>,

    /// A request head must arrive within this long (units ms, s, m, h).
    #[arg(long, env = "ZOOM_HEADER_READ_TIMEOUT", default_value = "10s")]
    pub header_read_timeout: String,

    /// How long a keep-alive connection may wait for its next request, and a request in
    /// progress without a byte moving (event streams send keep-alives, so they live on).
    #[arg(long, env = "ZOOM_IDLE_TIMEOUT", default_value = "60s")]
    pub idle_timeout: String,

    /// Open connections at most; past it new ones wait in the listen backlog.
    #[arg(long, env = "ZOOM_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,

    /// Requests handled at once at most; past it 503 `overloaded` with `Retry-After`.
    #[arg(long, env = "ZOOM_MAX_CONCURRENT_REQUESTS", default_value_t = 1_000)]
    pub max_concurrent_requests: usize,

    /// How often the join-token signing key rotates (at least 1m); retired keys stay in the
    /// JWKS until the tokens they signed have expired.
    #[arg(long, env = "ZOOM_JOIN_KEY_ROTATION", default_value = "24h")]
    pub join_key_rotation: String,

    /// A file holding the secret key that seals the private signing keys in the store: 32 bytes
    /// written as 64 hex digits or as standard base64. Without it (or `ZOOM_SECRET_KEY`) the keys
    /// are stored in plaintext and the server warns at start-up.
    #[arg(long, env = "ZOOM_SECRET_KEY_FILE", value_name = "PATH")]
    pub secret_key_file: Option<PathBuf>,

    /// The secret key itself, from the environment variable `ZOOM_SECRET_KEY` only (a flag would
    /// show it in the process list); `main` fills it in. Same format as the key file.
    #[arg(skip)]
    pub secret_key: Option<String>,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Which store to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// SQLite at this path (relative paths are relative to the working directory).
    Sqlite(PathBuf),
    /// The in-memory store: nothing survives the process.
    Memory,
    /// PostgreSQL at this URL.
    Postgres(String),
}

impl std::fmt::Display for StoreSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreSpec::Sqlite(p) => write!(f, "sqlite ({})", p.display()),
            StoreSpec::Memory => f.write_str("memory (nothing survives a restart)"),
            StoreSpec::Postgres(url) => write!(f, "postgres ({})", redact_url(url)),
        }
    }
}

/// A flag or environment variable the server cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{flag}: {message}")]
pub struct ConfigError {
    /// The flag (and its variable) at fault.
    pub flag: &'static str,
    /// What is wrong and what would be accepted.
    pub message: String,
}

impl ConfigError {
    fn new(flag: &'static str, message: impl Into<String>) -> Self {
        Self {
            flag,
            message: message.into(),
        }
    }
}

/// Parses `--store`.
///
/// # Errors
/// [`ConfigError`] for an unknown scheme or an empty path.
pub fn parse_store(raw: &str) -> Result<StoreSpec, ConfigError> {
    const FLAG: &str = "--store (ZOOM_STORE)";
    let raw = raw.trim();
    if raw == "memory" || raw == "memory://" {
        return Ok(StoreSpec::Memory);
    }
    if let Some(rest) = raw.strip_prefix("sqlite://").or_else(|| raw.strip_prefix("sqlite:")) {
        // `sqlite://zoom.db` is relative, `sqlite:///var/lib/zoom.db` absolute: what follows the
        // scheme's `//` is the path as written.
        let path = rest.split(['?', '#']).next().unwrap_or_default();
        if path.is_empty() {
            return Err(ConfigError::new(
                FLAG,
                "`sqlite://` needs a file path, e.g. sqlite://zoom.db",
            ));
        }
        return Ok(StoreSpec::Sqlite(PathBuf::from(path)));
    }
    if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
        return Ok(StoreSpec::Postgres(raw.to_owned()));
    }
    Err(ConfigError::new(
        FLAG,
        format!("`{raw}` is not a store; use sqlite://PATH, sqlite:///ABSOLUTE/PATH, memory or postgres://…"),
    ))
}

/// Parses the `--webhook-allow-cidr` values.
///
/// # Errors
/// [`ConfigError`] naming the first block that does not parse.
pub fn parse_allow_list(blocks: &[String]) -> Result<AllowList, ConfigError> {
    let mut out = Vec::new();
    for b in blocks.iter().map(|b| b.trim()).filter(|b| !b.is_empty()) {
        out.push(Cidr::parse(b).map_err(|e| ConfigError::new("--webhook-allow-cidr (ZOOM_WEBHOOK_ALLOW_CIDR)", e))?);
    }
    Ok(AllowList::new(out))
}

/// Parses a retry schedule such as `1s,5s,30s,5m,30m,6h,24h`.
///
/// # Errors
/// [`ConfigError`] naming the first delay that does not parse.
pub fn parse_retry_schedule(raw: &str) -> Result<Vec<Duration>, ConfigError> {
    zoom_webhooks::parse_schedule(raw)
        .map_err(|e| ConfigError::new("--webhook-retry-schedule (ZOOM_WEBHOOK_RETRY_SCHEDULE)", e.to_string()))
}

/// Parses `--rate-limit`: `off` (`None`) or `light=N,medium=N,heavy=N` (any subset).
///
/// # Errors
/// [`ConfigError`] naming the part that does not parse.
pub fn parse_rate_limit(raw: &str) -> Result<Option<zoom_http::limits::RateLimits>, ConfigError> {
    zoom_http::limits::RateLimits::parse(raw).map_err(|e| ConfigError::new("--rate-limit (ZOOM_RATE_LIMIT)", e))
}

/// Parses one duration flag such as `10s`, `500ms` or `24h`, at least `min`.
///
/// # Errors
/// [`ConfigError`] when it does not parse or is shorter than `min`.
pub fn parse_duration(flag: &'static str, raw: &str, min: Duration) -> Result<Duration, ConfigError> {
    let parsed = zoom_webhooks::parse_schedule(raw).map_err(|e| ConfigError::new(flag, e.to_string()))?;
    match parsed.as_slice() {
        [one] if *one >= min => Ok(*one),
        [_] => Err(ConfigError::new(
            flag,
            format!("`{raw}` is shorter than the least allowed, {min:?}"),
        )),
        _ => Err(ConfigError::new(
            flag,
            format!("`{raw}` must be one duration, e.g. 10s"),
        )),
    }
}

/// The connection limits of the flags.
///
/// # Errors
/// [`ConfigError`] naming the flag at fault.
pub fn connection_limits(args: &Args) -> Result<crate::serve::ConnectionLimits, ConfigError> {
    let positive = |flag: &'static str, n: usize| {
        if n == 0 || n > 1_000_000 {
            Err(ConfigError::new(flag, format!("`{n}` must be between 1 and 1000000")))
        } else {
            Ok(n)
        }
    };
    Ok(crate::serve::ConnectionLimits {
        header_read_timeout: parse_duration(
            "--header-read-timeout (ZOOM_HEADER_READ_TIMEOUT)",
            &args.header_read_timeout,
            Duration::from_millis(10),
        )?,
        idle_timeout: parse_duration(
            "--idle-timeout (ZOOM_IDLE_TIMEOUT)",
            &args.idle_timeout,
            Duration::from_millis(10),
        )?,
        max_connections: positive("--max-connections (ZOOM_MAX_CONNECTIONS)", args.max_connections)?,
        max_concurrent_requests: positive(
            "--max-concurrent-requests (ZOOM_MAX_CONCURRENT_REQUESTS)",
            args.max_concurrent_requests,
        )?,
    })
}

/// Checks a URL flag: an absolute `http`, `https`, `ws` or `wss` URL. Returns it without a
/// trailing slash.
///
/// # Errors
/// [`ConfigError`] when it does not parse or has another scheme.
pub fn parse_base_url(flag: &'static str, raw: &str, schemes: &[&str]) -> Result<String, ConfigError> {
    let parsed =
        url::Url::parse(raw.trim()).map_err(|e| ConfigError::new(flag, format!("`{raw}` is not a URL: {e}")))?;
    if !schemes.contains(&parsed.scheme()) || parsed.host_str().is_none() {
        return Err(ConfigError::new(
            flag,
            format!("`{raw}` must be an absolute URL with scheme {}", schemes.join(", ")),
        ));
    }
    Ok(raw.trim().trim_end_matches('/').to_owned())
}

/// Bootstrap settings, from the environment only (a secret on the command line would show in
/// `ps`).
#[derive(Clone, PartialEq, Eq)]
pub struct Bootstrap {
    /// The app to make sure of, when both variables are set.
    pub credentials: Option<(Name, String)>,
    /// The account of the bootstrap app.
    pub account_id: Name,
}

impl std::fmt::Debug for Bootstrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bootstrap")
            .field("client_id", &self.credentials.as_ref().map(|(id, _)| id))
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

impl Bootstrap {
    /// Reads `ZOOM_BOOTSTRAP_CLIENT_ID`, `ZOOM_BOOTSTRAP_CLIENT_SECRET` and
    /// `ZOOM_BOOTSTRAP_ACCOUNT_ID` from the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] when only one of the two credentials is set or a value is unusable.
    pub fn from_env() -> Result<Self, ConfigError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self::from_values(
            var("ZOOM_BOOTSTRAP_CLIENT_ID"),
            var("ZOOM_BOOTSTRAP_CLIENT_SECRET"),
            var("ZOOM_BOOTSTRAP_ACCOUNT_ID"),
        )
    }

    /// Builds the settings from the three values (unset is `None`).
    ///
    /// # Errors
    /// [`ConfigError`] when only one of the two credentials is set or a value is unusable.
    pub fn from_values(
        client_id: Option<String>,
        secret: Option<String>,
        account_id: Option<String>,
    ) -> Result<Self, ConfigError> {
        let account = account_id.unwrap_or_else(|| DEFAULT_BOOTSTRAP_ACCOUNT.to_owned());
        let account_id = Name::parse(&account).map_err(|_| {
            ConfigError::new(
                "ZOOM_BOOTSTRAP_ACCOUNT_ID",
                "must be 1 to 128 characters of A-Z a-z 0-9 _ . @ : -",
            )
        })?;
        let credentials = match (client_id, secret) {
            (None, None) => None,
            (Some(id), Some(secret)) => {
                let id = crate::apps::parse_client_id(&id).ok_or_else(|| {
                    ConfigError::new(
                        "ZOOM_BOOTSTRAP_CLIENT_ID",
                        "must be 1 to 120 characters of A-Z a-z 0-9 _ . : -",
                    )
                })?;
                Some((id, secret))
            }
            (Some(_), None) => {
                return Err(ConfigError::new(
                    "ZOOM_BOOTSTRAP_CLIENT_SECRET",
                    "is required when ZOOM_BOOTSTRAP_CLIENT_ID is set",
                ));
            }
            (None, Some(_)) => {
                return Err(ConfigError::new(
                    "ZOOM_BOOTSTRAP_CLIENT_ID",
                    "is required when ZOOM_BOOTSTRAP_CLIENT_SECRET is set",
                ));
            }
        };
        Ok(Self {
            credentials,
            account_id,
        })
    }
}

/// Hides the password of a URL for logs.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => raw.to_owned(),
    }
}

/// The secret key of `--secret-key-file` or `ZOOM_SECRET_KEY`, or `None` when neither is given.
///
/// # Errors
/// Both given, an unreadable file, or a key that is not 32 bytes in hex or base64.
pub fn load_secret_key(args: &Args) -> Result<Option<SecretBox>, ConfigError> {
    const FILE_FLAG: &str = "--secret-key-file (ZOOM_SECRET_KEY_FILE)";
    match (&args.secret_key_file, &args.secret_key) {
        (Some(_), Some(_)) => Err(ConfigError::new(
            FILE_FLAG,
            "give either --secret-key-file or ZOOM_SECRET_KEY, not both",
        )),
        (Some(path), None) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| ConfigError::new(FILE_FLAG, format!("cannot read {}: {e}", path.display())))?;
            SecretBox::parse(&text)
                .map(Some)
                .map_err(|e| ConfigError::new(FILE_FLAG, format!("{}: {e}", path.display())))
        }
        (None, Some(text)) => SecretBox::parse(text)
            .map(Some)
            .map_err(|e| ConfigError::new("ZOOM_SECRET_KEY", e.to_string())),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The store URL forms of docs/operations.md parse as documented.
    #[test]
    fn store_urls() {
        assert_eq!(parse_store("sqlite://zoom.db"), Ok(StoreSpec::Sqlite("zoom.db".into())));
        assert_eq!(
            parse_store("sqlite:///var/lib/zoom.db"),
            Ok(StoreSpec::Sqlite("/var/lib/zoom.db".into()))
        );
        assert_eq!(
            parse_store("sqlite://data/z.db"),
            Ok(StoreSpec::Sqlite("data/z.db".into()))
        );
        assert_eq!(parse_store("memory"), Ok(StoreSpec::Memory));
        assert!(matches!(parse_store("postgres://u:p@h/db"), Ok(StoreSpec::Postgres(_))));
        assert!(parse_store("sqlite://").is_err());
        assert!(parse_store("redis://x").is_err());
        assert!(parse_store("").is_err());
    }

    /// Defaults match docs/operations.md.
    #[test]
    fn defaults() {
        let args = Args::try_parse_from(["zoom-server"]);
        assert!(args.is_ok());
        if let Ok(a) = args {
            assert_eq!(a.listen, "127.0.0.1:8080");
            assert_eq!(a.store, "sqlite://zoom.db");
            assert_eq!(a.webhook_retry_schedule, DEFAULT_RETRY_SCHEDULE);
            assert_eq!(a.log_format, LogFormat::Human);
            assert_eq!(
                parse_rate_limit(&a.rate_limit),
                Ok(Some(zoom_http::limits::RateLimits::default()))
            );
            assert_eq!(a.daily_meeting_writes, None);
            assert_eq!(connection_limits(&a), Ok(crate::serve::ConnectionLimits::default()));
            assert_eq!(
                parse_duration("--join-key-rotation", &a.join_key_rotation, Duration::from_secs(60)),
                Ok(Duration::from_secs(24 * 3600))
            );
        }
    }

    /// The limit flags parse, `off` turns rate limits off, and bad values name their flag.
    #[test]
    fn limit_flags() {
        let a = Args::try_parse_from([
            "zoom-server",
            "--rate-limit",
            "off",
            "--daily-meeting-writes",
            "100",
            "--header-read-timeout",
            "500ms",
            "--idle-timeout",
            "2m",
            "--max-connections",
            "50",
            "--max-concurrent-requests",
            "7",
        ]);
        let Ok(a) = a else { panic!("the flags parse") };
        assert_eq!(parse_rate_limit(&a.rate_limit), Ok(None));
        assert_eq!(a.daily_meeting_writes, Some(100));
        assert_eq!(
            connection_limits(&a),
            Ok(crate::serve::ConnectionLimits {
                header_read_timeout: Duration::from_millis(500),
                idle_timeout: Duration::from_secs(120),
                max_connections: 50,
                max_concurrent_requests: 7,
            })
        );
        assert!(parse_rate_limit("light=fast").is_err_and(|e| e.flag.starts_with("--rate-limit")));
        assert!(parse_duration("--join-key-rotation", "10s", Duration::from_secs(60)).is_err());
        assert!(parse_duration("--idle-timeout", "1s,2s", Duration::ZERO).is_err());
        assert!(parse_duration("--idle-timeout", "soon", Duration::ZERO).is_err());
        let mut zero = a.clone();
        zero.max_connections = 0;
        assert!(connection_limits(&zero).is_err());
        assert!(Args::try_parse_from(["zoom-server", "--daily-meeting-writes", "-1"]).is_err());
    }

    /// The allow-list flag repeats and splits on commas.
    #[test]
    fn allow_list_repeats() {
        let a = Args::try_parse_from([
            "zoom-server",
            "--webhook-allow-cidr",
            "127.0.0.0/8",
            "--webhook-allow-cidr",
            "10.0.0.0/8,::1/128",
        ])
        .map(|a| a.webhook_allow_cidr);
        assert_eq!(
            a.ok(),
            Some(vec![
                "127.0.0.0/8".to_owned(),
                "10.0.0.0/8".to_owned(),
                "::1/128".to_owned()
            ])
        );
        assert!(parse_allow_list(&["127.0.0.0/8".into(), "::1".into()]).is_ok());
        assert!(parse_allow_list(&["not-a-block".into()]).is_err());
    }

    /// A bad log format is a clap error, not a panic.
    #[test]
    fn bad_log_format() {
        assert!(Args::try_parse_from(["zoom-server", "--log-format", "xml"]).is_err());
    }

    /// Only one of the two bootstrap credentials is a configuration error.
    #[test]
    fn bootstrap_pairs() {
        assert!(Bootstrap::from_values(Some("a".into()), None, None).is_err());
        assert!(Bootstrap::from_values(None, Some("s".into()), None).is_err());
        assert!(Bootstrap::from_values(Some("bad id!".into()), Some("s".into()), None).is_err());
        let b = Bootstrap::from_values(Some("admin".into()), Some("s".into()), None);
        assert_eq!(
            b.map(|b| b.account_id.as_str().to_owned()).ok(),
            Some("default".to_owned())
        );
    }

    /// URL flags must be absolute URLs with an allowed scheme.
    #[test]
    fn base_urls() {
        assert_eq!(
            parse_base_url("--public-url", "http://127.0.0.1:8080/", &["http", "https"]).ok(),
            Some("http://127.0.0.1:8080".to_owned())
        );
        assert!(parse_base_url("--public-url", "127.0.0.1:8080", &["http", "https"]).is_err());
        assert!(parse_base_url("--public-url", "ftp://x", &["http", "https"]).is_err());
    }
}
