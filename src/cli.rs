//! The `sciday` command line. Every flag also reads a `SCIDAY_*` environment variable.

use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, bail};
use chrono::TimeDelta;
use clap::{Args, Parser, Subcommand, ValueEnum};
use entity::kinds::Role;
use indicatif::{ProgressBar, ProgressStyle};

use crate::app::{self, App};
use crate::clock::{Clock, SystemClock};
use crate::config::{self, Config};
use crate::db::{DatabaseUrl, Db};
use crate::error::Error;
use crate::feeds::service::FeedSettings;
use crate::store::tokens::Grant;
use crate::store::{Policy, organizations, tokens, volunteers};
use crate::transfer::{self, Document, Report};
use crate::{bench, generate};

/// The sample program, built in so `sciday serve --demo` works from any directory.
pub const SAMPLE_PROGRAM: &str = include_str!("../samples/lianyungang-2019.json");
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
    /// Creates or updates records from a JSON file (importing it twice changes nothing).
    Import {
        /// The file, as written by `sciday export` (see samples/).
        #[arg(env = "SCIDAY_IMPORT_FILE")]
        file: PathBuf,
    },
    /// Writes every record as JSON that `sciday import` reads.
    Export {
        /// Write here instead of standard output.
        #[arg(long, short, env = "SCIDAY_EXPORT_OUTPUT")]
        output: Option<PathBuf>,
    },
    /// Manages API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Adds a synthetic program of the given size (for benchmarks and load tests).
    Generate(SizeArgs),
    /// Measures the service.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Args)]
struct SizeArgs {
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
    fn sizes(&self) -> generate::Sizes {
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

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Generates a program, serves it on a loopback port, and measures assignments through the
    /// API: one at a time and from several workers, repeated, medians reported.
    Assign {
        #[command(flatten)]
        sizes: SizeArgs,
        /// Requests in each measured run.
        #[arg(long, env = "SCIDAY_BENCH_REQUESTS", default_value_t = 1000)]
        requests: usize,
        /// Worker counts to measure, comma-separated (1 = sequential).
        #[arg(
            long,
            env = "SCIDAY_BENCH_CONCURRENCY",
            value_delimiter = ',',
            default_value = "1,8,32"
        )]
        concurrency: Vec<usize>,
        /// Runs per worker count.
        #[arg(long, env = "SCIDAY_BENCH_REPEATS", default_value_t = 3)]
        repeats: usize,
        /// Also print the query plans of the conflict checks.
        #[arg(long, env = "SCIDAY_BENCH_EXPLAIN")]
        explain: bool,
    },
    /// Generates programs of 1,000 sessions (unless the database has them already), times a
    /// program feed's query and render, then loads the feeds with wrk on loopback against
    /// nginx serving the same bytes. Needs `nginx` and `wrk` (Debian packages).
    Feeds(FeedBenchArgs),
    /// Sends reminders to a fast receiver on loopback: 10,000 due at once across 100
    /// subscriptions (throughput), and 1,000 due over a minute (lateness); medians of repeats.
    Webhooks {
        /// Dispatchers sharing the database (default: 1 on SQLite, 2 on PostgreSQL).
        #[arg(long, env = "SCIDAY_BENCH_INSTANCES")]
        instances: Option<usize>,
        /// Runs of each case.
        #[arg(long, env = "SCIDAY_BENCH_REPEATS", default_value_t = 3)]
        repeats: usize,
    },
}

#[derive(Debug, Args)]
struct FeedBenchArgs {
    /// Programs to generate, each with its own organizations, venues and volunteers.
    #[arg(long, env = "SCIDAY_BENCH_PROGRAMS", default_value_t = 20)]
    programs: usize,
    /// Sessions of each program.
    #[arg(long, env = "SCIDAY_BENCH_SESSIONS", default_value_t = 1000)]
    sessions: usize,
    /// Volunteers of each program.
    #[arg(long, env = "SCIDAY_BENCH_VOLUNTEERS", default_value_t = 5000)]
    volunteers: usize,
    /// Assignments of each program.
    #[arg(long, env = "SCIDAY_BENCH_ASSIGNMENTS", default_value_t = 15_000)]
    assignments: usize,
    /// Seconds of each wrk run.
    #[arg(long, env = "SCIDAY_BENCH_SECONDS", default_value_t = 5)]
    seconds: u32,
    /// Connections wrk keeps open. Every case saturates the machine, so latency is about
    /// connections divided by rate: more connections add queueing, not throughput.
    #[arg(long, env = "SCIDAY_BENCH_CONNECTIONS", default_value_t = 16)]
    connections: u32,
    /// Runs of each case on each server; medians are reported.
    #[arg(long, env = "SCIDAY_BENCH_REPEATS", default_value_t = 3)]
    repeats: usize,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "SCIDAY_LISTEN", default_value = config::DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Largest request body in bytes.
    #[arg(long, env = "SCIDAY_BODY_LIMIT", default_value_t = config::DEFAULT_BODY_LIMIT)]
    body_limit: usize,
    /// Loads the sample Lianyungang 2019 program and prints a fresh admin token.
    #[arg(long, env = "SCIDAY_DEMO")]
    demo: bool,
    #[command(flatten)]
    feeds: FeedArgs,
    /// Address ranges (CIDR, comma-separated) webhooks may reach besides public addresses:
    /// an on-premise receiver, say. Loopback, private and link-local addresses are refused
    /// unless listed here.
    #[arg(long, env = "SCIDAY_WEBHOOK_ALLOW", value_delimiter = ',')]
    webhook_allow: Vec<ipnet::IpNet>,
    /// Milliseconds a webhook receiver has to answer.
    #[arg(long, env = "SCIDAY_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=120_000))]
    webhook_timeout_ms: u64,
    /// Serve the API without sending webhooks (another instance sends them).
    #[arg(long, env = "SCIDAY_NO_DISPATCHER")]
    no_dispatcher: bool,
    /// Days the webhook delivery log keeps a message after it settled (31–3650).
    #[arg(long, env = "SCIDAY_DELIVERY_RETENTION_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u16).range(31..=3650))]
    delivery_retention_days: u16,
}

#[derive(Debug, Args)]
struct FeedArgs {
    /// The URL clients reach the service at (feed links are built on it and event UIDs carry
    /// its host); by default the listening address.
    #[arg(long, env = "SCIDAY_PUBLIC_URL", value_parser = public_url)]
    public_url: Option<String>,
    /// Days before today that a feed starts at, unless the request says otherwise.
    #[arg(long, env = "SCIDAY_FEED_PAST_DAYS", default_value_t = 30)]
    feed_past_days: u32,
    /// Days after its end that a cancelled session stays in feeds, marked cancelled.
    #[arg(long, env = "SCIDAY_FEED_CANCELLED_DAYS", default_value_t = 30)]
    feed_cancelled_days: u32,
    /// Memory for rendered feeds, in MiB.
    #[arg(long, env = "SCIDAY_FEED_CACHE_MIB", default_value_t = 64)]
    feed_cache_mib: u64,
    /// Milliseconds a feed's ETag is trusted before the database is asked again (writes
    /// through this instance count at once; this bounds how late other instances' do).
    #[arg(long, env = "SCIDAY_FEED_RECHECK_MS", default_value_t = 1000)]
    feed_recheck_ms: u32,
}

impl FeedArgs {
    fn settings(&self) -> FeedSettings {
        FeedSettings {
            public_url: self.public_url.clone(),
            past_days: self.feed_past_days,
            cancelled_days: self.feed_cancelled_days,
            cache_bytes: self.feed_cache_mib.saturating_mul(1024 * 1024),
            recheck: TimeDelta::milliseconds(i64::from(self.feed_recheck_ms)),
        }
    }
}

/// An absolute http(s) URL with a host and no query, without its trailing slash.
fn public_url(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("{text:?} must be an http or https URL with a host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{text:?} must not have a query or fragment"));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Creates a token and prints it once, alone on the last line.
    Create {
        /// What the token may do.
        #[arg(long, value_enum, env = "SCIDAY_TOKEN_ROLE")]
        role: RoleArg,
        /// For organizers: the organization's id or key.
        #[arg(long, env = "SCIDAY_TOKEN_ORGANIZATION")]
        organization: Option<String>,
        /// For volunteers: the volunteer's id or key.
        #[arg(long, env = "SCIDAY_TOKEN_VOLUNTEER")]
        volunteer: Option<String>,
        /// A name to recognize the token by.
        #[arg(long, env = "SCIDAY_TOKEN_NAME")]
        name: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum RoleArg {
    Admin,
    Organizer,
    Volunteer,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Admin => Self::Admin,
            RoleArg::Organizer => Self::Organizer,
            RoleArg::Volunteer => Self::Volunteer,
        }
    }
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
        Command::Serve(args) => serve(url, max_connections, policy.travel_buffer, args).await,
        Command::Migrate => {
            let db = open(&url, max_connections).await?;
            eprintln!("{url}: migrations applied");
            db.close().await?;
            Ok(())
        }
        Command::Import { file } => {
            let text = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let document: Document = crate::http::parse_json(&text).map_err(|e| describe(&e))?;
            let db = open(&url, max_connections).await?;
            let report = import_with_progress(&db, &document, policy).await?;
            print_report(&file.display().to_string(), &report);
            db.close().await?;
            Ok(())
        }
        Command::Export { output } => {
            let db = open(&url, max_connections).await?;
            let document = transfer::export(db.reader()).await.map_err(|e| describe(&e))?;
            let mut json = serde_json::to_string_pretty(&document)?;
            json.push('\n');
            match output {
                Some(path) => std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?,
                None => std::io::stdout().write_all(json.as_bytes())?,
            }
            db.close().await?;
            Ok(())
        }
        Command::Generate(sizes) => {
            let db = open(&url, max_connections).await?;
            let started = Instant::now();
            let generated = generate::generate(&db, &sizes.sizes(), policy.now, &|step| eprintln!("generated {step}"))
                .await
                .map_err(|e| describe(&e))?;
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
        Command::Bench(BenchCommand::Assign {
            sizes,
            requests,
            concurrency,
            repeats,
            explain,
        }) => {
            bench_assign(
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
        Command::Bench(BenchCommand::Feeds(args)) => bench_feeds(url, max_connections, policy, &args).await,
        Command::Bench(BenchCommand::Webhooks { instances, repeats }) => {
            bench_webhooks(url, max_connections, policy, instances, repeats).await
        }
        Command::Token(TokenCommand::Create {
            role,
            organization,
            volunteer,
            name,
        }) => {
            let db = open(&url, max_connections).await?;
            let txn = db.begin().await?;
            let organization_id = match organization {
                Some(given) => Some(find_organization(&txn, &given).await?),
                None => None,
            };
            let role = Role::from(role);
            let name = name.unwrap_or_else(|| format!("{role:?} token").to_lowercase());
            let volunteer_id = match volunteer {
                Some(given) => Some(find_volunteer(&txn, &given).await?),
                None => None,
            };
            let grant = Grant {
                name,
                role,
                organization_id,
                volunteer_id,
            };
            let (row, secret) = tokens::create(&txn, grant, SystemClock.now())
                .await
                .map_err(|e| describe(&e))?;
            txn.commit().await?;
            eprintln!(
                "created {} token {} ({:?}); it is shown only now:",
                row.name, row.id, row.role
            );
            println!("{secret}");
            db.close().await?;
            Ok(())
        }
    }
}

async fn serve(
    url: DatabaseUrl,
    max_connections: u32,
    travel_buffer: TimeDelta,
    args: ServeArgs,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let config = Config {
        listen: args.listen,
        database_url: url,
        max_connections,
        body_limit: args.body_limit,
        travel_buffer,
        feeds: args.feeds.settings(),
        webhook_addresses: crate::domain::webhook::AddressPolicy::allowing(args.webhook_allow.clone()),
        dispatch: crate::delivery::dispatcher::Settings {
            timeout: std::time::Duration::from_millis(args.webhook_timeout_ms),
            retention: chrono::TimeDelta::days(i64::from(args.delivery_retention_days)),
            ..Default::default()
        },
        run_dispatcher: !args.no_dispatcher,
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let app = App::build(&config, Arc::clone(&clock)).await?;
    let demo_token = if args.demo {
        let document: Document = crate::http::parse_json(SAMPLE_PROGRAM.as_bytes()).map_err(|e| describe(&e))?;
        let policy = Policy {
            now: clock.now(),
            travel_buffer,
        };
        let report = transfer::import(app.db(), &document, policy, &|| {})
            .await
            .map_err(|e| describe(&e))?;
        print_report("the sample program", &report);
        let txn = app.db().begin().await?;
        tokens::revoke_named(&txn, DEMO_TOKEN_NAME, clock.now()).await?;
        let grant = Grant {
            name: DEMO_TOKEN_NAME.to_owned(),
            role: Role::Admin,
            organization_id: None,
            volunteer_id: None,
        };
        let (_, secret) = tokens::create(&txn, grant, clock.now()).await?;
        txn.commit().await?;
        Some(secret)
    } else {
        None
    };
    let address = app.local_addr();
    tracing::info!(%address, database = %config.database_url, ready_in_ms = started.elapsed().as_millis(), "sciday is ready");
    let mut banner = format!(
        "sciday listens on http://{address} (database {})\n",
        config.database_url
    );
    if let Some(secret) = demo_token {
        banner.push_str(&format!(
            "admin token (replaced at every --demo start): {secret}\n\
             try: curl http://{address}/api/v1/programs\n     \
             curl 'http://{address}/api/v1/sessions?program_id=1&limit=5'\n     \
             curl 'http://{address}/feeds/programs/1.ics?from=2019-05-01'\n"
        ));
    }
    // Nobody may be reading (a closed pipe); the service runs on regardless.
    let mut stdout = std::io::stdout();
    let _ = stdout.write_all(banner.as_bytes()).and_then(|()| stdout.flush());
    app.run_until(app::shutdown_signal()).await
}

async fn bench_webhooks(
    url: DatabaseUrl,
    max_connections: u32,
    policy: Policy,
    instances: Option<usize>,
    repeats: usize,
) -> anyhow::Result<()> {
    let db = open(&url, max_connections).await?;
    let receivers = crate::domain::webhook::AddressPolicy::allowing(vec!["127.0.0.0/8".parse()?]);
    let (app, base) = bench_app(&url, max_connections, &policy, &db, |config| {
        config.webhook_addresses = receivers;
        // The benchmark runs its own dispatchers.
        config.run_dispatcher = false;
    })
    .await?;
    let token = bench_token(&db, policy.now).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let sqlite = url.is_sqlite();
    let instances = instances.unwrap_or(if sqlite { 1 } else { 2 }).max(1);
    eprintln!("database {url}, {instances} dispatcher(s), {repeats} run(s) of each case");
    let shared = db.clone();
    let connect = move || {
        let url = url.clone();
        let shared = shared.clone();
        Box::pin(async move {
            // SQLite has one writer: dispatchers share it. On PostgreSQL each has its own pool,
            // as separate instances would.
            if sqlite { Ok(shared) } else { Db::connect(&url, 8).await }
        }) as std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<Db>> + Send>>
    };
    let results = bench::webhooks::run(&db, connect, &base, &token, instances, repeats.max(1)).await?;
    println!("case                              reminders  total s  deliveries/s  late p50 ms  p99 ms  max ms");
    for (label, run) in results {
        println!(
            "{label:<34}  {:>9}  {:>7.2}  {:>12.0}  {:>11.0}  {:>6.0}  {:>6.0}",
            run.delivered,
            run.elapsed.as_secs_f64(),
            run.rate,
            run.p50.as_secs_f64() * 1e3,
            run.p99.as_secs_f64() * 1e3,
            run.max.as_secs_f64() * 1e3
        );
    }
    let _ = stop.send(());
    server.await??;
    Ok(())
}

/// The service on an ephemeral loopback port for a benchmark, with its base URL.
async fn bench_app(
    url: &DatabaseUrl,
    max_connections: u32,
    policy: &Policy,
    db: &Db,
    adjust: impl FnOnce(&mut Config),
) -> anyhow::Result<(App, String)> {
    let mut config = Config {
        listen: "127.0.0.1:0".parse()?,
        database_url: url.clone(),
        max_connections,
        travel_buffer: policy.travel_buffer,
        ..Config::default()
    };
    adjust(&mut config);
    let app = App::with_db(&config, db.clone(), Arc::new(SystemClock)).await?;
    let base = format!("http://{}", app.local_addr());
    Ok((app, base))
}

/// An admin token for a benchmark's requests.
async fn bench_token(db: &Db, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<String> {
    let txn = db.begin().await?;
    let grant = Grant {
        name: "benchmark".to_owned(),
        role: Role::Admin,
        organization_id: None,
        volunteer_id: None,
    };
    let (_, token) = tokens::create(&txn, grant, now).await.map_err(|e| describe(&e))?;
    txn.commit().await?;
    Ok(token)
}

async fn bench_feeds(
    url: DatabaseUrl,
    max_connections: u32,
    policy: Policy,
    args: &FeedBenchArgs,
) -> anyhow::Result<()> {
    use bench::feeds::{self as feeds, Case, Load};
    use sea_orm::{EntityTrait as _, PaginatorTrait as _, QueryOrder as _};

    let db = open(&url, max_connections).await?;
    let now = policy.now;
    let existing = usize::try_from(entity::prelude::Program::find().count(db.reader()).await?)?;
    let first_day = now.date_naive() + chrono::Days::new(7);
    for i in existing..args.programs {
        let started = Instant::now();
        let sizes = generate::Sizes {
            organizations: 5,
            venues: 25,
            sessions: args.sessions,
            volunteers: args.volunteers,
            assignments: args.assignments,
            seats_per_session: 20,
            days: 30,
            first_day,
            seed: 2019 + u64::try_from(i)?,
        };
        generate::generate(&db, &sizes, now, &|_| {})
            .await
            .map_err(|e| describe(&e))?;
        eprintln!(
            "generated program {} of {} in {:.1} s",
            i + 1,
            args.programs,
            started.elapsed().as_secs_f64()
        );
    }
    let program = entity::prelude::Program::find()
        .order_by_asc(entity::program::Column::Id)
        .one(db.reader())
        .await?
        .context("no program to measure")?;

    println!("== Query and render of one program feed, in process (medians of 21)");
    let (events, query, render, bytes) = feeds::time_render(&db, program.id, now, 21).await?;
    println!(
        "{events} sessions, {bytes} bytes: query {:.2} ms, render {:.2} ms",
        query.as_secs_f64() * 1000.0,
        render.as_secs_f64() * 1000.0
    );

    let (app, base) = bench_app(&url, max_connections, &policy, &db, |_| {}).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::new();
    let fetch = |path: String| {
        let client = client.clone();
        let url = format!("{base}{path}");
        async move {
            let response = client.get(&url).send().await?.error_for_status()?;
            Ok::<_, anyhow::Error>((feeds::etag(&response), response.bytes().await?))
        }
    };
    let program_path = format!("/feeds/programs/{}.ics", program.id);
    let (program_etag, program_body) = fetch(program_path.clone()).await?;
    let tokens = feeds::tokens_with_assignments(&db, 200_000).await?;
    let Some((first, others)) = tokens.split_first() else {
        bail!("no volunteer has an assignment");
    };
    let personal_path = format!("/feeds/volunteers/{first}.ics");
    let (personal_etag, personal_body) = fetch(personal_path.clone()).await?;

    let dir = std::env::temp_dir().join(format!("sciday-bench-feeds-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("www"))?;
    std::fs::write(dir.join("www/program.ics"), &program_body)?;
    std::fs::write(dir.join("www/personal.ics"), &personal_body)?;
    let nginx = feeds::Nginx::start(&dir)?;
    let nginx_etag = |file: &'static str| {
        let client = client.clone();
        let url = format!("{}/{file}", nginx.base);
        async move {
            let response = client.head(&url).send().await?.error_for_status()?;
            Ok::<_, anyhow::Error>(feeds::etag(&response))
        }
    };
    let (nginx_program_etag, nginx_personal_etag) =
        (nginx_etag("program.ics").await?, nginx_etag("personal.ics").await?);
    let script = feeds::write_script(&dir)?;
    let one = |name: &str, path: &str| feeds::write_paths(&dir, name, &[path.to_owned()]);
    let matching = |etag: &str| vec![format!("If-None-Match: {etag}")];
    let chunk = (others.len() / args.repeats.max(1)).max(1);
    let mut fresh = Vec::new();
    for (i, part) in others.chunks(chunk).take(args.repeats.max(1)).enumerate() {
        let paths: Vec<String> = part.iter().map(|t| format!("/feeds/volunteers/{t}.ics")).collect();
        fresh.push(feeds::write_paths(&dir, &format!("fresh-{i}"), &paths)?);
    }
    let (program, program_static) = (one("program", &program_path)?, one("program-static", "/program.ics")?);
    let (personal, personal_static) = (
        one("personal", &personal_path)?,
        one("personal-static", "/personal.ics")?,
    );
    let compared = |name, ours: &PathBuf, our_headers, theirs: &PathBuf, their_headers| Case {
        name,
        sciday_paths: vec![ours.clone()],
        sciday_headers: our_headers,
        nginx_paths: Some(theirs.clone()),
        nginx_headers: their_headers,
    };
    let cases = [
        compared(
            "program feed 200 (cached body)",
            &program,
            Vec::new(),
            &program_static,
            Vec::new(),
        ),
        compared(
            "program feed 304",
            &program,
            matching(&program_etag),
            &program_static,
            matching(&nginx_program_etag),
        ),
        compared(
            "personal feed 200 (cached body)",
            &personal,
            Vec::new(),
            &personal_static,
            Vec::new(),
        ),
        compared(
            "personal feed 304",
            &personal,
            matching(&personal_etag),
            &personal_static,
            matching(&nginx_personal_etag),
        ),
        Case {
            name: "personal feed 200 (rendered)",
            sciday_paths: fresh,
            sciday_headers: Vec::new(),
            nginx_paths: None,
            nginx_headers: Vec::new(),
        },
    ];
    let load = Load {
        seconds: args.seconds,
        connections: args.connections,
        threads: 2,
        repeats: args.repeats,
    };
    println!(
        "== wrk -t{} -c{} -d{}s, {} runs per case and server (medians); program feed {} bytes, personal feed {} bytes",
        load.threads,
        load.connections,
        load.seconds,
        load.repeats,
        program_body.len(),
        personal_body.len()
    );
    let results = feeds::measure(&load, &base, &nginx.base, &cases, &script).await;
    drop(nginx);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = stop.send(());
    let _ = server.await;
    print!("{}", feeds::report(&results?));
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn bench_assign(
    url: DatabaseUrl,
    max_connections: u32,
    policy: Policy,
    sizes: &SizeArgs,
    requests: usize,
    levels: &[usize],
    repeats: usize,
    explain: bool,
) -> anyhow::Result<()> {
    let db = open(&url, max_connections).await?;
    let started = Instant::now();
    let generated = generate::generate(&db, &sizes.sizes(), policy.now, &|step| eprintln!("generated {step}"))
        .await
        .map_err(|e| describe(&e))?;
    eprintln!(
        "database {url}: {} volunteers, {} sessions, {} assignments generated in {:.1} s",
        generated.volunteers,
        generated.sessions,
        generated.assignments,
        started.elapsed().as_secs_f64()
    );
    let (app, base) = bench_app(&url, max_connections, &policy, &db, |_| {}).await?;
    let token = bench_token(&db, policy.now).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let runs = levels.len() * repeats.max(1);
    let pairs = bench::plan(&db, &generated, requests * runs)
        .await
        .map_err(|e| describe(&e))?;
    if pairs.len() < requests * runs {
        bail!(
            "only {} assignable pairs for {} requests; generate more seats or volunteers",
            pairs.len(),
            requests * runs
        );
    }
    if explain {
        for (name, plan) in bench::explain(&db, pairs[0]).await.map_err(|e| describe(&e))? {
            println!("-- {name}\n{plan}\n");
        }
    }
    println!("workers  run  requests  created  assignments/s  p50 ms  p99 ms");
    let mut chunks = pairs.chunks(requests);
    for &level in levels {
        let mut measured = Vec::with_capacity(repeats);
        for run in 1..=repeats.max(1) {
            let Some(chunk) = chunks.next() else { break };
            let m = bench::drive(&base, &token, chunk, level).await;
            println!(
                "{:>7}  {run:>3}  {:>8}  {:>7}  {:>13.0}  {:>6.2}  {:>6.2}",
                level,
                m.requests,
                m.created,
                m.rate(),
                m.p50.as_secs_f64() * 1000.0,
                m.p99.as_secs_f64() * 1000.0
            );
            measured.push(m);
        }
        let median = |mut values: Vec<f64>| {
            values.sort_by(f64::total_cmp);
            values.get(values.len() / 2).copied().unwrap_or_default()
        };
        println!(
            "{:>7}  median: {:.0} assignments/s, p99 {:.2} ms",
            level,
            median(measured.iter().map(bench::Measured::rate).collect()),
            median(measured.iter().map(|m| m.p99.as_secs_f64() * 1000.0).collect())
        );
    }
    let _ = stop.send(());
    server.await??;
    Ok(())
}

async fn open(url: &DatabaseUrl, max_connections: u32) -> anyhow::Result<Db> {
    let db = Db::connect(url, max_connections).await?;
    db.migrate().await.context("applying database migrations")?;
    Ok(db)
}

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

async fn import_with_progress(db: &Db, document: &Document, policy: Policy) -> anyhow::Result<Report> {
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(document.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("importing {bar:40} {pos}/{len} records ({eta} left)")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let report = transfer::import(db, document, policy, &|| bar.inc(1)).await;
    bar.finish_and_clear();
    report.map_err(|e| describe(&e))
}

fn print_report(source: &str, report: &Report) {
    eprintln!("imported {source}:");
    eprintln!("  organizations: {}", report.organizations);
    eprintln!("  venues:        {}", report.venues);
    eprintln!("  programs:      {}", report.programs);
    eprintln!("  activities:    {}", report.activities);
    eprintln!("  sessions:      {}", report.sessions);
    eprintln!("  teams:         {}", report.teams);
    eprintln!("  volunteers:    {}", report.volunteers);
    eprintln!("  session roles: {}", report.session_roles);
    eprintln!("  assignments:   {}", report.assignments);
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
        Error::Internal(cause) => anyhow::anyhow!("{cause:#}"),
        other => anyhow::anyhow!("{other}"),
    }
}
