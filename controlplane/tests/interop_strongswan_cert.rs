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
//! guard (`common/charon_lab.rs`) kills charon and removes the namespace
//! even when an assertion fails. Every wait is bounded.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::charon_lab::{endpoint, run, skip_reason, tunnel_up, wait_for, Lab, LabNames};
use controlplane::ikev2::auth::AuthFailure;
use controlplane::ikev2::config::{ts_any_v4, IpPrefix};
use controlplane::ikev2::driver::UdpDriver;
use controlplane::ikev2::events::Event;
use controlplane::ikev2::{
    CertAuthenticator, CertError, Certificate, Config, Identity, IdentityMatch, Keyring,
    PrivateKey, TrustAnchors, WallClock,
};

/// Apart from the PSK test's lab.
const NAMES: LabNames = LabNames {
    ns: "ikecert",
    veth: "ic",
    net: 202,
};

// What only this test needs of the shared lab: the PKI, charon's
// certificate settings, and configurations for both sides.
impl Lab {
    /// The lab, with a fresh PKI for the run in its directory.
    fn with_pki() -> Result<Self, String> {
        let lab = Self::new(NAMES)?;
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

    /// (Re)starts charon: RFC 7427 signatures or not
    /// (`signature_authentication`), RSASSA-PSS or PKCS#1 v1.5 for them
    /// (`rsa_pss`); no revocation checks.
    fn start_cert_charon(
        &mut self,
        signature_authentication: bool,
        rsa_pss: bool,
    ) -> Result<(), String> {
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        self.start_charon(
            &format!(
                "signature_authentication = {}\n  rsa_pss = {}",
                yes_no(signature_authentication),
                yes_no(rsa_pss)
            ),
            "revocation { enable_ocsp = no\n                  enable_crl = no }",
        )
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
    let r = wait_for(&mut d, &mut events, Duration::from_secs(15), |e| {
        matches!(e, Event::ChildSaInstalled(_) | Event::TunnelDown { .. })
    });
    let up = tunnel_up(&events);
    if r.is_continue() || up.is_none() {
        return Err(format!(
            "no tunnel with charon as responder: {events:?} {:?}",
            d.endpoint().stats()
        ));
    }
    assert_eq!(up.unwrap().peer_id, fqdn("hub.cisco.com"));
    let sas = lab.swanctl(&["--list-sas"])?;
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
    let mut events = Vec::new();
    // swanctl's own verdict is not needed: charon's log and our events
    // say what happened.
    let _ = lab.swanctl_initiate(&mut d, &mut events, "spoke", "net")?;
    Ok(events)
}

fn tunnel_peer(events: &[Event]) -> Option<Identity> {
    tunnel_up(events).map(|u| u.peer_id)
}

#[test]
fn interop_strongswan_rsa_certificates() {
    if let Some(why) = skip_reason(&["openssl"]) {
        eprintln!("interop_strongswan_cert: SKIPPED: {why}");
        return;
    }
    let mut lab = Lab::with_pki().expect("namespace setup");
    let r: Result<(), String> = (|| {
        lab.start_cert_charon(true, false)?;
        ours_initiates(&lab)?;
        // charon initiates, RFC 7427 (a fresh charon each time: no SA
        // left from the previous case).
        lab.start_cert_charon(true, false)?;
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
        lab.start_cert_charon(true, false)?;
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
        lab.start_cert_charon(false, false)?;
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
        lab.start_cert_charon(true, true)?;
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
