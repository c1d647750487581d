//! The `kagura` binary as a user runs it: `kagura demo` in one process, `kagura watch --json`
//! in another, talking over real QUIC on loopback.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const KAGURA: &str = env!("CARGO_BIN_EXE_kagura");

/// Kills the server process when the test ends, however it ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn demo_then_calibrate_and_watch_json_through_the_cli() {
    let data_dir = std::env::temp_dir().join(format!("kagura-cli-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let mut demo = KillOnDrop(
        Command::new(KAGURA)
            .args([
                "demo",
                "--bind",
                "127.0.0.1",
                "--vmc-port",
                "0",
                "--quic-port",
                "0",
            ])
            .args(["--http-port", "0", "--data-dir"])
            .arg(&data_dir)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start kagura demo"),
    );
    // The server prints its addresses once bound; read until the QUIC line.
    let stdout = demo.0.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout)
        .lines()
        .map(|l| l.expect("read demo output"));
    let quic_addr = lines
        .find_map(|l| {
            let rest = l.strip_prefix("QUIC pose feed")?;
            rest.split_whitespace().next().map(str::to_string)
        })
        .expect("demo prints its QUIC address");

    let output = Command::new(KAGURA)
        .args([
            "watch",
            "--server",
            &quic_addr,
            "--performer",
            "demo",
            "--json",
            "--frames",
            "5",
        ])
        .arg("--data-dir")
        .arg(&data_dir)
        .output()
        .expect("run kagura watch");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 5);
    let seqs: Vec<u64> = lines.iter().map(|f| f["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    for frame in &lines {
        assert_eq!(frame["performer"], "demo");
        assert!(frame["capture_us"].as_u64().unwrap() > 1_600_000_000_000_000);
        let head = frame["bones"]["head"].as_array().expect("head rotation");
        assert_eq!(head.len(), 4);
        let norm: f64 = head.iter().map(|c| c.as_f64().unwrap().powi(2)).sum();
        assert!((norm - 1.0).abs() < 1e-4);
        assert_eq!(frame["hips_position"].as_array().unwrap().len(), 3);
        for name in ["aa", "blink", "happy"] {
            let w = frame["expressions"][name].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&w), "{name}: {w}");
        }
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}
