//! A lab for the interop tests with strongSwan's charon: a network
//! namespace joined to the host by a veth pair (IPv4 and IPv6 on both
//! ends), charon running inside it with a strongswan.conf and a vici
//! socket of its own in a per-run directory, and helpers to drive it with
//! swanctl and to run our `UdpDriver` against it.
//!
//! The guard kills charon and deletes the namespace (which takes the veth
//! pair with it) when dropped, also after a failed assertion; the run's
//! directory goes too unless `KEEP_INTEROP_LOGS` is set.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use controlplane::ikev2::driver::UdpDriver;
use controlplane::ikev2::events::{CounterSpiAllocator, Event, TunnelUp};
use controlplane::ikev2::{Config, Endpoint};

pub(crate) const CHARON: &str = "/usr/lib/ipsec/charon";

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Why the lab cannot run here, if it cannot: not root, no charon, or one
/// of swanctl, `ip` and the `more` commands a test also needs is missing.
pub(crate) fn skip_reason(more: &[&str]) -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("not root (network namespaces need it)".into());
    }
    if !Path::new(CHARON).exists() {
        return Some(format!(
            "{CHARON} missing (apt-get install strongswan-charon strongswan-swanctl libcharon-extra-plugins)"
        ));
    }
    for c in ["swanctl", "ip"].iter().chain(more) {
        if !have(c) {
            return Some(format!("{c} missing"));
        }
    }
    None
}

/// Runs a command; its standard output, or both outputs when it fails.
pub(crate) fn run(args: &[&str]) -> Result<String, String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{args:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// What sets one test's lab apart from another's, so that two tests can
/// run at the same time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LabNames {
    /// Start of the namespace's (and the run directory's) name.
    pub(crate) ns: &'static str,
    /// Start of the veth interfaces' names; keep it short, interface
    /// names end at 15 bytes.
    pub(crate) veth: &'static str,
    /// Second number of the lab's addresses: 10.`net`.y.0/24 and
    /// fd00:`net`:y::/64, y taken from the process id.
    pub(crate) net: u8,
}

/// The namespace, its veth pair and charon; removed on drop.
#[derive(Debug)]
pub(crate) struct Lab {
    ns: String,
    /// The run's directory: charon's configuration, log and vici socket,
    /// swanctl.conf, and whatever else a test puts there.
    pub(crate) dir: PathBuf,
    charon: Option<Child>,
    /// Our end of the veth pair (host side).
    pub(crate) ours: Ipv4Addr,
    /// charon's end, in the namespace.
    pub(crate) theirs: Ipv4Addr,
    /// Our end's IPv6 address; not every test uses it.
    #[allow(dead_code)]
    pub(crate) ours6: Ipv6Addr,
    /// charon's IPv6 address; not every test uses it.
    #[allow(dead_code)]
    pub(crate) theirs6: Ipv6Addr,
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.stop_charon();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.ns])
            .stderr(Stdio::null())
            .status();
        if std::env::var_os("KEEP_INTEROP_LOGS").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Lab {
    /// Creates the namespace and the veth pair and addresses both ends;
    /// charon is not started yet.
    pub(crate) fn new(names: LabNames) -> Result<Self, String> {
        let id = std::process::id();
        // The pid, and a few bits of the clock in case a namespace of an
        // earlier run with the same pid was left behind.
        let clock = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos() % 0xfff);
        let ns = format!("{}-{id:x}{clock:x}", names.ns);
        let vh = format!("{}{}h", names.veth, id % 1_000_000);
        let vn = format!("{}{}n", names.veth, id % 1_000_000);
        let third = (id % 200 + 20) as u8;
        let ours = Ipv4Addr::new(10, names.net, third, 1);
        let theirs = Ipv4Addr::new(10, names.net, third, 2);
        let net6 = [0xfd00, u16::from(names.net), u16::from(third)];
        let ours6 = Ipv6Addr::new(net6[0], net6[1], net6[2], 0, 0, 0, 0, 1);
        let theirs6 = Ipv6Addr::new(net6[0], net6[1], net6[2], 0, 0, 0, 0, 2);
        let dir = std::env::temp_dir().join(&ns);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        // From here on, a failure drops the guard, which cleans up.
        let lab = Self {
            ns: ns.clone(),
            dir,
            charon: None,
            ours,
            theirs,
            ours6,
            theirs6,
        };
        run(&["ip", "netns", "add", &ns])?;
        run(&[
            "ip", "link", "add", &vh, "type", "veth", "peer", "name", &vn,
        ])?;
        run(&["ip", "link", "set", &vn, "netns", &ns])?;
        run(&["ip", "addr", "add", &format!("{ours}/24"), "dev", &vh])?;
        run(&[
            "ip",
            "addr",
            "add",
            &format!("{ours6}/64"),
            "dev",
            &vh,
            "nodad",
        ])?;
        run(&["ip", "link", "set", &vh, "up"])?;
        let e = |a: &[&str]| {
            let mut v = vec!["ip", "netns", "exec", &ns];
            v.extend_from_slice(a);
            run(&v)
        };
        e(&["ip", "addr", "add", &format!("{theirs}/24"), "dev", &vn])?;
        e(&[
            "ip",
            "addr",
            "add",
            &format!("{theirs6}/64"),
            "dev",
            &vn,
            "nodad",
        ])?;
        e(&["ip", "link", "set", &vn, "up"])?;
        e(&["ip", "link", "set", "lo", "up"])?;
        // charon's routes for its local_ts need a source address there.
        e(&["ip", "addr", "add", "10.10.0.1/32", "dev", "lo"])?;
        Ok(lab)
    }

    /// charon's vici socket, for swanctl's `--uri`.
    pub(crate) fn uri(&self) -> String {
        format!("unix://{}/charon.vici", self.dir.display())
    }

    /// Kills charon, if it runs, and removes its socket, so that a new
    /// charon is only seen once it has opened its own.
    pub(crate) fn stop_charon(&mut self) {
        if let Some(mut c) = self.charon.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_file(self.dir.join("charon.vici"));
    }

    /// (Re)starts charon in the namespace, with no SAs and nothing
    /// loaded, and waits until its vici socket is there. `settings` go
    /// into the `charon` section of its strongswan.conf, `plugins` into
    /// its `plugins` section.
    pub(crate) fn start_charon(&mut self, settings: &str, plugins: &str) -> Result<(), String> {
        self.stop_charon();
        // chapoly is only for the PSK test's ESP proposals.
        let conf = format!(
            r#"charon {{
  load = random nonce openssl aes sha1 sha2 gcm chapoly hmac kdf pem pkcs1 pkcs8 x509 pubkey revocation constraints curve25519 gmp attr kernel-libipsec kernel-netlink socket-default vici updown
  {settings}
  fragment_size = 576
  plugins {{
    vici {{ socket = {uri} }}
    kernel-libipsec {{ allow_peer_ts = yes }}
    {plugins}
  }}
  filelog {{
    log {{ path = {dir}/charon.log
          default = 1
          ike = 2
          cfg = 2
          flush_line = yes }}
  }}
  syslog {{ daemon {{ default = -1 }} }}
}}
"#,
            uri = self.uri(),
            dir = self.dir.display()
        );
        let path = self.dir.join("strongswan.conf");
        std::fs::write(&path, conf).map_err(|e| e.to_string())?;
        // A tmpfs on /run (seen only in the namespace) keeps charon's pid
        // file and default socket away from the host's.
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.ns,
                "sh",
                "-c",
                &format!(
                    "mount -t tmpfs tmpfs /run && STRONGSWAN_CONF={} exec {CHARON}",
                    path.display()
                ),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        self.charon = Some(child);
        let socket = self.dir.join("charon.vici");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            if Instant::now() > deadline {
                return Err("charon did not open its vici socket".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // The socket exists slightly before charon listens.
        std::thread::sleep(Duration::from_millis(300));
        Ok(())
    }

    /// Writes `swanctl` as the lab's swanctl.conf and loads all of it
    /// (and the keys under `private/` next to it) into charon.
    pub(crate) fn load(&self, swanctl: &str) -> Result<(), String> {
        let path = self.dir.join("swanctl.conf");
        std::fs::write(&path, swanctl).map_err(|e| e.to_string())?;
        run(&[
            "swanctl",
            "--load-all",
            "--file",
            path.to_str().unwrap(),
            "--uri",
            &self.uri(),
        ])
        .map(|_| ())
    }

    /// Runs swanctl with `args` against this lab's charon.
    pub(crate) fn swanctl(&self, args: &[&str]) -> Result<String, String> {
        let uri = self.uri();
        let mut v = vec!["swanctl"];
        v.extend_from_slice(args);
        v.extend_from_slice(&["--uri", &uri]);
        run(&v)
    }

    /// The same in a thread of its own, for commands (initiate,
    /// terminate) that wait for an exchange our endpoint has to answer.
    pub(crate) fn swanctl_in_background(
        &self,
        args: &[&str],
    ) -> JoinHandle<Result<String, String>> {
        let mut v = vec!["swanctl".to_string()];
        v.extend(args.iter().map(|a| (*a).to_string()));
        v.extend(["--uri".to_string(), self.uri()]);
        std::thread::spawn(move || run(&v.iter().map(String::as_str).collect::<Vec<_>>()))
    }

    /// Has charon initiate connection `ike` with its child `child` while
    /// `d` answers: until a Child SA is installed or authentication
    /// fails (then `Break`; at most 15 s, swanctl's own timeout), and
    /// 500 ms more while swanctl finishes. Returns that and swanctl's
    /// result; `Err` only when swanctl's thread panicked.
    pub(crate) fn swanctl_initiate(
        &self,
        d: &mut UdpDriver,
        events: &mut Vec<Event>,
        ike: &str,
        child: &str,
    ) -> Result<(ControlFlow<()>, Result<String, String>), String> {
        let initiator = self.swanctl_in_background(&[
            "--initiate",
            "--ike",
            ike,
            "--child",
            child,
            "--timeout",
            "15",
        ]);
        let r = wait_for(d, events, Duration::from_secs(15), |e| {
            matches!(e, Event::ChildSaInstalled(_) | Event::AuthFailed { .. })
        });
        collect(d, events, Duration::from_millis(500));
        let out = initiator.join().map_err(|_| "swanctl thread".to_string())?;
        Ok((r, out))
    }

    /// charon's log so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("charon.log")).unwrap_or_default()
    }
}

/// Our endpoint with `cfg`.
pub(crate) fn endpoint(cfg: Config) -> Endpoint {
    Endpoint::new(cfg, Box::new(CounterSpiAllocator::new(0x4000))).unwrap()
}

/// Runs `d` for up to `within`, adding every event to `events`; stops
/// after the first event for which `done` holds (then `Break`).
pub(crate) fn wait_for(
    d: &mut UdpDriver,
    events: &mut Vec<Event>,
    within: Duration,
    done: impl Fn(&Event) -> bool,
) -> ControlFlow<()> {
    d.run_until(Instant::now() + within, |_, e| {
        let stop = done(&e);
        events.push(e);
        if stop {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
}

/// Runs `d` for `within`, adding every event to `events`.
pub(crate) fn collect(d: &mut UdpDriver, events: &mut Vec<Event>, within: Duration) {
    let _ = d.run_until(Instant::now() + within, |_, e| {
        events.push(e);
        ControlFlow::Continue(())
    });
}

/// The first tunnel that came up.
pub(crate) fn tunnel_up(events: &[Event]) -> Option<TunnelUp> {
    events.iter().find_map(|e| match e {
        Event::TunnelUp(u) => Some(u.clone()),
        _ => None,
    })
}
