//! Thin entry point: parse arguments, set up logging, run, map the result to an exit code.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use cognito_cert_rotator::cli::{self, Cli, LogFormat};
use cognito_cert_rotator::config::ConfigError;
use cognito_cert_rotator::exit;
use cognito_cert_rotator::state::StateError;
use tracing_subscriber::EnvFilter;

// The edge of the program: the one place an error is printed for the person who ran it.
#[allow(clippy::print_stderr)]
fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::TARGET_FAILED);
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("error: {err:#}");
            // A bad configuration, or a state that exists and cannot be trusted: nothing was
            // touched, and systemd's RestartPreventExitStatus=2 does not loop on it.
            let unusable = err.chain().any(|e| {
                e.downcast_ref::<StateError>()
                    .is_some_and(StateError::is_unusable)
            });
            if err.downcast_ref::<ConfigError>().is_some() || unusable {
                ExitCode::from(exit::USAGE)
            } else {
                ExitCode::from(exit::TARGET_FAILED)
            }
        }
    }
}

fn init_tracing(format: LogFormat) {
    // The SDK is chatty at info; its warnings still show.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,aws_config=warn,aws_smithy_runtime=warn,tokio_cron_scheduler=warn")
    });
    // Colour only for a person at a terminal: journald, ECS/CloudWatch and redirected output
    // would store the escape codes as text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}
