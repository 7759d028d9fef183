//! Rendered public pages, kept in memory and answered with `ETag`/`If-None-Match`.
//!
//! A page's ETag is a digest of its bytes, so two renders that agree share it and a client's
//! copy stays valid across re-renders. A rendered page is served again until this instance
//! handles a write or [`RECHECK`] passes (for writes made through other instances, and the
//! passing of days), and concurrent requests for a page being rendered wait for that one
//! render.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sha2::{Digest as _, Sha256};

use super::PageError;

/// How long a rendered page is served without rendering it again.
pub const RECHECK: chrono::TimeDelta = chrono::TimeDelta::seconds(1);

/// One rendered page.
#[derive(Debug)]
pub struct Rendered {
    etag: String,
    body: Bytes,
}

impl Rendered {
    /// A page and its strong ETag.
    pub fn new(html: String) -> Self {
        let digest = Sha256::digest(html.as_bytes());
        Self {
            etag: format!("\"{}\"", URL_SAFE_NO_PAD.encode(&digest[..16])),
            body: Bytes::from(html),
        }
    }

    /// 304 when `headers` name this page's ETag, the page otherwise.
    pub fn answer(&self, headers: &HeaderMap) -> Response {
        let mut response = if matches(headers, &self.etag) {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                )],
                self.body.clone(),
            )
                .into_response()
        };
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&self.etag) {
            headers.insert(header::ETAG, value);
        }
        // Shared caches may keep a copy briefly; browsers ask again before using theirs.
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(crate::http::feeds::SHARED),
        );
        response
    }
}

/// Whether an `If-None-Match` header names `etag` (or `*`), weakly compared.
fn matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == etag)
}

/// The cache of one instance.
pub struct PageCache {
    pages: moka::future::Cache<(String, u64, i64), Arc<Rendered>>,
}

impl std::fmt::Debug for PageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageCache")
            .field("pages", &self.pages.entry_count())
            .finish()
    }
}

impl Default for PageCache {
    fn default() -> Self {
        Self::new(32 * 1024 * 1024)
    }
}

impl PageCache {
    /// A cache holding up to `bytes` of pages.
    pub fn new(bytes: u64) -> Self {
        Self {
            pages: moka::future::Cache::builder()
                .max_capacity(bytes)
                .weigher(|(uri, _, _): &(String, u64, i64), page: &Arc<Rendered>| {
                    u32::try_from(page.body.len() + uri.len()).unwrap_or(u32::MAX)
                })
                .time_to_live(RECHECK.to_std().unwrap_or_default() * 3)
                .build(),
        }
    }

    /// The page at `uri` as of `generation` (the writes this instance has seen) and `now`,
    /// rendered by `render` unless a render of it is fresh.
    pub async fn get<F>(
        &self,
        uri: &str,
        generation: u64,
        now: DateTime<Utc>,
        render: F,
    ) -> Result<Arc<Rendered>, PageError>
    where
        F: Future<Output = Result<String, PageError>>,
    {
        let epoch = now.timestamp_millis().div_euclid(RECHECK.num_milliseconds().max(1));
        let mut rendered = false;
        let page = self
            .pages
            .try_get_with((uri.to_owned(), generation, epoch), async {
                rendered = true;
                let started = std::time::Instant::now();
                let page = render.await.map(|html| Arc::new(Rendered::new(html)));
                crate::metrics::rendered(crate::metrics::Cache::Page, started.elapsed());
                page
            })
            .await
            .map_err(|error| (*error).clone());
        crate::metrics::looked_up(crate::metrics::Cache::Page, !rendered);
        page
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_follow_the_bytes_and_if_none_match_gets_a_304() {
        let page = Rendered::new("<p>一</p>".to_owned());
        assert_eq!(page.etag, Rendered::new("<p>一</p>".to_owned()).etag);
        assert_ne!(page.etag, Rendered::new("<p>二</p>".to_owned()).etag);
        let mut headers = HeaderMap::new();
        assert_eq!(page.answer(&headers).status(), StatusCode::OK);
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"x\", W/{}", page.etag)).unwrap(),
        );
        let answer = page.answer(&headers);
        assert_eq!(answer.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(answer.headers()[header::ETAG], page.etag.as_str());
    }
}
