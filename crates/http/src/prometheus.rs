//! The Prometheus text exposition format (0.0.4), for every server's `/metrics`. Written by
//! hand: each scrape computes a few dozen series from the server's state, which a registry
//! crate would only copy into its own types first. Conventions kept here: names start with
//! `corral_`, counters end in `_total`, durations are in seconds, and every server exports
//! `corral_build_info`.

use std::fmt::Write;

/// The media type of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// A scrape's text, family by family.
#[derive(Debug, Default)]
pub struct MetricsText {
    out: String,
}

impl MetricsText {
    pub fn new() -> Self {
        Self::default()
    }

    /// `# HELP` and `# TYPE` of a family; its samples follow.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) -> &mut Self {
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {}", kind.as_str());
        self
    }

    /// One sample of the family last named (`labels` as name and value pairs).
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) -> &mut Self {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (label, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{label}=\"{}\"", escape_label(value));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", number(value));
        self
    }

    /// A family of one unlabelled sample.
    pub fn single(&mut self, name: &str, kind: Kind, help: &str, value: f64) -> &mut Self {
        self.family(name, kind, help).sample(name, &[], value)
    }

    /// A histogram family of one series: `buckets` are (upper bound, cumulative count) in
    /// increasing order, the last one `+Inf` (None); `_sum` and `_count` follow.
    pub fn histogram(
        &mut self,
        name: &str,
        help: &str,
        buckets: &[(Option<f64>, u64)],
        sum: f64,
        count: u64,
    ) -> &mut Self {
        self.family(name, Kind::Histogram, help)
            .histogram_series(name, &[], buckets, sum, count)
    }

    /// One labelled series of the histogram family last named.
    pub fn histogram_series(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        buckets: &[(Option<f64>, u64)],
        sum: f64,
        count: u64,
    ) -> &mut Self {
        let bucket = format!("{name}_bucket");
        for (bound, cumulative) in buckets {
            let le = bound.map_or_else(|| "+Inf".to_string(), number);
            let mut with_le = labels.to_vec();
            with_le.push(("le", &le));
            self.sample(&bucket, &with_le, *cumulative as f64);
        }
        self.sample(&format!("{name}_sum"), labels, sum);
        self.sample(&format!("{name}_count"), labels, count as f64)
    }

    /// `corral_build_info{component=...,version=...} 1`, as Prometheus' own `_build_info`.
    pub fn build_info(&mut self, component: &str, version: &str) -> &mut Self {
        self.family(
            "corral_build_info",
            Kind::Gauge,
            "1, labelled with the component and the version that runs.",
        )
        .sample(
            "corral_build_info",
            &[("component", component), ("version", version)],
            1.0,
        )
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// A value as the format writes it: integers without a fraction, `NaN` and `+Inf` by name.
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{value}")
    }
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_samples_and_histograms_in_the_text_format() {
        let mut text = MetricsText::new();
        text.family("corral_x_tasks", Kind::Gauge, "Tasks by state.")
            .sample("corral_x_tasks", &[("state", "TASK_RUNNING")], 3.0)
            .sample("corral_x_tasks", &[("state", "a\"b\\c\nd")], 0.0);
        text.single("corral_x_calls_total", Kind::Counter, "Calls.", 12.0);
        text.histogram(
            "corral_x_seconds",
            "Durations.",
            &[(Some(0.001), 1), (Some(0.5), 3), (None, 4)],
            1.25,
            4,
        );
        text.build_info("master", "0.1.0");
        text.family("corral_x_call_seconds", Kind::Histogram, "Calls.")
            .histogram_series(
                "corral_x_call_seconds",
                &[("plugin", "drf")],
                &[(Some(0.25), 2), (None, 2)],
                0.5,
                2,
            );
        assert_eq!(
            text.finish(),
            "# HELP corral_x_tasks Tasks by state.\n\
             # TYPE corral_x_tasks gauge\n\
             corral_x_tasks{state=\"TASK_RUNNING\"} 3\n\
             corral_x_tasks{state=\"a\\\"b\\\\c\\nd\"} 0\n\
             # HELP corral_x_calls_total Calls.\n\
             # TYPE corral_x_calls_total counter\n\
             corral_x_calls_total 12\n\
             # HELP corral_x_seconds Durations.\n\
             # TYPE corral_x_seconds histogram\n\
             corral_x_seconds_bucket{le=\"0.001\"} 1\n\
             corral_x_seconds_bucket{le=\"0.5\"} 3\n\
             corral_x_seconds_bucket{le=\"+Inf\"} 4\n\
             corral_x_seconds_sum 1.25\n\
             corral_x_seconds_count 4\n\
             # HELP corral_build_info 1, labelled with the component and the version that runs.\n\
             # TYPE corral_build_info gauge\n\
             corral_build_info{component=\"master\",version=\"0.1.0\"} 1\n\
             # HELP corral_x_call_seconds Calls.\n\
             # TYPE corral_x_call_seconds histogram\n\
             corral_x_call_seconds_bucket{plugin=\"drf\",le=\"0.25\"} 2\n\
             corral_x_call_seconds_bucket{plugin=\"drf\",le=\"+Inf\"} 2\n\
             corral_x_call_seconds_sum{plugin=\"drf\"} 0.5\n\
             corral_x_call_seconds_count{plugin=\"drf\"} 2\n"
        );
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(0.25), "0.25");
    }
}
