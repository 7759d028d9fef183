//! The two deadlines of a waiting connection: `idle` until the next request's first byte,
//! then `header_read` until its header is complete. A socket wrapper fails its reads once the
//! deadline passes, which ends the connection; while a request is in flight neither applies.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use super::ConnectionLimits;

/// Where a connection stands between and during requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// No request in flight since `since`; the next one began arriving at `started`.
    Waiting { since: Instant, started: Option<Instant> },
    /// This many requests in flight.
    Busy(usize),
}

impl Phase {
    pub(super) fn waiting(since: Instant) -> Self {
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
    pub(super) fn begin(self) -> Self {
        match self {
            Self::Waiting { .. } => Self::Busy(1),
            Self::Busy(n) => Self::Busy(n + 1),
        }
    }

    /// A response was written to its end (or abandoned) at `now`.
    pub(super) fn end(self, now: Instant) -> Self {
        match self {
            Self::Busy(n) if n > 1 => Self::Busy(n - 1),
            _ => Self::waiting(now),
        }
    }
}

/// A connection's phase, shared by its socket and its requests.
pub(super) type SharedPhase = Arc<Mutex<Phase>>;

/// Moves the phase on and returns the new one.
pub(super) fn update(phase: &SharedPhase, change: impl FnOnce(Phase) -> Phase) -> Phase {
    let mut guard = phase.lock().unwrap_or_else(PoisonError::into_inner);
    *guard = change(*guard);
    *guard
}

/// A connection's socket that fails its reads once the connection's deadline has passed,
/// which ends the connection.
pub(super) struct Deadlines {
    stream: TcpStream,
    phase: SharedPhase,
    limits: ConnectionLimits,
    timer: Pin<Box<Sleep>>,
}

impl Deadlines {
    pub(super) fn new(stream: TcpStream, phase: SharedPhase, limits: ConnectionLimits) -> Self {
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

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
}
