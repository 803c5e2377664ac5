//! Structured logs: one JSON object per line (`ts`, `level`, `component`,
//! `msg`, and the process's `node` name), on standard error by default.
//! `FLEXVPN_LOG=debug|info|warn` sets the level (info by default).

use std::io::Write;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// How important a line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Every dataplane command.
    Debug,
    /// State changes: tunnels, shortcuts.
    Info,
    /// Something failed or was refused.
    Warn,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
        }
    }

    /// From `FLEXVPN_LOG`.
    #[must_use]
    pub fn from_env() -> Self {
        match std::env::var("FLEXVPN_LOG").as_deref() {
            Ok("debug") => Self::Debug,
            Ok("warn") => Self::Warn,
            _ => Self::Info,
        }
    }
}

/// Writes log lines.
pub struct Logger {
    node: String,
    level: Level,
    out: Mutex<Box<dyn Write + Send>>,
}

impl std::fmt::Debug for Logger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logger")
            .field("node", &self.node)
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

impl Logger {
    /// Lines for `node` at `level` and above, to `out`.
    pub fn new(node: &str, level: Level, out: Box<dyn Write + Send>) -> Self {
        Self {
            node: node.to_string(),
            level,
            out: Mutex::new(out),
        }
    }

    /// To standard error, level from the environment.
    #[must_use]
    pub fn stderr(node: &str) -> Self {
        Self::new(node, Level::from_env(), Box::new(std::io::stderr()))
    }

    /// One line.
    pub fn log(&self, level: Level, component: &str, msg: &str) {
        if level < self.level {
            return;
        }
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let line = serde_json::json!({
            "ts": (ts * 1000.0).round() / 1000.0,
            "level": level.name(),
            "node": self.node,
            "component": component,
            "msg": msg,
        });
        if let Ok(mut o) = self.out.lock() {
            let _ = writeln!(o, "{line}");
        }
    }

    /// Debug line.
    pub fn debug(&self, component: &str, msg: &str) {
        self.log(Level::Debug, component, msg);
    }

    /// Info line.
    pub fn info(&self, component: &str, msg: &str) {
        self.log(Level::Info, component, msg);
    }

    /// Warning line.
    pub fn warn(&self, component: &str, msg: &str) {
        self.log(Level::Warn, component, msg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn test_json_lines_and_level() {
        let b = Buf::default();
        let l = Logger::new("hub", Level::Info, Box::new(b.clone()));
        l.debug("x", "hidden");
        l.info("flexvpn", "Virtual-Access1 up \"quoted\"\nsecond line");
        l.warn("ike", "auth failed");
        let text = String::from_utf8(b.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|s| serde_json::from_str(s).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["level"], "info");
        assert_eq!(lines[0]["node"], "hub");
        assert_eq!(
            lines[0]["msg"],
            "Virtual-Access1 up \"quoted\"\nsecond line"
        );
        assert_eq!(lines[1]["component"], "ike");
        assert!(lines[1]["ts"].as_f64().unwrap() > 1.0e9);
    }
}
