//! The accept loop: HTTP/1.1 connections, at most so many at a time, each closed when it
//! idles too long between requests or takes too long to send a request's header, and all of
//! them let finish their requests at shutdown (see `deadlines` for the two timers, and
//! `requests` for what each request tells its connection).
//!
//! hyper times a header from the moment a connection is ready for it, which makes one timer
//! of idling and of sending; here they are two deadlines. A connection is *waiting* between
//! requests: with no byte of the next request read it may wait `idle`, and from its first
//! byte the header must be complete within `header_read`. While a request is in flight (its
//! header read, its response not yet fully written) neither applies.

mod deadlines;
mod requests;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use self::deadlines::{Deadlines, Phase};
use self::requests::Tracked;

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
    // The deadlines are the connection's own (see `Deadlines`); hyper keeps no timer of its own.
    builder.header_read_timeout(None).keep_alive(true);
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
        let service = TowerToHyperService::new(Tracked::new(router.clone(), phase));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_limit_stays_below_the_open_file_limit() {
        let limited = ConnectionLimits {
            max_connections: usize::MAX,
            ..ConnectionLimits::default()
        }
        .within_open_file_limit();
        if let Some(files) = open_file_limit() {
            assert!((limited.max_connections as u64) < files.max(RESERVED_FILES + 64));
        }
        let few = ConnectionLimits {
            max_connections: 10,
            ..ConnectionLimits::default()
        };
        assert_eq!(few.within_open_file_limit(), few);
    }
}
