//! `sciday import`, `export` and `generate`: whole programs in and out of the database.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::{COMMAND_CONNECTIONS, describe, open, open_existing};
use crate::clock::{Clock as _, SystemClock};
use crate::db::{DatabaseUrl, Db};
use crate::domain::text::thousands;
use crate::generate;
use crate::store::{self, Policy};
use crate::transfer::{self, Document, Report};

/// `sciday import FILE`.
pub(super) async fn import(url: &DatabaseUrl, policy: Policy, file: &Path) -> anyhow::Result<()> {
    let text = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let document: Document = crate::http::parse_json(&text).map_err(|e| describe(&e))?;
    let db = open(url, COMMAND_CONNECTIONS).await?;
    let report = import_with_progress(&db, &document, policy).await?;
    print_report(&file.display().to_string(), &report);
    db.close().await?;
    Ok(())
}

/// What `sciday export` writes, and where.
#[derive(Debug, Args)]
pub(super) struct ExportArgs {
    /// Write here instead of standard output.
    #[arg(long, short, env = "SCIDAY_EXPORT_OUTPUT")]
    output: Option<PathBuf>,
    /// Only this program (by id) and what it needs.
    #[arg(long, env = "SCIDAY_EXPORT_PROGRAM")]
    program: Option<i64>,
    /// Also write webhook addresses and signing secrets as they are, and API token hashes.
    /// Without it, subscriptions come back disabled and tokens revoked.
    #[arg(long)]
    include_secrets: bool,
    /// Also write messages already sent, failed or withdrawn, with their attempts.
    #[arg(long)]
    include_deliveries: bool,
}

/// `sciday export`.
pub(super) async fn export(url: &DatabaseUrl, args: &ExportArgs) -> anyhow::Result<()> {
    let db = open_existing(url).await?;
    let options = transfer::Options {
        include_secrets: args.include_secrets,
        include_deliveries: args.include_deliveries,
        program: args.program,
    };
    let document = transfer::export(db.reader(), options).await.map_err(|e| describe(&e))?;
    let mut json = serde_json::to_string_pretty(&document)?;
    json.push('\n');
    match &args.output {
        Some(path) => std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?,
        None => std::io::stdout().write_all(json.as_bytes())?,
    }
    db.close().await?;
    Ok(())
}

/// `sciday backup FILE`: SQLite's `VACUUM INTO`, a consistent copy made while writers go on.
pub(super) async fn backup(url: &DatabaseUrl, file: &Path) -> anyhow::Result<()> {
    if !url.is_sqlite() {
        bail!(
            "sciday backup copies a SQLite database; for PostgreSQL use pg_dump (see the README), \
             or sciday export for a file any database can import"
        );
    }
    if file.exists() {
        bail!("{} exists; give a path for a new file", file.display());
    }
    let db = open_existing(url).await?;
    let target = file.to_str().context("the backup path is not UTF-8")?;
    let started = Instant::now();
    store::copy_sqlite(db.reader(), target)
        .await
        .map_err(|e| describe(&e))?;
    db.close().await?;
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or_default();
    eprintln!(
        "{url} copied to {} ({size} bytes) in {:.1} s",
        file.display(),
        started.elapsed().as_secs_f64()
    );
    eprintln!(
        "to restore it: stop sciday, replace the database file with this copy (and remove its \
         -wal and -shm files), and start sciday again; or run sciday --database-url sqlite://{} serve",
        file.display()
    );
    Ok(())
}

/// What `sciday generate` makes, and whether it may add to existing data.
#[derive(Debug, Args)]
pub(super) struct GenerateArgs {
    #[command(flatten)]
    sizes: SizeArgs,
    /// Add the program even though the database already holds data.
    #[arg(long, env = "SCIDAY_GENERATE_FORCE")]
    force: bool,
}

/// `sciday generate`: one transaction, so a run that is killed leaves the database as it was.
pub(super) async fn generate(url: &DatabaseUrl, args: &GenerateArgs) -> anyhow::Result<()> {
    let db = open(url, COMMAND_CONNECTIONS).await?;
    if !args.force && store::holds_data(db.reader()).await.map_err(|e| describe(&e))? {
        db.close().await?;
        bail!(
            "{url} already holds organizations, venues, programs or volunteers; \
             give --force to add a synthetic program to them"
        );
    }
    let sizes = args.sizes.sizes();
    eprintln!("{}", announce(url, &sizes));
    let started = Instant::now();
    let bar = terminal_bar(generate::STEPS, "{spinner} {bar:40} {pos}/{len} {msg} ({elapsed})");
    if !bar.is_hidden() {
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
    }
    let generated = generate::generate(&db, &sizes, SystemClock.now(), &|step| {
        if bar.is_hidden() {
            eprintln!("generated {step}");
        } else {
            bar.set_message(format!("generated {step}"));
            bar.inc(1);
        }
    })
    .await;
    bar.finish_and_clear();
    let generated = generated.map_err(|e| describe(&e))?;
    crate::feeds::changes::announce_everything(&db).await;
    eprintln!(
        "program {}: {} sessions, {} volunteers, {} assignments in {:.1} s",
        generated.program_id,
        generated.sessions,
        generated.volunteers,
        generated.assignments,
        started.elapsed().as_secs_f64()
    );
    db.close().await?;
    Ok(())
}

/// What `sciday generate` is about to write, and where, before it starts.
fn announce(url: &DatabaseUrl, sizes: &generate::Sizes) -> String {
    let n = |count: usize| thousands(count as u64);
    format!(
        "writing a synthetic program into {url}: {} organizations, {} venues, {} sessions with a \
         role each, {} volunteers and up to {} assignments over {} days (about {} rows, in one \
         transaction: stopped before the end, it writes nothing)",
        n(sizes.organizations),
        n(sizes.venues),
        n(sizes.sessions),
        n(sizes.volunteers),
        n(sizes.assignments),
        sizes.days,
        n(sizes.rows()),
    )
}

#[derive(Debug, Args)]
pub(super) struct SizeArgs {
    /// Organizations under the synthetic city association.
    #[arg(long, env = "SCIDAY_GENERATE_ORGANIZATIONS", default_value_t = 50)]
    organizations: usize,
    /// Venues.
    #[arg(long, env = "SCIDAY_GENERATE_VENUES", default_value_t = 500)]
    venues: usize,
    /// Sessions (each with one role).
    #[arg(long, env = "SCIDAY_GENERATE_SESSIONS", default_value_t = 20_000)]
    sessions: usize,
    /// Volunteers.
    #[arg(long, env = "SCIDAY_GENERATE_VOLUNTEERS", default_value_t = 100_000)]
    volunteers: usize,
    /// Assignments, valid by construction.
    #[arg(long, env = "SCIDAY_GENERATE_ASSIGNMENTS", default_value_t = 300_000)]
    assignments: usize,
    /// Seats in each role.
    #[arg(long, env = "SCIDAY_GENERATE_SEATS", default_value_t = 20)]
    seats: usize,
    /// Days the program spans.
    #[arg(long, env = "SCIDAY_GENERATE_DAYS", default_value_t = 30)]
    days: u32,
    /// The program's first day (default: 30 days from today, so every session lies ahead).
    #[arg(long, env = "SCIDAY_GENERATE_FIRST_DAY")]
    first_day: Option<chrono::NaiveDate>,
    /// Seed of the random choices; the same seed gives the same program.
    #[arg(long, env = "SCIDAY_GENERATE_SEED", default_value_t = 2019)]
    seed: u64,
}

impl SizeArgs {
    /// The sizes to generate.
    pub(super) fn sizes(&self) -> generate::Sizes {
        generate::Sizes {
            organizations: self.organizations,
            venues: self.venues,
            sessions: self.sessions,
            volunteers: self.volunteers,
            assignments: self.assignments,
            seats_per_session: self.seats,
            days: self.days,
            first_day: self
                .first_day
                .unwrap_or_else(|| chrono::Utc::now().date_naive() + chrono::Days::new(30)),
            seed: self.seed,
        }
    }
}

/// A progress bar on a terminal; hidden otherwise, so files and pipes get no redrawn lines.
fn terminal_bar(len: u64, template: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
    bar
}

/// Imports a document, with a progress bar on a terminal.
pub(super) async fn import_with_progress(db: &Db, document: &Document, policy: Policy) -> anyhow::Result<Report> {
    let bar = terminal_bar(
        document.len() as u64,
        "importing {bar:40} {pos}/{len} records ({eta} left)",
    );
    let report = transfer::import(db, document, policy, &|| bar.inc(1)).await;
    bar.finish_and_clear();
    let report = report.map_err(|e| describe(&e))?;
    crate::feeds::changes::announce_everything(db).await;
    Ok(report)
}

/// What an import created or updated, on standard error.
pub(super) fn print_report(source: &str, report: &Report) {
    if report.restored {
        eprintln!("restored {source} into an empty database:");
    } else {
        eprintln!("imported {source}:");
    }
    eprintln!("  organizations: {}", report.organizations);
    eprintln!("  venues:        {}", report.venues);
    eprintln!("  programs:      {}", report.programs);
    eprintln!("  activities:    {}", report.activities);
    eprintln!("  sessions:      {}", report.sessions);
    eprintln!("  teams:         {}", report.teams);
    eprintln!("  volunteers:    {}", report.volunteers);
    eprintln!("  session roles: {}", report.session_roles);
    eprintln!("  assignments:   {}", report.assignments);
    if report.restored {
        eprintln!("  API tokens:    {}", report.api_tokens);
        eprintln!("  plans:         {}", report.plans);
        eprintln!("  extensions:    {}", report.plan_extensions);
        eprintln!("  webhooks:      {}", report.webhooks);
        eprintln!("  outbox:        {}", report.deliveries);
    }
    for left_out in &report.left_out {
        eprintln!("  left out: {left_out}");
    }
}
