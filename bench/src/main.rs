//! `bench <command>`: the measurements behind `make bench`, each writing JSON for
//! `bench/report.py`. See BENCHMARKS.md for what each one means.

mod emulator;
mod events;
mod inprocess;
mod list_work;

use std::path::PathBuf;

use clap::Parser;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The measurements behind `make bench`; each writes JSON for `bench/report.py`.
#[derive(Parser)]
#[command(name = "bench")]
enum Command {
    /// Writes authorizer events signed with $JWT_PRIVATE_KEY, one JSON per line.
    Events {
        out: PathBuf,
        #[arg(long, default_value_t = 10_000)]
        count: usize,
    },
    /// Stores the events' users in $USERS_TABLE.
    SeedUsers,
    /// Runs our authorizer in process over the events (measure 2).
    Authorizer {
        events: PathBuf,
        out: PathBuf,
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// Runs a command under the Runtime API emulator (measure 3).
    Runtime(emulator::Options),
    /// Times a page of list-work against growing tables of other users' items (measure 6).
    ListWork {
        out: PathBuf,
        /// Other users' items, one table size per value.
        #[arg(long, value_delimiter = ',', default_values_t = [100, 100_000])]
        others: Vec<usize>,
        #[arg(long, default_value_t = 200)]
        samples: usize,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    match Command::parse() {
        Command::Events { out, count } => events::write(&out, count),
        Command::SeedUsers => events::seed_users().await,
        Command::Authorizer { events, out, rounds } => inprocess::run(&events, &out, rounds).await,
        Command::Runtime(options) => emulator::run(&options).await,
        Command::ListWork { out, others, samples } => list_work::run(&out, &others, samples).await,
    }
}

/// Writes `value` as pretty JSON to `path`.
fn write_json(path: &std::path::Path, value: &serde_json::Value) -> Result<(), Error> {
    std::fs::write(path, serde_json::to_vec_pretty(value)?)?;
    Ok(())
}

/// CPU time (user + system) this process has used so far, in microseconds.
fn own_cpu_micros() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    rusage_cpu_micros(&usage)
}

fn rusage_cpu_micros(usage: &libc::rusage) -> f64 {
    let micros = |t: libc::timeval| t.tv_sec as f64 * 1e6 + t.tv_usec as f64;
    micros(usage.ru_utime) + micros(usage.ru_stime)
}
