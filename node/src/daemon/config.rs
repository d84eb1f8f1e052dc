//! The node's configuration: a TOML file, then `CREDIT_*` environment variables
//! (`CREDIT_SYNC__INTERVAL_SECS=10` sets `sync.interval_secs`), checked at start-up.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use credithub_protocol::calendar::CalendarError;
use credithub_protocol::lifecycle::PublicationRules;
use credithub_protocol::link::{LINK_VERSION, MIN_LINK_VERSION};
use credithub_protocol::{Date, DivisionCode, RecordKind, WorkCalendar};

use crate::link::quic::{Congestion, LinkTuning};
use crate::query::matters::Matters;
use crate::query::measures::Catalogue;
use serde::Deserialize;

/// `CREDIT_*` variables that are not node settings: the configuration file's own
/// (`--config`), and `credit-admin`'s. (`CREDIT_CERTS_DIR` and `CREDIT_DATA_DIR` mean
/// the same for both.)
const CLIENT_VARIABLES: [&str; 6] = [
    crate::clock::OFFSET_VARIABLE,
    "CREDIT_CONFIG",
    "CREDIT_NODE",
    "CREDIT_FORMAT",
    "CREDIT_CLIENT",
    "CREDIT_CA_KEY",
];

/// A configuration that cannot be used, naming the key and the problem.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or environment could not be read or parsed.
    #[error("configuration {source_name}: {message}")]
    Load {
        /// The file (or "environment").
        source_name: String,
        /// What went wrong, with the key where known.
        message: String,
    },
    /// A value is invalid.
    #[error("configuration key `{key}`: {problem}")]
    Invalid {
        /// The key, dotted (`sync.interval_secs`).
        key: &'static str,
        /// What is wrong with its value.
        problem: String,
    },
}

fn invalid(key: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        problem: problem.into(),
    }
}

/// The file's form, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    jurisdiction: String,
    data_dir: PathBuf,
    certs_dir: PathBuf,
    #[serde(default = "default_listen")]
    listen: String,
    #[serde(default)]
    parent: Option<RawParent>,
    #[serde(default)]
    sync: RawSync,
    #[serde(default)]
    log: RawLog,
    #[serde(default)]
    metrics: RawMetrics,
    #[serde(default)]
    publication: PublicationRules,
    #[serde(default)]
    measures_file: Option<PathBuf>,
    #[serde(default)]
    api: RawApi,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    calendar: RawCalendar,
    #[serde(default)]
    matters_file: Option<PathBuf>,
    #[serde(default)]
    accounts: RawAccounts,
    #[serde(default)]
    link: RawLink,
}

/// `[accounts]`: the accounts per reporting unit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawAccounts {
    months: u32,
    refresh_secs: f64,
    objection_days: u32,
    repair_days: u32,
}

impl Default for RawAccounts {
    fn default() -> Self {
        RawAccounts {
            months: 13,
            refresh_secs: 300.0,
            objection_days: 5,
            repair_days: 3,
        }
    }
}

/// How the node keeps its accounts per reporting unit.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountsConfig {
    /// Months kept and reported, the current one included (`accounts.months`).
    pub months: u32,
    /// How old the accounts sent to the parent may be before they are computed again
    /// (`accounts.refresh_secs`; 0: every session).
    pub refresh: Duration,
    /// Working days an objection may wait for its origin's decision
    /// (`accounts.objection_days`).
    pub objection_days: u32,
    /// Working days between a repair decision and its recording
    /// (`accounts.repair_days`).
    pub repair_days: u32,
}

/// `[link]`: the QUIC transport's tuning.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawLink {
    congestion: String,
    packet_threshold: u32,
    time_threshold: f64,
    socket_buffer_bytes: u64,
    stream_window_bytes: u64,
    connection_window_bytes: u64,
}

impl Default for RawLink {
    fn default() -> Self {
        let t = LinkTuning::default();
        RawLink {
            congestion: t.congestion.as_str().into(),
            packet_threshold: t.packet_threshold,
            time_threshold: f64::from(t.time_threshold),
            socket_buffer_bytes: t.socket_buffer as u64,
            stream_window_bytes: u64::from(t.stream_window),
            connection_window_bytes: u64::from(t.connection_window),
        }
    }
}

/// Bounds of the `[link]` byte sizes: at least 64 KiB, at most 1 GiB.
const LINK_BYTES: std::ops::RangeInclusive<u64> = (64 << 10)..=(1 << 30);

fn link_tuning(raw: &RawLink) -> Result<LinkTuning, ConfigError> {
    let congestion = Congestion::parse(&raw.congestion).ok_or_else(|| {
        invalid(
            "link.congestion",
            format!(
                "unknown congestion controller {:?}: use {}",
                raw.congestion,
                Congestion::ALL.map(|c| c.as_str()).join(", ")
            ),
        )
    })?;
    if !(3..=100_000).contains(&raw.packet_threshold) {
        return Err(invalid(
            "link.packet_threshold",
            format!("{} is not between 3 and 100000", raw.packet_threshold),
        ));
    }
    if !(raw.time_threshold.is_finite() && (1.125..=10.0).contains(&raw.time_threshold)) {
        return Err(invalid(
            "link.time_threshold",
            format!(
                "{} is not between 1.125 and 10 (round trips)",
                raw.time_threshold
            ),
        ));
    }
    let bytes = |key: &'static str, v: u64, zero_ok: bool| {
        if (zero_ok && v == 0) || LINK_BYTES.contains(&v) {
            Ok(v)
        } else {
            Err(invalid(
                key,
                format!(
                    "{v} is not between {} and {} bytes{}",
                    LINK_BYTES.start(),
                    LINK_BYTES.end(),
                    if zero_ok { " (or 0)" } else { "" }
                ),
            ))
        }
    };
    let socket_buffer = bytes("link.socket_buffer_bytes", raw.socket_buffer_bytes, true)?;
    let stream_window = bytes("link.stream_window_bytes", raw.stream_window_bytes, false)?;
    let connection_window = bytes(
        "link.connection_window_bytes",
        raw.connection_window_bytes,
        false,
    )?;
    if connection_window < stream_window {
        return Err(invalid(
            "link.connection_window_bytes",
            format!(
                "{connection_window} is smaller than link.stream_window_bytes ({stream_window})"
            ),
        ));
    }
    Ok(LinkTuning {
        congestion,
        packet_threshold: raw.packet_threshold,
        time_threshold: raw.time_threshold as f32,
        socket_buffer: socket_buffer as usize,
        // Both are at most 1 GiB, checked above.
        stream_window: stream_window as u32,
        connection_window: connection_window as u32,
    })
}

/// `[calendar]`: dates added to the shipped holiday data, `YYYY-MM-DD`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawCalendar {
    extra_holidays: Vec<String>,
    extra_working_days: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawLimits {
    stall_timeout_secs: f64,
    connections_per_peer: usize,
}

impl Default for RawLimits {
    fn default() -> Self {
        RawLimits {
            stall_timeout_secs: 60.0,
            connections_per_peer: 32,
        }
    }
}

/// Limits that protect the node from peers that misbehave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// A sync session whose peer neither reads nor sends for this long is cut off.
    pub stall_timeout: Duration,
    /// QUIC connections one certificate may hold open at once.
    pub connections_per_peer: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawApi {
    listen: String,
}

impl Default for RawApi {
    fn default() -> Self {
        RawApi {
            listen: "off".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawMetrics {
    listen: String,
}

impl Default for RawMetrics {
    fn default() -> Self {
        RawMetrics {
            listen: "127.0.0.1:9400".into(),
        }
    }
}

fn default_listen() -> String {
    "127.0.0.1:7400".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParent {
    address: String,
    #[serde(default)]
    server_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawSync {
    interval_secs: f64,
    jitter: f64,
    debounce_ms: u64,
    backoff_max_secs: f64,
    subscriptions: Vec<String>,
    max_link_version: u16,
}

impl Default for RawSync {
    fn default() -> Self {
        RawSync {
            interval_secs: 30.0,
            jitter: 0.2,
            debounce_ms: 200,
            backoff_max_secs: 60.0,
            subscriptions: vec!["black-list".into(), "dishonest-debtor".into()],
            max_link_version: LINK_VERSION,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawLog {
    format: String,
    level: String,
}

impl Default for RawLog {
    fn default() -> Self {
        RawLog {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

/// Where the parent hub is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentConfig {
    /// Its address as configured (`host:port`).
    pub address: String,
    /// The address resolved.
    pub socket: SocketAddr,
    /// The name its certificate must carry (the host part of `address` by default).
    pub server_name: String,
}

/// When and what to sync.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncConfig {
    /// Time between periodic reconciliations with the parent.
    pub interval: Duration,
    /// Random spread of the interval, as a fraction (0.2: ±20 %).
    pub jitter: f64,
    /// Wait after a local write (or records from a child) before syncing up.
    pub debounce: Duration,
    /// Longest wait between attempts while the parent is unreachable.
    pub backoff_max: Duration,
    /// Record kinds taken from above whatever their origin.
    pub subscriptions: Vec<RecordKind>,
    /// The newest link protocol version this node offers (default: the newest it
    /// speaks). Lowered during a rolling upgrade to hold a new binary at the version
    /// of the nodes not yet upgraded.
    pub max_link_version: u16,
}

/// Log output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// A checked node configuration.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The jurisdiction this node serves (its certificate must say the same).
    pub jurisdiction: DivisionCode,
    /// The store's directory.
    pub data_dir: PathBuf,
    /// The certificates directory (`ca.crt`, `node.crt`, `node.key`).
    pub certs_dir: PathBuf,
    /// The QUIC listen address (children and admin clients).
    pub listen: SocketAddr,
    /// The parent hub (none for the national hub).
    pub parent: Option<ParentConfig>,
    /// Sync schedule and subscriptions.
    pub sync: SyncConfig,
    /// Log format.
    pub log_format: LogFormat,
    /// Log filter (`info`, `credithub_node=debug`, …).
    pub log_level: String,
    /// The HTTP address of `/metrics` and `/health` (none when set to `off`).
    pub metrics_listen: Option<SocketAddr>,
    /// Publication periods by severity.
    pub publication: PublicationRules,
    /// The joint measures catalogue (empty when no `measures_file` is set).
    pub measures: Catalogue,
    /// The HTTPS read API's address (none when `off`, the default).
    pub api_listen: Option<SocketAddr>,
    /// Limits on what peers may hold or take.
    pub limits: Limits,
    /// Working days for the 7-working-day rule: the shipped holiday data with the
    /// `[calendar]` extra holidays and working days.
    pub calendar: WorkCalendar,
    /// The catalogue of matters (empty when no `matters_file` is set).
    pub matters: Matters,
    /// `[accounts]`.
    pub accounts: AccountsConfig,
    /// The QUIC transport's tuning (`[link]`).
    pub link: LinkTuning,
}

impl NodeConfig {
    /// Reads `file` (if given), then the `CREDIT_*` environment, and checks the result.
    pub fn load(file: Option<&Path>) -> Result<NodeConfig, ConfigError> {
        let env: config::Map<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("CREDIT_") && !CLIENT_VARIABLES.contains(&k.as_str()))
            .collect();
        Self::load_with(file, env)
    }

    /// [`load`](Self::load) with the environment given (for tests).
    pub fn load_with(
        file: Option<&Path>,
        env: config::Map<String, String>,
    ) -> Result<NodeConfig, ConfigError> {
        let mut builder = config::Config::builder();
        let source_name = match file {
            Some(f) => {
                builder = builder.add_source(
                    config::File::from(f.to_path_buf()).format(config::FileFormat::Toml),
                );
                f.display().to_string()
            }
            None => "environment".to_string(),
        };
        builder = builder.add_source(
            config::Environment::with_prefix("CREDIT")
                .prefix_separator("_")
                .separator("__")
                .list_separator(",")
                .with_list_parse_key("sync.subscriptions")
                .with_list_parse_key("calendar.extra_holidays")
                .with_list_parse_key("calendar.extra_working_days")
                .try_parsing(true)
                .source(Some(env)),
        );
        let raw: RawConfig = builder
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| ConfigError::Load {
                source_name,
                message: e.to_string(),
            })?;
        Self::check(raw)
    }

    fn check(raw: RawConfig) -> Result<NodeConfig, ConfigError> {
        let jurisdiction = DivisionCode::parse(&raw.jurisdiction)
            .map_err(|e| invalid("jurisdiction", format!("{:?}: {e}", raw.jurisdiction)))?;
        let listen = resolve(&raw.listen).map_err(|p| invalid("listen", p))?;
        let parent = match raw.parent {
            None => None,
            Some(p) => {
                let socket = resolve(&p.address).map_err(|e| invalid("parent.address", e))?;
                let host = p
                    .address
                    .rsplit_once(':')
                    .map(|(h, _)| h.trim_matches(['[', ']']).to_string())
                    .unwrap_or_default();
                Some(ParentConfig {
                    address: p.address,
                    socket,
                    server_name: p.server_name.unwrap_or(host),
                })
            }
        };
        match (jurisdiction == DivisionCode::NATIONAL, &parent) {
            (true, Some(_)) => {
                return Err(invalid("parent", "the national hub (000000) has no parent"))
            }
            (false, None) => {
                return Err(invalid(
                    "parent",
                    format!("jurisdiction {jurisdiction} needs a parent hub: set parent.address"),
                ))
            }
            _ => {}
        }
        let s = raw.sync;
        if !(s.interval_secs.is_finite() && s.interval_secs >= 0.05) {
            return Err(invalid("sync.interval_secs", "must be at least 0.05"));
        }
        if !(0.0..=0.9).contains(&s.jitter) {
            return Err(invalid("sync.jitter", "must be between 0 and 0.9"));
        }
        if !(s.backoff_max_secs.is_finite() && s.backoff_max_secs >= 0.1) {
            return Err(invalid("sync.backoff_max_secs", "must be at least 0.1"));
        }
        if !(MIN_LINK_VERSION..=LINK_VERSION).contains(&s.max_link_version) {
            return Err(invalid(
                "sync.max_link_version",
                format!(
                    "{} is not spoken by this build (it speaks link versions \
                     {MIN_LINK_VERSION} to {LINK_VERSION})",
                    s.max_link_version
                ),
            ));
        }
        let mut subscriptions = Vec::new();
        for name in &s.subscriptions {
            let kind = RecordKind::parse(name.trim()).ok_or_else(|| {
                invalid(
                    "sync.subscriptions",
                    format!(
                        "unknown record kind {name:?} (e.g. black-list, dishonest-debtor, penalty)"
                    ),
                )
            })?;
            if !subscriptions.contains(&kind) {
                subscriptions.push(kind);
            }
        }
        let log_format = match raw.log.format.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(invalid(
                    "log.format",
                    format!("{other:?}: use text or json"),
                ))
            }
        };
        let metrics_listen = match raw.metrics.listen.trim() {
            "" | "off" => None,
            addr => Some(resolve(addr).map_err(|p| invalid("metrics.listen", p))?),
        };
        let measures = match &raw.measures_file {
            None => Catalogue::default(),
            Some(f) => Catalogue::load(f).map_err(|e| invalid("measures_file", e.to_string()))?,
        };
        let api_listen = match raw.api.listen.trim() {
            "" | "off" => None,
            addr => Some(resolve(addr).map_err(|p| invalid("api.listen", p))?),
        };
        for (name, p) in [
            ("publication.light", raw.publication.light),
            ("publication.general", raw.publication.general),
            ("publication.serious", raw.publication.serious),
        ] {
            if p.min_months > p.max_months && p.max_months != 0 {
                return Err(invalid(
                    name,
                    format!(
                        "min_months {} exceeds max_months {}",
                        p.min_months, p.max_months
                    ),
                ));
            }
        }
        let calendar = calendar(&raw.calendar)?;
        let link = link_tuning(&raw.link)?;
        let matters = match &raw.matters_file {
            None => Matters::default(),
            Some(f) => Matters::load(f, jurisdiction)
                .map_err(|e| invalid("matters_file", e.to_string()))?,
        };
        let a = &raw.accounts;
        if !(1..=120).contains(&a.months) {
            return Err(invalid("accounts.months", "must be 1 to 120"));
        }
        if !(a.refresh_secs.is_finite() && a.refresh_secs >= 0.0) {
            return Err(invalid("accounts.refresh_secs", "must be 0 or more"));
        }
        let accounts = AccountsConfig {
            months: a.months,
            refresh: Duration::from_secs_f64(a.refresh_secs),
            objection_days: a.objection_days,
            repair_days: a.repair_days,
        };
        let l = raw.limits;
        if !(l.stall_timeout_secs.is_finite() && l.stall_timeout_secs >= 1.0) {
            return Err(invalid("limits.stall_timeout_secs", "must be at least 1"));
        }
        if l.connections_per_peer == 0 {
            return Err(invalid("limits.connections_per_peer", "must be at least 1"));
        }
        Ok(NodeConfig {
            limits: Limits {
                stall_timeout: Duration::from_secs_f64(l.stall_timeout_secs),
                connections_per_peer: l.connections_per_peer,
            },
            publication: raw.publication,
            calendar,
            matters,
            accounts,
            link,
            measures,
            api_listen,
            metrics_listen,
            jurisdiction,
            data_dir: raw.data_dir,
            certs_dir: raw.certs_dir,
            listen,
            parent,
            sync: SyncConfig {
                interval: Duration::from_secs_f64(s.interval_secs),
                jitter: s.jitter,
                debounce: Duration::from_millis(s.debounce_ms),
                backoff_max: Duration::from_secs_f64(s.backoff_max_secs),
                subscriptions,
                max_link_version: s.max_link_version,
            },
            log_format,
            log_level: raw.log.level,
        })
    }
}

/// The shipped working-day calendar with the configured extra dates.
fn calendar(raw: &RawCalendar) -> Result<WorkCalendar, ConfigError> {
    fn dates(key: &'static str, texts: &[String]) -> Result<Vec<Date>, ConfigError> {
        texts
            .iter()
            .map(|t| Date::parse_iso(t.trim()).map_err(|e| invalid(key, e.to_string())))
            .collect()
    }
    let holidays = dates("calendar.extra_holidays", &raw.extra_holidays)?;
    let working = dates("calendar.extra_working_days", &raw.extra_working_days)?;
    WorkCalendar::shipped()
        .with(&holidays, &working)
        .map_err(|e| match e {
            CalendarError::Contradiction { date } => invalid(
                "calendar.extra_working_days",
                format!("{date} is in calendar.extra_holidays too"),
            ),
            other => invalid("calendar", other.to_string()),
        })
}

fn resolve(addr: &str) -> Result<SocketAddr, String> {
    addr.to_socket_addrs()
        .map_err(|e| format!("{addr:?} is not a usable host:port ({e})"))?
        .next()
        .ok_or_else(|| format!("{addr:?} resolves to no address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let f = dir.join("node.toml");
        std::fs::write(&f, text).expect("write");
        f
    }

    const CITY: &str = r#"
jurisdiction = "320500"
data_dir = "data"
certs_dir = "certs"
listen = "127.0.0.1:7405"
[parent]
address = "127.0.0.1:7402"
[sync]
interval_secs = 5
subscriptions = ["black-list"]
"#;

    #[test]
    fn a_city_file_loads_and_the_environment_overrides_it() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = write(dir.path(), CITY);
        let mut env = config::Map::new();
        env.insert("CREDIT_SYNC__INTERVAL_SECS".into(), "2.5".into());
        let c = NodeConfig::load_with(Some(&f), env).expect("loads");
        assert_eq!(c.jurisdiction.as_u32(), 320500);
        assert_eq!(c.sync.interval, Duration::from_millis(2500));
        assert_eq!(c.sync.subscriptions, vec![RecordKind::BLACK_LIST]);
        let parent = c.parent.expect("parent");
        assert_eq!(parent.server_name, "127.0.0.1");
    }

    #[test]
    fn the_example_configurations_in_deploy_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/config");
        for (name, parent) in [("national", false), ("province", true), ("city", true)] {
            let file = dir.join(format!("{name}.toml"));
            // Host names of the examples do not resolve here: point them at loopback.
            let mut env = config::Map::new();
            // The measures catalogue's installed path does not exist here.
            env.insert(
                "CREDIT_MEASURES_FILE".into(),
                dir.join("measures.toml").display().to_string(),
            );
            env.insert(
                "CREDIT_MATTERS_FILE".into(),
                dir.join("matters.toml").display().to_string(),
            );
            if parent {
                env.insert("CREDIT_PARENT__ADDRESS".into(), "127.0.0.1:7400".into());
            }
            let c = NodeConfig::load_with(Some(&file), env)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert_eq!(c.parent.is_some(), parent, "{name}");
            if name == "city" {
                assert!(c.matters.matters.len() >= 3);
                assert_eq!(c.accounts.months, 13);
            }
        }
    }

    #[test]
    fn the_example_measures_catalogue_loads() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/config/measures.toml");
        let c = Catalogue::load(&file).unwrap_or_else(|e| panic!("{e}"));
        assert!(c.memorandum.len() >= 3);
        assert!(c.actions().contains(&"government-procurement".to_string()));
        let dir = tempfile::tempdir().expect("tmp");
        let bad = dir.path().join("m.toml");
        std::fs::write(&bad, "[[memorandum]]\nname = \"x\"\nbasis = \"y\"\nkinds = [\"blacklist\"]\nmeasures = [{ action = \"a\", measure = \"b\" }]\n").expect("write");
        let e = Catalogue::load(&bad).expect_err("unknown kind");
        assert!(e.to_string().contains("blacklist"), "{e}");
    }

    #[test]
    fn calendar_dates_from_the_file_and_the_environment() {
        let dir = tempfile::tempdir().expect("tmp");
        let day = |y, m, d| Date::new(y, m, d).expect("date");
        let c = NodeConfig::load_with(Some(&write(dir.path(), CITY)), Default::default())
            .expect("loads");
        assert_eq!(&c.calendar, WorkCalendar::shipped());
        // Monday 1 February 2027: no notice shipped, so Monday to Friday.
        let decided = day(2027, 2, 1);
        assert_eq!(
            c.calendar.add_working_days(decided, 7),
            Some(day(2027, 2, 10))
        );
        let text = format!(
            "{CITY}\n[calendar]\nextra_holidays = [\"2027-02-05\"]\nextra_working_days = [\"2027-02-20\"]\n"
        );
        let c = NodeConfig::load_with(Some(&write(dir.path(), &text)), Default::default())
            .expect("loads");
        // One extra holiday pushes the deadline by one day.
        assert_eq!(
            c.calendar.add_working_days(decided, 7),
            Some(day(2027, 2, 11))
        );
        assert!(c.calendar.is_working_day(day(2027, 2, 20)));
        // The shipped years stay as they are.
        assert_eq!(
            c.calendar.add_working_days(day(2025, 1, 27), 7),
            Some(day(2025, 2, 12))
        );
        // TOML's own dates do as well as strings.
        let text = format!("{CITY}\n[calendar]\nextra_holidays = [2027-02-05]\n");
        let c = NodeConfig::load_with(Some(&write(dir.path(), &text)), Default::default())
            .expect("loads");
        assert_eq!(
            c.calendar.add_working_days(decided, 7),
            Some(day(2027, 2, 11))
        );
        let mut env = config::Map::new();
        env.insert(
            "CREDIT_CALENDAR__EXTRA_HOLIDAYS".into(),
            "2027-02-05,2027-02-08".into(),
        );
        let c = NodeConfig::load_with(Some(&write(dir.path(), CITY)), env).expect("loads");
        assert_eq!(
            c.calendar.add_working_days(decided, 7),
            Some(day(2027, 2, 12))
        );
    }

    #[test]
    fn a_bad_calendar_date_is_refused_naming_the_key_and_the_value() {
        let dir = tempfile::tempdir().expect("tmp");
        for (section, key, value) in [
            (
                "extra_holidays = [\"2027-02-30\"]",
                "calendar.extra_holidays",
                "2027-02-30",
            ),
            (
                "extra_holidays = [\"2027/2/5\"]",
                "calendar.extra_holidays",
                "YYYY-MM-DD",
            ),
            (
                "extra_working_days = [\"soon\"]",
                "calendar.extra_working_days",
                "soon",
            ),
            (
                "extra_holidays = [\"2027-02-06\"]\nextra_working_days = [\"2027-02-06\"]",
                "calendar.extra_working_days",
                "2027-02-06",
            ),
        ] {
            let text = format!("{CITY}\n[calendar]\n{section}\n");
            let e = NodeConfig::load_with(Some(&write(dir.path(), &text)), Default::default())
                .expect_err(section);
            let e = e.to_string();
            assert!(e.contains(key) && e.contains(value), "{section}: {e}");
        }
        let text = format!("{CITY}\n[calendar]\nextra_holiday = [\"2027-02-05\"]\n");
        let e = NodeConfig::load_with(Some(&write(dir.path(), &text)), Default::default())
            .expect_err("unknown key");
        assert!(e.to_string().contains("extra_holiday"), "{e}");
    }

    #[test]
    fn link_tuning_defaults_the_file_and_the_environment() {
        let dir = tempfile::tempdir().expect("tmp");
        let c = NodeConfig::load_with(Some(&write(dir.path(), CITY)), Default::default())
            .expect("loads");
        assert_eq!(c.link, LinkTuning::default());
        assert_eq!(c.link.congestion, Congestion::Bbr);
        let text = format!(
            "{CITY}\n[link]\ncongestion = \"cubic\"\npacket_threshold = 3\ntime_threshold = 1.125\n\
             socket_buffer_bytes = 0\nstream_window_bytes = 1048576\nconnection_window_bytes = 4194304\n"
        );
        let c = NodeConfig::load_with(Some(&write(dir.path(), &text)), Default::default())
            .expect("loads");
        assert_eq!(
            c.link,
            LinkTuning {
                stream_window: 1 << 20,
                connection_window: 4 << 20,
                ..LinkTuning::rfc9002()
            }
        );
        let mut env = config::Map::new();
        env.insert("CREDIT_LINK__CONGESTION".into(), "NewReno".into());
        env.insert("CREDIT_LINK__TIME_THRESHOLD".into(), "2".into());
        let c = NodeConfig::load_with(Some(&write(dir.path(), &text)), env).expect("loads");
        assert_eq!(c.link.congestion, Congestion::NewReno);
        assert_eq!(c.link.time_threshold, 2.0);
        assert_eq!(c.link.packet_threshold, 3);
    }

    #[test]
    fn a_bad_link_setting_is_refused_naming_the_key_and_the_value() {
        let dir = tempfile::tempdir().expect("tmp");
        for (line, key, value) in [
            ("congestion = \"vegas\"", "link.congestion", "vegas"),
            (
                "congestion = \"\"",
                "link.congestion",
                "bbr, cubic, newreno",
            ),
            ("packet_threshold = 2", "link.packet_threshold", "2"),
            ("time_threshold = 1.0", "link.time_threshold", "1"),
            ("time_threshold = 11", "link.time_threshold", "11"),
            (
                "socket_buffer_bytes = 1000",
                "link.socket_buffer_bytes",
                "1000",
            ),
            ("stream_window_bytes = 0", "link.stream_window_bytes", "0"),
            (
                "connection_window_bytes = 2147483648",
                "link.connection_window_bytes",
                "2147483648",
            ),
            (
                "stream_window_bytes = 16777216\nconnection_window_bytes = 8388608",
                "link.connection_window_bytes",
                "8388608",
            ),
        ] {
            let text = format!("{CITY}\n[link]\n{line}\n");
            let e = NodeConfig::load_with(Some(&write(dir.path(), &text)), Default::default())
                .expect_err(line)
                .to_string();
            assert!(e.contains(key) && e.contains(value), "{line}: {e}");
        }
        let mut env = config::Map::new();
        env.insert("CREDIT_LINK__CONGESTION".into(), "reno".into());
        let e = NodeConfig::load_with(Some(&write(dir.path(), CITY)), env)
            .expect_err("unknown controller")
            .to_string();
        assert!(e.contains("link.congestion") && e.contains("reno"), "{e}");
        let text = format!("{CITY}\n[link]\ncongestion_control = \"bbr\"\n");
        let e = NodeConfig::load_with(Some(&write(dir.path(), &text)), Default::default())
            .expect_err("unknown key");
        assert!(e.to_string().contains("congestion_control"), "{e}");
    }

    #[test]
    fn errors_name_the_key() {
        let dir = tempfile::tempdir().expect("tmp");
        let bad = CITY.replace("\"black-list\"", "\"blacklist\"");
        let e = NodeConfig::load_with(Some(&write(dir.path(), &bad)), Default::default())
            .expect_err("unknown kind");
        assert!(e.to_string().contains("sync.subscriptions"), "{e}");
        let bad = CITY.replace("[parent]\naddress = \"127.0.0.1:7402\"", "");
        let e = NodeConfig::load_with(Some(&write(dir.path(), &bad)), Default::default())
            .expect_err("no parent");
        assert!(e.to_string().contains("`parent`"), "{e}");
        let bad = format!("{CITY}\nlisten_port = 3\n");
        let e = NodeConfig::load_with(Some(&write(dir.path(), &bad)), Default::default())
            .expect_err("unknown key");
        assert!(e.to_string().contains("listen_port"), "{e}");
    }
}
