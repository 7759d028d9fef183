//! A webhook receiver on a loopback port that answers like each platform: success by
//! default, or whatever a test scripts for a path (an error code in a 200, a 429 with
//! `Retry-After`, a 500, an answer slower than the sender's timeout).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// One scripted answer.
#[derive(Clone, Debug)]
pub struct Reply {
    status: u16,
    body: String,
    retry_after: Option<String>,
    location: Option<String>,
    delay: Duration,
}

impl Reply {
    /// An answer with this status and body.
    pub fn new(status: u16, body: &str) -> Self {
        Self {
            status,
            body: body.to_owned(),
            retry_after: None,
            location: None,
            delay: Duration::ZERO,
        }
    }

    /// With a `Location` header (a redirect).
    pub fn location(mut self, value: &str) -> Self {
        self.location = Some(value.to_owned());
        self
    }

    /// With a `Retry-After` header.
    pub fn retry_after(mut self, value: &str) -> Self {
        self.retry_after = Some(value.to_owned());
        self
    }

    /// Answered only after `delay`.
    pub fn slow(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    /// The text a chat message shows, whatever the platform.
    pub fn chat_text(&self) -> String {
        let json = self.json();
        [
            &json["markdown"]["text"],
            &json["markdown"]["content"],
            &json["text"]["content"],
            &json["content"]["text"],
            &json["text"],
        ]
        .iter()
        .find_map(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
    }
}

#[derive(Default)]
struct Inner {
    scripts: HashMap<String, VecDeque<Reply>>,
    received: Vec<Received>,
    /// How long every unscripted answer takes.
    delay: Duration,
}

/// The receiver; dropped with the test.
#[derive(Clone)]
pub struct Receiver {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

/// What a platform answers when all is well; the path's first segment names the platform.
fn success(path: &str) -> Reply {
    match path.trim_start_matches('/').split('/').next().unwrap_or_default() {
        "dingtalk" | "wecom" => Reply::new(200, r#"{"errcode":0,"errmsg":"ok"}"#),
        "feishu" => Reply::new(200, r#"{"code":0,"msg":"success","data":{}}"#),
        "slack" => Reply::new(200, "ok"),
        _ => Reply::new(204, ""),
    }
}

async fn receive(State(inner): State<Arc<Mutex<Inner>>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_owned();
    let reply = {
        let mut inner = inner.lock().unwrap();
        inner.received.push(Received {
            path: path.clone(),
            query: uri.query().unwrap_or_default().to_owned(),
            headers,
            body,
        });
        inner
            .scripts
            .get_mut(&path)
            .and_then(VecDeque::pop_front)
            .unwrap_or_else(|| success(&path).slow(inner.delay))
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut response = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
    if let Some(value) = reply.retry_after {
        response.headers_mut().insert("retry-after", value.parse().unwrap());
    }
    if let Some(value) = reply.location {
        response.headers_mut().insert("location", value.parse().unwrap());
    }
    response
}

impl Receiver {
    /// Starts listening on a free loopback port.
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// A loopback port nobody listens on (connections to it are refused) until a receiver is
    /// started on it.
    pub fn vacant_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    /// Starts listening on this loopback port (0: any free one).
    pub async fn start_on(port: u16) -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = axum::Router::new()
            .fallback(axum::routing::post(receive))
            .with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, inner }
    }

    /// The address of `path` (which starts with the platform: `/dingtalk/…`, `/standard/…`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Answers the next requests to `path` with `replies`, then with success again.
    pub fn script(&self, path: &str, replies: Vec<Reply>) {
        self.inner
            .lock()
            .unwrap()
            .scripts
            .entry(path.to_owned())
            .or_default()
            .extend(replies);
    }

    /// Every request to `path` so far.
    pub fn received(&self, path: &str) -> Vec<Received> {
        self.inner
            .lock()
            .unwrap()
            .received
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Every unscripted answer from now on takes `delay`.
    pub fn answer_after(&self, delay: Duration) {
        self.inner.lock().unwrap().delay = delay;
    }

    /// Every request so far.
    pub fn all(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }
}
