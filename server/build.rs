//! Builds the browser pages (clients/web: npm ci, then vite build) and embeds the result, so that
//! `cargo run` and `cargo test` do everything on a fresh machine and the `kagura` binary carries
//! its pages. Set KAGURA_SKIP_WEB=1 to embed a placeholder instead (no Node.js needed).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let web = manifest
        .join("../clients/web")
        .canonicalize()
        .expect("clients/web exists");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("web");
    for input in [
        "package.json",
        "package-lock.json",
        "vite.config.js",
        "obs.html",
        "src",
    ] {
        println!("cargo:rerun-if-changed={}", web.join(input).display());
    }
    println!("cargo:rerun-if-env-changed=KAGURA_SKIP_WEB");

    let _ = std::fs::remove_dir_all(&out);
    if std::env::var_os("KAGURA_SKIP_WEB").is_some() {
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(
            out.join("obs.html"),
            "<p>Kagura was built with KAGURA_SKIP_WEB: no pages.</p>",
        )
        .unwrap();
    } else {
        if !web.join("node_modules/.package-lock.json").exists() {
            run(
                Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund"])
                    .current_dir(&web),
                "npm ci",
            );
        }
        run(
            Command::new("node")
                .arg(web.join("node_modules/vite/bin/vite.js"))
                .args(["build", "--logLevel", "warn"])
                .env("KAGURA_WEB_OUT", &out)
                .current_dir(&web),
            "vite build",
        );
    }
    write_asset_table(&out);
}

fn run(command: &mut Command, what: &str) {
    let status = command.status().unwrap_or_else(|e| {
        panic!(
            "{what}: {e}. Building Kagura's pages needs Node.js and npm (or set KAGURA_SKIP_WEB=1)"
        )
    });
    assert!(
        status.success(),
        "{what} failed ({status}); set KAGURA_SKIP_WEB=1 to build without pages"
    );
}

/// Writes `web_assets.rs`: every built file as (URL path, bytes).
fn write_asset_table(root: &Path) {
    let mut files = Vec::new();
    collect(root, root, &mut files);
    files.sort();
    let mut table = String::from("pub static WEB_ASSETS: &[(&str, &[u8])] = &[\n");
    for (url, path) in files {
        table.push_str(&format!(
            "    ({url:?}, include_bytes!({:?})),\n",
            path.display().to_string()
        ));
    }
    table.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("web_assets.rs");
    std::fs::write(out, table).unwrap();
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let url = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            files.push((url, path));
        }
    }
}
