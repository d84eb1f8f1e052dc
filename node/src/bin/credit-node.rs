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

fn main() -> std::process::ExitCode {
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
