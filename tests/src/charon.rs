//! strongSwan's charon as a test peer inside a network namespace of the
//! test's own: its own strongswan.conf, vici socket and log in a scratch
//! directory, a private `/run` (tmpfs in the namespace's mount namespace),
//! userspace ESP (kernel-libipsec). Killed on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The daemon's path (Debian's strongswan-charon).
pub const CHARON: &str = "/usr/lib/ipsec/charon";

/// A running charon.
#[derive(Debug)]
pub struct Charon {
    dir: PathBuf,
    child: Child,
}

impl Drop for Charon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Why charon cannot run here, if it cannot (not installed).
pub fn missing() -> Option<String> {
    if !Path::new(CHARON).exists() {
        return Some(format!(
            "{CHARON} missing (scripts/install-deps.sh installs strongswan-charon, strongswan-swanctl, libcharon-extra-plugins)"
        ));
    }
    None
}

impl Charon {
    /// Starts charon in namespace `ns` with its files under `dir`, without
    /// installing routes for its tunnels.
    ///
    /// # Errors
    ///
    /// It could not be started or did not open its control socket.
    pub fn start(ns: &str, dir: &Path) -> Result<Self, String> {
        Self::start_with(ns, dir, false)
    }

    /// [`Charon::start`]; `install_routes`: route the peer's traffic
    /// selectors into the tunnel (a client that sends traffic through it).
    ///
    /// # Errors
    ///
    /// As [`Charon::start`].
    pub fn start_with(ns: &str, dir: &Path, install_routes: bool) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let uri = format!("unix://{}/charon.vici", dir.display());
        let conf = format!(
            "charon {{\n  load = random nonce openssl aes sha1 sha2 gcm chapoly hmac kdf pem pkcs1 pkcs8 x509 pubkey revocation constraints curve25519 gmp attr kernel-libipsec kernel-netlink socket-default vici updown\n  install_routes = {routes}\n  plugins {{\n    vici {{ socket = {uri} }}\n    kernel-libipsec {{ allow_peer_ts = yes }}\n  }}\n  filelog {{\n    log {{ path = {}/charon.log\n      default = 1\n      ike = 2\n      cfg = 2\n      flush_line = yes }}\n  }}\n  syslog {{ daemon {{ default = -1 }} }}\n}}\n",
            dir.display(),
            routes = if install_routes { "yes" } else { "no" }
        );
        let path = dir.join("strongswan.conf");
        std::fs::write(&path, conf).map_err(|e| e.to_string())?;
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                ns,
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
        let c = Self {
            dir: dir.to_path_buf(),
            child,
        };
        let socket = dir.join("charon.vici");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            if Instant::now() > deadline {
                return Err("charon did not open its vici socket".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // The socket exists slightly before charon accepts on it.
        std::thread::sleep(Duration::from_millis(300));
        Ok(c)
    }

    /// Runs `swanctl ARGS --uri ...`.
    ///
    /// # Errors
    ///
    /// swanctl failed; the error holds its output.
    pub fn swanctl(&self, args: &[&str]) -> Result<String, String> {
        let uri = format!("unix://{}/charon.vici", self.dir.display());
        let out = Command::new("swanctl")
            .args(args)
            .args(["--uri", &uri])
            .output()
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            Ok(text)
        } else {
            Err(text)
        }
    }

    /// Loads a swanctl.conf.
    ///
    /// # Errors
    ///
    /// As [`Charon::swanctl`].
    pub fn load(&self, swanctl_conf: &str) -> Result<(), String> {
        let path = self.dir.join("swanctl.conf");
        std::fs::write(&path, swanctl_conf).map_err(|e| e.to_string())?;
        self.swanctl(&["--load-all", "--file", &path.to_string_lossy()])
            .map(|_| ())
    }

    /// Its log so far.
    #[must_use]
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("charon.log")).unwrap_or_default()
    }
}
