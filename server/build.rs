//! Builds the browser pages (clients/web: npm ci, then vite build) and embeds the result, so that
//! `cargo run` and `cargo test` do everything on a fresh machine and the `kagura` binary carries
//! its pages.
//!
//! Without Node.js (no `node` on PATH, or no `npm` while `clients/web/node_modules` is not
//! installed yet), or with `KAGURA_SKIP_WEB=1`, it embeds a placeholder `/obs` page that says the
//! page was not built and how to fix it, and prints the same as a `cargo:warning`: `cargo check`,
//! `cargo clippy` and the server itself still build and run without Node.js. If Node.js is there
//! but the page fails to build, the build fails.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Why the page was not built this time, and what to do to get it.
struct NotBuilt {
    reason: String,
    fix: &'static str,
}

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
    let missing = match why_not_build(&web) {
        Some(NotBuilt { reason, fix }) => {
            println!(
                "cargo:warning=the OBS page (/obs) was not built: {reason}; kagura serves a \
                 placeholder page instead. To build it, {fix}."
            );
            std::fs::create_dir_all(&out).unwrap();
            std::fs::write(out.join("obs.html"), placeholder_page(&reason, fix)).unwrap();
            Some(reason)
        }
        None => {
            if !web.join("node_modules/.package-lock.json").exists() {
                run(
                    Command::new(NPM)
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
            None
        }
    };
    write_asset_table(&out, missing.as_deref());
    write_face_models(&web);
}

/// The MediaPipe face models inside npm's `@mediapipe/face_mesh` (installed by `npm ci` with the
/// page): file name in the package's packed `.data` file, and its SHA-256. The byte ranges come
/// from the package's loader script; the hashes pin what Kagura was tested with.
const FACE_MODELS: [(&str, &str); 4] = [
    (
        "face_detection_short_range.tflite",
        "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633",
    ),
    (
        "face_landmark_with_attention.tflite",
        "883b7411747bac657c30c462d305d312e9dec6adbf8b85e2f5d8d722fca9455d",
    ),
    (
        "face_landmark.tflite",
        "c603fa6149219a3e9487dc9abd7a0c24474c77263273d24868378cdf40aa26d1",
    ),
    (
        "geometry_pipeline_metadata_landmarks.binarypb",
        "bdbcda96dfcb7da883da124aaa2c55dee49770d934f0fcc71747f8c21bdc75b4",
    ),
];

/// Writes `face_models.rs`: each face model's bytes (extracted from the npm package into
/// OUT_DIR and checked against [`FACE_MODELS`]), or why they are missing.
fn write_face_models(web: &Path) {
    let package = web.join("node_modules/@mediapipe/face_mesh");
    let data = package.join("face_mesh_solution_packed_assets.data");
    let loader = package.join("face_mesh_solution_packed_assets_loader.js");
    println!("cargo:rerun-if-changed={}", data.display());
    let dir = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("face_models");
    let table = match extract_face_models(&data, &loader, &dir) {
        Ok(()) => {
            let mut table = String::from(
                "pub static FACE_MODEL_FILES: Result<&[(&str, &[u8])], &str> = Ok(&[\n",
            );
            for (name, _) in FACE_MODELS {
                let path = dir.join(name).display().to_string();
                table.push_str(&format!("    ({name:?}, include_bytes!({path:?})),\n"));
            }
            table + "]);\n"
        }
        Err(reason) => {
            println!("cargo:warning=the face models were not built in: {reason}");
            format!(
                "pub static FACE_MODEL_FILES: Result<&[(&str, &[u8])], &str> = Err({reason:?});\n"
            )
        }
    };
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("face_models.rs");
    std::fs::write(out, table).unwrap();
}

/// Cuts the face models out of the package's packed data file and checks their hashes.
fn extract_face_models(data: &Path, loader: &Path, dir: &Path) -> Result<(), String> {
    use sha2::Digest;
    let (Ok(data), Ok(loader)) = (std::fs::read(data), std::fs::read_to_string(loader)) else {
        return Err(format!(
            "{} is not installed (`npm ci` in clients/web installs it with the page)",
            data.display()
        ));
    };
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (name, sha256) in FACE_MODELS {
        let (start, end) = packed_range(&loader, name)
            .ok_or_else(|| format!("the loader script does not list {name}"))?;
        let bytes = data
            .get(start..end)
            .ok_or_else(|| format!("{name}: bytes {start}..{end} are past the data file's end"))?;
        let actual = hex::encode(sha2::Sha256::digest(bytes));
        if actual != sha256 {
            return Err(format!("{name}: SHA-256 {actual}, expected {sha256}"));
        }
        std::fs::write(dir.join(name), bytes).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}

/// The byte range of `name` in the loader script's file list:
/// `{"filename": ".../NAME", "start": S, "end": E}`.
fn packed_range(loader: &str, name: &str) -> Option<(usize, usize)> {
    let at = loader.find(&format!("/{name}\""))?;
    let rest = &loader[at..];
    let number_after = |key: &str| -> Option<usize> {
        let from = rest.find(key)? + key.len();
        let digits: String = rest[from..]
            .trim_start_matches([' ', ':'])
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    };
    Some((number_after("\"start\"")?, number_after("\"end\"")?))
}

/// npm is a batch file on Windows, which `Command` does not find by the bare name.
const NPM: &str = if cfg!(windows) { "npm.cmd" } else { "npm" };

/// Why the page is not built this time, if it is not: KAGURA_SKIP_WEB, or no Node.js.
fn why_not_build(web: &Path) -> Option<NotBuilt> {
    if let Some(value) = std::env::var_os("KAGURA_SKIP_WEB")
        && !matches!(value.to_str(), Some("" | "0" | "false" | "no"))
    {
        return Some(NotBuilt {
            reason: format!("KAGURA_SKIP_WEB={} was set", value.to_string_lossy()),
            fix: "build Kagura again without KAGURA_SKIP_WEB (with Node.js and npm installed)",
        });
    }
    let mut missing = Vec::new();
    if !runs("node") {
        missing.push("`node`");
    }
    if !web.join("node_modules/.package-lock.json").exists() && !runs(NPM) {
        missing.push("`npm`");
    }
    if missing.is_empty() {
        return None;
    }
    // Installing Node.js changes PATH or one of its directories: build the page then.
    println!("cargo:rerun-if-env-changed=PATH");
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path).filter(|dir| dir.is_dir()) {
            println!("cargo:rerun-if-changed={}", dir.display());
        }
    }
    Some(NotBuilt {
        reason: format!("{} not found on PATH", missing.join(" and ")),
        fix: "install Node.js and npm (Debian/Ubuntu: `apt-get install nodejs npm`; Windows and \
              macOS: nodejs.org) and build Kagura again",
    })
}

/// Whether `program --version` runs.
fn runs(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}

/// The page served at `/obs` when the real one was not built: visible on OBS's transparent
/// background, and saying what the build warning says.
fn placeholder_page(reason: &str, fix: &str) -> String {
    let reason = reason
        .replace('`', "")
        .replace('&', "&amp;")
        .replace('<', "&lt;");
    let fix = fix.replace('`', "");
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Kagura: the OBS page was not built</title>
<style>
  body {{ margin: 0; background: transparent; }}
  main {{
    margin: 24px; padding: 16px 20px; max-width: 40em; border-radius: 6px;
    font: 16px/1.5 system-ui, sans-serif; color: #fff; background: rgba(120, 20, 20, 0.85);
  }}
</style>
</head>
<body>
<main id="kagura-page-not-built">
<h1>Kagura: the OBS page was not built</h1>
<p>This server was built without its avatar page: {reason}.</p>
<p>To get it, {fix}. Everything else (VMC in, QUIC out, the status page at <a href="/" style="color:#fff">/</a>) works.</p>
</main>
</body>
</html>
"#
    )
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

/// Writes `web_assets.rs`: every built file as (URL path, bytes), and why the page is a
/// placeholder (`WEB_PAGE_NOT_BUILT`), if it is.
fn write_asset_table(root: &Path, missing: Option<&str>) {
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
    table.push_str(&format!(
        "pub const WEB_PAGE_NOT_BUILT: Option<&str> = {missing:?};\n"
    ));
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
