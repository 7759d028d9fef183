//! `sciday bench national`: the service at national size (issue 17), measured over HTTP.
//!
//! It finds or generates the national data set (100,000 sessions, 1,000,000 volunteers,
//! 1,500,000 assignments, 2,000 organizations, 10,000 venues, or a fraction of each), starts
//! `sciday serve` processes on loopback against it (two on PostgreSQL, as two instances
//! would run; one on SQLite), and measures the feeds, the lists, assignments and a wave of
//! reminders through them, with each process's memory. Every step is bounded in requests
//! and time, and the processes are stopped at the end (killed with their process group if
//! the run fails). The result is one markdown table.

mod data;
mod feeds;
mod lists;
pub mod report;
mod wave;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;

pub use self::data::DataSet;
use self::report::{Row, bytes};
use super::serving::{Memory, Serving};
use super::webhooks::Api;
use crate::db::{DatabaseUrl, Db};

/// What a run does, every part bounded.
#[derive(Clone, Debug)]
pub struct Options {
    /// The share of the national sizes to generate (1 for the full set).
    pub scale: f64,
    /// Empty a database of generated data and generate anew.
    pub regenerate: bool,
    /// Requests in each load of a feed.
    pub requests: usize,
    /// Requests in flight in each load of a feed.
    pub workers: usize,
    /// The longest a load of a feed goes on.
    pub seconds: Duration,
    /// Requests of each two-subscriber case, alternating.
    pub alternating: usize,
    /// Requests of each list case, one at a time.
    pub repeated: usize,
    /// The page of the volunteers list to reach by its cursors.
    pub deep_pages: usize,
    /// Assignment requests at each worker count.
    pub assignments: usize,
    /// Worker counts for assignments.
    pub levels: Vec<usize>,
    /// Reminders in the wave.
    pub reminders: usize,
    /// The parts measured.
    pub parts: Vec<Part>,
    /// Database connections of each serving process.
    pub max_connections: u32,
    /// The `sciday` executable to serve with.
    pub exe: PathBuf,
}

/// A part of the run, which `--only` may pick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Part {
    /// The feeds under load.
    Feeds,
    /// The candidates, sessions and volunteers lists.
    Lists,
    /// Assignments at each worker count.
    Assignments,
    /// The reminder wave.
    Wave,
}

impl Part {
    /// Every part, in the order a run measures them.
    pub const ALL: [Self; 4] = [Self::Feeds, Self::Lists, Self::Assignments, Self::Wave];
}

/// What a run measured: the data set and the table's rows.
#[derive(Debug)]
pub struct Report {
    /// The data set measured.
    pub data: DataSet,
    /// A row per measurement.
    pub rows: Vec<Row>,
}

/// Runs the national benchmark on the database at `url`.
pub async fn run(url: &DatabaseUrl, options: &Options) -> anyhow::Result<Report> {
    let db = Db::connect(url, 4).await?;
    db.migrate().await.context("applying database migrations")?;
    let now = Utc::now();
    let sizes = data::sizes(options.scale, now.date_naive());
    let data = data::ensure(&db, &sizes, options.regenerate, now).await?;
    eprintln!(
        "data set: {} sessions, {} volunteers, {} assignments ({})",
        data.generated.sessions,
        data.generated.volunteers,
        data.generated.assignments,
        match data.generated_in {
            Some(took) => format!("generated in {:.0} s", took.as_secs_f64()),
            None => "reused".to_owned(),
        }
    );
    let token = super::admin_token(&db, now).await?;
    let instances = if url.is_sqlite() { 1 } else { 2 };
    let pool = ["--max-connections".to_owned(), options.max_connections.to_string()];
    let mut servers = Vec::with_capacity(instances);
    for name in ["national-a", "national-b"].into_iter().take(instances) {
        servers.push(Serving::start(&options.exe, url, name, &pool)?);
    }
    let mut bases = Vec::with_capacity(instances);
    for server in &mut servers {
        bases.push(server.listening(Duration::from_secs(60)).await?);
    }
    let base = &bases[0];
    let mut memory = Watch::new(&servers, "start");

    let mut rows = Vec::new();
    let measures = |part| options.parts.contains(&part);
    if measures(Part::Feeds) {
        eprintln!("feeds on {base}");
        rows.extend(feeds::measure(&db, &data, base, options).await?);
        memory.note(&servers, "after feeds");
    }
    if measures(Part::Lists) {
        eprintln!("lists");
        rows.extend(lists::measure(&db, &data, base, &token, options).await?);
    }
    if measures(Part::Assignments) {
        eprintln!("assignments");
        rows.extend(assignments(&db, &data, base, &token, options).await?);
        memory.note(&servers, "after assignments");
    }
    if !measures(Part::Wave) {
        return finish(db, servers, memory, rows, data).await;
    }
    eprintln!("reminder wave");
    let mut api = Api::new(base, &token);
    let wave = wave::prepare(&db, &data, &api, options.reminders).await?;
    let mut said = String::new();
    if url.is_sqlite() {
        // On SQLite nothing wakes a dispatcher for another process's writes (it looks again
        // within minutes): the instance is restarted, and finds the wave at its start.
        memory.note(&servers, "before restarting");
        let before = servers.remove(0);
        let name = before.name.clone();
        before.stop()?;
        let mut again = Serving::start(&options.exe, url, &name, &pool)?;
        let base = again.listening(Duration::from_secs(60)).await?;
        servers.insert(0, again);
        api = Api::new(&base, &token);
        said = "the instance was restarted after the outbox was written".to_owned();
    }
    rows.push(wave::settle(&db, &api, wave, instances).await?.noting(said));
    finish(db, servers, memory, rows, data).await
}

/// Notes each process's memory at the end, stops the processes and closes the database.
async fn finish(
    db: Db,
    servers: Vec<Serving>,
    mut memory: Watch,
    mut rows: Vec<Row>,
    data: DataSet,
) -> anyhow::Result<Report> {
    memory.note(&servers, "end");
    rows.extend(memory.rows(&servers));
    // A process slow to stop is a finding of the run, reported with the rest, not a reason to
    // lose the run's table; it is killed either way.
    for server in servers {
        let name = server.name.clone();
        if let Err(error) = server.stop() {
            rows.push(Row::new(format!("stopping {name} (SIGTERM)")).noting(format!("{error:#}")));
        }
    }
    db.close().await?;
    Ok(Report { data, rows })
}

/// Assignments through the API at each worker count: distinct volunteers into free seats,
/// every request one that should succeed.
async fn assignments(db: &Db, data: &DataSet, base: &str, token: &str, options: &Options) -> anyhow::Result<Vec<Row>> {
    let wanted = options.assignments * options.levels.len();
    let pairs = super::plan(db, &data.generated, wanted).await?;
    let mut rows = Vec::new();
    for (&level, chunk) in options.levels.iter().zip(pairs.chunks(options.assignments.max(1))) {
        let measured = super::drive(base, token, chunk, level).await;
        let note = if measured.created == measured.requests {
            String::new()
        } else {
            format!("{} of {} created", measured.created, measured.requests)
        };
        rows.push(
            Row {
                requests: Some(measured.requests),
                median: Some(measured.p50),
                p99: Some(measured.p99),
                rate: Some(measured.rate()),
                ..Row::new(format!("assignments: {level} worker(s)"))
            }
            .noting(note),
        );
    }
    Ok(rows)
}

/// Each serving process's memory at the moments the run notes.
struct Watch {
    /// Per process: the moment and what was resident then.
    seen: Vec<Vec<(&'static str, Memory)>>,
}

impl Watch {
    fn new(servers: &[Serving], moment: &'static str) -> Self {
        let mut watch = Self {
            seen: vec![Vec::new(); servers.len()],
        };
        watch.note(servers, moment);
        watch
    }

    fn note(&mut self, servers: &[Serving], moment: &'static str) {
        for (seen, server) in self.seen.iter_mut().zip(servers) {
            if let Ok(memory) = server.memory() {
                seen.push((moment, memory));
            }
        }
    }

    /// A row per process: its peak resident memory, and what was resident at each moment.
    fn rows(&self, servers: &[Serving]) -> Vec<Row> {
        self.seen
            .iter()
            .zip(servers)
            .map(|(seen, server)| {
                let peak = seen.iter().map(|(_, m)| m.peak).max().unwrap_or_default();
                let moments: Vec<String> = seen
                    .iter()
                    .map(|(moment, m)| format!("{moment} {}", bytes(m.resident)))
                    .collect();
                Row {
                    size: Some(peak),
                    ..Row::new(format!("memory of {} (peak resident, VmHWM)", server.name))
                }
                .noting(format!("resident: {}", moments.join(", ")))
            })
            .collect()
    }
}
