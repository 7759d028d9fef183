//! The pages' stylesheet and script, compiled into the binary and served by sciday itself:
//! nothing loads from elsewhere.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use super::PageError;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "sciday.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../assets/sciday.css"),
    },
    Asset {
        name: "leader.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../assets/leader.js"),
    },
];

fn digest(body: &str) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(body.as_bytes())[..9])
}

/// A short digest of every asset, which pages add to asset links so a new release is fetched
/// at once and an unchanged one can be cached for long.
pub fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| digest(&ASSETS.iter().map(|a| a.body).collect::<String>()))
}

/// `/assets/{file}`.
pub async fn serve(Path(name): Path<String>, headers: HeaderMap) -> Result<Response, PageError> {
    let asset = ASSETS
        .iter()
        .find(|asset| asset.name == name)
        .ok_or_else(PageError::not_found)?;
    let etag = format!("\"{}\"", digest(asset.body));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|tag| tag.trim().trim_start_matches("W/") == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, asset.content_type)], asset.body).into_response()
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    Ok(response)
}
