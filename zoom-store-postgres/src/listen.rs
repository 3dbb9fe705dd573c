//! The commit listener: how an instance learns at once that another one appended to the log.
//!
//! Every append that writes events runs `pg_notify('zoom_log', '<schema> <last position>')` in
//! its transaction, so PostgreSQL tells every session listening on the channel when (and only
//! if) it commits, in commit order. A [`CommitListener`] holds one dedicated connection doing
//! `LISTEN zoom_log` and calls its callback for each notification of its schema; the server
//! wires that callback to what follows the log (the stream hub, the webhook worker), which then
//! reads the log itself: a notification is a wake-up, never the data.
//!
//! Notifications sent while the connection is down are lost, so after every (re)connection the
//! callback is called once with `None` ("look now, you may have missed some"). The connection is
//! pinged every [`PING_EVERY`]; a failed or slow ping, or a closed connection, makes it
//! reconnect, waiting [`MIN_BACKOFF`] at first and doubling up to [`MAX_BACKOFF`] while the
//! server stays unreachable. Followers keep a slow poll of their own for the moments between.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use postgres_native_tls::MakeTlsConnector;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::AsyncMessage;

use crate::error::detail;
use crate::leader::{PING_EVERY, PING_TIMEOUT};

/// The channel every append notifies.
pub const CHANNEL: &str = "zoom_log";

/// The `application_name` of the listener's session (unless the URL names one).
pub const APPLICATION_NAME: &str = "zoom-store-postgres listener";

/// The first wait before reconnecting.
pub const MIN_BACKOFF: Duration = Duration::from_millis(100);

/// The longest wait between attempts to reconnect.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What a listener calls: `Some(position)` for a commit whose last event is at `position`,
/// `None` after (re)connecting, when commits may have gone unnoticed. It runs on the listener's
/// task, so it must be quick (wake something up, never block).
pub type OnCommit = Arc<dyn Fn(Option<u64>) + Send + Sync>;

/// A running listener (see the module docs). Dropping it stops it and closes its connection.
#[derive(Debug)]
pub struct CommitListener {
    task: JoinHandle<()>,
    listening: watch::Receiver<bool>,
    failure: Arc<Mutex<Option<String>>>,
}

impl Drop for CommitListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CommitListener {
    /// Starts listening for commits to `schema`'s log on `runtime`.
    pub(crate) fn spawn(
        config: tokio_postgres::Config,
        tls: MakeTlsConnector,
        schema: String,
        runtime: &tokio::runtime::Handle,
        on_commit: OnCommit,
    ) -> Self {
        let mut config = config;
        // Named apart from the pool's sessions, so an operator can tell it in pg_stat_activity.
        if config.get_application_name() == Some(crate::APPLICATION_NAME) {
            config.application_name(APPLICATION_NAME);
        }
        let (tx, listening) = watch::channel(false);
        let failure = Arc::default();
        let task = runtime.spawn(listen(config, tls, schema, on_commit, tx, Arc::clone(&failure)));
        Self {
            task,
            listening,
            failure,
        }
    }

    /// Why the last connection failed or ended, if one did (the store logs nothing itself: a
    /// server reports this in its health or logs).
    pub fn last_failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Whether its `LISTEN` is in place now.
    pub fn is_listening(&self) -> bool {
        *self.listening.borrow()
    }

    /// Resolves once its `LISTEN` is in place (at once if it is). Cancel safe.
    pub async fn listening(&self) {
        let mut rx = self.listening.clone();
        let _ = rx.wait_for(|on| *on).await;
    }
}

/// The listener's task: connect, listen, relay; reconnect with bounded backoff.
async fn listen(
    config: tokio_postgres::Config,
    tls: MakeTlsConnector,
    schema: String,
    on_commit: OnCommit,
    listening: watch::Sender<bool>,
    failure: Arc<Mutex<Option<String>>>,
) {
    let failed = |why: String| *failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(why);
    let mut backoff = MIN_BACKOFF;
    loop {
        match config.connect(tls.clone()).await {
            Ok((client, connection)) => {
                let mut relay = tokio::spawn(relay(connection, schema.clone(), Arc::clone(&on_commit)));
                match client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                    Ok(()) => {
                        listening.send_replace(true);
                        backoff = MIN_BACKOFF;
                        on_commit(None);
                        loop {
                            tokio::select! {
                                _ = &mut relay => break,
                                () = tokio::time::sleep(PING_EVERY) => {
                                    let ping = tokio::time::timeout(PING_TIMEOUT, client.simple_query("SELECT 1")).await;
                                    if !matches!(ping, Ok(Ok(_))) {
                                        break;
                                    }
                                }
                            }
                        }
                        listening.send_replace(false);
                        failed("the connection closed or stopped answering".to_owned());
                    }
                    Err(e) => failed(format!("LISTEN failed: {}", detail(&e))),
                }
                relay.abort();
            }
            Err(e) => failed(format!("cannot connect: {}", detail(&e))),
        }
        tokio::time::sleep(backoff).await;
        backoff = backoff.saturating_mul(2).min(MAX_BACKOFF);
    }
}

/// Drives the connection, calling `on_commit` for each notification of `schema`'s log, until
/// the connection closes.
async fn relay(
    mut connection: tokio_postgres::Connection<
        tokio_postgres::Socket,
        postgres_native_tls::TlsStream<tokio_postgres::Socket>,
    >,
    schema: String,
    on_commit: OnCommit,
) {
    loop {
        match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            Some(Ok(AsyncMessage::Notification(n))) if n.channel() == CHANNEL => {
                if let Some(position) = position_of(n.payload(), &schema) {
                    on_commit(Some(position));
                }
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return,
        }
    }
}

/// The position a notification's payload names, when it is of `schema`'s log.
fn position_of(payload: &str, schema: &str) -> Option<u64> {
    let (of, position) = payload.split_once(' ')?;
    (of == schema).then(|| position.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::position_of;

    #[test]
    fn payloads_of_other_schemas_are_not_ours() {
        assert_eq!(position_of("zoom 42", "zoom"), Some(42));
        assert_eq!(position_of("other 42", "zoom"), None);
        assert_eq!(position_of("zoom", "zoom"), None);
        assert_eq!(position_of("zoom x", "zoom"), None);
    }
}
