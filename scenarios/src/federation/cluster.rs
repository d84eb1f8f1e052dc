//! A federation of real `credit-node` processes on loopback: certificates, configs,
//! start, admin connections, stop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use credithub_node::admin::client::AdminClient;
use credithub_node::admin::{AdminRequest, AdminResponse, Holdings, NodeStatus};
use credithub_node::certs::{self, Role};
use credithub_protocol::{DivisionCode, RecordKey, RecordKind};

/// The name of the admin client certificate every node directory holds.
pub const ADMIN: &str = "admin";

/// One node of the federation.
pub struct NodeSpec {
    /// Its name (certificate and directory).
    pub name: String,
    /// Its jurisdiction.
    pub jurisdiction: DivisionCode,
    /// Index of its parent in the federation's list.
    pub parent: Option<usize>,
}

/// A running node.
pub struct RunningNode {
    /// What it is.
    pub spec: NodeSpec,
    /// Its directory (certs, data, config, log).
    pub dir: PathBuf,
    /// Its QUIC address.
    pub address: String,
    /// Its metrics and health address (HTTP).
    pub metrics: String,
    /// Environment variables for its next start (`CREDIT_SYNC__DEBOUNCE_MS`, …).
    pub env: Vec<(String, String)>,
    /// The `credit-node` binary of its next start, when not this build's (an older
    /// release, in a rolling upgrade).
    pub binary: Option<PathBuf>,
    process: Option<Child>,
}

/// A federation of running nodes.
pub struct Cluster {
    /// The nodes, national first.
    pub nodes: Vec<RunningNode>,
    /// The root directory.
    pub root: PathBuf,
    /// The subscriptions every node configures.
    pub subscriptions: Vec<RecordKind>,
    ca_key: PathBuf,
}

fn free_port() -> anyhow::Result<u16> {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(s.local_addr()?.port())
}

/// The top-level keys of an extra configuration (before its first table).
fn extra_top(extra: &str) -> String {
    if extra.starts_with('[') {
        return String::new();
    }
    extra.split("\n[").next().unwrap_or("").to_string()
}

/// The tables of an extra configuration.
fn extra_tables(extra: &str) -> String {
    match extra.find("\n[") {
        Some(i) => extra[i..].to_string(),
        None if extra.starts_with('[') => extra.to_string(),
        None => String::new(),
    }
}

fn free_tcp_port() -> anyhow::Result<u16> {
    let s = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(s.local_addr()?.port())
}

/// The `credit-node` binary beside the running one (both are built into one target
/// directory), or `CREDIT_NODE_BIN`.
pub fn node_binary() -> anyhow::Result<PathBuf> {
    if let Ok(p) = std::env::var("CREDIT_NODE_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()?;
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    // Test binaries live one level down, in deps/.
    if dir.ends_with("deps") {
        dir.pop();
    }
    let bin = dir.join("credit-node");
    if !bin.exists() {
        bail!(
            "{} not found: build it first (`cargo build --workspace --bins`)",
            bin.display()
        );
    }
    Ok(bin)
}

impl Cluster {
    /// Makes certificates and configurations for `specs` under `root` (emptied first)
    /// and starts every node. `interval` is the periodic sync interval.
    pub fn start(
        root: &Path,
        specs: Vec<NodeSpec>,
        subscriptions: Vec<RecordKind>,
        interval: Duration,
    ) -> anyhow::Result<Cluster> {
        Self::start_with(root, specs, subscriptions, interval, |_| String::new())
    }

    /// [`start`](Self::start), with `extra(i)` appended to node `i`'s configuration
    /// (top-level keys first, e.g. `measures_file = "…"`, then tables).
    pub fn start_with(
        root: &Path,
        specs: Vec<NodeSpec>,
        subscriptions: Vec<RecordKind>,
        interval: Duration,
        extra: impl Fn(usize) -> String,
    ) -> anyhow::Result<Cluster> {
        Self::start_with_env(root, specs, subscriptions, interval, extra, |_| Vec::new())
    }

    /// [`start_with`](Self::start_with), with `env(i)` set in node `i`'s environment
    /// (`CREDIT_*` settings, say), now and at every restart.
    pub fn start_with_env(
        root: &Path,
        specs: Vec<NodeSpec>,
        subscriptions: Vec<RecordKind>,
        interval: Duration,
        extra: impl Fn(usize) -> String,
        env: impl Fn(usize) -> Vec<(String, String)>,
    ) -> anyhow::Result<Cluster> {
        let mut cluster = Self::prepare(root, specs, subscriptions, interval, extra, env)?;
        cluster.start_all()?;
        Ok(cluster)
    }

    /// Starts every node, parents first.
    pub fn start_all(&mut self) -> anyhow::Result<()> {
        for i in 0..self.nodes.len() {
            self.start_node(i)?;
        }
        Ok(())
    }

    /// [`start_with_env`](Self::start_with_env) without starting anything: the nodes'
    /// certificates, configurations and directories, ready for [`Cluster::start_all`].
    pub fn prepare(
        root: &Path,
        specs: Vec<NodeSpec>,
        subscriptions: Vec<RecordKind>,
        interval: Duration,
        extra: impl Fn(usize) -> String,
        env: impl Fn(usize) -> Vec<(String, String)>,
    ) -> anyhow::Result<Cluster> {
        if root.exists() {
            std::fs::remove_dir_all(root)
                .with_context(|| format!("emptying {}", root.display()))?;
        }
        let ca_dir = root.join("ca");
        std::fs::create_dir_all(&ca_dir)?;
        let ca_key = ca_dir.join("ca.key");
        certs::create_ca(&ca_dir, &ca_key, 365, false)?;
        let mut nodes = Vec::new();
        for spec in specs {
            let dir = root.join(&spec.name);
            let certs_dir = dir.join("certs");
            std::fs::create_dir_all(&certs_dir)?;
            std::fs::copy(ca_dir.join(certs::CA_CERT), certs_dir.join(certs::CA_CERT))?;
            let hosts: Vec<String> = certs::DEFAULT_HOSTS.iter().map(|s| s.to_string()).collect();
            certs::create_node(
                &certs_dir,
                &ca_key,
                spec.jurisdiction,
                &spec.name,
                &hosts,
                30,
                false,
            )?;
            certs::create_client(
                &certs_dir,
                &ca_key,
                Role::Admin,
                spec.jurisdiction,
                ADMIN,
                30,
                false,
            )?;
            let address = format!("127.0.0.1:{}", free_port()?);
            let metrics = format!("127.0.0.1:{}", free_tcp_port()?);
            nodes.push(RunningNode {
                spec,
                dir,
                address,
                metrics,
                env: env(nodes.len()),
                binary: None,
                process: None,
            });
        }
        let kinds: Vec<String> = subscriptions
            .iter()
            .map(|k| format!("{:?}", k.name()))
            .collect();
        for i in 0..nodes.len() {
            let parent = nodes[i]
                .spec
                .parent
                .map(|p| format!("[parent]\naddress = \"{}\"\n", nodes[p].address))
                .unwrap_or_default();
            let n = &nodes[i];
            let toml = format!(
                "{}\njurisdiction = \"{}\"\ndata_dir = \"data\"\ncerts_dir = \"certs\"\nlisten = \"{}\"\n{parent}\
                 [sync]\ninterval_secs = {}\ndebounce_ms = 100\nbackoff_max_secs = 2\nsubscriptions = [{}]\n[metrics]\nlisten = \"{}\"\n",
                extra_top(&extra(i)),
                n.spec.jurisdiction,
                n.address,
                interval.as_secs_f64(),
                kinds.join(", "),
                n.metrics
            );
            let toml = format!("{toml}{}", extra_tables(&extra(i)));
            std::fs::write(n.dir.join("node.toml"), toml)?;
        }
        Ok(Cluster {
            nodes,
            root: root.to_path_buf(),
            subscriptions,
            ca_key,
        })
    }

    /// The process id of node `i`, while it runs.
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.nodes[i].process.as_ref().map(|c| c.id())
    }

    /// The CA key (for tests that make further certificates).
    pub fn ca_key(&self) -> &Path {
        &self.ca_key
    }

    /// Starts (or restarts) node `i`.
    pub fn start_node(&mut self, i: usize) -> anyhow::Result<()> {
        let n = &mut self.nodes[i];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(n.dir.join("node.log"))?;
        let binary = match &n.binary {
            Some(b) => b.clone(),
            None => node_binary()?,
        };
        let child = Command::new(binary)
            .arg("--config")
            .arg("node.toml")
            .current_dir(&n.dir)
            .env("RUST_LOG", "info")
            .envs(n.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", n.spec.name))?;
        n.process = Some(child);
        Ok(())
    }

    /// Stops node `i` (SIGKILL when `kill`, else a clean shutdown).
    pub fn stop_node(&mut self, i: usize, kill: bool) {
        let n = &mut self.nodes[i];
        if let Some(mut child) = n.process.take() {
            if !kill {
                let _ = Command::new("kill")
                    .arg("-TERM")
                    .arg(child.id().to_string())
                    .status();
                let deadline = Instant::now() + Duration::from_secs(10);
                while Instant::now() < deadline {
                    if let Ok(Some(_)) = child.try_wait() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// An admin connection to node `i`, retrying while it starts.
    pub async fn admin(&self, i: usize) -> anyhow::Result<AdminClient> {
        let n = &self.nodes[i];
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match AdminClient::connect(&n.address, &n.dir.join("certs"), ADMIN).await {
                Ok(c) => return Ok(c),
                Err(e) if Instant::now() > deadline => {
                    bail!(
                        "{} at {} does not answer: {e} (see {})",
                        n.spec.name,
                        n.address,
                        n.dir.join("node.log").display()
                    )
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.stop_node(i, false);
        }
    }
}

/// Sends a request and fails on an error answer.
pub async fn call(client: &AdminClient, req: &AdminRequest) -> anyhow::Result<AdminResponse> {
    match client.call(req).await? {
        AdminResponse::Error(e) => bail!("{}: {e}", client.node().name),
        other => Ok(other),
    }
}

/// A node's status.
pub async fn status(client: &AdminClient) -> anyhow::Result<NodeStatus> {
    match call(client, &AdminRequest::Status).await? {
        AdminResponse::Status(s) => Ok(*s),
        other => bail!("unexpected answer {other:?}"),
    }
}

/// What a node holds of a jurisdiction's share.
pub async fn holdings(
    client: &AdminClient,
    jurisdiction: DivisionCode,
    subscriptions: &[RecordKind],
    origins_only: bool,
    sample: u32,
) -> anyhow::Result<Holdings> {
    let req = AdminRequest::Holdings {
        jurisdiction,
        subscriptions: subscriptions.to_vec(),
        origins_only,
        sample,
    };
    match call(client, &req).await? {
        AdminResponse::Holdings(h) => Ok(h),
        other => bail!("unexpected answer {other:?}"),
    }
}

/// One record's stored bytes at a node.
pub async fn get(client: &AdminClient, key: RecordKey) -> anyhow::Result<Option<Vec<u8>>> {
    match call(client, &AdminRequest::Get { key }).await? {
        AdminResponse::Record(r) => Ok(r),
        other => bail!("unexpected answer {other:?}"),
    }
}
