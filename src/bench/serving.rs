//! `sciday serve` as a child process of a benchmark, the way operators run it: started in a
//! process group of its own on a loopback port, its memory read from `/proc`, and stopped
//! (or killed) with everything it started, so a benchmark leaves no process behind.

use std::io::BufRead as _;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::sync::oneshot;

use crate::db::DatabaseUrl;

/// A running `sciday serve`, killed with its process group if dropped while running.
pub struct Serving {
    /// The instance's name (`--instance-id`), under which it claims webhook deliveries.
    pub name: String,
    child: Child,
    address: Option<oneshot::Receiver<String>>,
}

/// A process's resident memory, in bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Memory {
    /// Resident now (`VmRSS`).
    pub resident: u64,
    /// The most it was resident at any time (`VmHWM`).
    pub peak: u64,
}

impl Serving {
    /// Starts `exe serve` on a free loopback port against `url` as instance `name`, allowed to
    /// send webhooks to loopback, with `extra` arguments.
    pub fn start(exe: &Path, url: &DatabaseUrl, name: &str, extra: &[String]) -> anyhow::Result<Self> {
        let mut child = Command::new(exe)
            .args(["serve", "--listen", "127.0.0.1:0", "--webhook-allow", "127.0.0.0/8"])
            .args(["--instance-id", name])
            .args(extra)
            .env("SCIDAY_DATABASE_URL", url.expose())
            .env("SCIDAY_LOG", "error")
            .stdout(Stdio::piped())
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        let stdout = child.stdout.take().context("the child has no stdout")?;
        let (tell, address) = oneshot::channel();
        // The first line names the address; the rest is read and dropped so the pipe never fills.
        std::thread::spawn(move || {
            let mut lines = std::io::BufReader::new(stdout).lines().map_while(Result::ok);
            if let Some(first) = lines.next() {
                let address = first.split_whitespace().nth(3).unwrap_or_default().to_owned();
                let _ = tell.send(address);
            }
            lines.for_each(drop);
        });
        Ok(Self {
            name: name.to_owned(),
            child,
            address: Some(address),
        })
    }

    /// The base URL it listens on (`http://127.0.0.1:…`), once it says so.
    pub async fn listening(&mut self, within: Duration) -> anyhow::Result<String> {
        let said = self.address.take().context("the address was read already")?;
        let address = tokio::time::timeout(within, said)
            .await
            .with_context(|| format!("{} did not start listening within {within:?}", self.name))?
            .with_context(|| format!("{} stopped before it listened", self.name))?;
        if !address.starts_with("http://127.0.0.1:") {
            bail!("{} says it listens on {address:?}, not on loopback", self.name);
        }
        Ok(address)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its resident memory now and at its highest, from `/proc/{pid}/status`.
    pub fn memory(&self) -> anyhow::Result<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let kib = |field: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(field))
                .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
                .map(|n| n * 1024)
                .with_context(|| format!("no {field} in /proc/{}/status", self.pid()))
        };
        Ok(Memory {
            resident: kib("VmRSS:")?,
            peak: kib("VmHWM:")?,
        })
    }

    /// SIGKILL to its process group: no shutdown, no release of claims. Says its name.
    pub fn kill(mut self) -> anyhow::Result<String> {
        self.signal(libc::SIGKILL);
        self.child.wait()?;
        Ok(std::mem::take(&mut self.name))
    }

    /// SIGTERM, and waits up to ten seconds for a graceful stop before killing the group.
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.signal(libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                self.signal(libc::SIGKILL);
                self.child.wait()?;
                bail!("{} did not stop within ten seconds of SIGTERM; killed", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    fn signal(&self, signal: libc::c_int) {
        if let Ok(group) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: `kill` has no memory effects; the group is our own child's, which leads it
            // (`process_group(0)`) and is not reaped while `self.child` lives.
            unsafe { libc::kill(-group, signal) };
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.signal(libc::SIGKILL);
            let _ = self.child.wait();
        }
    }
}
