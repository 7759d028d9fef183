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
use crate::db::{DatabaseUrl, Db, Missing};
use crate::error::Error;
use crate::store::{Policy, organizations, volunteers};
use crate::telemetry::LogFormat;

/// The sample program, built in so `sciday serve --demo` works from any directory.
pub const SAMPLE_PROGRAM: &str = include_str!("../../samples/lianyungang-2019.json");
/// Name of the admin token that `--demo` makes when it loads the sample.
const DEMO_TOKEN_NAME: &str = "demo admin";

/// Scheduling service for National Science and Technology Workers' Day programs.
#[derive(Debug, Parser)]
#[command(name = "sciday", version, about)]
pub struct Cli {
    /// Database: sqlite://FILE or postgres://USER:PASSWORD@HOST/DB. Only serve, migrate,
    /// import and generate create a SQLite file that does not exist.
    #[arg(long, global = true, env = "SCIDAY_DATABASE_URL", default_value = config::DEFAULT_DATABASE_URL)]
    database_url: String,
    /// How log records are written on stderr: text (the default on a terminal) or json (the
    /// default otherwise).
    #[arg(long, global = true, env = "SCIDAY_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

/// The database pool's size, for the commands that serve requests.
#[derive(Debug, Args)]
struct PoolArgs {
    /// Database connections per instance.
    #[arg(long, env = "SCIDAY_MAX_CONNECTIONS", default_value_t = config::DEFAULT_MAX_CONNECTIONS)]
    max_connections: u32,
}

/// The staffing rule an operator may tune, for the commands that judge assignments.
#[derive(Debug, Args)]
struct StaffingArgs {
    /// Minutes a volunteer needs between sessions at different venues.
    #[arg(long, env = "SCIDAY_TRAVEL_BUFFER_MINUTES", default_value_t = DEFAULT_TRAVEL_BUFFER_MINUTES)]
    travel_buffer_minutes: u32,
}

/// The travel time between venues that the staffing rules assume unless told otherwise.
const DEFAULT_TRAVEL_BUFFER_MINUTES: u32 = 30;

impl Default for StaffingArgs {
    fn default() -> Self {
        Self {
            travel_buffer_minutes: DEFAULT_TRAVEL_BUFFER_MINUTES,
        }
    }
}

impl StaffingArgs {
    /// The rules as of now.
    fn policy(&self) -> Policy {
        Policy {
            now: SystemClock.now(),
            travel_buffer: TimeDelta::minutes(i64::from(self.travel_buffer_minutes)),
        }
    }
}

/// Connections for a command that runs once and exits: it uses one at a time.
const COMMAND_CONNECTIONS: u32 = 2;

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
        #[command(flatten)]
        staffing: StaffingArgs,
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

    /// The log format asked for, if any.
    pub fn log_format(&self) -> Option<LogFormat> {
        self.log_format
    }
}

/// Runs the command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let url = DatabaseUrl::new(cli.database_url);
    match cli.command {
        Command::Serve(args) => serve::serve(url, args).await,
        Command::Migrate => {
            let db = Db::connect(&url, COMMAND_CONNECTIONS).await?;
            let applied = db.migrate().await.context("applying database migrations")?;
            match applied.len() {
                0 => eprintln!("{url}: the schema is up to date; no migration was needed"),
                n => eprintln!("{url}: {n} migration(s) applied"),
            }
            db.close().await?;
            Ok(())
        }
        Command::Import { file, staffing } => data::import(&url, staffing.policy(), &file).await,
        Command::Export(args) => data::export(&url, &args).await,
        Command::Backup { file } => data::backup(&url, &file).await,
        Command::Generate(args) => data::generate(&url, &args).await,
        Command::Bench(command) => bench::run(url, command).await,
        Command::Token(command) => token::run(&url, command).await,
    }
}

/// An error as one text for the terminal: each cause after the first, unless an earlier one
/// already says it (database errors repeat their cause in their own message).
pub fn error_text(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let said = cause.to_string();
        if text.contains(said.as_str()) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&said);
    }
    text
}

/// Opens the database, creating it if it does not exist, and brings its schema up to date.
async fn open(url: &DatabaseUrl, max_connections: u32) -> anyhow::Result<Db> {
    let db = Db::connect(url, max_connections).await?;
    db.migrate().await.context("applying database migrations")?;
    Ok(db)
}

/// Opens a database that must exist already, and brings its schema up to date.
async fn open_existing(url: &DatabaseUrl) -> anyhow::Result<Db> {
    let db = Db::open(url, COMMAND_CONNECTIONS, Missing::Refuse).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_that_its_error_already_quotes_is_said_once() {
        let cause = anyhow::anyhow!("database \"x\" does not exist");
        let error = cause
            .context("Connection Error: database \"x\" does not exist")
            .context("connecting to postgres://db/x");
        assert_eq!(
            error_text(&error),
            "connecting to postgres://db/x: Connection Error: database \"x\" does not exist"
        );
        let plain = anyhow::anyhow!("refused").context("opening sqlite://a.db");
        assert_eq!(error_text(&plain), "opening sqlite://a.db: refused");
    }
}
