#![allow(clippy::unwrap_used)]
//! Through a real socket: the request limits answer problem+json before hyper's own limits
//! would answer with an empty body.

mod common;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends `head` (a whole request head) and returns the answer's head and body as text.
async fn exchange(addr: std::net::SocketAddr, head: String) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut answer));
    read.await.unwrap().unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

/// A long request target is 414 and a large header section 431, both problem+json with
/// `x-request-id`, served by axum over hyper.
#[tokio::test]
async fn oversized_heads_are_problems_on_the_wire() {
    let app = common::app().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app.router).await });

    let long = format!(
        "GET /v1/meetings?cursor={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "c".repeat(10_000)
    );
    let answer = exchange(addr, long).await;
    assert!(answer.starts_with("HTTP/1.1 414"), "{answer}");
    assert!(answer.contains("content-type: application/problem+json"), "{answer}");
    assert!(answer.contains("x-request-id: "), "{answer}");
    assert!(answer.contains(r#""code":"uri_too_long""#), "{answer}");

    let wide = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: {}\r\nConnection: close\r\n\r\n",
        "p".repeat(40_000)
    );
    let answer = exchange(addr, wide).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    assert!(answer.contains(r#""code":"headers_too_large""#), "{answer}");
    server.abort();
}
