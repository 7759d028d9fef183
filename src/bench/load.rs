//! A bounded HTTP load from inside the benchmark: workers send requests until a count or a
//! time runs out, and every request's latency and status is kept.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::percentile;

/// How much load to send.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Requests at most.
    pub requests: usize,
    /// Requests in flight at once.
    pub workers: usize,
    /// No request starts after this much time.
    pub time: Duration,
}

/// What a load measured.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    /// Every request's latency, sorted.
    pub timings: Vec<Duration>,
    /// Answers by status; `0` counts requests that got no answer.
    pub statuses: BTreeMap<u16, usize>,
    /// Body bytes received, together.
    pub bytes: u64,
    /// From the first request sent to the last answer read.
    pub elapsed: Duration,
}

impl Sample {
    /// Requests sent.
    pub fn requests(&self) -> usize {
        self.timings.len()
    }

    /// Answers with `status`.
    pub fn with_status(&self, status: u16) -> usize {
        self.statuses.get(&status).copied().unwrap_or(0)
    }

    /// Requests per second.
    pub fn rate(&self) -> f64 {
        self.timings.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Median latency.
    pub fn p50(&self) -> Duration {
        percentile(&self.timings, 0.50)
    }

    /// 99th percentile latency.
    pub fn p99(&self) -> Duration {
        percentile(&self.timings, 0.99)
    }

    /// The statuses seen, such as `200 ×98, 500 ×2`.
    pub fn status_text(&self) -> String {
        self.statuses
            .iter()
            .map(|(status, n)| match status {
                0 => format!("no answer ×{n}"),
                _ => format!("{status} ×{n}"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Sends request `i` for `i` in `0..limits.requests` from `limits.workers` workers, stopping
/// early when `limits.time` has passed, and reads each answer's body to the end.
pub async fn drive<F, Fut>(limits: Limits, request: F) -> Sample
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = reqwest::Result<reqwest::Response>> + Send,
{
    let request = Arc::new(request);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::with_capacity(limits.workers.max(1));
    for _ in 0..limits.workers.max(1) {
        let (request, next) = (Arc::clone(&request), Arc::clone(&next));
        workers.push(tokio::spawn(async move {
            let mut sample = Sample::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= limits.requests || started.elapsed() >= limits.time {
                    break;
                }
                let sent = Instant::now();
                let status = match request(i).await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        match response.bytes().await {
                            Ok(body) => {
                                sample.bytes += body.len() as u64;
                                status
                            }
                            Err(_) => 0,
                        }
                    }
                    Err(_) => 0,
                };
                sample.timings.push(sent.elapsed());
                *sample.statuses.entry(status).or_default() += 1;
            }
            sample
        }));
    }
    let mut sample = Sample::default();
    for worker in workers {
        if let Ok(part) = worker.await {
            sample.timings.extend(part.timings);
            sample.bytes += part.bytes;
            for (status, n) in part.statuses {
                *sample.statuses.entry(status).or_default() += n;
            }
        }
    }
    sample.elapsed = started.elapsed();
    sample.timings.sort_unstable();
    sample
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_reports_its_statuses_and_rate() {
        let sample = Sample {
            timings: (1..=10).map(Duration::from_millis).collect(),
            statuses: BTreeMap::from([(0, 1), (200, 9)]),
            bytes: 90,
            elapsed: Duration::from_secs(2),
        };
        assert_eq!(sample.rate(), 5.0);
        assert_eq!(sample.with_status(200), 9);
        assert_eq!(sample.p50(), Duration::from_millis(5));
        assert_eq!(sample.status_text(), "no answer ×1, 200 ×9");
    }
}
