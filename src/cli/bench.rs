//! `sciday bench`: measurements of the service on this machine (see docs/BENCHMARKS.md).

mod national;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};

use super::data::SizeArgs;
use super::{PoolArgs, StaffingArgs, describe, open};
use crate::app::App;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::db::{DatabaseUrl, Db};
use crate::store::Policy;
use crate::{bench, generate};

#[derive(Debug, Subcommand)]
pub(super) enum BenchCommand {
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
        #[command(flatten)]
        pool: PoolArgs,
        #[command(flatten)]
        staffing: StaffingArgs,
    },
    /// Generates programs of 1,000 sessions (unless the database has them already), times a
    /// program feed's query and render, then loads the feeds and the program's page with wrk
    /// on loopback against nginx serving the same bytes. Needs `nginx` and `wrk` (Debian
    /// packages).
    Feeds(FeedBenchArgs),
    /// Measures the service at national size over HTTP: generates the national data set once
    /// (100,000 sessions, 1,000,000 volunteers, 1,500,000 assignments; about two minutes) and
    /// reuses it, starts `sciday serve` processes on loopback against it, and prints one table
    /// of feeds, lists, assignments, a reminder wave and memory. Every step is bounded.
    National(national::NationalArgs),
    /// Sends reminders to a fast receiver on loopback: 10,000 due at once across 100
    /// subscriptions (throughput), and 1,000 due over a minute (lateness); medians of repeats.
    Webhooks {
        /// Dispatchers sharing the database (default: 1 on SQLite, 2 on PostgreSQL).
        #[arg(long, env = "SCIDAY_BENCH_INSTANCES")]
        instances: Option<usize>,
        /// Runs of each case.
        #[arg(long, env = "SCIDAY_BENCH_REPEATS", default_value_t = 3)]
        repeats: usize,
        /// Instead: real `sciday serve` processes send two bursts of reminders (PT3M and PT1M,
        /// `--reminders` each) while one of them is killed with SIGKILL in each burst and
        /// restarted; prints what was lost, repeated, in doubt and expired, and how soon the
        /// killed process's claims were taken over.
        #[arg(long)]
        kill: bool,
        /// Reminders in each burst, with --kill.
        #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(10..=100_000))]
        reminders: u64,
        /// Seconds after which a claim nobody renewed is taken over, with --kill.
        #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(2..=600))]
        takeover_secs: u64,
        #[command(flatten)]
        pool: PoolArgs,
    },
}

#[derive(Debug, Args)]
pub(super) struct FeedBenchArgs {
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
    #[command(flatten)]
    pool: PoolArgs,
}

/// Runs a `sciday bench` command. The benchmarks make their own data, so they may create the
/// database; only the assignment benchmark judges staffing rules.
pub(super) async fn run(url: DatabaseUrl, command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Assign {
            sizes,
            requests,
            concurrency,
            repeats,
            explain,
            pool,
            staffing,
        } => {
            let policy = staffing.policy();
            let asked = AssignBench {
                requests,
                levels: &concurrency,
                repeats,
                explain,
            };
            bench_assign(url, pool.max_connections, policy, &sizes, asked).await
        }
        BenchCommand::National(args) => national::run(url, &args).await,
        BenchCommand::Feeds(args) => {
            let policy = StaffingArgs::default().policy();
            bench_feeds(url, args.pool.max_connections, policy, &args).await
        }
        BenchCommand::Webhooks {
            instances,
            repeats,
            kill,
            reminders,
            takeover_secs,
            pool,
        } => {
            let kill = kill.then(|| bench::kill::Scenario {
                reminders: usize::try_from(reminders).unwrap_or(usize::MAX),
                takeover_secs,
                ..Default::default()
            });
            let asked = WebhookBench {
                instances,
                repeats,
                kill,
            };
            bench_webhooks(url, pool.max_connections, StaffingArgs::default().policy(), asked).await
        }
    }
}

/// What `sciday bench webhooks` was asked for.
struct WebhookBench {
    instances: Option<usize>,
    repeats: usize,
    /// The kill scenario instead of throughput and lateness.
    kill: Option<bench::kill::Scenario>,
}

async fn bench_webhooks(
    url: DatabaseUrl,
    max_connections: u32,
    policy: Policy,
    asked: WebhookBench,
) -> anyhow::Result<()> {
    let WebhookBench {
        instances,
        repeats,
        kill,
    } = asked;
    let db = open(&url, max_connections).await?;
    let receivers = crate::domain::webhook::AddressPolicy::allowing(vec!["127.0.0.0/8".parse()?]);
    let (app, base) = bench_app(&url, max_connections, &policy, &db, |config| {
        config.webhook_addresses = receivers;
        // The benchmark runs its own dispatchers.
        config.run_dispatcher = false;
    })
    .await?;
    let token = bench::admin_token(&db, policy.now).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let sqlite = url.is_sqlite();
    let instances = instances.unwrap_or(if sqlite { 1 } else { 2 }).max(1);
    if let Some(scenario) = kill {
        let scenario = bench::kill::Scenario { instances, ..scenario };
        let exe = std::env::current_exe().context("finding the sciday executable")?;
        let report = bench::kill::run(&db, &url, exe, &base, &token, &scenario).await?;
        print_kill_report(&report);
        let _ = stop.send(());
        return server.await?;
    }
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

fn print_kill_report(report: &bench::kill::Report) {
    println!("reminders                          {:>6}", report.reminders);
    println!("lost                               {:>6}", report.lost);
    println!("  of them due > 30 s after a kill  {:>6}", report.lost_with_time);
    println!("duplicated (same webhook-id)       {:>6}", report.duplicated);
    println!("in flight at the kills             {:>6}", report.in_flight());
    println!("in doubt in the log                {:>6}", report.in_doubt);
    println!("  of them settled in doubt         {:>6}", report.settled_in_doubt);
    println!("expired                            {:>6}", report.expired);
    println!("  of them received all the same    {:>6}", report.expired_received);
    println!("received after the session began   {:>6}", report.after_start);
    for (i, kill) in report.kills.iter().enumerate() {
        println!(
            "kill {} at {:>5.1} s: {:>4} claims in flight, taken over in {:>5.1} s",
            i + 1,
            kill.at.as_secs_f64(),
            kill.in_flight,
            kill.takeover.as_secs_f64()
        );
    }
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
    let page_path = format!("/programs/{}", program.id);
    let (page_etag, page_body) = fetch(page_path.clone()).await?;

    let dir = std::env::temp_dir().join(format!("sciday-bench-feeds-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("www"))?;
    std::fs::write(dir.join("www/program.ics"), &program_body)?;
    std::fs::write(dir.join("www/personal.ics"), &personal_body)?;
    std::fs::write(dir.join("www/program.html"), &page_body)?;
    let nginx = feeds::Nginx::start(&dir)?;
    let nginx_etag = |file: &'static str| {
        let client = client.clone();
        let url = format!("{}/{file}", nginx.base);
        async move {
            let response = client.head(&url).send().await?.error_for_status()?;
            Ok::<_, anyhow::Error>(feeds::etag(&response))
        }
    };
    let (nginx_program_etag, nginx_personal_etag, nginx_page_etag) = (
        nginx_etag("program.ics").await?,
        nginx_etag("personal.ics").await?,
        nginx_etag("program.html").await?,
    );
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
    let (page, page_static) = (one("page", &page_path)?, one("page-static", "/program.html")?);
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
        compared("program page 200 (cached)", &page, Vec::new(), &page_static, Vec::new()),
        compared(
            "program page 304",
            &page,
            matching(&page_etag),
            &page_static,
            matching(&nginx_page_etag),
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
        "== wrk -t{} -c{} -d{}s, {} runs per case and server (medians); program feed {} bytes, personal feed {} bytes, program page {} bytes",
        load.threads,
        load.connections,
        load.seconds,
        load.repeats,
        program_body.len(),
        personal_body.len(),
        page_body.len()
    );
    let results = feeds::measure(&load, &base, &nginx.base, &cases, &script).await;
    drop(nginx);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = stop.send(());
    let _ = server.await;
    print!("{}", feeds::report(&results?));
    Ok(())
}

/// What `sciday bench assign` was asked for, besides the program's sizes.
struct AssignBench<'a> {
    requests: usize,
    levels: &'a [usize],
    repeats: usize,
    explain: bool,
}

async fn bench_assign(
    url: DatabaseUrl,
    max_connections: u32,
    policy: Policy,
    sizes: &SizeArgs,
    asked: AssignBench<'_>,
) -> anyhow::Result<()> {
    let AssignBench {
        requests,
        levels,
        repeats,
        explain,
    } = asked;
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
    let token = bench::admin_token(&db, policy.now).await?;
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
