//! A webhook receiver on loopback for the benchmarks: it answers every request with `204`
//! (after a delay, if asked, so sends are in flight at any moment) and notes what arrived.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use chrono::{DateTime, Utc};

/// One message received.
#[derive(Clone, Debug)]
pub struct Arrival {
    /// The path it was sent to: which subscription.
    pub path: String,
    /// The session it tells of, if any.
    pub session: Option<i64>,
    /// Its `webhook-id`: the same on every attempt of one message.
    pub message: String,
    /// When it arrived.
    pub at: DateTime<Utc>,
}

/// The receiver's notes, shared with the benchmark.
#[derive(Clone, Debug, Default)]
pub struct Arrivals(Arc<Mutex<Vec<Arrival>>>);

impl Arrivals {
    /// Messages received so far.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing arrived yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of what arrived so far.
    pub fn all(&self) -> Vec<Arrival> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arrival>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Starts a receiver on a free loopback port that answers after `delay`.
pub async fn start(delay: Duration) -> anyhow::Result<(SocketAddr, Arrivals)> {
    let arrivals = Arrivals::default();
    let noted = arrivals.clone();
    let app = axum::Router::new().fallback(axum::routing::post(move |uri: Uri, headers: HeaderMap, body: Bytes| {
        let noted = noted.clone();
        async move {
            let session = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["data"]["session"]["id"].as_i64());
            let message = headers
                .get("webhook-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            noted.lock().push(Arrival {
                path: uri.path().to_owned(),
                session,
                message,
                at: Utc::now(),
            });
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            StatusCode::NO_CONTENT
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((address, arrivals))
}
