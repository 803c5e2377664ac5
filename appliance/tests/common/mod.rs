//! Shared by the dataplane process tests: each test runs the `appliance`
//! binary as a child process (EAL starts once per process), reads its
//! output, and stops it with SIGTERM. A child still running when a test
//! fails is killed by the guard's `Drop`.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn appliance() -> &'static str {
    env!("CARGO_BIN_EXE_appliance")
}

/// EAL settings every test config uses: two lcores (main + one worker),
/// no hugepages, no shared files (tests run side by side).
pub const EAL: &str = r#"
[eal]
cores = "0-1"
no_huge = true
memory = 256
no_shconf = true
"#;

/// A running dataplane process.
pub struct Dataplane {
    child: Option<Child>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

fn pump(r: impl std::io::Read + Send + 'static, buf: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            let mut b = buf.lock().unwrap();
            b.push_str(&line);
            b.push('\n');
        }
    });
}

impl Dataplane {
    /// Starts `appliance dataplane --config CONFIG`, optionally through a
    /// wrapper command (such as `ip netns exec NS`).
    pub fn start(config: &Path, wrapper: &[&str]) -> Self {
        let mut cmd = match wrapper.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(appliance());
                c
            }
            None => Command::new(appliance()),
        };
        cmd.arg("dataplane")
            .arg("--config")
            .arg(config)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn appliance");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        pump(child.stdout.take().unwrap(), Arc::clone(&stdout));
        pump(child.stderr.take().unwrap(), Arc::clone(&stderr));
        Self {
            child: Some(child),
            stdout,
            stderr,
        }
    }

    /// What it printed so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// What it logged so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until `pred` holds for the standard output, or panics after
    /// `limit` (or if the process exits first).
    pub fn wait_stdout(&mut self, what: &str, limit: Duration, pred: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            if pred(&self.stdout()) {
                return;
            }
            if let Some(st) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "dataplane exited ({st}) while waiting for {what}\nstdout:\n{}\nstderr:\n{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}\nstdout:\n{}\nstderr:\n{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the "running" line.
    pub fn wait_running(&mut self) {
        self.wait_stdout("the running line", Duration::from_secs(60), |s| {
            s.contains("dataplane: running")
        });
    }

    /// Sends SIGTERM and waits (at most `limit`) for the exit; returns the
    /// status and the whole standard output.
    pub fn terminate(&mut self, limit: Duration) -> (ExitStatus, String) {
        let child = self.child.as_mut().unwrap();
        let ok = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(ok.success(), "kill -TERM failed");
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            if Instant::now() > deadline {
                panic!(
                    "dataplane did not exit within {limit:?} of SIGTERM\nstdout:\n{}\nstderr:\n{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        self.child = None;
        // Let the pipe readers reach the end of the output.
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end && !self.stdout().contains("\nport ") {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(100));
        (status, self.stdout())
    }
}

impl Drop for Dataplane {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The value of `key=` on the first line starting with `prefix`.
pub fn counter(text: &str, prefix: &str, key: &str) -> Option<u64> {
    let line = text.lines().rev().find(|l| l.starts_with(prefix))?;
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
}

/// The last periodic-stats value of `key`, if any.
pub fn last_stat(text: &str, key: &str) -> Option<u64> {
    counter(text, "dataplane: stats", key)
}

/// Formats a MAC for a config file.
pub fn mac(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A scratch directory under the target dir, removed on drop unless
/// KEEP_SCRATCH is set.
pub struct Scratch(pub std::path::PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Self {
        let p = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("dp-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    pub fn join(&self, name: &str) -> std::path::PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::env::var_os("KEEP_SCRATCH").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
