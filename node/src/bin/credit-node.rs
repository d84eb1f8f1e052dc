//! `credit-node`: the credithub node daemon.

use std::path::PathBuf;

use clap::Parser;
use credithub_node::daemon::config::{LogFormat, NodeConfig};

/// The credithub node: stores its jurisdiction's records and keeps them in sync with
/// its parent hub and its children over mutual-TLS QUIC.
#[derive(Debug, Parser)]
#[command(name = "credit-node", version, about)]
struct Cli {
    /// The configuration file (TOML); `CREDIT_*` environment variables override it.
    #[arg(long, short, env = "CREDIT_CONFIG")]
    config: Option<PathBuf>,
}

/// Caps glibc's malloc arenas at two per core (unless `MALLOC_ARENA_MAX` says
/// otherwise). glibc gives threads arenas of their own, up to eight per core; with
/// RocksDB's threads and tokio's blocking threads freeing in one arena what another
/// allocated, freed memory stays resident in fragments, and a node's resident memory
/// grows well past its store's budgets.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let arenas = libc::c_int::try_from(2 * cores).unwrap_or(libc::c_int::MAX);
    // SAFETY: mallopt only sets an allocator parameter; it is called before any other
    // thread exists, and M_ARENA_MAX takes any positive value.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    let config = match NodeConfig::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("credit-node: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("credit-node: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(credithub_node::daemon::run(config));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("credit-node: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
