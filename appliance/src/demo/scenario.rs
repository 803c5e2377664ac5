//! The source document's scenario, running: the [`Topology`], and in each
//! appliance namespace a dataplane process (`net_af_packet` on its veth
//! ends, no hugepages) and a control-plane process attached to it over
//! shared memory, configured from the seed configurations with pre-shared
//! keys and `dataplane` statements added. Used by `appliance demo` and by
//! the end-to-end tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::topology::{Topology, APPLIANCES};

/// The seed configurations, as the source document gives them.
pub const SEEDS: [(&str, &str); 3] = [
    (
        "hub",
        include_str!("../../../controlplane/tests/configs/static-hub.conf"),
    ),
    (
        "spoke1",
        include_str!("../../../controlplane/tests/configs/static-spoke1.conf"),
    ),
    (
        "spoke2",
        include_str!("../../../controlplane/tests/configs/static-spoke2.conf"),
    ),
];

/// What the hub's configuration adds for standard IKEv2 clients: a second
/// profile for `*.clients.example` whose sessions clone the IPsec-mode
/// Virtual-Template2 (unnumbered to Loopback0, addresses from the same
/// pool), with its own key for client `c1.clients.example`.
pub const HUB_CLIENT_PROFILE: &str = "!
crypto ikev2 profile clients
 match identity remote fqdn domain clients.example
 identity local fqdn hub.cisco.com
 authentication local pre-share
 authentication remote pre-share
 keyring local clients
 virtual-template 2
!
crypto ikev2 keyring clients
 peer c1
  identity fqdn c1.clients.example
  pre-shared-key client-key-0123
!
crypto ipsec profile clients
 set ikev2-profile clients
!
interface Virtual-Template2 type tunnel
 ip unnumbered Loopback0
 tunnel mode ipsec ipv4
 tunnel protection ipsec profile clients
";

/// strongSwan's `swanctl.conf` for that client at 10.0.0.130, asking for a
/// virtual IP and tunnelling `remote_ts` to the hub.
#[must_use]
pub fn strongswan_client(remote_ts: &str) -> String {
    format!(
        r#"connections {{
  hub {{
    version = 2
    local_addrs = 10.0.0.130
    remote_addrs = 10.0.0.100
    vips = 0.0.0.0
    proposals = aes128gcm16-prfsha256-curve25519
    local {{ auth = psk
            id = c1.clients.example }}
    remote {{ auth = psk
             id = hub.cisco.com }}
    children {{
      net {{ remote_ts = {remote_ts}
            esp_proposals = aes128gcm16 }}
    }}
  }}
}}
secrets {{
  ike-1 {{ id-a = c1.clients.example
          id-b = hub.cisco.com
          secret = "client-key-0123" }}
}}
"#
    )
}

/// The pre-shared key of the scenario.
pub const PSK: &str = "flexvpn-demo-key";

/// Address families of the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Variant {
    /// IPv6 inside the tunnels (hosts talk IPv6).
    pub overlay6: bool,
    /// IPv6 between the appliances.
    pub underlay6: bool,
    /// The seed configurations' own authentication (rsa-sig with the `CA`
    /// trustpoint), with a PKI made for the run, instead of pre-shared keys.
    pub certificates: bool,
}

impl Variant {
    /// host2's address in this variant.
    #[must_use]
    pub fn host2(&self) -> &'static str {
        if self.overlay6 {
            "fd00:120::10"
        } else {
            "192.168.120.10"
        }
    }

    /// spoke2's network, as `show ip[v6] nhrp` prints it.
    #[must_use]
    pub fn net2(&self) -> &'static str {
        if self.overlay6 {
            "fd00:120::/64"
        } else {
            "192.168.120.0/24"
        }
    }

    /// An address of each appliance on the WAN (hub, spoke1, spoke2).
    #[must_use]
    pub fn wan(&self) -> [&'static str; 3] {
        if self.underlay6 {
            ["2001:db8::100", "2001:db8::110", "2001:db8::120"]
        } else {
            ["10.0.0.100", "10.0.0.110", "10.0.0.120"]
        }
    }
}

/// A seed configuration made runnable here: pre-shared keys instead of
/// the certificates it references, DPD every few seconds, the address
/// families of `v`, the ports and EAL options of the dataplane.
#[must_use]
pub fn config_for(node: usize, v: Variant) -> String {
    use controlplane::config::lab;
    let (name, seed) = SEEDS[node];
    let mut t = if v.certificates {
        // As written, plus the trustpoint's files (made by `make_pki`).
        format!(
            "{seed}\n!\ncrypto pki trustpoint CA\n ca-certificate pki/ca.pem\n certificate pki/{name}.pem\n private-key pki/{name}.key\n!\n"
        )
    } else {
        lab::with_psk(seed, "demo", PSK, Some((5, 2)))
    };
    if v.overlay6 {
        t = lab::ipv6_overlay(&t);
    }
    if v.underlay6 {
        t = lab::ipv6_underlay(&t);
    }
    t.push_str("dataplane port Ethernet0/0 device net_af_packet0,iface=eth0\n");
    if node > 0 {
        t.push_str("dataplane port Ethernet1/0 device net_af_packet1,iface=eth1\n");
    }
    t.push_str("dataplane cores 0-1\ndataplane eal --no-huge -m 256 --no-shconf\n");
    t
}

/// A PKI for the scenario with openssl: an RSA root `ca`, and RSA-2048
/// certificates for hub.cisco.com, spoke1.cisco.com and spoke2.cisco.com
/// (subjectAltName DNS, keyUsage digitalSignature), valid for a day.
///
/// # Errors
///
/// openssl failed.
pub fn make_pki(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let run = |args: &[&str]| -> Result<()> {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .context("running openssl (scripts/install-deps.sh installs it)")?;
        if !out.status.success() {
            bail!("openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    };
    run(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        "ca.key",
    ])?;
    std::fs::write(
        dir.join("ca.ext"),
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n",
    )?;
    run(&[
        "req",
        "-new",
        "-key",
        "ca.key",
        "-subj",
        "/O=FlexVPN Demo/CN=FlexVPN Demo CA",
        "-out",
        "ca.csr",
    ])?;
    run(&[
        "x509", "-req", "-in", "ca.csr", "-signkey", "ca.key", "-days", "1", "-sha256", "-extfile",
        "ca.ext", "-out", "ca.pem",
    ])?;
    for (i, name) in APPLIANCES.iter().enumerate() {
        let fqdn = format!("{name}.cisco.com");
        run(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            &format!("{name}.key"),
        ])?;
        std::fs::write(
            dir.join(format!("{name}.ext")),
            format!("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectAltName=DNS:{fqdn}\n"),
        )?;
        run(&[
            "req",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-subj",
            &format!("/O=FlexVPN Demo/CN={fqdn}"),
            "-out",
            &format!("{name}.csr"),
        ])?;
        run(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            &(i + 2).to_string(),
            "-days",
            "1",
            "-sha256",
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.pem"),
        ])?;
    }
    Ok(())
}

/// One appliance's two processes.
#[derive(Debug)]
pub struct Appliance {
    /// Name (hub, spoke1, spoke2).
    pub name: &'static str,
    /// Its namespace.
    pub ns: String,
    /// The shared memory name.
    pub shm: String,
    /// The show socket.
    pub socket: PathBuf,
    /// The IOS configuration file.
    pub config: PathBuf,
    /// The dataplane TOML file.
    pub dp_config: PathBuf,
    dp: Option<Child>,
    cp: Option<Child>,
    /// Logs.
    pub dp_log: PathBuf,
    /// Logs.
    pub cp_log: PathBuf,
    /// The control plane's ESP key log (Wireshark `esp_sa` records).
    pub keylog: PathBuf,
}

fn kill(c: &mut Option<Child>, graceful: bool) -> Option<std::process::ExitStatus> {
    let mut child = c.take()?;
    if graceful {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let end = Instant::now() + Duration::from_secs(15);
        while Instant::now() < end {
            if let Ok(Some(s)) = child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let _ = child.kill();
    child.wait().ok()
}

impl Drop for Appliance {
    fn drop(&mut self) {
        kill(&mut self.cp, false);
        kill(&mut self.dp, false);
        let _ = std::fs::remove_file(format!("/dev/shm/{}", self.shm));
    }
}

/// The running scenario.
#[derive(Debug)]
pub struct Scenario {
    /// The appliances (hub, spoke1, spoke2); dropped before the topology.
    pub nodes: Vec<Appliance>,
    /// The network.
    pub topo: Topology,
    /// Files.
    pub dir: PathBuf,
    exe: PathBuf,
}

impl Scenario {
    /// Builds the topology and starts the six processes of `exe` (the
    /// appliance binary). Files go to `dir`.
    ///
    /// # Errors
    ///
    /// The topology or a process could not be set up.
    pub fn start(exe: &Path, tag: &str, dir: &Path, variant: Variant) -> Result<Self> {
        Self::start_with(exe, tag, dir, variant, ["", "", ""])
    }

    /// [`Scenario::start`] with `extra` configuration lines appended to
    /// each appliance's file (hub, spoke1, spoke2).
    ///
    /// # Errors
    ///
    /// As [`Scenario::start`].
    pub fn start_with(
        exe: &Path,
        tag: &str,
        dir: &Path,
        variant: Variant,
        extra: [&str; 3],
    ) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        if variant.certificates {
            make_pki(&dir.join("pki"))?;
        }
        let topo = Topology::create(tag)?;
        let mut s = Self {
            nodes: Vec::new(),
            topo,
            dir: dir.to_path_buf(),
            exe: exe.to_path_buf(),
        };
        for (i, name) in APPLIANCES.iter().enumerate() {
            let text = config_for(i, variant) + extra[i];
            let config = dir.join(format!("{name}.conf"));
            std::fs::write(&config, &text)?;
            let cfg = controlplane::config::parse(&text)
                .config
                .with_context(|| format!("{name}: configuration errors"))?;
            let dp_text =
                crate::ios::dataplane_toml(&cfg).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
            let dp_config = dir.join(format!("{name}.dp.toml"));
            std::fs::write(&dp_config, dp_text)?;
            let a = Appliance {
                name,
                ns: s.topo.appliances[i].clone(),
                shm: format!("fv{tag}-{name}"),
                socket: dir.join(format!("{name}.sock")),
                config,
                dp_config,
                dp: None,
                cp: None,
                dp_log: dir.join(format!("{name}.dp.log")),
                cp_log: dir.join(format!("{name}.cp.log")),
                keylog: dir.join(format!("{name}.keys")),
            };
            s.nodes.push(a);
        }
        for i in 0..3 {
            s.start_dataplane(i)?;
        }
        for i in 0..3 {
            s.start_controlplane(i)?;
        }
        Ok(s)
    }

    /// Starts node `i`'s dataplane and waits for it to run.
    ///
    /// # Errors
    ///
    /// It did not start.
    pub fn start_dataplane(&mut self, i: usize) -> Result<()> {
        let n = &mut self.nodes[i];
        let log = std::fs::File::create(&n.dp_log)?;
        let child = Command::new("ip")
            .args(["netns", "exec", &n.ns])
            .arg(&self.exe)
            .args(["dataplane", "--config"])
            .arg(&n.dp_config)
            .args(["--shm", &n.shm])
            .stdout(log.try_clone()?)
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()?;
        n.dp = Some(child);
        let end = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(&n.dp_log).unwrap_or_default();
            if text.contains("dataplane: running") {
                return Ok(());
            }
            if let Some(Ok(Some(st))) = n.dp.as_mut().map(Child::try_wait) {
                bail!("{} dataplane exited ({st}):\n{text}", n.name);
            }
            if Instant::now() > end {
                bail!("{} dataplane did not start:\n{text}", n.name);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts node `i`'s control plane.
    ///
    /// # Errors
    ///
    /// It could not be spawned.
    pub fn start_controlplane(&mut self, i: usize) -> Result<()> {
        let n = &mut self.nodes[i];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&n.cp_log)?;
        let child = Command::new("ip")
            .args(["netns", "exec", &n.ns])
            .arg(&self.exe)
            .args(["controlplane", "--config"])
            .arg(&n.config)
            .args(["--shm", &n.shm, "--grace", "20", "--socket"])
            .arg(&n.socket)
            .env(crate::cp::link::KEYLOG_ENV, &n.keylog)
            .stdout(Stdio::null())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()?;
        n.cp = Some(child);
        Ok(())
    }

    /// Stops node `i`'s control plane (SIGTERM, or SIGKILL when `crash`).
    pub fn stop_controlplane(&mut self, i: usize, crash: bool) -> Option<std::process::ExitStatus> {
        kill(&mut self.nodes[i].cp, !crash)
    }

    /// Stops node `i`'s dataplane (SIGTERM); returns its output.
    pub fn stop_dataplane(&mut self, i: usize) -> String {
        kill(&mut self.nodes[i].dp, true);
        std::fs::read_to_string(&self.nodes[i].dp_log).unwrap_or_default()
    }

    /// Stops everything cleanly; returns false if a process did not exit
    /// with success.
    pub fn stop(&mut self) -> bool {
        let mut ok = true;
        for i in 0..self.nodes.len() {
            ok &= self
                .stop_controlplane(i, false)
                .is_some_and(|s| s.success());
        }
        for i in 0..self.nodes.len() {
            ok &= kill(&mut self.nodes[i].dp, true).is_some_and(|s| s.success());
        }
        ok
    }

    /// `appliance show WORDS` on node `i`.
    #[must_use]
    pub fn show(&self, i: usize, words: &[&str]) -> String {
        crate::cp::show_text(&self.nodes[i].socket, words)
    }

    /// Waits until `cond` holds, or fails after `limit` with the logs.
    ///
    /// # Errors
    ///
    /// It did not hold in time.
    pub fn wait(
        &self,
        what: &str,
        limit: Duration,
        cond: impl Fn(&Self) -> bool,
    ) -> Result<Duration> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if cond(self) {
                return Ok(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("{what}: not within {limit:?}\n{}", self.logs())
    }

    /// Every process's log.
    #[must_use]
    pub fn logs(&self) -> String {
        let mut s = String::new();
        for n in &self.nodes {
            for (kind, p) in [("dataplane", &n.dp_log), ("control plane", &n.cp_log)] {
                let t = std::fs::read_to_string(p).unwrap_or_default();
                let tail: Vec<&str> = t.lines().rev().take(40).collect();
                s.push_str(&format!("--- {} {kind} ---\n", n.name));
                for l in tail.iter().rev() {
                    s.push_str(l);
                    s.push('\n');
                }
            }
        }
        s
    }

    /// Starts capturing on `iface` of namespace `ns` into `path` (tshark;
    /// stop it with [`Capture::stop`]).
    ///
    /// # Errors
    ///
    /// tshark could not be started or did not start capturing.
    pub fn capture(&self, ns: &str, iface: &str, path: &Path) -> Result<Capture> {
        let log = path.with_extension("log");
        let child = Command::new("ip")
            .args(["netns", "exec", ns, "tshark", "-n", "-i", iface, "-w"])
            .arg(path)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .context("starting tshark")?;
        let c = Capture {
            child: Some(child),
            path: path.to_path_buf(),
        };
        let end = Instant::now() + Duration::from_secs(20);
        while !std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("Capturing on")
        {
            if Instant::now() > end {
                bail!(
                    "tshark did not start: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(c)
    }

    /// The `esp_sa` records every control plane logged.
    #[must_use]
    pub fn esp_sa_records(&self) -> Vec<String> {
        let mut v = Vec::new();
        for n in &self.nodes {
            let t = std::fs::read_to_string(&n.keylog).unwrap_or_default();
            v.extend(t.lines().map(str::to_string));
        }
        v.sort();
        v.dedup();
        v
    }

    /// Runs `ping` from host `h` (0: host1, 1: host2) to `dst`.
    ///
    /// # Errors
    ///
    /// The ping failed; its output.
    pub fn ping(&self, h: usize, dst: &str, args: &[&str]) -> Result<String> {
        let mut a = vec!["ping", "-n"];
        a.extend_from_slice(args);
        a.push(dst);
        self.topo.exec(&self.topo.hosts[h].ns, &a)
    }
}

/// A running capture.
#[derive(Debug)]
pub struct Capture {
    child: Option<Child>,
    /// The pcap file.
    pub path: PathBuf,
}

impl Capture {
    /// Stops the capture (SIGINT, so the file is complete).
    pub fn stop(&mut self) -> PathBuf {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-INT", &c.id().to_string()])
                .status();
            let end = Instant::now() + Duration::from_secs(10);
            while Instant::now() < end {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        self.path.clone()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Reads a capture with tshark: the given fields of the packets matching
/// `filter`, decrypting ESP with `esp_sa` records.
///
/// # Errors
///
/// tshark failed.
pub fn tshark_fields(
    pcap: &Path,
    esp_sa: &[String],
    filter: &str,
    fields: &[&str],
) -> Result<Vec<Vec<String>>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-n").arg("-r").arg(pcap);
    if !esp_sa.is_empty() {
        cmd.args(["-o", "esp.enable_encryption_decode:TRUE"]);
        for r in esp_sa {
            cmd.arg("-o").arg(format!("uat:esp_sa:{r}"));
        }
    }
    cmd.args(["-Y", filter, "-T", "fields", "-E", "separator=|"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().context("running tshark")?;
    if !out.status.success() {
        bail!("tshark: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('|').map(str::to_string).collect())
        .collect())
}

/// ESP counters of a `show dataplane` text: (encrypted, decrypted), summed
/// over workers.
#[must_use]
pub fn esp_counters(show_dataplane: &str) -> Option<(u64, u64)> {
    let mut found = false;
    let (mut e, mut d) = (0, 0);
    for l in show_dataplane.lines() {
        let Some(rest) = l.split("ESP encrypted ").nth(1) else {
            continue;
        };
        let mut w = rest.split([' ', ',']);
        let enc: u64 = w.next()?.parse().ok()?;
        let dec: u64 = rest
            .split("decrypted ")
            .nth(1)?
            .split(',')
            .next()?
            .trim()
            .parse()
            .ok()?;
        e += enc;
        d += dec;
        found = true;
    }
    found.then_some((e, d))
}
