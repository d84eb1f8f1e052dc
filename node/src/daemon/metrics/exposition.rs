//! The node's metrics in the OpenMetrics text format, encoded by `prometheus-client`.
//!
//! A scrape builds a registry of its own: the read API's request counters and
//! durations (live instruments of [`Metrics`]), and a collector that reads the rest
//! at that moment — the node's counters and the gauges of its store, links and
//! health. Counter families carry their samples under `NAME_total`, as before.

use std::fmt::Write as _;

use credithub_protocol::link::Refusal;
use credithub_protocol::Scope;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelValue, EncodeMetric, LabelValueEncoder,
};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::Metrics;
use crate::clock::now_millis;
use crate::daemon::Node;
use crate::store::STORAGE_FIGURES;

/// The content type of [`render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The metrics of a node as OpenMetrics text.
pub fn render(node: &Node) -> String {
    let mut registry = Registry::default();
    let m = &node.metrics;
    registry.register(
        "credithub_api_requests",
        "Read API requests, by route and HTTP status",
        m.api_requests.clone(),
    );
    registry.register(
        "credithub_api_request_duration_seconds",
        "Read API request durations, by route",
        m.api_durations.clone(),
    );
    registry.register_collector(Box::new(Snapshot::of(node)));
    let mut out = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &registry) {
        tracing::warn!(error = %e, "metrics could not be encoded");
    }
    out
}

/// A label value, escaped as the text format requires (`\`, `"`, line feeds).
#[derive(Debug, Clone)]
struct Label(String);

impl EncodeLabelValue for Label {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        for c in self.0.chars() {
            match c {
                '\\' => encoder.write_str("\\\\")?,
                '"' => encoder.write_str("\\\"")?,
                '\n' => encoder.write_str("\\n")?,
                c => encoder.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// A sample's value.
#[derive(Debug, Clone, Copy)]
enum Value {
    Count(u64),
    Int(i64),
    Float(f64),
}

/// One metric family as read at a scrape.
#[derive(Debug)]
struct Family {
    name: String,
    help: &'static str,
    counter: bool,
    samples: Vec<(Vec<(&'static str, Label)>, Value)>,
}

impl Family {
    fn new(name: impl Into<String>, help: &'static str, counter: bool) -> Family {
        Family {
            name: name.into(),
            help,
            counter,
            samples: Vec::new(),
        }
    }

    fn sample(&mut self, labels: &[(&'static str, &str)], value: Value) {
        let labels = labels
            .iter()
            .map(|(k, v)| (*k, Label((*v).to_string())))
            .collect();
        self.samples.push((labels, value));
    }
}

/// What a scrape reads of a node, for the registry to encode.
#[derive(Debug)]
struct Snapshot(Vec<Family>);

impl Snapshot {
    fn of(node: &Node) -> Snapshot {
        let m: &Metrics = &node.metrics;
        let mut families = Vec::new();

        let mut f = Family::new(
            "credithub_records",
            "Record versions held, by origin and kind (from the digest roots)",
            false,
        );
        if let Ok(partitions) = node.store.partitions() {
            for (p, cell) in partitions {
                if let Scope::Origin(origin) = p.scope {
                    let origin = origin.to_string();
                    let kind = p.kind.name();
                    f.sample(
                        &[("origin", &origin), ("kind", &kind)],
                        Value::Int(cell.signed_count()),
                    );
                }
            }
        }
        families.push(f);

        let mut f = Family::new(
            "credithub_sync_rounds",
            "Sync rounds, by peer, side of the peer and result",
            true,
        );
        for ((peer, with, result), n) in m.rounds.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            f.sample(
                &[("peer", peer.as_str()), ("with", with), ("result", result)],
                Value::Count(*n),
            );
        }
        families.push(f);
        let mut f = Family::new(
            "credithub_sync_bytes",
            "Bytes of sync sessions, by peer and direction",
            true,
        );
        for ((peer, dir), n) in m.bytes.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            f.sample(
                &[("peer", peer.as_str()), ("direction", dir)],
                Value::Count(*n),
            );
        }
        families.push(f);
        let mut f = Family::new(
            "credithub_sync_records",
            "Record versions moved by sync sessions, by peer and direction (sent, received; held-back: not sent because the link's version does not carry their form)",
            true,
        );
        for ((peer, dir), n) in m
            .records_moved
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            f.sample(
                &[("peer", peer.as_str()), ("direction", dir)],
                Value::Count(*n),
            );
        }
        families.push(f);
        // Every reason from the start, at 0: a first refusal then shows as an increase.
        let mut refused: std::collections::BTreeMap<String, u64> = Refusal::ALL
            .iter()
            .map(|r| (r.as_str().to_string(), 0))
            .collect();
        refused.extend(m.refused());
        families.push(by_reason(
            "credithub_refused_records",
            "Records refused from peers, by reason",
            refused,
        ));
        families.push(by_reason(
            "credithub_refused_connections",
            "Connections refused (failed handshakes, certificate role or jurisdiction, limits), by reason",
            m.refused_connections(),
        ));
        families.push(by_reason(
            "credithub_refused_requests",
            "Admin and read requests refused (malformed, or not allowed to the certificate's role), by reason",
            m.refused_requests(),
        ));
        let mut f = Family::new(
            "credithub_session_failures",
            "Sync sessions that failed, by side and reason (stalled, oversized-message, protocol-violation, connection, …)",
            true,
        );
        for ((with, kind), n) in m
            .session_failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            f.sample(&[("with", with), ("reason", kind)], Value::Count(*n));
        }
        families.push(f);

        let mut f = Family::new(
            "credithub_link_version",
            "The link protocol version each peer's connection negotiated",
            false,
        );
        for ((peer, with), v) in m.link_versions() {
            f.sample(&[("peer", &peer), ("with", with)], Value::Int(v.into()));
        }
        families.push(f);

        let now = now_millis();
        let (parent, children) = node.lags();
        let mut f = Family::new(
            "credithub_parent_lag_seconds",
            "Seconds since the last successful round with the parent (since start if none)",
            false,
        );
        if let Some(lag) = parent {
            f.sample(&[], Value::Float(lag as f64 / 1000.0));
        }
        families.push(f);
        let mut f = Family::new(
            "credithub_child_lag_seconds",
            "Seconds since each child's last session",
            false,
        );
        for (name, last) in children {
            let lag = now.saturating_sub(last) as f64 / 1000.0;
            f.sample(&[("child", &name)], Value::Float(lag));
        }
        families.push(f);

        let figures = node.store.storage_figures();
        for figure in STORAGE_FIGURES {
            let mut f = Family::new(
                format!("credithub_rocksdb_{}", figure.name),
                figure.help,
                false,
            );
            if let Some(v) = figures.get(figure.name) {
                f.sample(&[], Value::Int(i64::try_from(*v).unwrap_or(i64::MAX)));
            }
            families.push(f);
        }
        let mut f = Family::new(
            "credithub_ready",
            "1 when the node is ready (store open, listener bound, not draining)",
            false,
        );
        f.sample(&[], Value::Int(node.health.is_ready().into()));
        families.push(f);
        let mut f = Family::new(
            "credithub_node_info",
            "The node's name and jurisdiction (always 1)",
            false,
        );
        let jurisdiction = node.config.jurisdiction.to_string();
        f.sample(
            &[
                ("name", &node.identity.name),
                ("jurisdiction", &jurisdiction),
            ],
            Value::Int(1),
        );
        families.push(f);
        Snapshot(families)
    }
}

/// A counter family of one `reason` label.
fn by_reason(
    name: &'static str,
    help: &'static str,
    counts: std::collections::BTreeMap<String, u64>,
) -> Family {
    let mut f = Family::new(name, help, true);
    for (reason, n) in &counts {
        f.sample(&[("reason", reason.as_str())], Value::Count(*n));
    }
    f
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        for f in &self.0 {
            let kind = if f.counter {
                MetricType::Counter
            } else {
                MetricType::Gauge
            };
            let mut family = encoder.encode_descriptor(&f.name, f.help, None, kind)?;
            for (labels, value) in &f.samples {
                let sample = family.encode_family(labels)?;
                match (f.counter, *value) {
                    (true, Value::Count(n)) => ConstCounter::new(n).encode(sample)?,
                    (_, Value::Count(n)) => ConstGauge::new(n).encode(sample)?,
                    (_, Value::Int(n)) => ConstGauge::new(n).encode(sample)?,
                    (_, Value::Float(x)) => ConstGauge::new(x).encode(sample)?,
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_and_counters_end_in_total() {
        let mut f = Family::new("credithub_test", "help", true);
        f.sample(&[("peer", "a\"b\\c\nd")], Value::Count(3));
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Snapshot(vec![f])));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry).expect("encodes");
        assert!(
            out.contains(r#"credithub_test_total{peer="a\"b\\c\nd"} 3"#),
            "{out}"
        );
        assert!(out.contains("# TYPE credithub_test counter"), "{out}");
        assert!(out.ends_with("# EOF\n"), "{out}");
    }
}
