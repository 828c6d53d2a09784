//! `sotto`: Sotto's scriptable command-line messenger, for servers, bots and power users.
//!
//! A thin shell over [`sotto_core::Messenger`]: every command opens the profile, asks the
//! handle, prints (text, or JSON with `--json`) and closes it again. No protocol, crypto or
//! storage logic lives here. Exit codes: 0 success, 2 usage, 3 to 9 one per error class
//! (see [`output::Class`]). The README (examples/cli/README.md) shows each command.

mod args;
mod commands;
mod output;
mod profile;

use std::process::ExitCode;

use clap::Parser;

use crate::args::Cli;
use crate::output::Output;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let output = Output { json: cli.json };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            return output::Failure::new(output::Class::Other, format!("starting: {e}"))
                .report(output);
        }
    };
    let result = runtime.block_on(async {
        let directory = profile::directory(cli.profile)?;
        commands::run(cli.command, directory, &cli.passphrase, output).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(output),
    }
}
