//! Certificate interoperability with strongSwan's charon in a network
//! namespace, both directions, RSA-2048 certificates from a CA made for the
//! run (`tests/fixtures/pki/gen.sh` into the run's directory):
//!
//! 1. charon is the responder (`hub.cisco.com`); our endpoint initiates as
//!    `spoke1.cisco.com`. Both sign with RFC 7427 (sha256WithRSA), each
//!    sends its certificate and a CERTREQ for the CA.
//! 2. charon initiates to our endpoint as responder.
//! 3. charon initiates again with `signature_authentication = no`: it
//!    signs with classic RSA (method 1, SHA-1), which we verify, and, as it
//!    announced no hash algorithms, so do we.
//! 4. charon presents a certificate from a CA we do not trust: we refuse
//!    with AUTHENTICATION_FAILED and say why.
//! 5. charon initiates with `rsa_pss = yes`: RFC 7427 RSASSA-PSS, which we
//!    verify.
//!
//! Skipped, with a message, when not root, or without charon, swanctl,
//! `ip` or openssl. Namespace and interface names are unique per run; a
//! guard kills charon and removes the namespace even when an assertion
//! fails. Every wait is bounded.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use controlplane::ikev2::auth::AuthFailure;
use controlplane::ikev2::config::{ts_any_v4, IpPrefix};
use controlplane::ikev2::driver::UdpDriver;
use controlplane::ikev2::events::{CounterSpiAllocator, Event};
use controlplane::ikev2::{
    CertAuthenticator, CertError, Certificate, Config, Endpoint, Identity, IdentityMatch, Keyring,
    PrivateKey, TrustAnchors, WallClock,
};

const CHARON: &str = "/usr/lib/ipsec/charon";

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn skip_reason() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("not root (network namespaces need it)".into());
    }
    if !Path::new(CHARON).exists() {
        return Some(format!("{CHARON} missing"));
    }
    for c in ["swanctl", "ip", "openssl"] {
        if !have(c) {
            return Some(format!("{c} missing"));
        }
    }
    None
}

fn run(args: &[&str]) -> Result<String, String> {
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

/// The namespace, its veth pair, charon and the PKI; removed on drop.
struct Lab {
    ns: String,
    dir: PathBuf,
    charon: Option<Child>,
    ours: Ipv4Addr,
    theirs: Ipv4Addr,
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
    fn new() -> Result<Self, String> {
        let id = std::process::id();
        let ns = format!("ikecert-{id:x}");
        let vh = format!("ic{}h", id % 1_000_000);
        let vn = format!("ic{}n", id % 1_000_000);
        let third = (id % 200 + 20) as u8;
        let ours = Ipv4Addr::new(10, 202, third, 1);
        let theirs = Ipv4Addr::new(10, 202, third, 2);
        let dir = std::env::temp_dir().join(&ns);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let lab = Self {
            ns: ns.clone(),
            dir,
            charon: None,
            ours,
            theirs,
        };
        run(&["ip", "netns", "add", &ns])?;
        run(&[
            "ip", "link", "add", &vh, "type", "veth", "peer", "name", &vn,
        ])?;
        run(&["ip", "link", "set", &vn, "netns", &ns])?;
        run(&["ip", "addr", "add", &format!("{ours}/24"), "dev", &vh])?;
        run(&["ip", "link", "set", &vh, "up"])?;
        let e = |a: &[&str]| {
            let mut v = vec!["ip", "netns", "exec", &ns];
            v.extend_from_slice(a);
            run(&v)
        };
        e(&["ip", "addr", "add", &format!("{theirs}/24"), "dev", &vn])?;
        e(&["ip", "link", "set", &vn, "up"])?;
        e(&["ip", "link", "set", "lo", "up"])?;
        e(&["ip", "addr", "add", "10.10.0.1/32", "dev", "lo"])?;
        // A fresh PKI for the run.
        let gen = format!("{}/tests/fixtures/pki/gen.sh", env!("CARGO_MANIFEST_DIR"));
        run(&["sh", &gen, lab.dir.to_str().unwrap()])?;
        // swanctl loads private keys from `private/` next to its config;
        // charon picks the one that matches the certificate it uses.
        let private = lab.dir.join("private");
        std::fs::create_dir_all(&private).map_err(|e| e.to_string())?;
        for k in ["hub-rsa.key", "spoke-rsa.key"] {
            std::fs::copy(lab.dir.join(k), private.join(k)).map_err(|e| e.to_string())?;
        }
        Ok(lab)
    }

    fn file(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    fn uri(&self) -> String {
        format!("unix://{}/charon.vici", self.dir.display())
    }

    fn stop_charon(&mut self) {
        if let Some(mut c) = self.charon.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_file(self.dir.join("charon.vici"));
    }

    fn start_charon(&mut self, signature_authentication: bool) -> Result<(), String> {
        self.start_charon_with(signature_authentication, false)
    }

    fn start_charon_with(
        &mut self,
        signature_authentication: bool,
        rsa_pss: bool,
    ) -> Result<(), String> {
        self.stop_charon();
        let conf = format!(
            r#"charon {{
  load = random nonce openssl aes sha1 sha2 gcm hmac kdf pem pkcs1 pkcs8 x509 pubkey revocation constraints curve25519 gmp attr kernel-libipsec kernel-netlink socket-default vici updown
  signature_authentication = {sig}
  rsa_pss = {pss}
  fragment_size = 576
  plugins {{
    vici {{ socket = {uri} }}
    kernel-libipsec {{ allow_peer_ts = yes }}
    revocation {{ enable_ocsp = no
                  enable_crl = no }}
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
            sig = if signature_authentication {
                "yes"
            } else {
                "no"
            },
            pss = if rsa_pss { "yes" } else { "no" },
            uri = self.uri(),
            dir = self.dir.display()
        );
        let path = self.dir.join("strongswan.conf");
        std::fs::write(&path, conf).map_err(|e| e.to_string())?;
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
        std::thread::sleep(Duration::from_millis(300));
        Ok(())
    }

    fn load(&self, swanctl: &str) -> Result<(), String> {
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

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("charon.log")).unwrap_or_default()
    }

    /// charon's swanctl.conf: `me` with `my_cert`/`my_key`, the peer `peer`,
    /// the RSA CA as trust anchor.
    fn charon_conf(&self, name: &str, me: &str, peer: &str, cert: &str, remote: bool) -> String {
        let remote_addrs = if remote {
            format!("remote_addrs = {}", self.ours)
        } else {
            String::new()
        };
        format!(
            r#"connections {{
  {name} {{
    version = 2
    local_addrs = {theirs}
    {remote_addrs}
    proposals = aes256-sha256-modp2048,aes128gcm16-prfsha256-curve25519
    send_certreq = yes
    local {{
      auth = pubkey
      certs = {cert_pem}
      id = {me}
    }}
    remote {{
      auth = pubkey
      id = {peer}
      cacerts = {ca}
    }}
    children {{
      net {{
        esp_proposals = aes128gcm16
        local_ts = 10.10.0.0/16
        # Not the outer addresses: kernel-libipsec would route charon's
        # IKE packets into the tunnel.
        remote_ts = 10.30.0.0/16
        start_action = none
      }}
    }}
  }}
}}
"#,
            theirs = self.theirs,
            cert_pem = self.file(&format!("{cert}.pem")),
            ca = self.file("ca-rsa.pem"),
        )
    }

    /// Our certificate authenticator with `cert`, trusting `ca`.
    fn ours(&self, cert: &str, ca: &str) -> Result<CertAuthenticator, String> {
        let read = |n: &str| std::fs::read(self.dir.join(n)).map_err(|e| e.to_string());
        let chain =
            Certificate::from_pem(&read(&format!("{cert}.pem"))?).map_err(|e| e.to_string())?;
        let key =
            PrivateKey::from_pem(&read(&format!("{cert}.key"))?).map_err(|e| e.to_string())?;
        let ca = Certificate::from_pem(&read(&format!("{ca}.pem"))?).map_err(|e| e.to_string())?;
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs();
        CertAuthenticator::new(
            chain,
            key,
            TrustAnchors::new().with(ca.into_iter().next().ok_or("no CA")?),
            WallClock {
                at: Instant::now(),
                unix: i64::try_from(unix).map_err(|e| e.to_string())?,
            },
        )
        .map_err(|e| e.to_string())
    }
}

fn endpoint(cfg: Config) -> Endpoint {
    Endpoint::new(cfg, Box::new(CounterSpiAllocator::new(0x4000))).unwrap()
}

fn fqdn(s: &str) -> Identity {
    Identity::Fqdn(s.into())
}

/// Our endpoint initiates to charon.
fn ours_initiates(lab: &Lab) -> Result<(), String> {
    lab.load(&lab.charon_conf("hub", "hub.cisco.com", "spoke1.cisco.com", "hub-rsa", false))?;
    let mut cfg = Config::new(fqdn("spoke1.cisco.com"), Keyring::new());
    cfg.authenticator = Arc::new(lab.ours("spoke-rsa", "ca-rsa")?);
    cfg.remote_match = vec![IdentityMatch::FqdnDomain("cisco.com".into())];
    cfg.ts.local = vec![IpPrefix::new("10.30.0.0".parse().unwrap(), 16).to_ts()];
    cfg.ts.remote = vec![ts_any_v4()];
    let ours = IpAddr::V4(lab.ours);
    let mut d = UdpDriver::bind(endpoint(cfg), &[ours]).map_err(|e| format!("bind: {e}"))?;
    d.endpoint()
        .initiate(
            Instant::now(),
            SocketAddr::new(ours, 500),
            SocketAddr::new(IpAddr::V4(lab.theirs), 500),
            Some(fqdn("hub.cisco.com")),
        )
        .map_err(|e| e.to_string())?;
    let mut events = Vec::new();
    let r = d.run_until(Instant::now() + Duration::from_secs(15), |_, e| {
        let done = matches!(e, Event::ChildSaInstalled(_) | Event::TunnelDown { .. });
        events.push(e);
        if done {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    let up = events.iter().find_map(|e| match e {
        Event::TunnelUp(u) => Some(u.clone()),
        _ => None,
    });
    if r.is_continue() || up.is_none() {
        return Err(format!(
            "no tunnel with charon as responder: {events:?} {:?}",
            d.endpoint().stats()
        ));
    }
    assert_eq!(up.unwrap().peer_id, fqdn("hub.cisco.com"));
    let sas = run(&["swanctl", "--list-sas", "--uri", &lab.uri()])?;
    assert!(sas.contains("ESTABLISHED"), "{sas}");
    let log = lab.log();
    assert!(
        log.contains(
            "authentication of 'spoke1.cisco.com' with RSA_EMSA_PKCS1_SHA2_256 successful"
        ),
        "charon checked our RFC 7427 signature: {log}"
    );
    Ok(())
}

/// charon initiates to our endpoint; returns our events.
fn charon_initiates(lab: &Lab, cert: &str, anchors_ca: &str) -> Result<Vec<Event>, String> {
    lab.load(&lab.charon_conf("spoke", "spoke1.cisco.com", "hub.cisco.com", cert, true))?;
    let auth = lab.ours("hub-rsa", anchors_ca)?;
    let mut cfg = Config::new(fqdn("hub.cisco.com"), Keyring::new());
    cfg.authenticator = Arc::new(auth);
    cfg.remote_match = vec![IdentityMatch::FqdnDomain("cisco.com".into())];
    cfg.ts.local = vec![IpPrefix::new("10.30.0.0".parse().unwrap(), 16).to_ts()];
    cfg.ts.remote = vec![ts_any_v4()];
    let mut d = UdpDriver::bind(endpoint(cfg), &[IpAddr::V4(lab.ours)])
        .map_err(|e| format!("bind: {e}"))?;
    let uri = lab.uri();
    let initiator = std::thread::spawn(move || {
        run(&[
            "swanctl",
            "--initiate",
            "--ike",
            "spoke",
            "--child",
            "net",
            "--timeout",
            "15",
            "--uri",
            &uri,
        ])
    });
    let mut events = Vec::new();
    let _ = d.run_until(Instant::now() + Duration::from_secs(15), |_, e| {
        let done = matches!(e, Event::ChildSaInstalled(_) | Event::AuthFailed { .. });
        events.push(e);
        if done {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    let _ = d.run_until(Instant::now() + Duration::from_millis(500), |_, e| {
        events.push(e);
        ControlFlow::Continue(())
    });
    // swanctl's own verdict is not needed: charon's log and our events
    // say what happened.
    let _ = initiator.join().map_err(|_| "swanctl thread".to_string())?;
    Ok(events)
}

fn tunnel_peer(events: &[Event]) -> Option<Identity> {
    events.iter().find_map(|e| match e {
        Event::TunnelUp(u) => Some(u.peer_id.clone()),
        _ => None,
    })
}

#[test]
fn interop_strongswan_rsa_certificates() {
    if let Some(why) = skip_reason() {
        eprintln!("interop_strongswan_cert: SKIPPED: {why}");
        return;
    }
    let mut lab = Lab::new().expect("namespace setup");
    let r: Result<(), String> = (|| {
        lab.start_charon(true)?;
        ours_initiates(&lab)?;
        // charon initiates, RFC 7427 (a fresh charon each time: no SA
        // left from the previous case).
        lab.start_charon(true)?;
        let ev = charon_initiates(&lab, "spoke-rsa", "ca-rsa")?;
        if tunnel_peer(&ev) != Some(fqdn("spoke1.cisco.com")) {
            return Err(format!("charon as initiator: {ev:?}"));
        }
        let log = lab.log();
        if !log
            .contains("authentication of 'hub.cisco.com' with RSA_EMSA_PKCS1_SHA2_256 successful")
        {
            return Err("charon did not check our RFC 7427 signature".into());
        }
        // A CA we do not trust: refused, and charon hears it.
        lab.start_charon(true)?;
        let ev = charon_initiates(&lab, "spoke-rsa", "ca-ec")?;
        let why = ev.iter().find_map(|e| match e {
            Event::AuthFailed { reason, .. } => Some(reason.clone()),
            _ => None,
        });
        match &why {
            Some(AuthFailure::Certificate(CertError::UnknownCa { .. })) => {}
            _ => return Err(format!("untrusted CA not refused as unknown CA: {ev:?}")),
        }
        if !lab.log().contains("AUTHENTICATION_FAILED") {
            return Err("charon did not get AUTHENTICATION_FAILED".into());
        }
        Ok(())
    })();
    let r = r.and_then(|()| {
        // Classic RSA (method 1) from charon.
        lab.start_charon(false)?;
        let ev = charon_initiates(&lab, "spoke-rsa", "ca-rsa")?;
        if tunnel_peer(&ev) != Some(fqdn("spoke1.cisco.com")) {
            return Err(format!("charon with method 1: {ev:?}"));
        }
        if !lab
            .log()
            .contains("authentication of 'spoke1.cisco.com' (myself) with RSA signature successful")
        {
            return Err("charon did not sign with method 1 (SHA-1)".into());
        }
        // And we answered with method 1: charon announced no hashes.
        if !lab
            .log()
            .contains("authentication of 'hub.cisco.com' with RSA signature successful")
        {
            return Err("charon did not check our method 1 signature".into());
        }
        // RSASSA-PSS from charon.
        lab.start_charon_with(true, true)?;
        let ev = charon_initiates(&lab, "spoke-rsa", "ca-rsa")?;
        if tunnel_peer(&ev) != Some(fqdn("spoke1.cisco.com")) {
            return Err(format!("charon with RSASSA-PSS: {ev:?}"));
        }
        if !lab
            .log()
            .contains("authentication of 'spoke1.cisco.com' (myself) with RSA_EMSA_PSS")
        {
            return Err("charon did not sign with RSASSA-PSS".into());
        }
        Ok(())
    });
    if let Err(e) = r {
        eprintln!("--- charon.log\n{}", lab.log());
        panic!("{e}");
    }
}
