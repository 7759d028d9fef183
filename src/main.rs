//! `sciday`: parse the command line, set up logging, run.

use clap::Parser as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = sciday::cli::Cli::parse();
    sciday::telemetry::init(cli.is_benchmark(), cli.log_format());
    match sciday::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", sciday::cli::error_text(&error));
            std::process::ExitCode::FAILURE
        }
    }
}
