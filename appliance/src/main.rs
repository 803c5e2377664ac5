//! `appliance`: the operator-facing binary.
//!
//! Subcommands:
//! - `appliance dataplane --config FILE.toml`: the poll-mode dataplane
//!   process (see `appliance::dp`). Stops cleanly on SIGINT or SIGTERM
//!   and prints its final counters; a second signal ends it at once.
//! - `appliance check-config FILE`: checks an IOS-style configuration
//!   (`docs/CONFIG.md`) without starting anything.
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
       appliance check-config FILE

  check-config  check an IOS-style configuration (docs/CONFIG.md): errors
                and warnings with their line numbers; exit 1 on any error

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
        Some("check-config") => check_config(&args[1..]),
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
    huge_page_heap()?;
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

/// The dataplane's tables (FIB nodes, SA and tunnel tables) live on the
/// heap; on 4 KiB pages their lookups at 100k entries and more are bound by
/// TLB misses (docs/PERFORMANCE.md). glibc puts its heap on transparent
/// huge pages when `GLIBC_TUNABLES=glibc.malloc.hugetlb=1` is set at start,
/// so the process starts itself again with it unless the operator set
/// `GLIBC_TUNABLES` already.
fn huge_page_heap() -> Result<()> {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("GLIBC_TUNABLES").is_some() {
        return Ok(());
    }
    let exe = std::env::current_exe().context("finding our own executable")?;
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1")
        .exec();
    Err(err).context("re-executing with the heap on transparent huge pages")
}

fn check_config(args: &[String]) -> Result<()> {
    let [path] = args else {
        bail!("usage: appliance check-config FILE");
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let parsed = controlplane::config::parse(&text);
    for d in &parsed.diagnostics {
        println!("{path}: {d}");
    }
    let Some(cfg) = parsed.config else {
        bail!("{path}: the configuration has errors");
    };
    let warnings = parsed.diagnostics.len();
    println!(
        "{path}: loads ({warnings} warning{})",
        if warnings == 1 { "" } else { "s" }
    );
    // Then what running it needs: the profile in use, keys, tunnels,
    // templates, pools.
    match controlplane::flexvpn::NodePlan::from_config(&cfg) {
        Ok(plan) => {
            for w in &plan.warnings {
                println!("{path}: warning: {w}");
            }
            println!(
                "{path}: ok: {} static tunnel{}, {} virtual template{}, {} profile{} in use",
                plan.tunnels.len(),
                if plan.tunnels.len() == 1 { "" } else { "s" },
                plan.templates.len(),
                if plan.templates.len() == 1 { "" } else { "s" },
                plan.profiles.len(),
                if plan.profiles.len() == 1 { "" } else { "s" },
            );
            Ok(())
        }
        Err(e) => {
            println!("{path}: {e}");
            bail!("{path}: the configuration loads but cannot run")
        }
    }
}
