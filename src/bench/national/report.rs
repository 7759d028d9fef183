//! The national benchmark's one table: a row per measurement, in markdown as
//! docs/BENCHMARKS.md shows tables.

use std::fmt::Write as _;
use std::time::Duration;

use super::super::load::Sample;
use crate::domain::text::thousands as count;

/// One row of the table. Figures a measurement does not have stay empty.
#[derive(Clone, Debug, Default)]
pub struct Row {
    /// What was measured.
    pub case: String,
    /// Requests (or messages) it took.
    pub requests: Option<usize>,
    /// Median latency, or the single latency of a one-off request.
    pub median: Option<Duration>,
    /// 99th percentile latency.
    pub p99: Option<Duration>,
    /// Requests (or messages) per second.
    pub rate: Option<f64>,
    /// Bytes of one answer, or memory.
    pub size: Option<u64>,
    /// Statuses other than the expected, refusals, counts.
    pub note: String,
}

impl Row {
    /// A row named `case` with nothing measured yet.
    pub fn new(case: impl Into<String>) -> Self {
        Self {
            case: case.into(),
            ..Self::default()
        }
    }

    /// A row of a load's rate and latencies; the statuses go in the note unless all were
    /// `expected`.
    pub fn load(case: impl Into<String>, sample: &Sample, expected: u16) -> Self {
        let requests = sample.requests();
        let note = if sample.with_status(expected) == requests {
            String::new()
        } else {
            sample.status_text()
        };
        Self {
            case: case.into(),
            requests: Some(requests),
            median: Some(sample.p50()),
            p99: Some(sample.p99()),
            rate: Some(sample.rate()),
            size: (requests > 0).then(|| sample.bytes / requests as u64),
            note,
        }
    }

    /// The same row with `note` said too.
    pub fn noting(mut self, note: impl AsRef<str>) -> Self {
        let note = note.as_ref();
        if !note.is_empty() {
            if !self.note.is_empty() {
                self.note.push_str("; ");
            }
            self.note.push_str(note);
        }
        self
    }
}

/// The rows as a markdown table.
pub fn table(rows: &[Row]) -> String {
    let mut out =
        String::from("| case | requests | median | p99 | rate | size | note |\n|---|---|---|---|---|---|---|\n");
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            row.case,
            row.requests.map_or_else(dash, |n| count(n as u64)),
            row.median.map_or_else(dash, millis),
            row.p99.map_or_else(dash, millis),
            row.rate.map_or_else(dash, |r| format!("{}/s", count(r.round() as u64))),
            row.size.map_or_else(dash, bytes),
            row.note.replace('|', "\\|"),
        );
    }
    out
}

fn dash() -> String {
    "–".to_owned()
}

/// A latency to three significant figures or so: 0.21 ms, 14.3 ms, 1,940 ms.
pub fn millis(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1e3;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{} ms", count(ms.round() as u64))
    }
}

/// A size in bytes, kB or MB (powers of ten, as the issue states sizes).
pub fn bytes(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.1} kB", n as f64 / 1e3),
        _ => format!("{:.1} MB", n as f64 / 1e6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_print_as_a_markdown_table_with_empty_figures_dashed() {
        let rows = [
            Row {
                requests: Some(5_000),
                median: Some(Duration::from_micros(210)),
                p99: Some(Duration::from_millis(1_940)),
                rate: Some(53_012.4),
                size: Some(49_000_000),
                ..Row::new("program feed: 304")
            },
            Row::new("instance a").noting("a | b"),
        ];
        let table = table(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[2],
            "| program feed: 304 | 5,000 | 0.21 ms | 1,940 ms | 53,012/s | 49.0 MB |  |"
        );
        assert_eq!(lines[3], "| instance a | – | – | – | – | – | a \\| b |");
    }
}
