//! What this instance knows has changed since it last read a feed's stamp, so that a feed
//! nothing touched is answered from memory without asking the database.
//!
//! Writes raise counters in `feed_stamps` (see [`crate::store::stamps`]) and name the keys they
//! raised. This instance's own writes mark those keys here as soon as they are committed;
//! other instances' arrive through PostgreSQL `LISTEN/NOTIFY` on [`CHANNEL`]. Marks are kept
//! in a fixed set of counters indexed by a hash of the key, so memory does not grow with the
//! program: two keys sharing a counter only cost a feed an extra stamp read.

use std::collections::BTreeSet;
use std::hash::{DefaultHasher, Hasher as _};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::sqlx::postgres::{PgListener, PgPool};
use tokio_util::sync::CancellationToken;

use crate::store::stamps::{self, Dependency};

/// The channel instances tell each other on.
pub const CHANNEL: &str = "sciday_feeds";

/// Counters keys are spread over.
const BUCKETS: usize = 4096;

/// How long local writes are gathered before they are announced to other instances.
const GATHER: Duration = Duration::from_millis(100);

/// Longest notification payload (PostgreSQL's limit is 8000 bytes).
const MOST_PAYLOAD: usize = 7000;

/// The marks.
pub struct Changes {
    /// This instance, as its notifications name it (its own come back to it, and are skipped).
    instance: String,
    everything: AtomicU64,
    total: AtomicU64,
    buckets: Box<[AtomicU64]>,
    /// Whether other instances' changes are heard (a listener is connected).
    listening: AtomicBool,
    /// Keys written here and not yet announced.
    unannounced: Mutex<BTreeSet<String>>,
    announce: tokio::sync::Notify,
    heard_first: tokio::sync::Notify,
}

impl std::fmt::Debug for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Changes")
            .field("total", &self.total.load(Ordering::Relaxed))
            .field("listening", &self.listening.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Default for Changes {
    fn default() -> Self {
        Self {
            instance: format!("{:016x}", rand::random::<u64>()),
            everything: AtomicU64::new(0),
            total: AtomicU64::new(0),
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            listening: AtomicBool::new(false),
            unannounced: Mutex::new(BTreeSet::new()),
            announce: tokio::sync::Notify::new(),
            heard_first: tokio::sync::Notify::new(),
        }
    }
}

impl Changes {
    /// Marks `key` changed: for an organization's or team's key, its ancestors too, whose
    /// feeds show their subtrees.
    pub fn mark(&self, key: &str) {
        self.total.fetch_add(1, Ordering::AcqRel);
        if key == stamps::EVERYTHING {
            self.everything.fetch_add(1, Ordering::AcqRel);
            return;
        }
        match key.split_once(":/") {
            Some((kind, path)) => {
                // `team:/1/5/9/` marks `team:/1/`, `team:/1/5/` and `team:/1/5/9/`.
                let mut prefix = format!("{kind}:/");
                for part in path.split_terminator('/') {
                    prefix.push_str(part);
                    prefix.push('/');
                    self.bucket(&prefix).fetch_add(1, Ordering::AcqRel);
                }
            }
            None => {
                self.bucket(key).fetch_add(1, Ordering::AcqRel);
            }
        }
    }

    /// Marks every feed changed.
    pub fn mark_everything(&self) {
        self.mark(stamps::EVERYTHING);
    }

    /// Where a feed depending on `dependency` stands: it moves whenever a change is marked
    /// that the feed may show.
    pub fn standing(&self, dependency: &Dependency) -> (u64, u64) {
        (
            self.everything.load(Ordering::Acquire),
            self.bucket(dependency.key()).load(Ordering::Acquire),
        )
    }

    /// How many changes were marked since start.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Acquire)
    }

    /// Whether other instances' changes are being heard.
    pub fn listening(&self) -> bool {
        self.listening.load(Ordering::Acquire)
    }

    /// Waits (up to `patience`) until other instances' changes are heard, so that an
    /// instance starting on PostgreSQL serves its first feed with the listener up.
    pub async fn until_listening(&self, patience: Duration) {
        let heard = self.heard_first.notified();
        if self.listening() {
            return;
        }
        let _ = tokio::time::timeout(patience, heard).await;
    }

    /// Marks the keys this instance's committed writes raised, and queues them for the other
    /// instances.
    pub fn written(&self, keys: BTreeSet<String>) {
        if keys.is_empty() {
            return;
        }
        for key in &keys {
            self.mark(key);
        }
        self.unannounced
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(keys);
        self.announce.notify_one();
    }

    fn bucket(&self, key: &str) -> &AtomicU64 {
        // The same key always lands on the same counter (keys come from the database, not
        // from requests, so they cannot be chosen to collide).
        let mut hasher = DefaultHasher::new();
        hasher.write(key.as_bytes());
        let index = usize::try_from(hasher.finish() % BUCKETS as u64).unwrap_or(0);
        &self.buckets[index]
    }

    /// What a notification from elsewhere says: marks its keys, unless it is this instance's.
    fn heard(&self, payload: &str) {
        let mut words = payload.split(' ');
        if words.next() == Some(self.instance.as_str()) {
            return;
        }
        for key in words.filter(|k| !k.is_empty()) {
            self.mark(key);
        }
    }

    /// The payloads announcing what is unannounced, each under PostgreSQL's limit; `*` alone
    /// when the keys would not fit in a few.
    fn payloads(&self) -> Vec<String> {
        let keys = std::mem::take(
            &mut *self
                .unannounced
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        if keys.is_empty() {
            return Vec::new();
        }
        let mut payloads = vec![self.instance.clone()];
        for key in &keys {
            let last = payloads.last_mut().filter(|p| p.len() + key.len() < MOST_PAYLOAD);
            match last {
                Some(payload) => {
                    payload.push(' ');
                    payload.push_str(key);
                }
                None => payloads.push(format!("{} {key}", self.instance)),
            }
        }
        if payloads.len() > 8 {
            return vec![format!("{} {}", self.instance, stamps::EVERYTHING)];
        }
        payloads
    }

    /// Hears other instances until `stop`: marks what they announce, and everything whenever
    /// the connection was lost (announcements may have been missed meanwhile).
    pub async fn listen(&self, pool: PgPool, stop: CancellationToken) {
        let mut backoff = Duration::from_millis(200);
        let mut connected_before = false;
        while !stop.is_cancelled() {
            let mut listener = match PgListener::connect_with(&pool).await {
                Ok(listener) => listener,
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for other instances' feed changes; retrying");
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    continue;
                }
            };
            if let Err(error) = listener.listen(CHANNEL).await {
                tracing::warn!(%error, "cannot listen for other instances' feed changes; retrying");
                continue;
            }
            backoff = Duration::from_millis(200);
            // What changed while a listener was down was not heard (before the first, this
            // instance had read no feed).
            if std::mem::replace(&mut connected_before, true) {
                self.mark_everything();
            }
            self.listening.store(true, Ordering::Release);
            self.heard_first.notify_waiters();
            loop {
                let received = tokio::select! {
                    () = stop.cancelled() => break,
                    received = listener.try_recv() => received,
                };
                match received {
                    Ok(Some(notification)) => self.heard(notification.payload()),
                    // The connection was lost and is made again on the next call.
                    Ok(None) => self.mark_everything(),
                    Err(error) => {
                        tracing::warn!(%error, "lost the feed-change listener; reconnecting");
                        break;
                    }
                }
            }
            self.listening.store(false, Ordering::Release);
        }
    }

    /// Announces this instance's writes to the others until `stop`, gathering them for
    /// [`GATHER`] so that a burst of writes makes one notification.
    pub async fn announce(&self, pool: PgPool, stop: CancellationToken) {
        loop {
            let stopping = tokio::select! {
                () = stop.cancelled() => true,
                () = self.announce.notified() => false,
            };
            if !stopping {
                tokio::time::sleep(GATHER).await;
            }
            for payload in self.payloads() {
                let sent = sea_orm::sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(CHANNEL)
                    .bind(&payload)
                    .execute(&pool)
                    .await;
                if let Err(error) = sent {
                    // Other instances see the change at their next recheck instead.
                    tracing::warn!(%error, "cannot announce feed changes to other instances");
                }
            }
            if stopping {
                return;
            }
        }
    }
}

/// Tells instances serving the same PostgreSQL database that every feed may have changed
/// (after a command such as `import` wrote to it). Nothing to do on SQLite, whose instance
/// finds out at its next recheck.
pub async fn announce_everything(db: &crate::db::Db) {
    let Some(pool) = db.postgres_pool() else {
        return;
    };
    let sent = sea_orm::sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(format!("command {}", stamps::EVERYTHING))
        .execute(pool)
        .await;
    if let Err(error) = sent {
        tracing::warn!(%error, "cannot tell running instances that their feeds changed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team(path: &str) -> Dependency {
        Dependency::Subtree(stamps::team(path))
    }

    #[test]
    fn a_change_in_a_subtree_moves_the_feeds_above_it_and_not_its_siblings() {
        let changes = Changes::default();
        let (root, branch, sibling) = (team("/1/"), team("/1/5/"), team("/1/6/"));
        let before = [&root, &branch, &sibling].map(|d| changes.standing(d));
        changes.mark(&stamps::team("/1/5/9/"));
        let after = [&root, &branch, &sibling].map(|d| changes.standing(d));
        assert_ne!(before[0], after[0]);
        assert_ne!(before[1], after[1]);
        assert_eq!(before[2], after[2]);
    }

    #[test]
    fn everything_moves_every_feed() {
        let changes = Changes::default();
        let program = Dependency::Key(stamps::program(3));
        let before = changes.standing(&program);
        changes.mark_everything();
        assert_ne!(before, changes.standing(&program));
    }

    #[test]
    fn an_instance_skips_its_own_announcements_and_hears_others() {
        let (here, there) = (Changes::default(), Changes::default());
        let program = Dependency::Key(stamps::program(3));
        here.written(BTreeSet::from([stamps::program(3)]));
        let payloads = here.payloads();
        assert_eq!(payloads.len(), 1);
        let (mine, theirs) = (here.standing(&program), there.standing(&program));
        here.heard(&payloads[0]);
        there.heard(&payloads[0]);
        assert_eq!(here.standing(&program), mine);
        assert_ne!(there.standing(&program), theirs);
        assert!(here.payloads().is_empty(), "announced once");
    }

    #[test]
    fn many_keys_are_announced_in_payloads_postgresql_takes() {
        let changes = Changes::default();
        changes.written((0..2000).map(stamps::volunteer).collect());
        let payloads = changes.payloads();
        assert!(payloads.len() > 1);
        assert!(payloads.iter().all(|p| p.len() < 8000));
        changes.written((0..200_000).map(stamps::volunteer).collect());
        assert_eq!(changes.payloads(), vec![format!("{} *", changes.instance)]);
    }
}
