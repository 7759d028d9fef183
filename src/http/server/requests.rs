//! Each request on a connection: it begins when its header has been read and ends when its
//! response has been written (or abandoned), which is what the connection's deadlines follow.
//! A response given before the request's body was read to its end says `Connection: close`,
//! so the client sends its next request on a new connection instead of one the server is about
//! to drop (401, 403, 413 and 415 are answered without reading the body).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use http_body::{Body as _, Frame, SizeHint};
use hyper::body::Incoming;
use pin_project_lite::pin_project;
use tokio::time::Instant;
use tower::Service;

use super::deadlines::{Phase, SharedPhase, update};

/// The router, noting when each request begins and ends and whether its body was read.
#[derive(Clone)]
pub(super) struct Tracked {
    inner: Router,
    phase: SharedPhase,
}

impl Tracked {
    pub(super) fn new(inner: Router, phase: SharedPhase) -> Self {
        Self { inner, phase }
    }
}

impl Service<hyper::Request<Incoming>> for Tracked {
    type Response = hyper::Response<Written>;
    type Error = std::convert::Infallible;
    type Future = Answer<<Router as Service<Request>>::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Service::<Request>::poll_ready(&mut self.inner, cx)
    }

    fn call(&mut self, request: hyper::Request<Incoming>) -> Self::Future {
        update(&self.phase, Phase::begin);
        let ends = Ends {
            phase: Arc::clone(&self.phase),
        };
        let (unread, request) = if request.body().is_end_stream() {
            (None, request.map(Body::new))
        } else {
            let finished = Arc::new(AtomicBool::new(false));
            let watched = Arc::clone(&finished);
            let request = request.map(|body| {
                Body::new(Watched {
                    inner: body,
                    finished: watched,
                })
            });
            (Some(finished), request)
        };
        Answer {
            response: self.inner.call(request),
            unread,
            ends: Some(ends),
        }
    }
}

pin_project! {
    /// The router's answer, closing the connection when the request's body was left unread.
    pub(super) struct Answer<F> {
        #[pin]
        response: F,
        unread: Option<Arc<AtomicBool>>,
        ends: Option<Ends>,
    }
}

impl<F> Future for Answer<F>
where
    F: Future<Output = Result<Response, std::convert::Infallible>>,
{
    type Output = Result<hyper::Response<Written>, std::convert::Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Poll::Ready(Ok(mut response)) = this.response.poll(cx) else {
            return Poll::Pending;
        };
        if this
            .unread
            .as_ref()
            .is_some_and(|finished| !finished.load(Ordering::Acquire))
        {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        let ends = this.ends.take();
        Poll::Ready(Ok(response.map(|body| Written {
            inner: body,
            _ends: ends,
        })))
    }
}

/// Marks the request's end when dropped: when its response body is written or abandoned.
struct Ends {
    phase: SharedPhase,
}

impl Drop for Ends {
    fn drop(&mut self) {
        update(&self.phase, |p| p.end(Instant::now()));
    }
}

/// A response body that ends its request when it is dropped.
pub(super) struct Written {
    inner: Body,
    _ends: Option<Ends>,
}

impl http_body::Body for Written {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A request body that notes when it has been read to its end.
struct Watched {
    inner: Incoming,
    finished: Arc<AtomicBool>,
}

impl http_body::Body for Watched {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
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
