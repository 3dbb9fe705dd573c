//! `zoom-server`: serves the REST API, the media seam and `POST /oauth/token`, and delivers
//! webhooks, on one store (docs/operations.md).
//!
//! ```sh
//! cargo run -p zoom-server                       # 127.0.0.1:8080, SQLite at ./zoom.db
//! cargo run -p zoom-server -- --store memory --listen 127.0.0.1:9000
//! cargo run -p zoom-server -- --store 'postgres://zoom@db.internal/zoom?schema=zoom'
//! cargo run -p zoom-server -- --help             # every flag and its ZOOM_… variable
//! ```

use std::process::ExitCode;

use clap::Parser;
use zoom_server::config::{Args, Bootstrap, LogFormat};
use zoom_server::{BootstrapOutcome, Server};

/// mimalloc rather than the system allocator: a request, a delivery and a commit each allocate
/// and free on different runtime threads, which glibc's malloc serves with arena locks and
/// consolidation passes (docs/decisions/mimalloc.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = Args::parse();
    // The secret key comes from the environment only; a flag would show it in the process list.
    args.secret_key = std::env::var("ZOOM_SECRET_KEY").ok();
    init_tracing(args.log_format);
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("zoom-server: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn run(args: Args) -> Result<(), String> {
    let bootstrap = Bootstrap::from_env().map_err(|e| e.to_string())?;
    let server = Server::start(&args, &bootstrap).await.map_err(|e| e.to_string())?;
    for warning in &server.warnings {
        tracing::warn!("{warning}");
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    // With PostgreSQL, only the instance holding the leader lock delivers (src/delivery.rs).
    let worker = zoom_server::delivery::Webhooks::start(&server)?;
    let rotation = zoom_server::keys::KeyRotation::start(&server)?;

    let base = format!("http://{local}");
    println!("zoom-server listening on {base}");
    println!("  store:      {}", server.store_spec);
    println!("  public url: {} (issuer of join and access tokens)", server.public_url);
    if worker.is_elected() {
        println!("  webhooks:   delivered by the instance holding the leader lock");
    }
    match &server.bootstrap {
        BootstrapOutcome::Created {
            client_id,
            client_secret,
        } => {
            println!("  created the admin app; its secret is shown only this once:");
            println!("    client_id={client_id}");
            println!("    client_secret={client_secret}");
            println!("  get a token:");
            println!(
                "    curl -s -u '{client_id}:{client_secret}' -d grant_type=client_credentials {base}/oauth/token"
            );
        }
        BootstrapOutcome::FromEnvironment { client_id } => {
            println!("  admin app {client_id} (from ZOOM_BOOTSTRAP_CLIENT_ID); get a token:");
            println!(
                "    curl -s -u \"{client_id}:$ZOOM_BOOTSTRAP_CLIENT_SECRET\" -d grant_type=client_credentials {base}/oauth/token"
            );
        }
        BootstrapOutcome::Existing => {
            println!("  get a token with your app's credentials:");
            println!("    curl -s -u 'CLIENT_ID:CLIENT_SECRET' -d grant_type=client_credentials {base}/oauth/token");
        }
    }
    tracing::info!(listen = %local, store = %server.store_spec, "serving");

    let (stop, stopping) = tokio::sync::watch::channel(false);
    let cors_origins = cors_origins(&args.cors_origin)?;
    let api = zoom_http::ApiConfig {
        cors_origins,
        shutdown: Some(stopping),
        // The bootstrap account is the platform: its `media` credentials may follow every
        // account's events (docs/api.md, `GET /v1/events?account=*`).
        platform_account: Some(bootstrap.account_id.clone()),
        ..zoom_http::ApiConfig::default()
    };
    let served = zoom_server::serve::serve(listener, server.router_with(api), server.connections, async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing requests in flight");
        // Event streams never end on their own; this ends them so the shutdown completes.
        let _ = stop.send(true);
    })
    .await
    .map_err(|e| format!("server error: {e}"));
    tracing::info!("stopping the webhook worker");
    worker.shutdown().await;
    rotation.shutdown().await;
    served
}

/// Ctrl-C or SIGTERM: stop accepting, finish what is in flight.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// The `--cors-origin` values as header values: each `http://` or `https://` with a host and
/// no path, else a start-up error naming it.
fn cors_origins(raw: &[String]) -> Result<Vec<axum::http::HeaderValue>, String> {
    raw.iter()
        .map(|origin| {
            let origin = origin.trim();
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
                .filter(|host| !host.is_empty() && !host.contains('/'));
            rest.and_then(|_| axum::http::HeaderValue::from_str(origin).ok())
                .ok_or_else(|| format!("--cors-origin {origin:?}: an origin is `https://host[:port]` (no path)"))
        })
        .collect()
}
