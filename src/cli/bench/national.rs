//! `sciday bench national`: its options, and the table it prints.

use anyhow::Context as _;
use clap::Args;

use crate::bench;
use crate::cli::PoolArgs;
use crate::db::DatabaseUrl;

/// What `sciday bench national` was asked for; every part of the run is bounded.
#[derive(Debug, Args)]
pub(in crate::cli) struct NationalArgs {
    /// The share of the national sizes to generate: 0.01 tries the command in seconds.
    #[arg(long, default_value_t = 1.0, value_parser = scale)]
    scale: f64,
    /// Empty a database of generated data and generate the data set anew.
    #[arg(long)]
    regenerate: bool,
    /// Requests in each load of a feed (cached 200s, 304s).
    #[arg(long, default_value_t = 5000)]
    requests: usize,
    /// Requests in flight in each load of a feed.
    #[arg(long, default_value_t = 16)]
    workers: usize,
    /// Seconds each load of a feed may last at most.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=60))]
    seconds: u64,
    /// Requests of each two-subscriber case, and of each list case.
    #[arg(long, default_value_t = 40)]
    repeats: usize,
    /// The page of the volunteers list (500 a page) to follow cursors to.
    #[arg(long, default_value_t = 200)]
    deep_page: usize,
    /// Assignment requests at each worker count (default: 1,000 at full scale).
    #[arg(long)]
    assignments: Option<usize>,
    /// Worker counts for assignments, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    concurrency: Vec<usize>,
    /// Reminders in the wave (default: 100,000 at full scale).
    #[arg(long)]
    reminders: Option<usize>,
    /// Measure only these parts, comma-separated (default: all of them).
    #[arg(long, value_delimiter = ',')]
    only: Vec<bench::national::Part>,
    #[command(flatten)]
    pool: PoolArgs,
}

/// A share of the national sizes: more than 0, at most 1.
fn scale(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(scale) if scale > 0.0 && scale <= 1.0 => Ok(scale),
        _ => Err(format!("{text:?} is not a share between 0 (excluded) and 1")),
    }
}

impl NationalArgs {
    fn options(&self) -> anyhow::Result<bench::national::Options> {
        let scaled = |n: f64| ((n * self.scale).round() as usize).max(10);
        Ok(bench::national::Options {
            scale: self.scale,
            regenerate: self.regenerate,
            requests: self.requests.max(1),
            workers: self.workers.max(1),
            seconds: std::time::Duration::from_secs(self.seconds),
            alternating: self.repeats.max(2),
            repeated: self.repeats.max(1),
            deep_pages: self.deep_page.max(1),
            assignments: self.assignments.unwrap_or_else(|| scaled(1_000.0)),
            levels: self.concurrency.iter().map(|&n| n.max(1)).collect(),
            reminders: self.reminders.unwrap_or_else(|| scaled(100_000.0)),
            parts: if self.only.is_empty() {
                bench::national::Part::ALL.to_vec()
            } else {
                self.only.clone()
            },
            max_connections: self.pool.max_connections,
            exe: std::env::current_exe().context("finding the sciday executable")?,
        })
    }
}

/// `sciday bench national`: the table on standard output, progress on standard error.
pub(super) async fn run(url: DatabaseUrl, args: &NationalArgs) -> anyhow::Result<()> {
    let options = args.options()?;
    let report = bench::national::run(&url, &options).await?;
    let data = &report.data.generated;
    println!(
        "sciday bench national --scale {}: {} sessions, {} volunteers, {} assignments ({}), {}",
        options.scale,
        data.sessions,
        data.volunteers,
        data.assignments,
        if report.data.reused { "reused" } else { "generated now" },
        if url.is_sqlite() { "SQLite" } else { "PostgreSQL" },
    );
    println!();
    print!("{}", bench::national::report::table(&report.rows));
    Ok(())
}
