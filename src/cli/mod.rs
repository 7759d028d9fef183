//! The `sciday` command line. Every flag also reads a `SCIDAY_*` environment variable.

mod bench;
mod data;
mod serve;
mod token;

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use chrono::TimeDelta;
use clap::{Args, Parser, Subcommand};

use self::bench::BenchCommand;
use self::data::{ExportArgs, GenerateArgs};
use self::serve::ServeArgs;
use self::token::TokenCommand;
use crate::clock::{Clock, SystemClock};
use crate::config;
use crate::db::{DatabaseUrl, Db};
use crate::error::Error;
use crate::store::{Policy, organizations, volunteers};

/// The sample program, built in so `sciday serve --demo` works from any directory.
pub const SAMPLE_PROGRAM: &str = include_str!("../../samples/lianyungang-2019.json");
/// Name of the admin token that `--demo` replaces at every start.
const DEMO_TOKEN_NAME: &str = "demo admin";

/// Scheduling service for National Science and Technology Workers' Day programs.
#[derive(Debug, Parser)]
#[command(name = "sciday", version, about)]
pub struct Cli {
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct DatabaseArgs {
    /// Database: sqlite://FILE (created if missing) or postgres://USER@HOST/DB.
    #[arg(long, global = true, env = "SCIDAY_DATABASE_URL", default_value = config::DEFAULT_DATABASE_URL)]
    database_url: String,
    /// Database connections per instance.
    #[arg(long, global = true, env = "SCIDAY_MAX_CONNECTIONS", default_value_t = config::DEFAULT_MAX_CONNECTIONS)]
    max_connections: u32,
    /// Minutes a volunteer needs between sessions at different venues.
    #[arg(long, global = true, env = "SCIDAY_TRAVEL_BUFFER_MINUTES", default_value_t = 30)]
    travel_buffer_minutes: u32,
}

impl DatabaseArgs {
    fn policy(&self) -> Policy {
        Policy {
            now: SystemClock.now(),
            travel_buffer: TimeDelta::minutes(i64::from(self.travel_buffer_minutes)),
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the HTTP API until SIGTERM or Ctrl-C.
    Serve(ServeArgs),
    /// Applies pending database migrations and exits.
    Migrate,
    /// Restores a file `sciday export` wrote into an empty database as it was; otherwise
    /// creates or updates records by key (importing the same file twice changes nothing).
    Import {
        /// The file, as written by `sciday export` (see samples/).
        #[arg(env = "SCIDAY_IMPORT_FILE")]
        file: PathBuf,
    },
    /// Writes everything the database holds as JSON that `sciday import` reads: a backup.
    Export(ExportArgs),
    /// Copies a live SQLite database to a new file without stopping the service.
    Backup {
        /// The copy to make; it must not exist yet.
        file: PathBuf,
    },
    /// Manages API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Adds a synthetic program of the given size (for benchmarks and load tests), all or
    /// nothing; into a database that already holds data only with `--force`.
    Generate(GenerateArgs),
    /// Measures the service.
    #[command(subcommand)]
    Bench(BenchCommand),
}

impl Cli {
    /// Whether the command measures the service (and should not log every request).
    pub fn is_benchmark(&self) -> bool {
        matches!(self.command, Command::Bench(_))
    }
}

/// Runs the command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let policy = cli.database.policy();
    let url = DatabaseUrl::new(cli.database.database_url);
    let max_connections = cli.database.max_connections;
    match cli.command {
        Command::Serve(args) => serve::serve(url, max_connections, policy.travel_buffer, args).await,
        Command::Migrate => {
            let db = open(&url, max_connections).await?;
            eprintln!("{url}: migrations applied");
            db.close().await?;
            Ok(())
        }
        Command::Import { file } => data::import(&url, max_connections, policy, &file).await,
        Command::Export(args) => data::export(&url, max_connections, &args).await,
        Command::Backup { file } => data::backup(&url, max_connections, &file).await,
        Command::Generate(args) => data::generate(&url, max_connections, policy, &args).await,
        Command::Bench(BenchCommand::Assign {
            sizes,
            requests,
            concurrency,
            repeats,
            explain,
        }) => {
            bench::bench_assign(
                url,
                max_connections,
                policy,
                &sizes,
                requests,
                &concurrency,
                repeats,
                explain,
            )
            .await
        }
        Command::Bench(BenchCommand::Feeds(args)) => bench::bench_feeds(url, max_connections, policy, &args).await,
        Command::Bench(BenchCommand::Webhooks {
            instances,
            repeats,
            kill,
            reminders,
            takeover_secs,
        }) => {
            let kill = kill.then(|| crate::bench::kill::Scenario {
                reminders: usize::try_from(reminders).unwrap_or(usize::MAX),
                takeover_secs,
                ..Default::default()
            });
            let asked = bench::WebhookBench {
                instances,
                repeats,
                kill,
            };
            bench::bench_webhooks(url, max_connections, policy, asked).await
        }
        Command::Token(command) => token::run(&url, max_connections, command).await,
    }
}

/// Opens the database and brings its schema up to date.
async fn open(url: &DatabaseUrl, max_connections: u32) -> anyhow::Result<Db> {
    let db = Db::connect(url, max_connections).await?;
    db.migrate().await.context("applying database migrations")?;
    Ok(db)
}

/// An organization named by id or key.
async fn find_organization(txn: &sea_orm::DatabaseTransaction, given: &str) -> anyhow::Result<i64> {
    let found = match given.parse::<i64>() {
        Ok(id) => organizations::get(txn, id).await.ok(),
        Err(_) => organizations::by_key(txn, given).await.map_err(|e| describe(&e))?,
    };
    match found {
        Some(organization) => Ok(organization.id),
        None => bail!("there is no organization with id or key {given:?}"),
    }
}

/// A volunteer named by id or key.
async fn find_volunteer(txn: &sea_orm::DatabaseTransaction, given: &str) -> anyhow::Result<i64> {
    let found = match given.parse::<i64>() {
        Ok(id) => volunteers::get(txn, id).await.ok(),
        Err(_) => volunteers::by_key(txn, given).await.map_err(|e| describe(&e))?,
    };
    match found {
        Some(volunteer) => Ok(volunteer.id),
        None => bail!("there is no volunteer with id or key {given:?}"),
    }
}

/// An error as a message for the terminal, with every field problem on its own line.
fn describe(error: &Error) -> anyhow::Error {
    match error {
        Error::Validation(problems) => {
            let lines: Vec<String> = problems
                .iter()
                .map(|p| format!("  {}: {} ({})", p.field, p.message, p.code))
                .collect();
            anyhow::anyhow!("the input is not valid:\n{}", lines.join("\n"))
        }
        Error::Refused(violations) => {
            let lines: Vec<String> = violations
                .iter()
                .map(|v| {
                    let rule = serde_json::to_value(v.rule).unwrap_or_default();
                    let mut names = vec![rule.as_str().unwrap_or_default().replace('_', " ")];
                    names.extend(v.assignment_id.map(|id| format!("assignment {id}")));
                    names.extend(v.session_id.map(|id| format!("session {id}")));
                    names.extend(v.team_id.map(|id| format!("team {id}")));
                    names.extend(v.unavailability_id.map(|id| format!("unavailability {id}")));
                    format!("  {} ({})", v.message, names.join(", "))
                })
                .collect();
            anyhow::anyhow!("{error}:\n{}", lines.join("\n"))
        }
        Error::Internal(cause) => anyhow::anyhow!("{cause:#}"),
        other => anyhow::anyhow!("{other}"),
    }
}
