//! What the PostgreSQL tests of zoom-server share: a fresh schema per test, dropped when the test
//! ends, however it ends.
#![allow(clippy::unwrap_used)]

/// Drops its schema when dropped.
pub struct SchemaGuard {
    url: String,
    /// The schema's name (`zt_{tag}_{pid}_{micros}`).
    pub schema: String,
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let url = self.url.clone();
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema);
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
                let conn = tokio::spawn(conn);
                client.batch_execute(&sql).await.unwrap();
                drop(client);
                let _ = conn.await;
            });
        })
        .join();
    }
}

/// A fresh schema's guard and the store URL (`url` with `schema=`) naming it.
pub fn fresh_schema(url: &str, tag: &str) -> (SchemaGuard, String) {
    let guard = SchemaGuard {
        url: url.to_owned(),
        schema: format!(
            "zt_{tag}_{}_{}",
            std::process::id(),
            chrono::Utc::now().timestamp_micros()
        ),
    };
    let sep = if url.contains('?') { '&' } else { '?' };
    let store = format!("{url}{sep}schema={}", guard.schema);
    (guard, store)
}
