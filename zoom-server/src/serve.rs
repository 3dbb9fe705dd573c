//! The accept loop and the connection limits (docs/operations.md, "Connections").
//!
//! `axum::serve` accepts every connection and keeps it as long as the client likes; this loop
//! bounds what a slow, idle or numerous client can hold:
//! - at most `max_connections` are open at once; past it the loop stops accepting, so new
//!   connections wait in the kernel's backlog instead of being accepted and starved;
//! - a request head must arrive within `header_read_timeout` of the connection opening or of
//!   its first byte (slowloris);
//! - a keep-alive connection with no request for `idle_timeout` is closed;
//! - a request in progress is dropped when neither side moved a byte for `idle_timeout`, so a
//!   stalled upload cannot hold a request slot; event streams send keep-alive comments (every
//!   15 s by default), so a stream whose client reads lives on: they are exempt from the idle
//!   timeout;
//! - at most `max_concurrent_requests` are handled at once; past it the answer is 503
//!   problem+json `overloaded` with `Retry-After: 1` (an event stream counts only until its
//!   head is sent).
//!
//! Each connection runs in one task: hyper's HTTP/1 connection, polled beside a watchdog that
//! reads the connection's phase (waiting for a head, handling a request, idle) from an atomic
//! the socket wrapper and the response body update. Dropping the connection closes the socket.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::Service;
use zoom_http::problem::Problem;

/// The largest request head hyper buffers (twice zoom-http's default header limit).
const HEAD_BUFFER: usize = 64 * 1024;
/// The most header lines hyper parses (a 32 KiB head of the shortest lines).
const HEAD_LINES: usize = 8 * 1024;

/// How long a shutdown waits for open connections to finish their requests.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The connection limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A request head must arrive within this long. Default 10 s.
    pub header_read_timeout: Duration,
    /// A keep-alive connection may wait this long for its next request, and a request in
    /// progress this long without a byte moving. Default 60 s.
    pub idle_timeout: Duration,
    /// Open connections at most. Default 10,000.
    pub max_connections: usize,
    /// Requests handled at once at most. Default 1,000.
    pub max_concurrent_requests: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10_000,
            max_concurrent_requests: 1_000,
        }
    }
}

/// Serves `app` on `listener` within `limits` until `shutdown` completes; then stops accepting,
/// lets open connections finish their requests (at most [`SHUTDOWN_GRACE`]) and returns.
///
/// Every request carries `ConnectInfo<SocketAddr>` (the client's address) in its extensions.
///
/// # Errors
/// Never for a client's fault; an accept error is logged and retried.
pub async fn serve<F>(listener: TcpListener, app: Router, limits: ConnectionLimits, shutdown: F) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send,
{
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let slots = Arc::new(Semaphore::new(max));
    let shared = Arc::new(Shared {
        limits,
        in_flight: AtomicUsize::new(0),
        refused: AtomicU64::new(0),
        started: Instant::now(),
    });
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let (app, shared, stopping) = (app.clone(), shared.clone(), stopping.clone());
        tokio::spawn(async move {
            connection(stream, remote, app, shared, stopping).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    if tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("shutdown: connections still open after the grace period are dropped");
    }
    Ok(())
}

struct Shared {
    limits: ConnectionLimits,
    in_flight: AtomicUsize,
    refused: AtomicU64,
    started: Instant,
}

/// One request slot of `max_concurrent_requests`, given back on drop.
struct Slot(Arc<Shared>);

impl Slot {
    fn take(shared: &Arc<Shared>) -> Option<Slot> {
        if shared.in_flight.fetch_add(1, Ordering::AcqRel) >= shared.limits.max_concurrent_requests {
            shared.in_flight.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Slot(shared.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

const HEAD: u64 = 0;
const BUSY: u64 = 1;
const IDLE: u64 = 2;

/// A connection's phase and when it began (or, while busy, when a byte last moved), packed
/// into one atomic: milliseconds since the connection opened, shifted, with the phase.
struct Phase {
    opened: Instant,
    state: AtomicU64,
}

impl Phase {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            state: AtomicU64::new(HEAD),
        }
    }

    fn millis(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX >> 2)
    }

    fn set(&self, phase: u64) {
        self.state.store((self.millis() << 2) | phase, Ordering::Relaxed);
    }

    fn get(&self) -> (u64, u64) {
        let s = self.state.load(Ordering::Relaxed);
        (s & 3, s >> 2)
    }

    /// Bytes moved: an idle connection has started its next head; a busy one made progress.
    fn moved(&self) {
        match self.get().0 {
            IDLE => self.set(HEAD),
            BUSY => self.set(BUSY),
            _ => {}
        }
    }
}

/// Completes when the connection has overstayed its phase's limit.
async fn watchdog(phase: &Phase, limits: ConnectionLimits) {
    // The phase may change while this sleeps, and the new phase's deadline is at least its own
    // limit away from the change: sleeping at most the shorter limit never oversleeps one.
    let shortest = limits.header_read_timeout.min(limits.idle_timeout);
    loop {
        let (state, since) = phase.get();
        let allowed = match state {
            HEAD => limits.header_read_timeout,
            _ => limits.idle_timeout,
        };
        let elapsed = Duration::from_millis(phase.millis().saturating_sub(since));
        if elapsed >= allowed {
            return;
        }
        tokio::time::sleep((allowed - elapsed).min(shortest)).await;
    }
}

async fn connection(
    stream: TcpStream,
    remote: SocketAddr,
    app: Router,
    shared: Arc<Shared>,
    mut stopping: watch::Receiver<bool>,
) {
    let phase = Arc::new(Phase::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        phase: phase.clone(),
    });
    let service = {
        let phase = phase.clone();
        let shared = shared.clone();
        hyper::service::service_fn(move |mut request: Request<Incoming>| {
            phase.set(BUSY);
            request.extensions_mut().insert(ConnectInfo(remote));
            let slot = Slot::take(&shared);
            let mut app = app.clone();
            let phase = phase.clone();
            let shared = shared.clone();
            async move {
                let response = match slot {
                    Some(slot) => {
                        let response = match app.call(request).await {
                            Ok(r) => r,
                            Err(never) => match never {},
                        };
                        drop(slot);
                        response
                    }
                    None => overloaded(&shared, request.headers().get("x-request-id")),
                };
                Ok::<_, Infallible>(response.map(|body| Tracked { body, phase }))
            }
        })
    };
    // hyper refuses a head larger than its buffer or with more header lines than its table on
    // its own, with an empty 431. Both are set above zoom-http's header limit (32 KiB by
    // default), so that the router sees an oversized head and answers it as a problem.
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .header_read_timeout(None)
        .max_buf_size(HEAD_BUFFER)
        .max_headers(HEAD_LINES)
        .serve_connection(io, service)
        .with_upgrades();
    tokio::pin!(conn);
    let dog = watchdog(&phase, shared.limits);
    tokio::pin!(dog);
    let mut closing = false;
    loop {
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(error = %e, %remote, "connection ended with an error");
                }
                return;
            }
            () = &mut dog => {
                tracing::debug!(%remote, "dropping a slow or idle connection");
                return;
            }
            changed = stopping.changed(), if !closing => {
                closing = true;
                if changed.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// 503 problem+json `overloaded`, with `Retry-After` and a request id (the client's, or a new
/// one: this answer does not pass through the router that would add it).
fn overloaded(shared: &Shared, request_id: Option<&HeaderValue>) -> axum::response::Response {
    let mut r = Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "overloaded",
        "the server is handling as many requests as it allows; retry after the Retry-After delay",
    )
    .into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    let n = shared.refused.fetch_add(1, Ordering::Relaxed);
    let id = request_id.cloned().or_else(|| {
        let started = shared.started.elapsed().as_nanos();
        HeaderValue::from_str(&format!("overloaded-{:x}-{n}", std::process::id() as u128 ^ started)).ok()
    });
    if let Some(id) = id {
        r.headers_mut().insert("x-request-id", id);
    }
    r
}

/// The response body; when hyper drops it (sent whole, or the client left) the connection is
/// idle again.
struct Tracked {
    body: Body,
    phase: Arc<Phase>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.phase.set(IDLE);
    }
}

impl http_body::Body for Tracked {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The socket, telling the phase whenever bytes move.
struct Watched {
    inner: TcpStream,
    phase: Arc<Phase>,
}

impl AsyncRead for Watched {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.phase.moved();
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            this.phase.moved_out();
        }
        r
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            this.phase.moved_out();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

impl Phase {
    /// Bytes written: progress of a busy connection (never the start of a head).
    fn moved_out(&self) {
        if self.get().0 == BUSY {
            self.set(BUSY);
        }
    }
}
