//! `appliance run`: the supervisor of the two processes.
//!
//! The dataplane starts first and runs for as long as the appliance does:
//! if it exits, the appliance stops (its exit status says so). The control
//! plane is restarted when it exits on its own, after a back-off that grows
//! from 100 ms to 5 s and resets once it has run for a minute: the
//! dataplane keeps forwarding on the SAs it has meanwhile. A stop request
//! (SIGINT/SIGTERM to the supervisor) is passed on as SIGTERM, control
//! plane first, and each child gets a grace period before it is killed.

use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::cp::log::Logger;

/// How one child is started.
#[derive(Debug, Clone)]
pub struct ChildSpec {
    /// Name for logs.
    pub name: String,
    /// Program and arguments.
    pub argv: Vec<String>,
}

impl ChildSpec {
    fn spawn(&self) -> Result<Child> {
        Command::new(&self.argv[0])
            .args(&self.argv[1..])
            .spawn()
            .with_context(|| format!("starting the {} ({:?})", self.name, self.argv))
    }
}

/// What the supervisor did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Control-plane restarts.
    pub cp_restarts: u32,
    /// The dataplane exited on its own (not asked to stop).
    pub dataplane_died: Option<String>,
}

/// Restart back-off bounds.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// A control plane that ran this long is healthy: the back-off resets.
const HEALTHY: Duration = Duration::from_secs(60);
/// Time each child gets to stop after SIGTERM.
const GRACE: Duration = Duration::from_secs(10);

fn terminate(c: &mut Child, name: &str, log: &Logger) -> Option<ExitStatus> {
    if let Ok(Some(s)) = c.try_wait() {
        return Some(s);
    }
    let pid = c.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let end = Instant::now() + GRACE;
    while Instant::now() < end {
        if let Ok(Some(s)) = c.try_wait() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    log.warn(
        "run",
        &format!("{name} did not stop within {GRACE:?}: killed"),
    );
    let _ = c.kill();
    c.wait().ok()
}

/// Runs the dataplane and the control plane until `stop` is set or the
/// dataplane exits.
///
/// # Errors
///
/// A child could not be started.
pub fn supervise(
    dataplane: &ChildSpec,
    controlplane: &ChildSpec,
    stop: &AtomicBool,
    log: &Logger,
) -> Result<Outcome> {
    let mut out = Outcome::default();
    let mut dp = dataplane.spawn()?;
    log.info("run", &format!("dataplane started (pid {})", dp.id()));
    let mut cp: Option<(Child, Instant)> = None;
    let mut backoff = BACKOFF_MIN;
    let mut next_start = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        if let Ok(Some(s)) = dp.try_wait() {
            let why = format!("dataplane exited: {s}");
            log.warn("run", &why);
            out.dataplane_died = Some(why);
            break;
        }
        match &mut cp {
            Some((c, since)) => {
                if let Ok(Some(s)) = c.try_wait() {
                    if since.elapsed() >= HEALTHY {
                        backoff = BACKOFF_MIN;
                    }
                    log.warn(
                        "run",
                        &format!(
                            "control plane exited ({s}); restarting in {} ms, the dataplane keeps forwarding",
                            backoff.as_millis()
                        ),
                    );
                    cp = None;
                    next_start = Instant::now() + backoff;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    out.cp_restarts += 1;
                }
            }
            None if Instant::now() >= next_start => {
                let c = controlplane.spawn()?;
                log.info("run", &format!("control plane started (pid {})", c.id()));
                cp = Some((c, Instant::now()));
            }
            None => {}
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if let Some((mut c, _)) = cp.take() {
        let s = terminate(&mut c, "control plane", log);
        log.info("run", &format!("control plane stopped: {s:?}"));
    }
    let s = terminate(&mut dp, "dataplane", log);
    log.info("run", &format!("dataplane stopped: {s:?}"));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn sh(name: &str, script: &str) -> ChildSpec {
        ChildSpec {
            name: name.into(),
            argv: vec!["sh".into(), "-c".into(), script.into()],
        }
    }

    fn quiet() -> Logger {
        Logger::new("t", crate::cp::log::Level::Warn, Box::new(std::io::sink()))
    }

    #[test]
    fn test_control_plane_restarted_dataplane_kept() {
        // The control plane dies at once, again and again; after a while
        // the stop flag is set: it was restarted, the dataplane (a sleep)
        // kept running until asked to stop.
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = Arc::clone(&stop);
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1200));
            s2.store(true, Ordering::Relaxed);
        });
        let out = supervise(
            &sh("dp", "exec sleep 30"),
            &sh("cp", "exit 3"),
            &stop,
            &quiet(),
        )
        .unwrap();
        t.join().unwrap();
        assert!(out.cp_restarts >= 3, "{out:?}");
        assert_eq!(out.dataplane_died, None);
    }

    #[test]
    fn test_dataplane_exit_stops_everything() {
        let stop = AtomicBool::new(false);
        let started = Instant::now();
        let out = supervise(
            &sh("dp", "sleep 0.3; exit 7"),
            &sh("cp", "exec sleep 30"),
            &stop,
            &quiet(),
        )
        .unwrap();
        assert!(
            out.dataplane_died
                .as_deref()
                .is_some_and(|s| s.contains('7')),
            "{out:?}"
        );
        // The control plane was terminated, not waited for.
        assert!(started.elapsed() < Duration::from_secs(20));
    }
}
