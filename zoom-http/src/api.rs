//! What every handler shares: the engine, the authenticator and the HTTP layer's settings.

use std::sync::Arc;
use std::time::Duration;

use zoom_core::Engine;

use crate::auth::Authenticator;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest accepted request body in bytes; larger is 413 `payload_too_large`. Default 1 MiB.
    pub body_limit: usize,
    /// Longest accepted request target (path and query) in bytes; longer is 414 `uri_too_long`.
    /// Default 8 KiB.
    pub uri_limit: usize,
    /// Largest accepted header section (names and values) in bytes; larger is 431
    /// `headers_too_large`. Default 32 KiB. The server in front must accept at least this much
    /// (hyper answers larger ones itself, with an empty body).
    pub header_limit: usize,
    /// Interval of keep-alive comments on event streams. Default 15 s.
    pub sse_keep_alive: Duration,
    /// How often the stream hub (the one reader of the log that feeds every event stream of the
    /// router) looks for new events when nothing woke it: commits through this router and
    /// through [`ApiConfig::commits`] wake it at once; this poll is how it sees commits that
    /// nobody signals (another process on the same SQLite file). Default 250 ms.
    pub sse_poll: Duration,
    /// How many events a stream may fall behind the hub before it is closed as too slow
    /// (WebSocket close code 4008, the end of an SSE response; the client resumes from its last
    /// id). The ring is shared by every stream. Default 4096.
    pub stream_buffer: usize,
    /// The hub that feeds this router's streams; `None` (the default): the router builds its own
    /// over its engine, woken by [`ApiConfig::commits`]. Give one to share it between routers or
    /// to read its counters; build it with the same signal as `commits`.
    pub hub: Option<crate::StreamHub>,
    /// How often an open event stream (SSE or WebSocket) checks its token again: once the token
    /// has expired or is revoked, the stream ends (WebSocket close code 4001). Default 1 s.
    pub stream_reauth: Duration,
    /// The platform account: its `media` credentials may follow every account's events
    /// (`GET /v1/events?account=*`, how a media server learns mutes, removals and ends). `None`
    /// (the default): nobody may.
    pub platform_account: Option<zoom_core::id::AccountId>,
    /// Origins of browser apps allowed to call the API (CORS). Empty (the default): none.
    pub cors_origins: Vec<axum::http::HeaderValue>,
    /// Interval of WebSocket pings. Default 20 s.
    pub ws_ping: Duration,
    /// How long one WebSocket frame may take to reach the client's socket; a client slower than
    /// that cannot keep up and is closed with code 4008 (it resumes with `?after=`). Default 10 s.
    pub ws_send_timeout: Duration,
    /// When this turns `true`, open event streams end, so a graceful shutdown is not held up by
    /// clients that never hang up. `None`: streams end only when their clients leave.
    pub shutdown: Option<tokio::sync::watch::Receiver<bool>>,
    /// Notified after every successful write (a 2xx answer to a method other than GET and
    /// HEAD), and what wakes the router's stream hub: a webhook worker in the same process (and
    /// a PostgreSQL commit listener, for other instances' commits) shares it, so each follower of
    /// the log looks at once instead of waiting for its next poll. `None`: the router's own
    /// signal, which only its own writes notify.
    pub commits: Option<crate::CommitSignal>,
    /// Webhook self-service: the resolver that checks subscription URLs and the validation
    /// challenge's timeout. Default: the system resolver and 3 s.
    pub webhooks: zoom_webhooks::SelfServiceConfig,
    /// Rate limits and the daily quota ([`crate::limits`]). Default: none.
    pub limits: crate::limits::Limits,
    /// The identity directory behind `/v1/accounts`, `/v1/users`, `/v1/apps` and
    /// `/v1/marketplace/apps` (zoom-auth). `None` (the default): those routes stay in the
    /// router and the document, and answer 404 `not_found` (this server keeps no directory; an
    /// embedder's identity lives elsewhere).
    pub directory: Option<zoom_auth::Directory>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            body_limit: 1024 * 1024,
            uri_limit: 8 * 1024,
            header_limit: 32 * 1024,
            sse_keep_alive: Duration::from_secs(15),
            sse_poll: Duration::from_millis(250),
            stream_buffer: 4096,
            hub: None,
            stream_reauth: Duration::from_secs(1),
            platform_account: None,
            cors_origins: Vec::new(),
            ws_ping: Duration::from_secs(20),
            ws_send_timeout: Duration::from_secs(10),
            shutdown: None,
            commits: None,
            webhooks: zoom_webhooks::SelfServiceConfig::default(),
            limits: crate::limits::Limits::default(),
            directory: None,
        }
    }
}

/// The router's state: what every handler shares. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Api {
    pub(crate) engine: Arc<Engine>,
    pub(crate) auth: Arc<dyn Authenticator>,
    pub(crate) config: Arc<ApiConfig>,
    /// Webhook self-service over the same engine.
    pub(crate) webhooks: Arc<zoom_webhooks::SelfService>,
    /// The one reader of the log that feeds every stream.
    pub(crate) hub: crate::StreamHub,
    /// Stream tickets not yet used.
    pub(crate) tickets: Arc<crate::streams::tickets::Tickets>,
}

impl Api {
    /// The identity directory, or 404 `not_found` when the router has none
    /// ([`ApiConfig::directory`]).
    pub(crate) fn directory(&self) -> Result<&zoom_auth::Directory, crate::problem::Problem> {
        self.config
            .directory
            .as_ref()
            .ok_or_else(|| crate::problem::Problem::not_found("this server keeps no identity directory"))
    }
}
