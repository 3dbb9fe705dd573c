//! `cargo run -p embed-example`: serves the embedded app on 127.0.0.1:8090 until Ctrl-C, then
//! shuts down gracefully: in-flight requests finish and open event streams end.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("EMBED_LISTEN").unwrap_or_else(|_| "127.0.0.1:8090".to_owned());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let app = embed_example::app_with_shutdown(embed_example::ApiKeys::demo(), Some(stop_rx)).await?;
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{addr}; try: curl -H 'Authorization: Bearer demo-key' http://{addr}/v1/meetings");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            let _ = stop_tx.send(true);
        })
        .await?;
    Ok(())
}
