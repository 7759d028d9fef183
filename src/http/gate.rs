//! What every request passes before its handler runs: the caller is identified once from the
//! bearer token; a request that needs a token and has none is refused before its body is read
//! or any rule is checked; and a response that leaves a request body unread says
//! `Connection: close`, so the client does not send its next request down a connection the
//! server is about to drop.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Body as _, Frame, SizeHint};

use super::AppState;
use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::store;

/// How often a token's `last_used_at` is written at most: once a minute is precise enough to
/// tell a live token from a forgotten one, and keeps authentication a read.
pub const LAST_USED_PRECISION: Duration = Duration::from_secs(60);

/// Tokens whose use was recorded within [`LAST_USED_PRECISION`].
pub type RecentTokens = moka::future::Cache<i64, ()>;

/// A cache of recently recorded token uses, bounded in size and age.
pub fn recent_tokens() -> RecentTokens {
    moka::future::Cache::builder()
        .max_capacity(100_000)
        .time_to_live(LAST_USED_PRECISION)
        .build()
}

/// Identifies the caller and refuses anonymous requests that need a token.
pub(super) async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let actor = match identify(&state, request.headers()).await {
        Ok(actor) => actor,
        Err(error) => return error.into_response(),
    };
    if actor == Actor::Anonymous {
        let path = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str);
        if needs_token(request.method(), path) {
            return Error::Unauthenticated("this needs a bearer token").into_response();
        }
    }
    request.extensions_mut().insert(actor);
    next.run(request).await
}

/// The caller a request's `Authorization` header names: anonymous without one, 401 for one
/// that is unreadable, unknown, revoked or expired.
pub(super) async fn identify(state: &AppState, headers: &HeaderMap) -> Result<Actor> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(Actor::Anonymous);
    };
    let text = value
        .to_str()
        .map_err(|_| Error::Unauthenticated("the Authorization header is not readable text"))?;
    let token = match text.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => token.trim(),
        _ => return Err(Error::Unauthenticated("use Authorization: Bearer <token>")),
    };
    let now = state.clock.now();
    let actor = store::tokens::authenticate(state.db.reader(), token, now)
        .await?
        .ok_or(Error::Unauthenticated(
            "the token is not valid: unknown, revoked or expired",
        ))?;
    if let Some(id) = actor.token_id() {
        note_use(state, id, now).await;
    }
    Ok(actor)
}

/// Records a token's use, at most once per [`LAST_USED_PRECISION`] per instance. A failure
/// costs only the record, never the request.
async fn note_use(state: &AppState, token_id: i64, now: chrono::DateTime<chrono::Utc>) {
    if state.recent_tokens.contains_key(&token_id) {
        return;
    }
    state.recent_tokens.insert(token_id, ()).await;
    let recorded = async {
        let txn = state.db.begin().await?;
        store::tokens::mark_used(&txn, token_id, now).await?;
        txn.commit().await?;
        Ok::<_, Error>(())
    };
    if let Err(error) = recorded.await {
        tracing::warn!(token = token_id, %error, "could not record the token's use");
    }
}

/// Whether a request needs a token: every write does, and so does every read the OpenAPI
/// document marks with a bearer requirement and no anonymous alternative.
fn needs_token(method: &Method, path: Option<&str>) -> bool {
    if !method.is_safe() {
        return true;
    }
    let Some(path) = path else { return false };
    let method = if method == Method::HEAD { &Method::GET } else { method };
    guarded_reads().contains(&(method.as_str().to_owned(), path.to_owned()))
}

/// `(method, path)` of the reads that need a token, as the OpenAPI document states them.
fn guarded_reads() -> &'static HashSet<(String, String)> {
    static GUARDED: OnceLock<HashSet<(String, String)>> = OnceLock::new();
    GUARDED.get_or_init(|| {
        let document = super::document();
        let mut guarded = HashSet::new();
        for (path, item) in &document.paths.paths {
            if let Some(operation) = &item.get
                && operation
                    .security
                    .as_ref()
                    .is_some_and(|alternatives| !alternatives.is_empty() && !alternatives.iter().any(is_anonymous))
            {
                guarded.insert(("GET".to_owned(), path.clone()));
            }
        }
        guarded
    })
}

/// Whether a security requirement is the empty one (`{}`): no credentials needed.
fn is_anonymous(requirement: &utoipa::openapi::security::SecurityRequirement) -> bool {
    serde_json::to_value(requirement).is_ok_and(|value| value.as_object().is_some_and(serde_json::Map::is_empty))
}

/// Adds `Connection: close` to a response given before the request's body was read to its end.
pub(super) async fn close_if_unread(request: Request, next: Next) -> Response {
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let finished = Arc::new(AtomicBool::new(false));
    let request = request.map(|body| {
        Body::new(Watched {
            inner: body,
            finished: Arc::clone(&finished),
        })
    });
    let mut response = next.run(request).await;
    if !finished.load(Ordering::Acquire) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A request body that notes when it has been read to its end.
struct Watched {
    inner: Body,
    finished: Arc<AtomicBool>,
}

impl http_body::Body for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.finished.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_write_needs_a_token_and_reads_only_where_the_document_says() {
        assert!(needs_token(&Method::POST, Some("/api/v1/programs")));
        assert!(needs_token(&Method::DELETE, None));
        assert!(needs_token(&Method::GET, Some("/api/v1/assignments")));
        assert!(needs_token(&Method::HEAD, Some("/api/v1/webhooks/{id}")));
        assert!(!needs_token(&Method::GET, Some("/api/v1/programs")));
        assert!(!needs_token(&Method::GET, Some("/feeds/{collection}/{file}")));
        assert!(!needs_token(&Method::GET, None));
    }
}
