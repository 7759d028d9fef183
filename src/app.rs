//! Building and running the service: bind, connect, migrate, serve until told to stop.
//!
//! The listener is bound first in [`App::build`]: a port another program holds fails the
//! start before any database is touched (or created), and a caller that asked for port 0 can
//! read the real address, so tests never race for a fixed port.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;

use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::delivery::dispatcher::Dispatcher;
use crate::feeds::service::Feeds;
use crate::http::server::{self, ConnectionLimits};
use crate::http::{self, AppState, HttpConfig, Shared};

/// A service ready to serve.
pub struct App {
    listener: TcpListener,
    /// Where `/metrics` is served, when not on `listener`.
    metrics_listener: Option<TcpListener>,
    state: AppState,
    run_dispatcher: bool,
    connections: ConnectionLimits,
}

impl App {
    /// Binds the listener, connects to the database (creating a SQLite one that does not
    /// exist yet) and applies migrations.
    pub async fn build(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let (listener, metrics_listener) = bind_all(config).await?;
        let db = Db::connect(&config.database_url, config.max_connections).await?;
        db.migrate().await.context("applying database migrations")?;
        Self::assemble(config, listener, metrics_listener, db, clock)
    }

    /// Binds the listener for an already migrated database.
    pub async fn with_db(config: &Config, db: Db, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let (listener, metrics_listener) = bind_all(config).await?;
        Self::assemble(config, listener, metrics_listener, db, clock)
    }

    fn assemble(
        config: &Config,
        listener: TcpListener,
        metrics_listener: Option<TcpListener>,
        db: Db,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        // Counts recorded from here on reach `/metrics`.
        crate::metrics::handle();
        let feeds = Arc::new(Feeds::new(config.feeds.clone(), listener.local_addr()?));
        let dispatcher = Dispatcher::new(
            db.clone(),
            Arc::clone(&clock),
            config.webhook_addresses.clone(),
            config.dispatch.clone(),
            feeds.public_url(),
        )
        .context("building the webhook client")?;
        let state = AppState::new(Shared {
            db,
            clock,
            feeds,
            dispatcher: Arc::new(dispatcher),
            recent_tokens: http::recent_tokens(),
            pages: Arc::new(crate::web::PageCache::default()),
            config: Arc::new(HttpConfig {
                body_limit: config.body_limit,
                travel_buffer: config.travel_buffer,
                webhook_addresses: config.webhook_addresses.clone(),
                metrics: metrics_listener.is_none(),
            }),
        });
        Ok(Self {
            listener,
            metrics_listener,
            state,
            run_dispatcher: config.run_dispatcher,
            connections: config.connections.within_open_file_limit(),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The address `/metrics` is served at on its own, if it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The service's calendar feeds.
    pub fn feeds(&self) -> Arc<Feeds> {
        Arc::clone(&self.state.feeds)
    }

    /// The service's webhook dispatcher.
    pub fn dispatcher(&self) -> Arc<Dispatcher> {
        Arc::clone(&self.state.dispatcher)
    }

    /// The database the service uses.
    pub fn db(&self) -> &Db {
        &self.state.db
    }

    /// Serves (and sends the outbox, unless configured not to) until `shutdown` completes,
    /// then lets in-flight requests finish (for up to [`http::SHUTDOWN_GRACE`]), lets the
    /// dispatcher finish the sends in flight and free what it holds, and closes the database.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let db = self.state.db.clone();
        let stop_dispatching = CancellationToken::new();
        let dispatching = self.run_dispatcher.then(|| {
            let dispatcher = Arc::clone(&self.state.dispatcher);
            let stop = stop_dispatching.clone();
            tokio::spawn(async move { dispatcher.run(stop).await })
        });
        let upkeep = tokio::spawn(crate::metrics::upkeep(stop_dispatching.clone()));
        // Instances sharing PostgreSQL tell each other what their writes changed.
        let hearing = self.state.db.postgres_pool().cloned().map(|pool| {
            let feeds = Arc::clone(&self.state.feeds);
            let stop = stop_dispatching.clone();
            tokio::spawn(async move {
                tokio::join!(
                    feeds.changes().listen(pool.clone(), stop.clone()),
                    feeds.changes().announce(pool, stop)
                );
            })
        });
        if hearing.is_some() {
            self.state
                .feeds
                .changes()
                .until_listening(std::time::Duration::from_secs(2))
                .await;
        }
        // The metrics listener and the upkeep stop as soon as shutdown begins.
        let metrics = self.metrics_listener.map(|listener| {
            let router = http::metrics::router().with_state(self.state.clone());
            let stop = stop_dispatching.clone();
            tokio::spawn(server::run(listener, router, ConnectionLimits::default(), async move {
                stop.cancelled().await;
            }))
        });
        let router = http::router(self.state);
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let stop = stop_dispatching.clone();
        let server = server::run(self.listener, router, self.connections, async move {
            shutdown.await;
            stop.cancel();
            let _ = stopping_tx.send(());
        });
        let server = tokio::spawn(server);
        // Once shutdown begins, give in-flight requests a bounded time to finish.
        let finished = async {
            server
                .await
                .map_err(|join| anyhow::anyhow!("the server task failed: {join}"))
        };
        tokio::pin!(finished);
        tokio::select! {
            result = &mut finished => result?,
            () = async {
                let _ = stopping_rx.await;
                tokio::time::sleep(http::SHUTDOWN_GRACE).await;
            } => tracing::warn!("in-flight requests did not finish in time; stopping anyway"),
        }
        stop_dispatching.cancel();
        if let Some(dispatching) = dispatching
            && let Err(join) = dispatching.await
        {
            tracing::error!(error = %join, "the webhook dispatcher failed");
        }
        for task in [Some(upkeep), metrics, hearing].into_iter().flatten() {
            if let Err(join) = task.await {
                tracing::error!(error = %join, "serving metrics failed");
            }
        }
        db.close().await.context("closing the database")?;
        Ok(())
    }
}

/// Binds the listening socket; when the address is taken, says which setting changes it.
/// Binds the service's address and, when it has one of its own, the metrics address.
async fn bind_all(config: &Config) -> anyhow::Result<(TcpListener, Option<TcpListener>)> {
    let listener = bind(config.listen, "--listen or SCIDAY_LISTEN").await?;
    let metrics = match config.metrics_listen {
        Some(address) => Some(bind(address, "--metrics-listen or SCIDAY_METRICS_LISTEN").await?),
        None => None,
    };
    Ok((listener, metrics))
}

/// Binds `listen`, saying which `setting` chooses another address when it cannot.
async fn bind(listen: SocketAddr, setting: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(listen).await.map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
            format!("; another program listens there: choose another address with {setting}")
        } else {
            format!("; choose another address with {setting}")
        };
        anyhow::anyhow!("cannot listen on {listen}: {e}{hint}")
    })
}

/// Completes on SIGTERM or Ctrl-C. The handlers are installed by the call itself, not when
/// the future is first polled, so a signal sent as soon as the service says it is ready
/// already stops it gracefully.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        signal(SignalKind::terminate()).and_then(|terminate| Ok((terminate, signal(SignalKind::interrupt())?)))
    };
    async move {
        #[cfg(unix)]
        match signals {
            Ok((mut terminate, mut interrupt)) => {
                tokio::select! {
                    _ = terminate.recv() => {},
                    _ = interrupt.recv() => {},
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM or Ctrl-C");
                std::future::pending::<()>().await;
            }
        }
        #[cfg(not(unix))]
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down");
    }
}
