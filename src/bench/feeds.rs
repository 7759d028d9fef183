//! `sciday bench feeds`: calendar feeds and the program page under load, against nginx
//! serving the same bytes.
//!
//! It generates programs of 1,000 sessions each (20 by default: 20,000 sessions and 100,000
//! volunteers), times the query and the render of one program feed in process, then serves
//! the database on a loopback port and starts nginx on another with the same `.ics` bytes as
//! static files. `wrk` measures each case against both, alternating, several times; medians
//! are reported, and every sciday rate as a ratio to nginx's in the same run.

use std::fmt::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, Statement};

use crate::db::Db;
use crate::feeds::render::{self, Audience, CalendarInfo, Options};
use crate::store::feeds::{self as rows, Scope, Window};

/// How the load is generated.
#[derive(Clone, Debug)]
pub struct Load {
    /// Seconds each measured run lasts.
    pub seconds: u32,
    /// Open connections.
    pub connections: u32,
    /// `wrk` threads.
    pub threads: u32,
    /// Runs of each case against each server.
    pub repeats: usize,
}

/// One `wrk` run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Run {
    /// Completed requests per second.
    pub rate: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// Answers that were neither 2xx nor 3xx, and socket errors.
    pub errors: u64,
}

use super::median;

/// The median of each figure over several runs.
fn summarize(runs: &[Run]) -> Run {
    let pick = |f: &dyn Fn(&Run) -> f64| median(&mut runs.iter().map(f).collect::<Vec<_>>());
    Run {
        rate: pick(&|r| r.rate),
        p50: Duration::from_secs_f64(pick(&|r| r.p50.as_secs_f64())),
        p99: Duration::from_secs_f64(pick(&|r| r.p99.as_secs_f64())),
        errors: runs.iter().map(|r| r.errors).sum(),
    }
}

/// Times the query and the render of a program feed, in process: medians of `times` runs.
pub async fn time_render(
    db: &Db,
    program_id: i64,
    now: DateTime<Utc>,
    times: usize,
) -> anyhow::Result<(usize, Duration, Duration, usize)> {
    let scope = Scope::Program(program_id);
    let window = Window {
        from: now - chrono::Days::new(30),
        to: now + chrono::Days::new(3650),
        cancelled_since: now - chrono::Days::new(30),
    };
    let info = CalendarInfo {
        name: "bench".to_owned(),
        description: None,
        time_zone: "Asia/Shanghai".to_owned(),
        source: "http://127.0.0.1/feeds/programs/1.ics".to_owned(),
        deadlines: Vec::new(),
    };
    let options = Options {
        audience: Audience::Public,
        alarms: Vec::new(),
        uid_domain: "127.0.0.1".to_owned(),
        public_url: "http://127.0.0.1".to_owned(),
    };
    let (mut queries, mut renders) = (Vec::new(), Vec::new());
    let (mut events, mut bytes) = (0, 0);
    for _ in 0..times.max(1) {
        let started = Instant::now();
        let found = rows::events(db.reader(), &scope, &window).await?;
        queries.push(started.elapsed().as_secs_f64());
        let started = Instant::now();
        let text = render::render(&info, &found, &options);
        renders.push(started.elapsed().as_secs_f64());
        events = found.len();
        bytes = text.len();
    }
    Ok((
        events,
        Duration::from_secs_f64(median(&mut queries)),
        Duration::from_secs_f64(median(&mut renders)),
        bytes,
    ))
}

/// Feed tokens of volunteers who have assignments, up to `limit`.
pub async fn tokens_with_assignments(db: &Db, limit: usize) -> anyhow::Result<Vec<String>> {
    let backend = db.backend();
    let statement = Statement::from_string(
        backend,
        format!(
            "SELECT v.feed_token FROM volunteers v WHERE v.feed_token IS NOT NULL \
             AND EXISTS (SELECT 1 FROM assignments a WHERE a.volunteer_id = v.id) ORDER BY v.id LIMIT {limit}"
        ),
    );
    let rows = db.reader().query_all_raw(statement).await?;
    rows.iter()
        .map(|row| row.try_get::<String>("", "feed_token").map_err(Into::into))
        .collect()
}

/// The `ETag` of a response, or nothing.
pub fn etag(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// nginx serving a directory on a loopback port, stopped when dropped: its master and workers,
/// which run in a process group of their own.
pub struct Nginx {
    child: std::process::Child,
    /// `http://127.0.0.1:{port}`.
    pub base: String,
}

impl Nginx {
    /// Starts nginx (two workers, no logs, ETags on) for the files in `dir/www`.
    pub fn start(dir: &Path) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let root = dir.display();
        let config = format!(
            "worker_processes 2;\n\
             pid {root}/nginx.pid;\n\
             error_log {root}/error.log warn;\n\
             daemon off;\n\
             events {{ worker_connections 4096; }}\n\
             http {{\n\
               access_log off;\n\
               sendfile on; tcp_nopush on; tcp_nodelay on;\n\
               keepalive_requests 10000000; keepalive_timeout 65;\n\
               client_body_temp_path {root}/body; proxy_temp_path {root}/proxy; fastcgi_temp_path {root}/fastcgi;\n\
               uwsgi_temp_path {root}/uwsgi; scgi_temp_path {root}/scgi;\n\
               types {{ text/calendar ics; text/html html; }}\n\
               charset utf-8; charset_types text/calendar;\n\
               server {{ listen 127.0.0.1:{port}; root {root}/www; etag on; }}\n\
             }}\n"
        );
        std::fs::write(dir.join("nginx.conf"), config)?;
        // Workers outlive a master killed outright; in a group of their own, they are
        // signalled together with it.
        let child = std::process::Command::new("nginx")
            .process_group(0)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting nginx (Debian: apt-get install nginx)")?;
        let nginx = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(nginx);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("nginx did not start listening on port {port}; see {root}/error.log")
    }
}

impl Nginx {
    /// How long nginx gets to stop on SIGTERM before the group is killed.
    const STOP_WITHIN: Duration = Duration::from_secs(5);

    /// Sends `signal` to nginx's process group (its id is the master's).
    fn signal_group(&self, signal: libc::c_int) {
        if let Ok(group) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: `kill` has no memory effects; the group is our child's, whose master is
            // not yet reaped, so the id cannot have been reused.
            unsafe { libc::kill(-group, signal) };
        }
    }
}

impl Drop for Nginx {
    /// SIGTERM to master and workers: the master exits only once its workers have. If it has
    /// not within [`Nginx::STOP_WITHIN`], the whole group is killed.
    fn drop(&mut self) {
        self.signal_group(libc::SIGTERM);
        let deadline = Instant::now() + Self::STOP_WITHIN;
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.signal_group(libc::SIGKILL);
        let _ = self.child.wait();
    }
}

/// The Lua script `wrk` runs: paths from a file (each thread its own part), and one line of
/// results at the end.
const WRK_SCRIPT: &str = r#"
local threads = {}
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
local paths = {}
local at = 0
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  local share = math.floor(#paths / tonumber(args[2]))
  if share > 0 then at = id * share end
end
function request()
  at = at + 1
  return wrk.format("GET", paths[(at % #paths) + 1])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.status + e.connect + e.read + e.write + e.timeout))
end
"#;

/// Runs `wrk` against `base` with the paths in `paths_file` and extra headers.
pub async fn wrk(load: &Load, base: &str, paths_file: &Path, headers: &[String], script: &Path) -> anyhow::Result<Run> {
    let mut command = tokio::process::Command::new("wrk");
    command
        .arg(format!("-t{}", load.threads))
        .arg(format!("-c{}", load.connections))
        .arg(format!("-d{}s", load.seconds))
        .arg("-s")
        .arg(script);
    for header in headers {
        command.arg("-H").arg(header);
    }
    command
        .arg(base)
        .arg("--")
        .arg(paths_file)
        .arg(load.threads.to_string());
    let output = command
        .output()
        .await
        .context("running wrk (Debian: apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&output.stdout);
    let Some(line) = text.lines().find_map(|l| l.strip_prefix("RESULT ")) else {
        bail!(
            "wrk printed no result:\n{text}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let numbers: Vec<f64> = line.split_whitespace().filter_map(|n| n.parse().ok()).collect();
    let [requests, duration_us, p50_us, p99_us, errors] = numbers[..] else {
        bail!("wrk printed {line:?}");
    };
    Ok(Run {
        rate: requests / (duration_us / 1e6),
        p50: Duration::from_secs_f64(p50_us / 1e6),
        p99: Duration::from_secs_f64(p99_us / 1e6),
        errors: errors as u64,
    })
}

/// One measured case: what is asked of sciday and of nginx.
pub struct Case {
    /// Name in the report.
    pub name: &'static str,
    /// Paths on sciday (cycled), one file per run in turn: runs that must not share
    /// cached feeds get files of their own.
    pub sciday_paths: Vec<PathBuf>,
    /// Headers for sciday.
    pub sciday_headers: Vec<String>,
    /// Paths on nginx, or none when there is nothing to compare with.
    pub nginx_paths: Option<PathBuf>,
    /// Headers for nginx.
    pub nginx_headers: Vec<String>,
}

/// Medians of a case on both servers.
pub struct Measured {
    /// The case.
    pub name: &'static str,
    /// sciday.
    pub sciday: Run,
    /// nginx, when compared.
    pub nginx: Option<Run>,
}

/// Measures the cases, alternating servers run by run.
pub async fn measure(
    load: &Load,
    sciday: &str,
    nginx: &str,
    cases: &[Case],
    script: &Path,
) -> anyhow::Result<Vec<Measured>> {
    let mut results = Vec::new();
    for case in cases {
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for run in 1..=load.repeats.max(1) {
            if let Some(paths) = &case.nginx_paths {
                let measured = wrk(load, nginx, paths, &case.nginx_headers, script).await?;
                eprintln!(
                    "  {} nginx run {run}: {:.0}/s p99 {:.2} ms",
                    case.name,
                    measured.rate,
                    ms(measured.p99)
                );
                theirs.push(measured);
            }
            let paths = &case.sciday_paths[(run - 1) % case.sciday_paths.len().max(1)];
            let measured = wrk(load, sciday, paths, &case.sciday_headers, script).await?;
            eprintln!(
                "  {} sciday run {run}: {:.0}/s p99 {:.2} ms",
                case.name,
                measured.rate,
                ms(measured.p99)
            );
            ours.push(measured);
        }
        results.push(Measured {
            name: case.name,
            sciday: summarize(&ours),
            nginx: (!theirs.is_empty()).then(|| summarize(&theirs)),
        });
    }
    Ok(results)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The report table.
pub fn report(results: &[Measured]) -> String {
    let mut out = String::from(
        "case                               sciday req/s  nginx req/s  ratio  sciday p50 ms  sciday p99 ms  nginx p99 ms  errors\n",
    );
    for result in results {
        let (nginx_rate, ratio, nginx_p99) = match result.nginx {
            Some(nginx) => (
                format!("{:.0}", nginx.rate),
                format!("{:.2}", result.sciday.rate / nginx.rate),
                format!("{:.2}", ms(nginx.p99)),
            ),
            None => ("-".to_owned(), "-".to_owned(), "-".to_owned()),
        };
        let _ = writeln!(
            out,
            "{:<34} {:>12.0}  {:>11}  {:>5}  {:>13.2}  {:>13.2}  {:>12}  {:>6}",
            result.name,
            result.sciday.rate,
            nginx_rate,
            ratio,
            ms(result.sciday.p50),
            ms(result.sciday.p99),
            nginx_p99,
            result.sciday.errors + result.nginx.map_or(0, |n| n.errors),
        );
    }
    out
}

/// Writes the script and path files the cases use into `dir`.
pub fn write_script(dir: &Path) -> anyhow::Result<PathBuf> {
    let script = dir.join("paths.lua");
    std::fs::write(&script, WRK_SCRIPT)?;
    Ok(script)
}

/// Writes one path per line.
pub fn write_paths(dir: &Path, name: &str, paths: &[String]) -> anyhow::Result<PathBuf> {
    let file = dir.join(format!("{name}.paths"));
    std::fs::write(&file, paths.join("\n") + "\n")?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_are_taken_per_figure_and_ratios_reported() {
        let runs = [
            Run {
                rate: 100.0,
                p50: Duration::from_millis(1),
                p99: Duration::from_millis(9),
                errors: 0,
            },
            Run {
                rate: 300.0,
                p50: Duration::from_millis(3),
                p99: Duration::from_millis(2),
                errors: 1,
            },
            Run {
                rate: 200.0,
                p50: Duration::from_millis(2),
                p99: Duration::from_millis(5),
                errors: 0,
            },
        ];
        let summary = summarize(&runs);
        assert_eq!(summary.rate, 200.0);
        assert_eq!(summary.p50, Duration::from_millis(2));
        assert_eq!(summary.p99, Duration::from_millis(5));
        assert_eq!(summary.errors, 1);
        let table = report(&[Measured {
            name: "program 200",
            sciday: summary,
            nginx: Some(Run { rate: 400.0, ..summary }),
        }]);
        assert!(
            table.lines().nth(1).is_some_and(|line| line.contains(" 0.50 ")),
            "{table}"
        );
    }
}
