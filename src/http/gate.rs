//! What every routed request passes before its handler runs: the caller is identified once
//! from the bearer token, a request that needs a token and has none is refused before its body
//! is read or any rule is checked, and a write, once answered, tells the feeds to look again.
//!
//! It is a service of its own rather than an axum `from_fn` middleware because it sits in front
//! of every route: an anonymous read (every calendar poll) goes straight to its handler, with
//! no clone of the route and no boxed future; only requests that carry a token wait for it to
//! be looked up.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};
use futures_util::future::{BoxFuture, Either, Ready, ready};
use tower::{Layer, Service};

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

/// Puts [`Gate`] in front of each route.
#[derive(Clone)]
pub(super) struct GateLayer {
    state: AppState,
}

impl GateLayer {
    pub(super) fn new(state: AppState) -> Self {
        Self { state }
    }
}

impl<S> Layer<S> for GateLayer {
    type Service = Gate<S>;

    fn layer(&self, inner: S) -> Gate<S> {
        Gate {
            inner,
            state: self.state.clone(),
        }
    }
}

/// A route behind the gate.
#[derive(Clone)]
pub(super) struct Gate<S> {
    inner: S,
    state: AppState,
}

type GateFuture<F> =
    Either<Ready<Result<Response, Infallible>>, Either<F, BoxFuture<'static, Result<Response, Infallible>>>>;

impl<S> Service<Request> for Gate<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = GateFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        if !request.headers().contains_key(header::AUTHORIZATION) {
            let path = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str);
            if needs_token(request.method(), path) {
                let refused = Error::Unauthenticated("this needs a bearer token").into_response();
                return Either::Left(ready(Ok(refused)));
            }
            // Only reads get here, and a read changes nothing.
            request.extensions_mut().insert(Actor::Anonymous);
            return Either::Right(Either::Left(self.inner.call(request)));
        }
        // The service that was made ready serves this request; a clone waits for the next.
        let clone = self.inner.clone();
        let ready_inner = std::mem::replace(&mut self.inner, clone);
        let state = self.state.clone();
        Either::Right(Either::Right(Box::pin(identified(state, ready_inner, request))))
    }
}

/// Serves a request that carries a token: 401 unless the token is valid, then the route, then
/// (for a write) a note to the feeds of what it changed.
async fn identified<S>(state: AppState, mut inner: S, mut request: Request) -> Result<Response, Infallible>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let actor = match identify(&state, request.headers()).await {
        Ok(actor) => actor,
        Err(error) => return Ok(error.into_response()),
    };
    request.extensions_mut().insert(actor);
    if request.method().is_safe() {
        return inner.call(request).await;
    }
    state.feeds.writing(inner.call(request)).await
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
    path.is_some_and(|path| guarded_reads().contains(path))
}

/// The paths whose reads need a token, as the OpenAPI document states them.
fn guarded_reads() -> &'static HashSet<String> {
    static GUARDED: OnceLock<HashSet<String>> = OnceLock::new();
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
                guarded.insert(path.clone());
            }
        }
        guarded
    })
}

/// Whether a security requirement is the empty one (`{}`): no credentials needed.
fn is_anonymous(requirement: &utoipa::openapi::security::SecurityRequirement) -> bool {
    serde_json::to_value(requirement).is_ok_and(|value| value.as_object().is_some_and(serde_json::Map::is_empty))
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
