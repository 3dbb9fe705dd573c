//! `cargo run -p embed-example`: serves the embedded app on 127.0.0.1:8090 until Ctrl-C, then
//! shuts down gracefully (in-flight requests finish).

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("EMBED_LISTEN").unwrap_or_else(|_| "127.0.0.1:8090".to_owned());
    let app = embed_example::app(embed_example::ApiKeys::demo()).await?;
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{addr}; try: curl -H 'Authorization: Bearer demo-key' http://{addr}/v1/meetings");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
