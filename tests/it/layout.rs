//! The shape of src/, kept true by a test: modules import in one direction (no cycles, at the
//! crate's top level or inside a module folder); the pure decisions reach no file that does
//! I/O, not even transitively; no source file outside tests grows past 400 lines, the
//! sign it holds two jobs, and no function past 60; every state write is in src/record.rs;
//! no error is a bare string.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 400;

/// A function longer than this composes too much in one place: split it into steps.
const MAX_FUNCTION_LINES: usize = 60;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every .rs file under src/, with its module path (`config::fleet`; `mod.rs` is its folder).
fn modules() -> Vec<(Vec<String>, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![src()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src()).unwrap();
            let mut parts: Vec<String> = rel
                .with_extension("")
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            if parts == ["lib"] || parts == ["main"] {
                parts = vec![];
            }
            out.push((parts, path));
        }
    }
    out.sort();
    out
}

fn is_test_file(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "tests.rs")
}

/// The code of a file without its `#[cfg(test)]` tail.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    match text.find("#[cfg(test)]\nmod tests {") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Paths a file names: `crate::a::b` → ["a", "b"], `super::x` resolved against `module`,
/// `use child::x` (a folder module's own files) → module + ["child", "x"].
fn references(module: &[String], children: &[String], text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        let used = line.strip_prefix("pub ").unwrap_or(line);
        if let Some(rest) = used.strip_prefix("use ") {
            for child in children {
                if rest.starts_with(&format!("{child}::")) {
                    let mut path = module.to_vec();
                    path.push(child.clone());
                    out.push(path);
                }
            }
        }
        for (prefix, base) in [("crate::", vec![]), ("super::", parent(module))] {
            let mut rest = line;
            while let Some(i) = rest.find(prefix) {
                let preceded_by_ident = rest[..i]
                    .chars()
                    .last()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
                rest = &rest[i + prefix.len()..];
                if preceded_by_ident {
                    continue;
                }
                let mut path = base.clone();
                let mut segs = rest;
                loop {
                    let end = segs
                        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .unwrap_or(segs.len());
                    if end == 0 {
                        break;
                    }
                    path.push(segs[..end].to_string());
                    match segs[end..].strip_prefix("::") {
                        Some(more) => segs = more,
                        None => break,
                    }
                }
                out.push(path);
            }
        }
    }
    out
}

fn parent(module: &[String]) -> Vec<String> {
    module[..module.len().saturating_sub(1)].to_vec()
}

/// The names of `module`'s own files (a folder module's children).
fn children(known: &BTreeSet<Vec<String>>, module: &[String]) -> Vec<String> {
    known
        .iter()
        .filter(|k| k.len() == module.len() + 1 && k.starts_with(module))
        .filter_map(|k| k.last().cloned())
        .collect()
}

/// The longest known module that `path` starts with.
fn owner(known: &BTreeSet<Vec<String>>, path: &[String]) -> Vec<String> {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| known.contains(p))
        .unwrap_or_default()
}

/// Module-to-module edges at `depth` (1: top-level modules; 2: files inside a folder).
fn graph(depth: usize) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let mods = modules();
    let known: BTreeSet<Vec<String>> = mods.iter().map(|(m, _)| m.clone()).collect();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (module, path) in &mods {
        if is_test_file(path) || module.is_empty() {
            continue;
        }
        let children = children(&known, module);
        let from: Vec<String> = module.iter().take(depth).cloned().collect();
        for r in references(module, &children, &code(path)) {
            let to: Vec<String> = owner(&known, &r).into_iter().take(depth).collect();
            // At depth 2, a folder module (its mod.rs or X.rs) and its files form one group.
            let same_group = depth == 1 || (!to.is_empty() && to[0] == from[0]);
            if to.is_empty() || to == from || !same_group {
                continue;
            }
            edges.entry(from.clone()).or_default().insert(to);
        }
    }
    edges
}

fn find_cycle(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<String>> {
    fn visit(
        node: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        stack: &mut Vec<Vec<String>>,
        done: &mut BTreeSet<Vec<String>>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle: Vec<String> = stack[at..].iter().map(|n| n.join("::")).collect();
            cycle.push(node.join("::"));
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, edges, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|n| visit(n, edges, &mut Vec::new(), &mut done))
}

/// The decisions and pure readers: functions over plain data, tested without AWS. A module
/// claims it with a first doc line starting `//! PURE`, and the claim is checked: the list is
/// built from the modules' own docs, not kept by hand.
fn pure_modules() -> Vec<String> {
    modules()
        .into_iter()
        .filter(|(_, path)| {
            std::fs::read_to_string(path)
                .unwrap()
                .lines()
                .next()
                .is_some_and(|l| l.starts_with("//! PURE"))
        })
        .map(|(m, _)| m.join("::"))
        .collect()
}

/// The modules every pure-module check must find (so the doc-line convention cannot be
/// dropped without the test noticing).
const PURE_AT_LEAST: &[&str] = &[
    "select",
    "select::eligible",
    "step",
    "rollout",
    "events",
    "emf",
    "window",
    "discovery",
    "notices",
    "verify::edge",
];

/// What a file that touches the network, the disk, processes or tokio names. A file that
/// names none of these is data or pure logic.
const IO_MARKERS: &[&str] = &[
    "std::fs",
    "TcpStream",
    "TcpListener",
    "UdpSocket",
    "std::process",
    "tokio::",
    "aws_sdk_",
    "aws_config",
    "hyper",
    "rustls",
    ".await",
];

/// Files (module paths) whose code does I/O, and the marker found.
fn io_modules() -> BTreeMap<String, &'static str> {
    modules()
        .into_iter()
        .filter(|(_, p)| !is_test_file(p))
        .filter_map(|(m, p)| {
            let text = code(&p);
            let marker = IO_MARKERS.iter().find(|k| text.contains(**k))?;
            Some((m.join("::"), *marker))
        })
        .collect()
}

/// File-to-file edges: each file and the files (module paths) it names.
fn file_graph() -> BTreeMap<String, BTreeSet<String>> {
    let mods = modules();
    let known: BTreeSet<Vec<String>> = mods.iter().map(|(m, _)| m.clone()).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, path) in &mods {
        if is_test_file(path) || module.is_empty() {
            continue;
        }
        let children = children(&known, module);
        for r in references(module, &children, &code(path)) {
            let to = owner(&known, &r);
            if !to.is_empty() && &to != module {
                edges
                    .entry(module.join("::"))
                    .or_default()
                    .insert(to.join("::"));
            }
        }
    }
    edges
}

/// For each pure module, the first I/O file it reaches, with the path that gets there.
fn pure_violations(
    edges: &BTreeMap<String, BTreeSet<String>>,
    io: &BTreeMap<String, &'static str>,
    pure: &[&str],
) -> Vec<String> {
    let mut found = Vec::new();
    for start in pure {
        let mut seen = BTreeSet::new();
        let mut queue = vec![vec![start.to_string()]];
        while let Some(path) = queue.pop() {
            let node = path.last().cloned().unwrap_or_default();
            if !seen.insert(node.clone()) {
                continue;
            }
            if let Some(marker) = io.get(&node) {
                found.push(format!("{} (`{marker}` in {node})", path.join(" -> ")));
                break;
            }
            for next in edges.get(&node).into_iter().flatten() {
                let mut longer = path.clone();
                longer.push(next.clone());
                queue.push(longer);
            }
        }
    }
    found
}

#[test]
fn the_pure_core_reaches_no_io_even_transitively() {
    let edges = file_graph();
    let io = io_modules();
    assert!(
        io.contains_key("aws::acm") && io.contains_key("state::file"),
        "{io:?}"
    );
    let pure = pure_modules();
    for m in PURE_AT_LEAST {
        assert!(
            pure.iter().any(|p| p == m),
            "{m} no longer says `//! PURE` on its first line: {pure:?}"
        );
    }
    let pure: Vec<&str> = pure.iter().map(String::as_str).collect();
    let bad = pure_violations(&edges, &io, &pure);
    assert!(
        bad.is_empty(),
        "a pure module reaches I/O:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_pure_rule_fails_on_a_planted_violation() {
    let mut edges = file_graph();
    let io = io_modules();
    // step -> rollout -> (planted) state: state/mod.rs holds the stores.
    edges
        .entry("rollout".to_string())
        .or_default()
        .insert("state".to_string());
    let bad = pure_violations(&edges, &io, &["step"]);
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].starts_with("step -> rollout -> state"), "{bad:?}");
}

#[test]
fn top_level_modules_import_in_one_direction() {
    let edges = graph(1);
    assert!(edges.len() > 10, "the scan found too little: {edges:?}");
    if let Some(cycle) = find_cycle(&edges) {
        panic!("import cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn files_inside_a_module_folder_import_in_one_direction() {
    let edges = graph(2);
    if let Some(cycle) = find_cycle(&edges) {
        panic!("import cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let v = |s: &str| vec![s.to_string()];
    let mut edges = BTreeMap::new();
    edges.insert(v("a"), BTreeSet::from([v("b")]));
    edges.insert(v("b"), BTreeSet::from([v("c")]));
    edges.insert(v("c"), BTreeSet::from([v("a")]));
    assert_eq!(find_cycle(&edges).unwrap(), ["a", "b", "c", "a"]);
    edges.insert(v("c"), BTreeSet::new());
    assert_eq!(find_cycle(&edges), None);
}

#[test]
fn no_source_file_outside_tests_holds_two_jobs() {
    let long: Vec<String> = modules()
        .into_iter()
        .filter(|(_, p)| !is_test_file(p))
        .filter_map(|(_, p)| {
            let n = code(&p).lines().count();
            (n > MAX_LINES).then(|| format!("{} ({n} lines)", p.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these along their jobs: {long:?}");
}

/// Each function outside tests, with its length: from its `fn` line to the `}` at the same
/// indent.
fn function_lengths(text: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let body = line.trim_start();
        let indent = &line[..line.len() - body.len()];
        let body = body.strip_prefix("pub ").unwrap_or(body);
        let body = body
            .strip_prefix("pub(super) ")
            .or_else(|| body.strip_prefix("pub(crate) "))
            .unwrap_or(body);
        let body = body.strip_prefix("async ").unwrap_or(body);
        let Some(rest) = body.strip_prefix("fn ") else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let close = format!("{indent}}}");
        if let Some(end) = lines[i + 1..].iter().position(|l| *l == close) {
            out.push((name, end + 2));
        }
    }
    out
}

#[test]
fn no_function_outside_tests_is_longer_than_the_limit() {
    let long: Vec<String> = modules()
        .into_iter()
        .filter(|(_, p)| !is_test_file(p))
        .flat_map(|(_, p)| {
            function_lengths(&code(&p))
                .into_iter()
                .filter(|(_, n)| *n > MAX_FUNCTION_LINES)
                .map(move |(name, n)| format!("{}: {name} ({n} lines)", p.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these into steps: {long:?}");
}

#[test]
fn the_function_length_reader_measures_from_fn_to_its_brace() {
    let text = "pub async fn a() {\n    x();\n}\n\nimpl T {\n    fn b(&self) {\n        y();\n        z();\n    }\n}\n";
    assert_eq!(
        function_lengths(text),
        [("a".to_string(), 3), ("b".to_string(), 4)]
    );
}

#[test]
fn the_crate_map_in_lib_rs_names_every_module() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let map: String = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .collect::<Vec<_>>()
        .join("\n");
    let missing: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod ")?.strip_suffix(';'))
        .filter(|m| !map.contains(&format!("[`{m}`]")))
        .collect();
    assert!(
        missing.is_empty(),
        "modules missing from the map in src/lib.rs: {missing:?}"
    );
}

/// Where a file calls `StateStore::update` or `update_in_batches` (`file:line`), unless it is
/// the one module that writes state (`src/record.rs`) or the store itself (`src/state/`).
fn state_writes_outside_record(path: &Path, text: &str) -> Vec<String> {
    let rel = path.strip_prefix(src()).unwrap_or(path);
    if rel == Path::new("record.rs") || rel.starts_with("state") {
        return Vec::new();
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(".update(") || l.contains(".update_in_batches("))
        .map(|(i, _)| format!("{}:{}", path.display(), i + 1))
        .collect()
}

#[test]
fn every_state_write_is_in_the_record_module() {
    let outside: Vec<String> = modules()
        .into_iter()
        .filter(|(_, p)| !is_test_file(p))
        .flat_map(|(_, p)| state_writes_outside_record(&p, &code(&p)))
        .collect();
    assert!(
        outside.is_empty(),
        "state is written only through src/record.rs (one function per protocol step); move these there: {outside:?}"
    );
}

#[test]
fn the_state_write_rule_fails_on_a_planted_write() {
    let planted = "async fn f(ctx: &Context) {\n    ctx.state\n        .update(|s| s.rollouts.clear())\n        .await;\n}\n";
    let found = state_writes_outside_record(&src().join("reconcile.rs"), planted);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].ends_with("reconcile.rs:3"), "{found:?}");
    assert!(state_writes_outside_record(&src().join("record.rs"), planted).is_empty());
}

/// Where a file has an error that is a bare string: a `Result<_, String>`, or an `#[error]`
/// variant whose payload is a `String` (`file:line`).
fn string_errors(path: &Path, text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let compact: String = line.split_whitespace().collect();
        let result_of_string = compact
            .split("Result<")
            .skip(1)
            .any(|rest| error_argument(rest) == "String");
        let string_variant = compact.ends_with("(String),")
            && i > 0
            && lines[i - 1].trim_start().starts_with("#[error(");
        if result_of_string || string_variant {
            found.push(format!("{}:{}", path.display(), i + 1));
        }
    }
    found
}

/// The last top-level argument of the generic list `rest` opens (`A, B>…` → `B`).
fn error_argument(rest: &str) -> &str {
    let (mut depth, mut start) = (0, 0);
    for (i, c) in rest.char_indices() {
        match c {
            '<' | '(' => depth += 1,
            ')' => depth -= 1,
            '>' if depth == 0 => return &rest[start..i],
            '>' => depth -= 1,
            ',' if depth == 0 => start = i + 1,
            _ => {}
        }
    }
    ""
}

#[test]
fn no_error_is_a_bare_string() {
    let found: Vec<String> = modules()
        .into_iter()
        .filter(|(_, p)| !is_test_file(p))
        .flat_map(|(_, p)| string_errors(&p, &code(&p)))
        .collect();
    assert!(
        found.is_empty(),
        "an error is a typed enum of plain data (its cause a source()), not a String: {found:?}"
    );
}

#[test]
fn the_string_error_rule_fails_on_planted_ones() {
    let planted = "pub enum E {\n    #[error(\"{0}\")]\n    Setup(String),\n}\nfn f() -> Result<(), String> {}\nfn g() -> Result<BTreeMap<String, String>, E> {}\n";
    let found = string_errors(Path::new("x.rs"), planted);
    assert_eq!(found, ["x.rs:3", "x.rs:5"]);
}
