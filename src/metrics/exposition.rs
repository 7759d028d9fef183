//! Gauges read at scrape time, written in the Prometheus text format (version 0.0.4) after
//! what the recorder holds.

use std::fmt::Write as _;

/// One value of a gauge, with its labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Label names and values, in the order written.
    pub labels: Vec<(&'static str, String)>,
    /// The value.
    pub value: f64,
}

impl Sample {
    /// A value with labels.
    pub fn new(labels: &[(&'static str, &str)], value: impl Into<f64>) -> Self {
        Self {
            labels: labels
                .iter()
                .map(|(name, value)| (*name, (*value).to_owned()))
                .collect(),
            value: value.into(),
        }
    }
}

/// Appends a gauge: its `# HELP` and `# TYPE` lines and one line per sample. A gauge without
/// samples is left out, as Prometheus expects of a family with no series.
pub fn gauge(out: &mut String, name: &str, help: &str, samples: &[Sample]) {
    if samples.is_empty() {
        return;
    }
    let _ = writeln!(out, "# HELP {name} {}", help.replace('\\', "\\\\").replace('\n', "\\n"));
    let _ = writeln!(out, "# TYPE {name} gauge");
    for sample in samples {
        out.push_str(name);
        if !sample.labels.is_empty() {
            let labels: Vec<String> = sample
                .labels
                .iter()
                .map(|(label, value)| format!("{label}=\"{}\"", escape(value)))
                .collect();
            let _ = write!(out, "{{{}}}", labels.join(","));
        }
        let _ = writeln!(out, " {}", sample.value);
    }
    out.push('\n');
}

/// A label value with its backslashes, quotes and line breaks escaped.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gauge_is_written_with_its_help_type_and_escaped_labels() {
        let mut out = String::new();
        gauge(
            &mut out,
            "sciday_outbox_messages",
            "Messages waiting",
            &[
                Sample::new(&[("status", "pending"), ("platform", "dingtalk")], 3),
                Sample::new(&[("status", "a \"b\"\\\n")], 0.5),
                Sample::new(&[], 7),
            ],
        );
        assert_eq!(
            out,
            "# HELP sciday_outbox_messages Messages waiting\n\
             # TYPE sciday_outbox_messages gauge\n\
             sciday_outbox_messages{status=\"pending\",platform=\"dingtalk\"} 3\n\
             sciday_outbox_messages{status=\"a \\\"b\\\"\\\\\\n\"} 0.5\n\
             sciday_outbox_messages 7\n\n"
        );
    }

    #[test]
    fn a_gauge_without_samples_is_left_out() {
        let mut out = String::new();
        gauge(&mut out, "sciday_db_connections", "Connections", &[]);
        assert!(out.is_empty());
    }
}
