//! Key material of `crypto pki trustpoint NAME` (the appliance's file
//! statements `ca-certificate`, `certificate`, `private-key`) loaded into
//! the IKEv2 core's certificate authenticator. Relative paths are taken
//! from the configuration file's directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context, Result};
use controlplane::config::Trustpoint;
use controlplane::ikev2::{
    Authenticator, CertAuthenticator, Certificate, PrivateKey, TrustAnchors, WallClock,
};

fn path(base: &Path, f: &str) -> PathBuf {
    let p = PathBuf::from(f);
    if p.is_absolute() {
        p
    } else {
        base.join(p)
    }
}

fn read(tp_name: &str, what: &str, file: Option<&String>, base: &Path) -> Result<Vec<u8>> {
    let f = file.ok_or_else(|| {
        anyhow!("crypto pki trustpoint {tp_name}: `{what} FILE` is needed for certificate authentication")
    })?;
    let p = path(base, f);
    std::fs::read(&p)
        .with_context(|| format!("crypto pki trustpoint {tp_name}: {what} {}", p.display()))
}

/// The certificate authenticator of a trustpoint: the CA certificates of
/// `ca-certificate` are the trust anchors; `certificate` holds ours, then
/// any intermediates to send; `private-key` its key (PKCS #8 or PKCS #1).
///
/// # Errors
///
/// A missing statement or file, a file that does not parse, a key that
/// does not match the certificate; each names the trustpoint and file.
pub fn authenticator(name: &str, tp: &Trustpoint, base: &Path) -> Result<Arc<dyn Authenticator>> {
    let ca = read(name, "ca-certificate", tp.ca_certificate.as_ref(), base)?;
    let mut anchors = TrustAnchors::new();
    for c in Certificate::from_pem(&ca)
        .map_err(|e| anyhow!("crypto pki trustpoint {name}: ca-certificate: {e}"))?
    {
        anchors = anchors.with(c);
    }
    let chain = Certificate::from_pem(&read(name, "certificate", tp.certificate.as_ref(), base)?)
        .map_err(|e| anyhow!("crypto pki trustpoint {name}: certificate: {e}"))?;
    let key = PrivateKey::from_pem(&read(name, "private-key", tp.private_key.as_ref(), base)?)
        .map_err(|e| anyhow!("crypto pki trustpoint {name}: private-key: {e}"))?;
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let clock = WallClock {
        at: Instant::now(),
        unix,
    };
    let a = CertAuthenticator::new(chain, key, anchors, clock)
        .map_err(|e| anyhow!("crypto pki trustpoint {name}: {e}"))?;
    Ok(Arc::new(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../controlplane/tests/fixtures/pki")
    }

    #[test]
    fn test_loads_and_refuses() {
        let tp = Trustpoint {
            ca_certificate: Some("ca-ec.pem".into()),
            certificate: Some("hub-ec.pem".into()),
            private_key: Some("hub-ec.key".into()),
            ..Default::default()
        };
        authenticator("CA", &tp, &fixtures()).unwrap();
        // Someone else's key.
        let bad = Trustpoint {
            private_key: Some("ca-ec.key".into()),
            ..tp.clone()
        };
        let e = format!("{:#}", authenticator("CA", &bad, &fixtures()).unwrap_err());
        assert!(e.contains("does not match"), "{e}");
        let missing = Trustpoint {
            certificate: None,
            ..tp.clone()
        };
        let e = format!(
            "{:#}",
            authenticator("CA", &missing, &fixtures()).unwrap_err()
        );
        assert!(e.contains("`certificate FILE` is needed"), "{e}");
        let nofile = Trustpoint {
            ca_certificate: Some("/nonexistent/ca.pem".into()),
            ..tp
        };
        let e = format!(
            "{:#}",
            authenticator("CA", &nofile, &fixtures()).unwrap_err()
        );
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
    }
}
