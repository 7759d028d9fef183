//! The database handle: SQLite by default, PostgreSQL for several instances.
//!
//! SQLite allows one writer at a time. Rather than let writers collide and retry, sciday
//! gives SQLite a pool of one connection for writes (transactions queue for it in order)
//! and a separate pool for reads. On PostgreSQL both are the same pool, and correctness
//! under concurrency comes from row locks inside each transaction.

use std::fmt;
use std::str::FromStr as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::postgres::PgConnectOptions;
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

/// A database URL whose password never reaches a log.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a `sqlite://…` or `postgres://…` URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The URL itself, for connecting.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether this is a SQLite URL.
    pub fn is_sqlite(&self) -> bool {
        self.0.starts_with("sqlite:")
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match url::Url::parse(&self.0) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("REDACTED"));
                f.write_str(url.as_str())
            }
            _ => f.write_str(&self.0),
        }
    }
}

/// Connection pools for reading and writing.
#[derive(Clone, Debug)]
pub struct Db {
    reader: DatabaseConnection,
    writer: DatabaseConnection,
    /// Whether `reader` and `writer` are the same pool.
    shared: bool,
    /// Write transactions waiting to begin.
    waiting: Arc<AtomicUsize>,
}

/// How a pool's connections are used at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolUse {
    /// `read` and `write` on SQLite, `shared` where one pool does both.
    pub pool: &'static str,
    /// Connections open and serving a query or transaction.
    pub in_use: u32,
    /// Connections open and free.
    pub idle: u32,
    /// The most the pool may open.
    pub max: u32,
}

/// What connecting does when a SQLite database file does not exist yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    /// Creates it: for the commands that set a database up (`serve`, `migrate`, `import`,
    /// `generate`).
    Create,
    /// Fails with "no such database", so a mistyped path is not taken for an empty database.
    Refuse,
}

/// How long the first contact with a PostgreSQL server may take before connecting gives up.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

impl Db {
    /// Connects, creating a SQLite database that does not exist yet; `max_connections` bounds
    /// the only pool on PostgreSQL, and the reading pool on SQLite (which also stays within
    /// twice the number of cores).
    pub async fn connect(url: &DatabaseUrl, max_connections: u32) -> anyhow::Result<Self> {
        Self::open(url, max_connections, Missing::Create).await
    }

    /// Connects, doing what `missing` says if a SQLite database does not exist.
    pub async fn open(url: &DatabaseUrl, max_connections: u32, missing: Missing) -> anyhow::Result<Self> {
        let db = if url.is_sqlite() {
            let in_memory = url.expose().contains(":memory:") || url.expose().contains("mode=memory");
            let create = missing == Missing::Create || in_memory;
            if !create {
                require_sqlite_file(url)?;
            }
            let writer = connect_sqlite(url, 1, create).await?;
            // An in-memory database exists only inside its one connection. Every SQLite
            // connection runs on a thread of its own, so more readers than about twice the
            // cores only adds switching between threads.
            let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
            let readers = max_connections.min(u32::try_from(cores * 2).unwrap_or(u32::MAX)).max(1);
            let reader = if in_memory {
                writer.clone()
            } else {
                connect_sqlite(url, readers, create).await?
            };
            Self {
                reader,
                writer,
                shared: in_memory,
                waiting: Arc::default(),
            }
        } else {
            probe_postgres(url).await?;
            let mut options = ConnectOptions::new(url.expose());
            options
                .max_connections(max_connections)
                .min_connections(1)
                .connect_timeout(Duration::from_secs(10))
                .acquire_timeout(Duration::from_secs(30))
                .sqlx_logging(false);
            let pool = Database::connect(options)
                .await
                .with_context(|| format!("connecting to {url}"))?;
            Self {
                reader: pool.clone(),
                writer: pool,
                shared: true,
                waiting: Arc::default(),
            }
        };
        Ok(db)
    }

    /// Applies pending migrations, logs the name of each one applied and returns their names.
    /// On PostgreSQL an advisory lock makes instances that start together take turns, so
    /// exactly one of them migrates (and logs).
    pub async fn migrate(&self) -> Result<Vec<String>, DbErr> {
        let txn = self.begin().await?;
        if txn.get_database_backend() == DatabaseBackend::Postgres {
            txn.execute_raw(Statement::from_string(
                DatabaseBackend::Postgres,
                "SELECT pg_advisory_xact_lock(7235305301)",
            ))
            .await?;
        }
        let pending: Vec<String> = Migrator::get_pending_migrations(&txn)
            .await?
            .iter()
            .map(|m| m.name().to_owned())
            .collect();
        Migrator::up(&txn, None).await?;
        txn.commit().await?;
        // Logged once committed: a migration that failed left nothing applied.
        for name in &pending {
            tracing::info!(migration = %name, "applied database migration");
        }
        Ok(pending)
    }

    /// The pool for queries that only read.
    pub fn reader(&self) -> &DatabaseConnection {
        &self.reader
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so a transaction never fails half-way for want of it.
    ///
    /// While it waits for a connection it counts in [`Self::waiting`], and the time it took is
    /// recorded in [`crate::metrics::DB_BEGIN_WAIT`].
    pub async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        let started = Instant::now();
        let waiting = Waiting::enter(&self.waiting);
        let txn = self
            .writer
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await;
        drop(waiting);
        metrics::histogram!(crate::metrics::DB_BEGIN_WAIT).record(started.elapsed());
        txn
    }

    /// Write transactions of this instance waiting to begin now: on SQLite, those queued for
    /// the one writing connection; on PostgreSQL, those waiting for a free connection of the pool.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// How the connections of this instance's pools are used now.
    pub fn pools(&self) -> Vec<PoolUse> {
        let mut pools = vec![pool_use(&self.writer, if self.shared { "shared" } else { "write" })];
        if !self.shared {
            pools.push(pool_use(&self.reader, "read"));
        }
        pools
    }

    /// Which database this is.
    pub fn backend(&self) -> DatabaseBackend {
        self.writer.get_database_backend()
    }

    /// The PostgreSQL pool, for what only PostgreSQL offers (`LISTEN`).
    pub fn postgres_pool(&self) -> Option<&sea_orm::sqlx::PgPool> {
        (self.backend() == DatabaseBackend::Postgres).then(|| self.writer.get_postgres_connection_pool())
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.reader.ping().await
    }

    /// Closes both pools.
    pub async fn close(self) -> Result<(), DbErr> {
        if !self.shared {
            self.reader.close().await?;
        }
        self.writer.close().await
    }
}

/// Counts a waiting transaction until dropped, so one abandoned while it waits counts no more.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn enter(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn pool_use(connection: &DatabaseConnection, pool: &'static str) -> PoolUse {
    let (size, idle, max) = match connection.get_database_backend() {
        DatabaseBackend::Postgres => {
            let pool = connection.get_postgres_connection_pool();
            (pool.size(), pool.num_idle(), pool.options().get_max_connections())
        }
        _ => {
            let pool = connection.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle(), pool.options().get_max_connections())
        }
    };
    let idle = u32::try_from(idle).unwrap_or(u32::MAX).min(size);
    PoolUse {
        pool,
        in_use: size - idle,
        idle,
        max,
    }
}

/// Fails with "no such database" unless the SQLite file named in `url` exists.
fn require_sqlite_file(url: &DatabaseUrl) -> anyhow::Result<()> {
    let options = SqliteConnectOptions::from_str(url.expose()).with_context(|| format!("reading {url}"))?;
    let file = options.get_filename();
    if !file.exists() {
        anyhow::bail!(
            "no such database: {} does not exist (check --database-url or SCIDAY_DATABASE_URL; \
             sciday serve, migrate, import and generate create a new one)",
            file.display()
        );
    }
    Ok(())
}

/// Reaches the PostgreSQL server once, with a short timeout, before a pool is built: the pool
/// would retry a refused connection until its acquire timeout and then report only that it
/// timed out. A server that answers lets the pool report its own errors (an unknown database,
/// a wrong password) at once.
async fn probe_postgres(url: &DatabaseUrl) -> anyhow::Result<()> {
    let options = PgConnectOptions::from_str(url.expose()).with_context(|| format!("reading {url}"))?;
    if options.get_socket().is_some() || options.get_host().starts_with('/') {
        return Ok(());
    }
    let (host, port) = (options.get_host(), options.get_port());
    let place = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    match tokio::time::timeout(PROBE_TIMEOUT, tokio::net::TcpStream::connect((host, port))).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            anyhow::bail!("connecting to {url}: connection refused at {place} (is PostgreSQL running there?)")
        }
        Ok(Err(e)) => anyhow::bail!("connecting to {url}: cannot reach {place}: {e}"),
        Err(_) => anyhow::bail!(
            "connecting to {url}: no answer from {place} within {} s",
            PROBE_TIMEOUT.as_secs()
        ),
    }
}

async fn connect_sqlite(url: &DatabaseUrl, max_connections: u32, create: bool) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.expose());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(60))
        // An in-memory database dies with its last connection: never retire them.
        .idle_timeout(None)
        .max_lifetime(None)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |opts| {
            opts.create_if_missing(create)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30))
                // 16 MiB of page cache per connection, and reads through the OS page cache.
                .pragma("cache_size", "-16384")
                .pragma("mmap_size", "268435456")
                .pragma("temp_store", "memory")
        });
    Database::connect(options)
        .await
        .with_context(|| format!("opening {url}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_is_built_to_keep_each_statements_plan() {
        // Without this, every lookup with a bound LIMIT is compiled anew on each execution
        // (see `.cargo/config.toml`).
        let db = Db::connect(&DatabaseUrl::new("sqlite::memory:"), 1).await.unwrap();
        let rows = db
            .reader()
            .query_all_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Sqlite,
                "PRAGMA compile_options",
            ))
            .await
            .unwrap();
        let options: Vec<String> = rows.iter().map(|row| row.try_get_by_index(0).unwrap()).collect();
        assert!(options.iter().any(|option| option == "ENABLE_QPSG"), "{options:?}");
    }

    #[test]
    fn passwords_in_database_urls_are_redacted() {
        let url = DatabaseUrl::new("postgres://sciday:hunter2@db:5432/sciday");
        assert_eq!(url.to_string(), "postgres://sciday:REDACTED@db:5432/sciday");
        assert!(!format!("{url:?}").contains("hunter2"));
    }
}
