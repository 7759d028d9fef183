//! The accept loop: HTTP/1.1 connections, at most so many at a time, each closed when it
//! idles too long between requests or takes too long to send a request's header, and all of
//! them let finish their requests at shutdown.
//!
//! hyper times a header from the moment a connection is ready for it, which makes one timer
//! of idling and of sending; here they are two deadlines. A connection is *waiting* between
//! requests: with no byte of the next request read it may wait `idle`, and from its first
//! byte the header must be complete within `header_read`. While a request is in flight (its
//! header read, its response not yet fully written) neither applies.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::response::Response;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tower::Service;

/// How long connections may wait and how many there may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time from a request's first byte until its header is complete.
    pub header_read: Duration,
    /// Time a connection may wait for the next request to begin.
    pub idle: Duration,
    /// Connections open at once; more wait to be accepted.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(10),
            idle: Duration::from_secs(60),
            max_connections: 10_000,
        }
    }
}

/// File descriptors kept free of client connections: database pools, webhook sends, logs.
const RESERVED_FILES: u64 = 256;

impl ConnectionLimits {
    /// The limits, with `max_connections` lowered (and a warning logged) when the process may
    /// not open that many files: past that limit it could not open its database or send a
    /// webhook either.
    pub fn within_open_file_limit(self) -> Self {
        let Some(files) = open_file_limit() else { return self };
        let fits = usize::try_from(files.saturating_sub(RESERVED_FILES).max(64)).unwrap_or(usize::MAX);
        if self.max_connections <= fits {
            return self;
        }
        tracing::warn!(
            asked = self.max_connections,
            allowed = fits,
            open_file_limit = files,
            "fewer connections than asked: the process may open only so many files (raise `ulimit -n`)"
        );
        Self {
            max_connections: fits,
            ..self
        }
    }
}

/// The soft limit on open files, where the platform tells it.
fn open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes the struct it is given, which lives on this stack.
        let status = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit) };
        (status == 0 && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting, closes idle
/// connections and waits for the requests in flight.
pub async fn run(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        // A free slot first, then a connection: beyond the limit, clients wait in the backlog.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of files or memory for a moment: back off rather than spin.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let phase = Arc::new(Mutex::new(Phase::waiting(Instant::now())));
        let io = TokioIo::new(Deadlines::new(stream, Arc::clone(&phase), limits));
        let service = TowerToHyperService::new(Tracked {
            inner: router.clone(),
            phase,
        });
        let connection = graceful.watch(builder.serve_connection(io, service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Where a connection stands between and during requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// No request in flight since `since`; the next one began arriving at `started`.
    Waiting { since: Instant, started: Option<Instant> },
    /// This many requests in flight.
    Busy(usize),
}

impl Phase {
    fn waiting(since: Instant) -> Self {
        Self::Waiting { since, started: None }
    }

    /// When the connection is to be closed, if nothing more arrives.
    fn deadline(self, limits: ConnectionLimits) -> Option<Instant> {
        match self {
            Self::Waiting { since, started: None } => Some(since + limits.idle),
            Self::Waiting {
                started: Some(started), ..
            } => Some(started + limits.header_read),
            Self::Busy(_) => None,
        }
    }

    /// Bytes arrived at `now`.
    fn read(self, now: Instant) -> Self {
        match self {
            Self::Waiting { since, started: None } => Self::Waiting {
                since,
                started: Some(now),
            },
            other => other,
        }
    }

    /// A request's header was read.
    fn begin(self) -> Self {
        match self {
            Self::Waiting { .. } => Self::Busy(1),
            Self::Busy(n) => Self::Busy(n + 1),
        }
    }

    /// A response was written to its end (or abandoned) at `now`.
    fn end(self, now: Instant) -> Self {
        match self {
            Self::Busy(n) if n > 1 => Self::Busy(n - 1),
            _ => Self::waiting(now),
        }
    }
}

type SharedPhase = Arc<Mutex<Phase>>;

fn update(phase: &SharedPhase, change: impl FnOnce(Phase) -> Phase) -> Phase {
    let mut guard = phase.lock().unwrap_or_else(PoisonError::into_inner);
    *guard = change(*guard);
    *guard
}

/// A connection's socket that fails its reads once the connection's deadline has passed,
/// which ends the connection.
struct Deadlines {
    stream: TcpStream,
    phase: SharedPhase,
    limits: ConnectionLimits,
    timer: Pin<Box<Sleep>>,
}

impl Deadlines {
    fn new(stream: TcpStream, phase: SharedPhase, limits: ConnectionLimits) -> Self {
        Self {
            stream,
            phase,
            limits,
            timer: Box::pin(tokio::time::sleep(limits.idle)),
        }
    }
}

impl AsyncRead for Deadlines {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    update(&this.phase, |p| p.read(Instant::now()));
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => {
                let Some(deadline) = update(&this.phase, |p| p).deadline(this.limits) else {
                    return Poll::Pending;
                };
                if this.timer.deadline() != deadline {
                    this.timer.as_mut().reset(deadline);
                }
                match this.timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client sent no complete request header in time",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl AsyncWrite for Deadlines {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// The router, noting when each request begins and when its response has been written.
#[derive(Clone)]
struct Tracked {
    inner: Router,
    phase: SharedPhase,
}

impl Service<hyper::Request<Incoming>> for Tracked {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Service::<Request>::poll_ready(&mut self.inner, cx)
    }

    fn call(&mut self, request: hyper::Request<Incoming>) -> Self::Future {
        update(&self.phase, Phase::begin);
        let ends = Ends {
            phase: Arc::clone(&self.phase),
        };
        let call = self.inner.call(request.map(Body::new));
        Box::pin(async move {
            let response = call.await?;
            Ok(response.map(|body| {
                Body::new(Written {
                    inner: body,
                    _ends: ends,
                })
            }))
        })
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
struct Written {
    inner: Body,
    _ends: Ends,
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

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ConnectionLimits = ConnectionLimits {
        header_read: Duration::from_secs(10),
        idle: Duration::from_secs(60),
        max_connections: 10,
    };

    #[test]
    fn a_waiting_connection_has_the_idle_deadline_until_a_request_begins_then_the_header_one() {
        let start = Instant::now();
        let waiting = Phase::waiting(start);
        assert_eq!(waiting.deadline(LIMITS), Some(start + LIMITS.idle));
        let begun = waiting.read(start + Duration::from_secs(30));
        assert_eq!(
            begun.deadline(LIMITS),
            Some(start + Duration::from_secs(30) + LIMITS.header_read)
        );
        // More bytes of the same header do not move the deadline.
        assert_eq!(begun.read(start + Duration::from_secs(35)), begun);
    }

    #[test]
    fn requests_in_flight_have_no_deadline_and_the_last_to_end_starts_the_idle_one() {
        let start = Instant::now();
        let busy = Phase::waiting(start).begin().begin();
        assert_eq!(busy, Phase::Busy(2));
        assert_eq!(busy.deadline(LIMITS), None);
        let later = start + Duration::from_secs(90);
        assert_eq!(busy.end(later), Phase::Busy(1));
        assert_eq!(busy.end(later).end(later).deadline(LIMITS), Some(later + LIMITS.idle));
    }

    #[test]
    fn the_connection_limit_stays_below_the_open_file_limit() {
        let limited = ConnectionLimits {
            max_connections: usize::MAX,
            ..LIMITS
        }
        .within_open_file_limit();
        if let Some(files) = open_file_limit() {
            assert!((limited.max_connections as u64) < files.max(RESERVED_FILES + 64));
        }
        assert_eq!(LIMITS.within_open_file_limit(), LIMITS);
    }
}
