//! `bench <command>`: the measurements behind `make bench`, each writing JSON for
//! `bench/report.py`. See BENCHMARKS.md for what each one means.

mod emulator;
mod events;
mod inprocess;
mod list_work;

use std::{collections::HashMap, path::PathBuf};

type Error = Box<dyn std::error::Error + Send + Sync>;

const USAGE: &str = "usage:
  bench events OUT.jsonl --count N            authorizer events signed with $JWT_SECRET
  bench seed-users                            the events' users, in $USERS_TABLE
  bench authorizer EVENTS.jsonl OUT.json [--rounds R]
  bench runtime --id ID --name NAME --kind floor|function|variant|peer --event FILE [--cold N] [--warm N]
                [--warm-runs N] [--floor BINARY] --out OUT.json -- COMMAND...
  bench list-work OUT.json [--others 100,100000] [--samples N]";

/// `--flag value` pairs and positional arguments, up to a `--` after which all is `rest`.
struct Args {
    positional: Vec<String>,
    flags: HashMap<String, String>,
    rest: Vec<String>,
}

impl Args {
    fn parse(raw: impl Iterator<Item = String>) -> Result<Self, Error> {
        let mut args = Self { positional: vec![], flags: HashMap::new(), rest: vec![] };
        let mut raw = raw.peekable();
        while let Some(arg) = raw.next() {
            if arg == "--" {
                args.rest = raw.collect();
                break;
            }
            match arg.strip_prefix("--") {
                Some(flag) => {
                    let value = raw.next().ok_or_else(|| format!("--{flag} needs a value"))?;
                    args.flags.insert(flag.to_owned(), value);
                }
                None => args.positional.push(arg),
            }
        }
        Ok(args)
    }

    fn path(&self, index: usize) -> Result<PathBuf, Error> {
        self.positional.get(index).map(PathBuf::from).ok_or_else(|| USAGE.into())
    }

    fn text(&self, flag: &str) -> Result<&str, Error> {
        self.flags.get(flag).map(String::as_str).ok_or_else(|| format!("--{flag} is required").into())
    }

    fn number(&self, flag: &str, default: usize) -> Result<usize, Error> {
        self.flags.get(flag).map_or(Ok(default), |v| v.parse().map_err(|_| format!("--{flag}: {v}").into()))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let mut raw = std::env::args().skip(1);
    let command = raw.next().unwrap_or_default();
    let args = Args::parse(raw)?;
    match command.as_str() {
        "events" => events::write(&args.path(0)?, args.number("count", 10_000)?),
        "seed-users" => events::seed_users().await,
        "authorizer" => inprocess::run(&args.path(0)?, &args.path(1)?, args.number("rounds", 5)?).await,
        "runtime" => emulator::run(&args).await,
        "list-work" => {
            let others = args.flags.get("others").map_or("100,100000", String::as_str);
            let others = others.split(',').map(str::parse).collect::<Result<Vec<usize>, _>>()?;
            list_work::run(&args.path(0)?, &others, args.number("samples", 200)?).await
        }
        _ => Err(USAGE.into()),
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
