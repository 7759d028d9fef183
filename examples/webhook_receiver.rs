//! A small receiver for sciday's `standard` webhooks that checks each message's signature
//! (Standard Webhooks 1.0) before trusting it. Start it, point a subscription at it, and it
//! prints the messages it accepts:
//!
//! ```sh
//! WEBHOOK_SECRET=whsec_… cargo run --example webhook_receiver -- 127.0.0.1:9000
//! ```
//!
//! A receiver on a private or loopback address needs `sciday serve --webhook-allow` with its
//! range. The check is the one every receiver should make: the HMAC-SHA256 of
//! `webhook-id.webhook-timestamp.body`, keyed with the base64 part of the secret, compared in
//! constant time with each `v1,` signature in `webhook-signature`; and a timestamp within five
//! minutes of now, so a captured message cannot be replayed later. Message ids repeat only
//! when sciday retries, so a receiver that acts on messages should remember the ids it has seen.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// How far a message's timestamp may be from the receiver's clock.
const TOLERANCE_SECONDS: i64 = 5 * 60;

/// Why a message was refused.
#[derive(Debug, PartialEq, Eq)]
enum Refused {
    MissingHeader(&'static str),
    StaleTimestamp,
    BadSignature,
}

/// Checks a message's headers and body against the key.
fn verify(key: &[u8], headers: &HeaderMap, body: &[u8], now: i64) -> Result<(), Refused> {
    let header = |name: &'static str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or(Refused::MissingHeader(name))
    };
    let id = header("webhook-id")?;
    let timestamp = header("webhook-timestamp")?;
    let signatures = header("webhook-signature")?;
    let sent: i64 = timestamp.parse().map_err(|_| Refused::StaleTimestamp)?;
    if (now - sent).abs() > TOLERANCE_SECONDS {
        return Err(Refused::StaleTimestamp);
    }
    for signature in signatures.split(' ') {
        let Some(("v1", encoded)) = signature.split_once(',') else {
            continue;
        };
        let Ok(given) = STANDARD.decode(encoded) else {
            continue;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| Refused::BadSignature)?;
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        // `verify_slice` compares in constant time.
        if mac.verify_slice(&given).is_ok() {
            return Ok(());
        }
    }
    Err(Refused::BadSignature)
}

async fn receive(State(key): State<Vec<u8>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    match verify(&key, &headers, &body, now) {
        Ok(()) => {
            println!("{}", String::from_utf8_lossy(&body));
            StatusCode::NO_CONTENT
        }
        Err(refused) => {
            eprintln!("refused a message: {refused:?}");
            StatusCode::UNAUTHORIZED
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret =
        std::env::var("WEBHOOK_SECRET").map_err(|_| "set WEBHOOK_SECRET to the subscription's whsec_… secret")?;
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(&secret))
        .map_err(|e| format!("WEBHOOK_SECRET is not a whsec_ secret: {e}"))?;
    let address: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9000".to_owned())
        .parse()?;
    let app = axum::Router::new()
        .route("/", axum::routing::post(receive))
        .with_state(key);
    let listener = tokio::net::TcpListener::bind(address).await?;
    eprintln!("listening on http://{}/", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(id: &str, timestamp: i64, signature: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("webhook-id", id.parse().unwrap());
        headers.insert("webhook-timestamp", timestamp.to_string().parse().unwrap());
        headers.insert("webhook-signature", signature.parse().unwrap());
        headers
    }

    #[test]
    fn the_specifications_vector_is_accepted_and_changes_are_refused() {
        let key = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        let good = headers(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        );
        assert_eq!(verify(&key, &good, body, 1_614_265_330), Ok(()));
        assert_eq!(
            verify(&key, &good, br#"{"test": 1}"#, 1_614_265_330),
            Err(Refused::BadSignature)
        );
        assert_eq!(
            verify(&key, &good, body, 1_614_265_330 + 600),
            Err(Refused::StaleTimestamp)
        );
        let rotated = headers(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            "v1,b3RoZXI= v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        );
        assert_eq!(
            verify(&key, &rotated, body, 1_614_265_330),
            Ok(()),
            "any listed signature may match"
        );
        assert_eq!(
            verify(&key, &HeaderMap::new(), body, 0),
            Err(Refused::MissingHeader("webhook-id"))
        );
    }
}
