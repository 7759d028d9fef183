//! `sciday serve` as a separate process, the way operators start it: what it prints and logs,
//! read line by line as it comes, and a clean stop on SIGTERM.

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};

use tokio::sync::mpsc;

/// A `sciday serve` process whose stdout and stderr are read line by line as they come; sent
/// SIGKILL if the test ends without stopping it.
pub(crate) struct Served {
    /// Taken when the test stops it.
    child: Option<Child>,
    /// The base URL it listens on, from the first line it prints.
    pub(crate) address: String,
    stdout: mpsc::UnboundedReceiver<String>,
    stderr: mpsc::UnboundedReceiver<String>,
}

impl Served {
    /// Starts `sciday serve ARGS` on the database, logging at `log`, and waits until it listens.
    pub(crate) async fn start(database_url: &str, args: &[&str], log: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sciday"))
            .arg("serve")
            .args(args)
            .env("SCIDAY_DATABASE_URL", database_url)
            .env("SCIDAY_LOG", log)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = lines(child.stdout.take().unwrap());
        let mut stderr = lines(child.stderr.take().unwrap());
        let Some(listening) = stdout.recv().await else {
            let mut said = Vec::new();
            while let Some(line) = stderr.recv().await {
                said.push(line);
            }
            panic!("sciday serve did not start:\n{}", said.join("\n"));
        };
        let address = listening.split_whitespace().nth(3).unwrap_or_default().to_owned();
        assert!(address.starts_with("http://"), "{listening}");
        Self {
            child: Some(child),
            address,
            stdout,
            stderr,
        }
    }

    /// The next line on stdout.
    pub(crate) async fn said(&mut self) -> String {
        self.stdout.recv().await.expect("sciday serve printed more")
    }

    /// Stderr lines up to and including the first that contains `text`.
    pub(crate) async fn logged_until(&mut self, text: &str) -> Vec<String> {
        let mut seen = Vec::new();
        while let Some(line) = self.stderr.recv().await {
            let found = line.contains(text);
            seen.push(line);
            if found {
                return seen;
            }
        }
        panic!("no log line with {text:?} in:\n{}", seen.join("\n"));
    }

    /// SIGTERM, then checks that the service ended cleanly.
    pub(crate) async fn stop(mut self) {
        let mut child = self.child.take().unwrap();
        let killed = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = tokio::task::spawn_blocking(move || child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success(), "a SIGTERM ends the service cleanly: {status:?}");
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Each line a pipe carries, read on a thread of its own so the pipe never fills.
fn lines(pipe: impl std::io::Read + Send + 'static) -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}
