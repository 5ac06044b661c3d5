//! `cargo run -q --bin jwt-auth-admin -- <command>`: see the crate's docs, or `--help`.

use std::process::ExitCode;

use auth_core::config::Config;
use clap::Parser;
use jwt_auth_admin::{Cli, Target, run};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Audit lines (and nothing else below WARN) go to stderr as JSON; stdout is the report.
    tracing_subscriber::fmt().json().with_max_level(tracing::Level::WARN).with_writer(std::io::stderr).init();
    let target = match &cli.stack {
        Some(stack) => Target::stack(stack).await,
        None => Ok(Target::dev(&Config::from_process())),
    };
    match target {
        Ok(target) => match run(&target, &cli.command).await {
            Ok(report) if cli.json => {
                println!("{}", report.json);
                ExitCode::SUCCESS
            }
            Ok(report) => {
                print!("{}", report.text);
                ExitCode::SUCCESS
            }
            Err(error) => fail(&error),
        },
        Err(error) => fail(&error),
    }
}

fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::FAILURE
}
