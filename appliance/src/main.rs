//! `appliance`: the operator-facing binary.
//!
//! Subcommands:
//! - `appliance dataplane --config FILE.toml`: the poll-mode dataplane
//!   process (see `appliance::dp`). Stops cleanly on SIGINT or SIGTERM
//!   and prints its final counters; a second signal ends it at once.
//! - `appliance check-config FILE`: checks an IOS-style configuration
//!   (`docs/CONFIG.md`) without starting anything.
//! - `appliance controlplane --config FILE --shm NAME`: the control plane
//!   (IKEv2, NHRP, FlexVPN glue) driving the dataplane process over
//!   shared memory; `--udp` instead: IKE on kernel UDP sockets, without a
//!   dataplane (see `appliance::cp`).
//! - `appliance show WORDS... [--json]`: asks a running control plane.
//! - `appliance run --config FILE`: both processes from one IOS-style
//!   configuration, supervised (see `appliance::run`).
//! - `appliance demo`: the source document's scenario in namespaces.
//!

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use appliance::dp;

const USAGE: &str = "usage: appliance dataplane --config FILE.toml [--shm NAME] [--check]
       appliance controlplane --config FILE (--shm NAME [--grace SECS] | --udp) [--socket PATH] [--metrics ADDR:PORT]
       appliance show [--socket PATH] COMMAND... [--json]
       appliance check-config FILE
       appliance run --config FILE [--runtime-dir DIR] [--socket PATH] [--metrics ADDR:PORT]
       appliance demo [--keep]

  check-config  check an IOS-style configuration (docs/CONFIG.md): errors
                and warnings with their line numbers; exit 1 on any error

  controlplane  run the control plane (IKEv2, NHRP, FlexVPN) until
                SIGINT/SIGTERM; --shm NAME: through the dataplane process
                that created /dev/shm/NAME (state it holds from a previous
                control plane is removed after --grace seconds, 60 by
                default, unless installed again); --udp: IKE on kernel UDP
                sockets, no dataplane;
                show requests on --socket (default /run/flexvpn/HOSTNAME.sock),
                Prometheus metrics on --metrics; JSON log lines on stderr
                (FLEXVPN_LOG=debug|info|warn)

  run           the appliance: derives the dataplane's configuration from the
                IOS-style FILE (dataplane port/cores/eal statements), starts
                the dataplane process and the control plane attached to it,
                restarts the control plane if it exits (the dataplane keeps
                forwarding), stops both on SIGINT/SIGTERM

  demo          the source document's scenario in network namespaces (root):
                hub and two spokes, each a dataplane (net_af_packet, no
                hugepages) and a control plane; prints a timeline
                (--keep: stay up until Enter)

  show          crypto ikev2 sa [detail] | crypto ikev2 client flexvpn |
                crypto ipsec sa | ip nhrp | ipv6 nhrp | ip route |
                ipv6 route | interfaces | dataplane | metrics

  dataplane   run the poll-mode dataplane process until SIGINT/SIGTERM
    --config FILE   the dataplane configuration (TOML)
    --shm NAME      create the shared memory /dev/shm/NAME for the control
                    plane (or [control] shm = NAME in the file)
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
        Some("controlplane") => controlplane(&args[1..]),
        Some("show") => show(&args[1..]),
        Some("run") => run(&args[1..]),
        Some("demo") => {
            let keep = args[1..].iter().any(|a| a == "--keep");
            let exe = std::env::current_exe().context("finding our own executable")?;
            appliance::demo::run::run(&exe, &mut std::io::stdout(), keep)
        }
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
    let mut shm = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--config" | "-c" => {
                config = Some(PathBuf::from(it.next().context("--config needs a file")?))
            }
            "--check" => check = true,
            "--shm" => shm = Some(it.next().context("--shm needs a name")?.clone()),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    let path = config.with_context(|| format!("--config FILE is required\n{USAGE}"))?;
    let mut plan = dp::config::Config::load(&path)?
        .plan()
        .with_context(|| format!("in {}", path.display()))?;
    if shm.is_some() {
        plan.control_shm = shm;
    }
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
    print!("{}", report.render(plan.log_format));
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
            if let controlplane::flexvpn::AuthPlan::Certificates {
                trustpoint, files, ..
            } = &plan.auth
            {
                let base = std::path::Path::new(path)
                    .parent()
                    .unwrap_or(std::path::Path::new("."));
                if let Err(e) = appliance::pki::authenticator(trustpoint, files, base) {
                    println!("{path}: error: {e:#}");
                    bail!("{path}: the configuration loads but cannot run");
                }
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

fn default_socket(hostname: &str) -> PathBuf {
    PathBuf::from(format!("/run/flexvpn/{hostname}.sock"))
}

fn controlplane(args: &[String]) -> Result<()> {
    use appliance::cp;
    use controlplane::flexvpn::{Node, NodePlan};
    use controlplane::ikev2::{events::CounterSpiAllocator, events::SpiAllocator, Endpoint};
    let mut config = None;
    let mut udp = false;
    let mut shm = None;
    let mut grace = 60u64;
    let mut socket = None;
    let mut metrics = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--config" | "-c" => {
                config = Some(PathBuf::from(it.next().context("--config needs a file")?))
            }
            "--udp" => udp = true,
            "--shm" => shm = Some(it.next().context("--shm needs a name")?.clone()),
            "--grace" => {
                let g = it.next().context("--grace needs seconds")?;
                grace = g.parse().with_context(|| format!("--grace {g}"))?;
            }
            "--socket" => socket = Some(PathBuf::from(it.next().context("--socket needs a path")?)),
            "--metrics" => {
                let a = it.next().context("--metrics needs ADDR:PORT")?;
                metrics = Some(a.parse().with_context(|| format!("--metrics {a}"))?);
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    let path = config.with_context(|| format!("--config FILE is required\n{USAGE}"))?;
    if udp == shm.is_some() {
        bail!("give either --shm NAME (the dataplane process's shared memory) or --udp (IKE on kernel sockets, no dataplane)");
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let parsed = controlplane::config::parse(&text);
    let logger = cp::log::Logger::stderr("controlplane");
    for d in &parsed.diagnostics {
        logger.warn("config", &format!("{}: {d}", path.display()));
    }
    let cfg = parsed
        .config
        .with_context(|| format!("{}: the configuration has errors", path.display()))?;
    let mut plan =
        NodePlan::from_config(&cfg).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let logger = cp::log::Logger::stderr(&plan.hostname);
    for w in &plan.warnings {
        logger.warn("config", w);
    }
    if let controlplane::flexvpn::AuthPlan::Certificates {
        trustpoint, files, ..
    } = &plan.auth
    {
        let base = path.parent().unwrap_or(std::path::Path::new("."));
        let a = appliance::pki::authenticator(trustpoint, files, base)
            .with_context(|| path.display().to_string())?;
        plan.set_authenticator(a);
    }
    let socket = socket.unwrap_or_else(|| default_socket(&plan.hostname));
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 1, Arc::clone(&stop))
            .context("signal handler")?;
        signal_hook::flag::register(sig, Arc::clone(&stop)).context("signal handler")?;
    }
    let opts = cp::Options { socket, metrics };
    let node = |spis: Box<dyn SpiAllocator>, plan: NodePlan| -> Result<Node> {
        let ep =
            Endpoint::new(plan.ike.clone(), spis).map_err(|e| anyhow::anyhow!("IKEv2: {e:?}"))?;
        Ok(Node::new(plan, ep))
    };
    if let Some(name) = shm {
        // The dataplane's ports: the interfaces `dataplane port` names.
        let port_addrs: Vec<std::net::IpAddr> = cfg
            .dataplane_ports
            .iter()
            .filter_map(|p| plan.interfaces.iter().find(|i| i.name == p.interface))
            .flat_map(|i| i.addresses.iter().map(|(a, _)| *a))
            .collect();
        let mut link = cp::link::ShmLink::connect(
            &name,
            port_addrs,
            std::time::Duration::from_secs(30),
            std::time::Duration::from_secs(grace),
        )
        .with_context(|| format!("connecting to the dataplane (shared memory {name})"))?;
        let spis = cp::link::IndexSpiAllocator::new(link.stale_spis());
        let mut n = node(Box::new(spis), plan)?;
        n.reserve_tunnel_ids(link.stale_tunnel_ids());
        return cp::run(n, &mut link, &opts, &stop, &logger);
    }
    // Our underlay addresses: interfaces and tunnel sources.
    let mut addrs: Vec<std::net::IpAddr> = plan
        .interfaces
        .iter()
        .filter(|i| !i.loopback)
        .flat_map(|i| i.addresses.iter().map(|(a, _)| *a))
        .collect();
    for t in &plan.tunnels {
        if !addrs.contains(&t.source) {
            addrs.push(t.source);
        }
    }
    let (mut link, failed) = cp::udp::UdpLink::bind_some(&addrs, plan.ike.ports)
        .with_context(|| format!("binding IKE ports on {addrs:?}"))?;
    for (a, e) in failed {
        logger.warn("ike", &format!("not listening on {a}: {e}"));
    }
    let n = node(Box::new(CounterSpiAllocator::new(0x1000)), plan)?;
    cp::run(n, &mut link, &opts, &stop, &logger)
}

fn show(args: &[String]) -> Result<()> {
    let mut socket = None;
    let mut words = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--socket" => socket = Some(PathBuf::from(it.next().context("--socket needs a path")?)),
            _ => words.push(a.clone()),
        }
    }
    let socket = match socket {
        Some(s) => s,
        None => {
            // The one control plane running here.
            let found: Vec<PathBuf> = std::fs::read_dir("/run/flexvpn")
                .map(|d| {
                    d.filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.extension().is_some_and(|x| x == "sock"))
                        .collect()
                })
                .unwrap_or_default();
            match found.as_slice() {
                [one] => one.clone(),
                [] => bail!("no control plane socket in /run/flexvpn; give --socket PATH"),
                _ => bail!("several control planes run here ({found:?}); give --socket PATH"),
            }
        }
    };
    let out = appliance::cp::request(&socket, &words)?;
    print!("{out}");
    if out.starts_with('%') {
        std::process::exit(1);
    }
    Ok(())
}

fn run(args: &[String]) -> Result<()> {
    use appliance::run::{supervise, ChildSpec};
    let mut config = None;
    let mut runtime = None;
    let mut socket = None;
    let mut metrics: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--config" | "-c" => {
                config = Some(PathBuf::from(it.next().context("--config needs a file")?))
            }
            "--runtime-dir" => {
                runtime = Some(PathBuf::from(
                    it.next().context("--runtime-dir needs a path")?,
                ))
            }
            "--socket" => socket = Some(PathBuf::from(it.next().context("--socket needs a path")?)),
            "--metrics" => metrics = Some(it.next().context("--metrics needs ADDR:PORT")?.clone()),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    let path = config.with_context(|| format!("--config FILE is required\n{USAGE}"))?;
    let path = std::fs::canonicalize(&path).with_context(|| format!("{}", path.display()))?;
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let parsed = controlplane::config::parse(&text);
    for d in &parsed.diagnostics {
        eprintln!("{}: {d}", path.display());
    }
    let cfg = parsed
        .config
        .with_context(|| format!("{}: the configuration has errors", path.display()))?;
    // Fail early on what the control plane would refuse.
    controlplane::flexvpn::NodePlan::from_config(&cfg)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let dp_toml = appliance::ios::dataplane_toml(&cfg)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let host = cfg.hostname.clone().unwrap_or_else(|| "router".to_string());
    let runtime = runtime.unwrap_or_else(|| PathBuf::from(format!("/run/flexvpn/{host}")));
    std::fs::create_dir_all(&runtime).with_context(|| format!("creating {}", runtime.display()))?;
    let dp_path = runtime.join("dataplane.toml");
    std::fs::write(&dp_path, dp_toml).with_context(|| format!("writing {}", dp_path.display()))?;
    let shm = format!(
        "flexvpn-{}",
        host.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_")
    );
    let socket = socket.unwrap_or_else(|| default_socket(&host));
    let exe = std::env::current_exe().context("finding our own executable")?;
    let exe = exe.to_string_lossy().to_string();
    let dataplane = ChildSpec {
        name: "dataplane".into(),
        argv: vec![
            exe.clone(),
            "dataplane".into(),
            "--config".into(),
            dp_path.to_string_lossy().to_string(),
            "--shm".into(),
            shm.clone(),
        ],
    };
    let mut cp_argv = vec![
        exe,
        "controlplane".into(),
        "--config".into(),
        path.to_string_lossy().to_string(),
        "--shm".into(),
        shm,
        "--socket".into(),
        socket.to_string_lossy().to_string(),
    ];
    if let Some(m) = metrics {
        cp_argv.push("--metrics".into());
        cp_argv.push(m);
    }
    let controlplane = ChildSpec {
        name: "control plane".into(),
        argv: cp_argv,
    };
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).context("signal handler")?;
    }
    let logger = appliance::cp::log::Logger::stderr(&host);
    let out = supervise(&dataplane, &controlplane, &stop, &logger)?;
    if let Some(why) = out.dataplane_died {
        bail!("{why}");
    }
    Ok(())
}
