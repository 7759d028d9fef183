//! Connections: a client that idles or dawdles over a header is let go, the number of
//! connections is bounded, and a request refused before its body is read does not spoil the
//! client's next one.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use sciday::http::server::ConnectionLimits;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::helpers::{Backend, TestApp};

async fn app_with(limits: ConnectionLimits) -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, |config| config.connections = limits)
        .await
        .unwrap()
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap()
}

const HEALTH: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: sciday.test\r\n\r\n";

/// Reads one response (a small one, whole in a few reads) and returns its text.
async fn response(stream: &mut TcpStream) -> String {
    let mut buffer = vec![0u8; 4096];
    let mut text = String::new();
    while !text.contains("\r\n\r\n") || !text.trim_end().ends_with('}') {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer))
            .await
            .expect("an answer within 5 s")
            .unwrap();
        assert!(n > 0, "the connection closed before answering: {text}");
        text.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    text
}

/// Waits (at most `bound`) for the server to close the connection; returns how long it took.
async fn closed_within(stream: &mut TcpStream, bound: Duration) -> Duration {
    let started = Instant::now();
    let mut buffer = [0u8; 512];
    loop {
        match tokio::time::timeout(bound, stream.read(&mut buffer)).await {
            Err(_) => panic!("still open after {bound:?}"),
            Ok(Ok(0) | Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_header_is_cut_off_sooner_than_an_idle_connection() {
    let limits = ConnectionLimits {
        header_read: Duration::from_millis(300),
        idle: Duration::from_millis(1500),
        max_connections: 100,
    };
    let app = app_with(limits).await;
    let mut idle = connect(&app).await;
    let mut half = connect(&app).await;
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: sciday.test\r\n")
        .await
        .unwrap();
    let cut = closed_within(&mut half, Duration::from_secs(5)).await;
    assert!(
        cut >= Duration::from_millis(250),
        "not before the header deadline: {cut:?}"
    );
    // The idle connection outlived it and still serves a request.
    idle.write_all(HEALTH).await.unwrap();
    assert!(response(&mut idle).await.starts_with("HTTP/1.1 200"));
    let idled = closed_within(&mut idle, Duration::from_secs(10)).await;
    assert!(
        idled >= Duration::from_millis(1200),
        "not before the idle deadline: {idled:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_wait_until_one_closes() {
    let limits = ConnectionLimits {
        max_connections: 2,
        ..ConnectionLimits::default()
    };
    let app = app_with(limits).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = connect(&app).await;
        stream.write_all(HEALTH).await.unwrap();
        assert!(response(&mut stream).await.starts_with("HTTP/1.1 200"));
        held.push(stream);
    }
    let mut third = connect(&app).await;
    third.write_all(HEALTH).await.unwrap();
    let mut buffer = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(300), third.read(&mut buffer)).await;
    assert!(early.is_err(), "the third connection waits while two are open");
    drop(held.pop());
    assert!(response(&mut third).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_refused_before_its_body_is_read_leaves_the_clients_next_request_working() {
    let app = app_with(ConnectionLimits::default()).await;
    let client = reqwest::Client::new();
    let big = serde_json::json!({"name": "x".repeat(512 * 1024)});
    for _ in 0..3 {
        let refused = client
            .request(Method::POST, format!("{}/api/v1/programs", app.address))
            .json(&big)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(refused.headers()["connection"], "close");
        let next = client
            .get(format!("{}/api/v1/programs", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(next.status(), StatusCode::OK);
    }
}
