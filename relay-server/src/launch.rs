//! The `sotto-relay` process: flags, logging to stderr, the listeners, serving until a
//! shutdown signal, the exit code. `src/main.rs` is this on the system's clock; the tests'
//! observed relay (`examples/sotto-relay-observed.rs`) is this with a record installed.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser as _;
use tokio::net::TcpListener;
use tracing::{error, warn};

use crate::RelayIdentity;
use crate::clock::Clock;
use crate::config::{Args, LogLevel, Settings};
use crate::server::{Relay, shutdown_signal};
use crate::tls::TlsListener;

/// Exit code for settings that cannot work.
const EXIT_USAGE: u8 = 2;

/// Runs the relay as `sotto-relay` does, on `clock`: reads the flags, logs to stderr, serves
/// until SIGTERM or Ctrl-C; the process's exit code. Every binary of the relay is this call.
pub fn main(clock: Arc<dyn Clock>) -> ExitCode {
    let settings = match Settings::from_args(Args::parse()) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("sotto-relay: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    init_logging(settings.log_level);
    if settings.insecure_plain_http {
        warn!("serving plain HTTP: no TLS, no key pinning; for tests on loopback only");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            error!(error = %e, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(settings, clock))
}

async fn run(settings: Settings, clock: Arc<dyn Clock>) -> ExitCode {
    // The relay's identity: made on first start, loaded afterwards. Its key names the relay
    // in its address, signs the TLS handshake and is what signed requests are bound to.
    let identity = match RelayIdentity::load_or_create(&settings.data_dir) {
        Ok(identity) => Arc::new(identity),
        Err(e) => {
            error!(error = %e, "cannot load or create the relay identity");
            return ExitCode::FAILURE;
        }
    };
    let relay_key = identity.public_key();
    let tls = match identity.server_config() {
        Ok(config) => Arc::new(config),
        Err(e) => {
            error!(error = %e, "cannot configure TLS");
            return ExitCode::FAILURE;
        }
    };
    let relay = match Relay::open(&settings, Arc::clone(&identity), clock) {
        Ok(relay) => relay,
        Err(e) => {
            error!(error = %e, "cannot open the relay");
            return ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind(settings.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            error!(error = %e, "cannot listen on the configured address");
            return ExitCode::FAILURE;
        }
    };
    let port = match listener.local_addr() {
        Ok(address) => address.port(),
        Err(e) => {
            error!(error = %e, "cannot read the listening port");
            return ExitCode::FAILURE;
        }
    };
    let address = match settings.relay_address(relay_key, port) {
        Ok(address) => address,
        Err(e) => {
            error!(error = %e, "cannot form the relay address");
            return ExitCode::FAILURE;
        }
    };
    // The WebSocket listener, if any, is named on the same line as the address.
    let (relay, tunnels) = match settings.websocket_listen {
        None => (relay, String::new()),
        Some(websocket) => match bind(websocket).await {
            Ok((listener, bound)) => (
                relay.with_websocket(listener),
                format!(" and WebSocket tunnels at ws://{bound}/v1/tunnel"),
            ),
            Err(e) => {
                error!(error = %e, "cannot listen on the configured WebSocket address");
                return ExitCode::FAILURE;
            }
        },
    };
    // The operator's endpoints, on a listener of their own, named on the same line too.
    let (relay, tunnels) = match bind(settings.operator_listen).await {
        Ok((listener, bound)) => {
            if !bound.ip().is_loopback() {
                warn!("the operator's endpoints (/metrics) listen on a non-loopback address");
            }
            (
                relay.with_operator(listener),
                format!("{tunnels} and operator endpoints at http://{bound}"),
            )
        }
        Err(e) => {
            error!(error = %e, "cannot listen on the configured operator address");
            return ExitCode::FAILURE;
        }
    };
    let served = if settings.insecure_plain_http {
        println!("sotto-relay: serving {address} over plain HTTP (insecure){tunnels}");
        relay.run(listener, shutdown_signal()).await
    } else {
        println!("sotto-relay: serving {address}{tunnels}");
        let throttle = relay.throttle();
        relay
            .run(
                TlsListener::new(listener, tls).with_throttle(throttle),
                shutdown_signal(),
            )
            .await
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!(error = %e, "the relay stopped with an error");
            ExitCode::FAILURE
        }
    }
}

/// A listener on `address` and the address it got (the port, when `address` names 0).
async fn bind(address: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    Ok((listener, bound))
}

/// Logs to stderr, at `level` and above.
fn init_logging(level: LogLevel) {
    use tracing_subscriber::layer::SubscriberExt as _;
    // The relay's own events only: what its libraries log (hyper, reqwest, rustls) at
    // `debug` and `trace` names peers' and next hops' addresses, which no level may log.
    let own = tracing_subscriber::filter::Targets::new()
        .with_target(env!("CARGO_CRATE_NAME"), level.as_tracing());
    let subscriber = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_max_level(level.as_tracing())
        .with_target(false)
        .finish()
        .with(own);
    // Only fails when a subscriber is set already (the logs then go there).
    let _ = tracing::subscriber::set_global_default(subscriber);
}
