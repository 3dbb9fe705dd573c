//! Command-line flags and environment variables (docs/operations.md), and what they parse into.
//!
//! Every flag is also an environment variable `ZOOM_…`; a flag given on the command line wins.
//! Parsing never panics: a bad value is a [`ConfigError`] that `main` prints before exiting with
//! a non-zero status.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use zoom_core::id::Name;
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
        }
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
