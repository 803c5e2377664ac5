//! `appliance`: the operator-facing binary.
//!
//! Subcommands:
//! - `appliance dataplane --config FILE.toml`: the poll-mode dataplane
//!   process (see `appliance::dp`). Stops cleanly on SIGINT or SIGTERM
//!   and prints its final counters; a second signal ends it at once.
//!
//! The two-process appliance (`appliance run`, `appliance show ...`,
//! `/metrics`) arrives with a later issue.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use appliance::dp;

const USAGE: &str = "usage: appliance dataplane --config FILE.toml [--check]

  dataplane   run the poll-mode dataplane process until SIGINT/SIGTERM
    --config FILE   the dataplane configuration (TOML)
    --check         only parse and check the configuration";

fn main() {
    if let Err(e) = real_main() {
        eprintln!("appliance: error: {e:#}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("dataplane") => dataplane(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown subcommand {other:?}\n{USAGE}"),
        None => bail!("no subcommand\n{USAGE}"),
    }
}

fn dataplane(args: &[String]) -> Result<()> {
    let mut config = None;
    let mut check = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--config" | "-c" => {
                config = Some(PathBuf::from(it.next().context("--config needs a file")?))
            }
            "--check" => check = true,
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    let path = config.with_context(|| format!("--config FILE is required\n{USAGE}"))?;
    let plan = dp::config::Config::load(&path)?
        .plan()
        .with_context(|| format!("in {}", path.display()))?;
    if check {
        println!("{}: ok", path.display());
        return Ok(());
    }
    // First signal: stop cleanly; a second one while stopping: exit at once.
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 1, Arc::clone(&stop))
            .context("signal handler")?;
        signal_hook::flag::register(sig, Arc::clone(&stop)).context("signal handler")?;
    }
    let mut out = std::io::stdout();
    let report = dp::run(&plan, stop, &mut out)?;
    print!("{}", report.text());
    out.flush().context("stdout")?;
    Ok(())
}
