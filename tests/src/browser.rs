//! Driving the OBS page in headless Chromium through tests/browser/obs_page.mjs.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::Value;

/// A running `obs_page.mjs`: Chromium with the page open, answering one JSON line per command
/// (`wait SEQ`, `pixels`, `timings`).
pub struct BrowserPage {
    child: Child,
    stdin: ChildStdin,
    lines: std::io::Lines<BufReader<ChildStdout>>,
}

impl BrowserPage {
    /// Opens `url`; `flags` are the script's options (`--break-webrtc`, `--pages N`, …).
    pub fn open(url: &str, screenshot: &Path, flags: &[&str]) -> BrowserPage {
        crate::require_obs_page();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/browser/obs_page.mjs");
        let mut child = Command::new("node")
            .arg(script)
            .arg(url)
            .arg(screenshot)
            .args(flags)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run node (Node.js is needed for the browser tests)");
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        BrowserPage {
            child,
            stdin,
            lines,
        }
    }

    /// The next line the script printed, as JSON.
    pub fn next_answer(&mut self) -> Value {
        let line = self
            .lines
            .next()
            .expect("the page script ended early")
            .unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    /// Sends a command and returns its answer.
    pub fn ask(&mut self, command: &str) -> Value {
        writeln!(self.stdin, "{command}").unwrap();
        self.next_answer()
    }
}

impl Drop for BrowserPage {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
