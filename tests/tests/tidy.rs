//! Tidy: ARCHITECTURE.md's "absence" invariants as checks that fail the build, in the manner of
//! rust-analyzer's `xtask/src/tidy.rs`: plain text and `cargo metadata`, no Rust parser. Run
//! alone: `cargo test -p kagura-tests --test tidy` (under a second once built).
//!
//! - The core crates (`kagura-protocol`, `kagura-capture`, the pose-processing crates under
//!   `calibration/` — `kagura-skeleton`, `kagura-filter`, `kagura-merge`, `kagura-calibration` —
//!   and `kagura-engine`) depend, transitively through normal dependencies, on none of tokio, quinn,
//!   webrtc, axum, rustls, socket2, mio (nor their `-*` crates); the protocol not on serde_json.
//!   The graph is `cargo metadata`'s: every target platform, features as the workspace unifies
//!   them (stricter than each crate alone). It reads the manifests of crates this host does not
//!   build (Windows', wasm's), so the first run may download them from crates.io.
//! - Their sources (`src/`, test code aside) name no socket, clock, file access, task or thread
//!   (`UdpSocket`, `SystemTime`, `Instant::now`, `std::fs`, `tokio::`, `thread::spawn`, …), and
//!   the protocol's no `serde_json`.
//! - Every crate's root file starts with a `//!` doc comment; every `Cargo.toml` has a
//!   `description`.
//! - No crate's top-level modules import each other in a cycle (`crate::a` uses `crate::b`,
//!   which uses `crate::a`).
//!
//! Test code is what `#[cfg(test)] mod NAME { … }` holds (up to its closing brace, as rustfmt
//! places it) and the files of `#[cfg(test)] mod NAME;`; every other line counts. Comments don't.
//! Known violations waiting for a fix are listed in [`ALLOWED`]; an entry that no longer matches
//! fails too, so the list only shrinks.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

/// The crates that must stay sans-IO: no sockets, tasks, clocks or files.
const CORE: &[&str] = &[
    "kagura-protocol",
    "kagura-capture",
    "kagura-skeleton",
    "kagura-filter",
    "kagura-merge",
    "kagura-calibration",
    "kagura-engine",
];

/// Crates only `kagura-server` (and the clients, tests and benchmarks) may depend on. A name
/// also matches its `NAME-*` family (`tokio-util`, `webrtc-sctp`, `rustls-pki-types`).
const IO_CRATES: &[&str] = &[
    "tokio", "quinn", "webrtc", "axum", "rustls", "socket2", "mio",
];

/// What core sources must not name, and why.
const CORE_FORBIDDEN: &[(&str, &str)] = &[
    ("UdpSocket", "a socket (sockets live in kagura-server)"),
    ("TcpStream", "a socket (sockets live in kagura-server)"),
    ("TcpListener", "a socket (sockets live in kagura-server)"),
    ("SystemTime", "the clock (time is an argument)"),
    ("Instant::now", "the clock (time is an argument)"),
    ("std::fs", "file access (the server reads files)"),
    ("File::open", "file access (the server reads files)"),
    ("File::create", "file access (the server writes files)"),
    ("read_to_string(", "file access (the server reads files)"),
    ("tokio::", "tokio (tasks live in kagura-server)"),
    ("thread::spawn", "a thread (tasks live in kagura-server)"),
    ("thread::sleep", "the clock (time is an argument)"),
];

/// What the protocol's sources must not name besides [`CORE_FORBIDDEN`].
const PROTOCOL_FORBIDDEN: &[(&str, &str)] = &[("serde_json", "JSON (the protocol is binary)")];

/// Known violations, each `(check, what, why)`: `what` is a substring of the violation's message
/// (a path, or a crate path). Each entry is a TODO: fix the code, then delete the entry.
const ALLOWED: &[(&str, &str, &str)] = &[
    // None today. Shape of an entry:
    // ("core-source", "capture/src/foo.rs:", "TODO(who): why it is there, when it goes"),
];

#[test]
fn core_crates_do_not_depend_on_io_crates() {
    let meta = metadata();
    let mut errors = Vec::new();
    for &core in CORE {
        let mut forbidden: Vec<&str> = IO_CRATES.to_vec();
        if core == "kagura-protocol" {
            forbidden.push("serde_json");
        }
        // Paths come shortest first: name each forbidden family once, by its shortest path.
        let mut reported = BTreeSet::new();
        for path in meta.normal_paths_from(core) {
            let last = path.last().unwrap();
            let Some(bad) = forbidden.iter().find(|f| matches_family(last, f)) else {
                continue;
            };
            if !reported.insert(*bad) {
                continue;
            }
            let first = &path[1];
            let (manifest, line) = meta.dependency_line(core, first);
            errors.push(format!(
                "{}:{line}: {core} depends on {bad} (`{}`, normal dependencies, any target): \
                 ARCHITECTURE.md keeps sockets, tasks and JSON out of the core crates",
                rel(&manifest),
                path.join(" -> "),
            ));
        }
    }
    report("io-dependency", errors);
}

#[test]
fn core_sources_name_no_socket_clock_file_task_or_thread() {
    let meta = metadata();
    let mut errors = Vec::new();
    for &core in CORE {
        let mut forbidden: Vec<(&str, &str)> = CORE_FORBIDDEN.to_vec();
        if core == "kagura-protocol" {
            forbidden.extend_from_slice(PROTOCOL_FORBIDDEN);
        }
        for file in non_test_code(&meta.package_dir(core).join("src")) {
            for (number, line) in &file.lines {
                for (needle, why) in &forbidden {
                    if line.contains(needle) {
                        errors.push(format!(
                            "{}:{number}: `{needle}` in {core}: {why}\n        {}",
                            rel(&file.path),
                            line.trim()
                        ));
                    }
                }
            }
        }
    }
    report("core-source", errors);
}

#[test]
fn every_crate_is_described_and_documented() {
    let meta = metadata();
    let mut errors = Vec::new();
    for package in meta.members() {
        let name = package["name"].as_str().unwrap();
        let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap());
        if package["description"]
            .as_str()
            .is_none_or(|d| d.trim().is_empty())
        {
            let line = line_of(&manifest, |l| l.trim() == "[package]").unwrap_or(1);
            errors.push(format!(
                "{}:{line}: {name} has no `description`: say in one sentence what the crate is",
                rel(&manifest)
            ));
        }
        for target in package["targets"].as_array().unwrap() {
            let kinds = target["kind"].as_array().unwrap();
            if !kinds.iter().any(|k| k == "lib" || k == "bin") {
                continue;
            }
            let root = PathBuf::from(target["src_path"].as_str().unwrap());
            let text = std::fs::read_to_string(&root).unwrap();
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            if !first.starts_with("//!") {
                errors.push(format!(
                    "{}:1: {name}'s crate root does not start with a `//!` doc comment saying \
                     what the crate is for",
                    rel(&root)
                ));
            }
        }
    }
    report("docs", errors);
}

#[test]
fn no_module_imports_in_a_cycle() {
    let meta = metadata();
    let mut errors = Vec::new();
    for package in meta.members() {
        let name = package["name"].as_str().unwrap();
        let src = meta.package_dir(name).join("src");
        if !src.is_dir() {
            continue;
        }
        for cycle in module_cycles(&src) {
            let mut message = format!(
                "{}: modules of {name} import each other in a cycle ({}); move what they share \
                 into one of them, or a third module both use:",
                rel(&src),
                cycle.modules.join(" -> "),
            );
            for (from, to, file, line) in &cycle.edges {
                write!(
                    message,
                    "\n        {}:{line}: {from} uses crate::{to}",
                    rel(file)
                )
                .unwrap();
            }
            errors.push(message);
        }
    }
    report("module-cycle", errors);
}

/// The checks' own reading of sources, on a made-up crate: test code skipped, comments and
/// strings told apart, `crate::{…}` groups and `super::` followed, a cycle of three found.
#[test]
fn tidy_reads_sources_as_intended() {
    let src = std::env::temp_dir().join(format!("kagura-tidy-{}/src", std::process::id()));
    let _ = std::fs::remove_dir_all(&src);
    std::fs::create_dir_all(src.join("c")).unwrap();
    let write = |name: &str, text: &str| std::fs::write(src.join(name), text).unwrap();
    write("lib.rs", "//! A crate.\nmod a;\nmod b;\nmod c;\nmod d;\n");
    write(
        "a.rs",
        "use crate::b::B; // crate::d in a comment\nconst URL: &str = \"http://x\"; // Instant::now\n\
         #[cfg(test)]\nmod tests {\n    use crate::d;\n    fn t() { std::time::Instant::now(); }\n}\n\
         pub fn late() { let _ = std::time::SystemTime::now(); }\n",
    );
    write("b.rs", "use crate::{\n    c::C,\n    d::{self, D},\n};\n");
    write("c.rs", "#[cfg(test)]\nmod tests;\nuse super::a;\n");
    write("c/tests.rs", "use std::fs::File;\n");
    write("d.rs", "pub struct D;\n");

    let code = non_test_code(&src);
    let names: Vec<_> = code.iter().map(|c| rel(&c.path)).collect();
    assert!(!names.iter().any(|n| n.ends_with("tests.rs")), "{names:?}");
    let a = code.iter().find(|c| c.path.ends_with("a.rs")).unwrap();
    let flagged: Vec<_> = a
        .lines
        .iter()
        .filter(|(_, l)| l.contains("Instant::now") || l.contains("SystemTime"))
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(flagged, [8], "{:?}", a.lines);

    let cycles = module_cycles(&src);
    assert_eq!(cycles.len(), 1);
    assert_eq!(cycles[0].modules, ["a", "b", "c", "a"]);
    let lines: Vec<_> = cycles[0].edges.iter().map(|e| e.3).collect();
    assert_eq!(lines, [1, 2, 3]);
    std::fs::remove_dir_all(src.parent().unwrap()).unwrap();
}

/// Fails with every violation not in [`ALLOWED`], and with every entry of `check` that matched
/// nothing.
fn report(check: &str, errors: Vec<String>) {
    let allowed: Vec<_> = ALLOWED.iter().filter(|(c, _, _)| *c == check).collect();
    let (known, new): (Vec<_>, Vec<_>) = errors
        .into_iter()
        .partition(|e| allowed.iter().any(|(_, what, _)| e.contains(what)));
    for error in &known {
        eprintln!("tidy ({check}), allowed for now: {error}");
    }
    let stale: Vec<_> = allowed
        .iter()
        .filter(|(_, what, _)| !known.iter().any(|e| e.contains(what)))
        .map(|(_, what, _)| {
            format!("ALLOWED entry ({check}, {what:?}) no longer matches: delete it")
        })
        .collect();
    let problems: Vec<_> = new.into_iter().chain(stale).collect();
    assert!(
        problems.is_empty(),
        "tidy ({check}): {} problem(s)\n    {}\n",
        problems.len(),
        problems.join("\n    ")
    );
}

// ---- cargo metadata --------------------------------------------------------------------------

struct Metadata {
    json: Value,
    /// Package id → package.
    packages: HashMap<String, Value>,
    /// Package id → ids of its normal dependencies (any target).
    normal: HashMap<String, Vec<String>>,
}

/// `cargo metadata` for the workspace, resolved for every target platform (so a dependency only
/// Windows pulls in counts too), once per test run.
fn metadata() -> &'static Metadata {
    static META: OnceLock<Metadata> = OnceLock::new();
    META.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let output = Command::new(cargo)
            .args([
                "metadata",
                "--format-version",
                "1",
                "--locked",
                "--manifest-path",
            ])
            .arg(workspace_root().join("Cargo.toml"))
            .output()
            .expect("running cargo metadata");
        assert!(
            output.status.success(),
            "cargo metadata failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let json: Value = serde_json::from_slice(&output.stdout).unwrap();
        let packages = json["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["id"].as_str().unwrap().to_owned(), p.clone()))
            .collect();
        let normal = json["resolve"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|node| {
                let deps = node["deps"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|d| {
                        d["dep_kinds"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|k| k["kind"].is_null())
                    })
                    .map(|d| d["pkg"].as_str().unwrap().to_owned())
                    .collect();
                (node["id"].as_str().unwrap().to_owned(), deps)
            })
            .collect();
        Metadata {
            json,
            packages,
            normal,
        }
    })
}

impl Metadata {
    fn members(&self) -> impl Iterator<Item = &Value> {
        self.json["workspace_members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| &self.packages[id.as_str().unwrap()])
    }

    fn member(&self, name: &str) -> &Value {
        self.members()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} is not a workspace member"))
    }

    fn package_dir(&self, name: &str) -> PathBuf {
        let manifest = self.member(name)["manifest_path"].as_str().unwrap();
        Path::new(manifest).parent().unwrap().to_owned()
    }

    /// Every package reachable from `root` through normal dependencies, each with the shortest
    /// path to it (package names, `root` first).
    fn normal_paths_from(&self, root: &str) -> Vec<Vec<String>> {
        let start = self.member(root)["id"].as_str().unwrap().to_owned();
        let mut seen = BTreeSet::from([start.clone()]);
        let mut queue = std::collections::VecDeque::from([vec![start]]);
        let mut paths = Vec::new();
        while let Some(path) = queue.pop_front() {
            for dep in &self.normal[path.last().unwrap()] {
                if seen.insert(dep.clone()) {
                    let mut longer = path.clone();
                    longer.push(dep.clone());
                    paths.push(longer.clone());
                    queue.push_back(longer);
                }
            }
        }
        paths
            .into_iter()
            .map(|p| {
                p.iter()
                    .map(|id| self.packages[id]["name"].as_str().unwrap().to_owned())
                    .collect()
            })
            .collect()
    }

    /// Where `package`'s Cargo.toml names its dependency `dep` (line 1 if not found as text).
    fn dependency_line(&self, package: &str, dep: &str) -> (PathBuf, usize) {
        let manifest = self.package_dir(package).join("Cargo.toml");
        let line = line_of(&manifest, |l| {
            let l = l.trim();
            l.strip_prefix(dep)
                .is_some_and(|rest| rest.starts_with([' ', '=', '.']))
                || l.ends_with(&format!("dependencies.{dep}]"))
        })
        .unwrap_or(1);
        (manifest, line)
    }
}

fn matches_family(name: &str, family: &str) -> bool {
    name == family
        || name
            .strip_prefix(family)
            .is_some_and(|rest| rest.starts_with('-'))
}

// ---- sources ---------------------------------------------------------------------------------

/// A source file's lines that are neither test code nor comments, numbered from 1.
struct Code {
    path: PathBuf,
    lines: Vec<(usize, String)>,
}

/// Every `.rs` file under `src` that is not test code, without its test modules and comments.
fn non_test_code(src: &Path) -> Vec<Code> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    // The files of `#[cfg(test)] mod NAME;`, and the directories of their submodules.
    let mut test_paths = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if let Some(name) = out_of_line_test_module(&lines, i, line) {
                let dir = module_dir(file);
                test_paths.push(dir.join(format!("{name}.rs")));
                test_paths.push(dir.join(name));
            }
        }
    }
    files
        .into_iter()
        .filter(|file| !test_paths.iter().any(|t| file.starts_with(t)))
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            Code {
                lines: code_lines(&text),
                path,
            }
        })
        .collect()
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// Where the files of modules that `file` declares live: beside it for `lib.rs`, `main.rs` and
/// `mod.rs`, else in the directory named after it.
fn module_dir(file: &Path) -> PathBuf {
    let dir = file.parent().unwrap();
    let stem = file.file_stem().unwrap().to_str().unwrap();
    if matches!(stem, "lib" | "main" | "mod") {
        dir.to_owned()
    } else {
        dir.join(stem)
    }
}

/// Whether the attributes just above `lines[i]` include `#[cfg(test)]`.
fn under_cfg_test(lines: &[&str], i: usize) -> bool {
    lines[..i]
        .iter()
        .rev()
        .map(|l| l.trim())
        .take_while(|l| l.starts_with("#[") || l.starts_with("//"))
        .any(|l| l == "#[cfg(test)]")
}

/// `NAME` if `line` (= `lines[i]`) is `mod NAME;` under `#[cfg(test)]`.
fn out_of_line_test_module<'a>(lines: &[&str], i: usize, line: &'a str) -> Option<&'a str> {
    let t = line.trim();
    let name = t
        .strip_prefix("pub(crate) mod ")
        .or_else(|| t.strip_prefix("pub mod "))
        .or_else(|| t.strip_prefix("mod "))?
        .strip_suffix(';')?;
    under_cfg_test(lines, i).then_some(name)
}

/// The lines of `text` outside `#[cfg(test)] mod NAME { … }` blocks, each cut at a `//` comment
/// (comment-only lines dropped).
fn code_lines(text: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut code = Vec::new();
    let mut skip_until: Option<String> = None;
    for (i, line) in lines.iter().enumerate() {
        if let Some(end) = &skip_until {
            if line == end {
                skip_until = None;
            }
            continue;
        }
        let t = line.trim_start();
        let is_inline_mod =
            (t.starts_with("mod ") || t.starts_with("pub mod ")) && t.trim_end().ends_with('{');
        if is_inline_mod && under_cfg_test(&lines, i) {
            let indent = &line[..line.len() - t.len()];
            skip_until = Some(format!("{indent}}}"));
            continue;
        }
        let without_comment = strip_comment(line);
        if !without_comment.trim().is_empty() {
            code.push((i + 1, without_comment.to_owned()));
        }
    }
    code
}

/// `line` up to a `//` that is not inside a string literal.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_string => i += 1,
            b'"' => in_string = !in_string,
            b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => return &line[..i],
            _ => {}
        }
        i += 1;
    }
    line
}

// ---- module cycles ---------------------------------------------------------------------------

struct Cycle {
    modules: Vec<String>,
    /// (from, to, file, line): the uses that close the cycle.
    edges: Vec<(String, String, PathBuf, usize)>,
}

/// The cycles among the top-level modules of the crate in `src` (`src/NAME.rs`, `src/NAME/`),
/// from `crate::NAME` (and, at the top level, `super::NAME`) paths in non-test code: each
/// strongly connected set of two or more modules once, with the uses along one cycle through it.
fn module_cycles(src: &Path) -> Vec<Cycle> {
    let mut uses: BTreeMap<String, BTreeMap<String, (PathBuf, usize)>> = BTreeMap::new();
    let files = non_test_code(src);
    let top_of = |path: &Path| -> Option<String> {
        let rel = path.strip_prefix(src).ok()?;
        let first = rel.components().next()?.as_os_str().to_str()?;
        let name = first.strip_suffix(".rs").unwrap_or(first);
        (!matches!(name, "lib" | "main")).then(|| name.into())
    };
    let modules: BTreeSet<String> = files.iter().filter_map(|f| top_of(&f.path)).collect();
    for file in &files {
        let Some(from) = top_of(&file.path) else {
            continue;
        };
        let top_level_file = file.path.parent() == Some(src);
        for (to, line) in crate_paths(&file.lines, top_level_file) {
            if to != from && modules.contains(&to) {
                uses.entry(from.clone())
                    .or_default()
                    .entry(to)
                    .or_insert((file.path.clone(), line));
            }
        }
    }
    strongly_connected(&modules, &uses)
        .into_iter()
        .map(|component| {
            let modules = cycle_through(&component, &uses);
            let edges = modules
                .windows(2)
                .map(|w| {
                    let (file, line) = &uses[&w[0]][&w[1]];
                    (w[0].clone(), w[1].clone(), file.clone(), *line)
                })
                .collect();
            Cycle { modules, edges }
        })
        .collect()
}

/// The first segment after every `crate::` (and `super::` in a top-level module's file),
/// `crate::{a, b::c}` included, with the line it starts on.
fn crate_paths(lines: &[(usize, String)], top_level_file: bool) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    // Join the lines so `use crate::{\n a,\n b,\n};` reads as one; remember where each started.
    let mut text = String::new();
    let mut starts = Vec::new();
    for (number, line) in lines {
        starts.push((text.len(), *number));
        text.push_str(line);
        text.push('\n');
    }
    let line_at = |offset: usize| {
        let i = starts.partition_point(|(start, _)| *start <= offset);
        starts[i - 1].1
    };
    let prefixes: &[&str] = if top_level_file {
        &["crate::", "super::"]
    } else {
        &["crate::"]
    };
    for prefix in prefixes {
        for (at, _) in text.match_indices(prefix) {
            let before = text[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                continue; // `$crate::`, `my_crate::`
            }
            let rest = &text[at + prefix.len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let mut depth = 0;
                let mut item_start = true;
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => item_start = true,
                        c if item_start && (c.is_alphanumeric() || c == '_') => {
                            item_start = false;
                            let name = identifier(&group[i..]);
                            found.push((name.to_owned(), line_at(at + prefix.len() + 1 + i)));
                        }
                        _ => {}
                    }
                }
            } else {
                found.push((identifier(rest).to_owned(), line_at(at)));
            }
        }
    }
    found
}

fn identifier(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

type Graph = BTreeMap<String, BTreeMap<String, (PathBuf, usize)>>;

/// Strongly connected components of two or more nodes (Kosaraju; the graphs are tiny).
fn strongly_connected(nodes: &BTreeSet<String>, edges: &Graph) -> Vec<BTreeSet<String>> {
    let reachable = |from: &String| {
        let mut seen = BTreeSet::from([from.clone()]);
        let mut stack = vec![from.clone()];
        while let Some(node) = stack.pop() {
            for next in edges.get(&node).into_iter().flat_map(|e| e.keys()) {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&String, BTreeSet<String>> =
        nodes.iter().map(|n| (n, reachable(n))).collect();
    let mut components: Vec<BTreeSet<String>> = Vec::new();
    for node in nodes {
        if components.iter().any(|c| c.contains(node)) {
            continue;
        }
        let component: BTreeSet<String> = reach[node]
            .iter()
            .filter(|other| reach[*other].contains(node))
            .cloned()
            .collect();
        if component.len() > 1 {
            components.push(component);
        }
    }
    components
}

/// One cycle through the first module of `component`: the modules in order, ending where it
/// began (a shortest cycle, found breadth first within the component).
fn cycle_through(component: &BTreeSet<String>, edges: &Graph) -> Vec<String> {
    let start = component.first().unwrap().clone();
    let mut previous: BTreeMap<String, String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start.clone()]);
    while let Some(node) = queue.pop_front() {
        for next in edges[&node].keys().filter(|n| component.contains(*n)) {
            if *next == start {
                // Back from `node` to `start` (which has no previous), then forward again.
                let mut path = vec![node.clone()];
                let mut at = node.clone();
                while let Some(p) = previous.get(&at) {
                    path.push(p.clone());
                    at = p.clone();
                }
                path.reverse();
                path.push(start);
                return path;
            }
            if !previous.contains_key(next) && *next != start {
                previous.insert(next.clone(), node.clone());
                queue.push_back(next.clone());
            }
        }
    }
    unreachable!("a strongly connected component has a cycle through each of its modules")
}

// ---- paths -----------------------------------------------------------------------------------

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// `path` relative to the workspace root, for messages.
fn rel(path: &Path) -> String {
    path.strip_prefix(workspace_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The first line (from 1) of `file` that `pred` accepts.
fn line_of(file: &Path, pred: impl Fn(&str) -> bool) -> Option<usize> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().position(pred).map(|i| i + 1)
}
