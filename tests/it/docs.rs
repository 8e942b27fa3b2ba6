//! The docs stay true: every configuration key in the reference exists in the config types and
//! every key of the types is in the reference; every relative link resolves (file and heading);
//! every error message of the boundary errors is in the troubleshooting page. (Every exported
//! metric is in the metrics table: tests/it/alerts.rs checks it against a real /metrics.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap()
}

/// Every key path the configuration types accept (`verify.window`, `domains[].domain`), read
/// from the serde structs of src/config/raw.rs.
fn keys_in_code() -> BTreeSet<String> {
    let raw = read("src/config/raw.rs");
    // struct name -> its fields (name, type)
    let mut structs: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in raw.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("pub(super) struct ") {
            let name = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            structs.push((name, Vec::new()));
        } else if let Some(rest) = line.strip_prefix("pub(super) ") {
            if let (Some((field, ty)), Some(last)) = (rest.split_once(": "), structs.last_mut()) {
                last.1
                    .push((field.to_string(), ty.trim_end_matches(',').to_string()));
            }
        }
    }
    let fields = |name: &str| {
        structs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, f)| f.clone())
            .unwrap_or_else(|| panic!("struct {name} in raw.rs"))
    };
    let mut keys = BTreeSet::new();
    let mut todo = vec![(String::new(), "RawConfig".to_string())];
    while let Some((prefix, name)) = todo.pop() {
        for (field, ty) in fields(&name) {
            let nested = structs
                .iter()
                .map(|(n, _)| n.as_str())
                .find(|n| ty.contains(&format!("<{n}>")) || ty == *n);
            let path = if ty.starts_with("Vec<Raw") {
                format!("{prefix}{field}[]")
            } else {
                format!("{prefix}{field}")
            };
            match nested {
                Some(n) => todo.push((format!("{path}."), n.to_string())),
                None => {
                    keys.insert(path);
                }
            }
        }
    }
    keys
}

/// The keys the reference lists: the first column of the table under "## Every key".
fn keys_in_reference() -> BTreeSet<String> {
    let doc = read("docs/configuration.md");
    let table = doc
        .split("## Every key")
        .nth(1)
        .expect("docs/configuration.md has an \"Every key\" section");
    table
        .lines()
        .take_while(|l| !l.starts_with("## "))
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(k, _)| k.to_string()))
        .collect()
}

#[test]
fn the_configuration_reference_lists_exactly_the_keys_the_code_accepts() {
    let code = keys_in_code();
    assert!(
        code.contains("verify.window") && code.contains("domains[].user_pool_id"),
        "{code:?}"
    );
    let doc = keys_in_reference();
    let undocumented: Vec<_> = code.difference(&doc).collect();
    let unknown: Vec<_> = doc.difference(&code).collect();
    assert!(
        undocumented.is_empty(),
        "keys missing from docs/configuration.md: {undocumented:?}"
    );
    assert!(
        unknown.is_empty(),
        "docs/configuration.md lists keys the code does not accept: {unknown:?}"
    );
}

/// GitHub's anchor for a heading.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut fenced = false;
    markdown
        .lines()
        .filter(|l| {
            if l.starts_with("```") {
                fenced = !fenced;
            }
            !fenced && l.starts_with('#')
        })
        .map(|l| slug(l.trim_start_matches('#')))
        .collect()
}

/// Relative links `[text](target)` of a markdown file that do not resolve.
fn broken_links(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let dir = file.parent().unwrap();
    let mut broken = Vec::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("](") {
        rest = &rest[i + 2..];
        let Some(end) = rest.find(')') else { break };
        let target = &rest[..end];
        if target.starts_with("http") || target.starts_with("mailto:") || target.contains(' ') {
            continue;
        }
        let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
        let resolved = if path.is_empty() {
            file.to_path_buf()
        } else {
            dir.join(path)
        };
        if !resolved.exists() {
            broken.push(format!("{}: {target} (no such file)", file.display()));
            continue;
        }
        if !anchor.is_empty() {
            let headings = anchors(&std::fs::read_to_string(&resolved).unwrap_or_default());
            if !headings.contains(anchor) {
                broken.push(format!("{}: {target} (no such heading)", file.display()));
            }
        }
    }
    broken
}

#[test]
fn every_relative_link_in_the_docs_resolves() {
    let mut files = vec![
        repo().join("README.md"),
        repo().join("iam/README.md"),
        repo().join("deploy/events/README.md"),
        repo().join("deploy/grafana/README.md"),
    ];
    for entry in std::fs::read_dir(repo().join("docs")).unwrap() {
        files.push(entry.unwrap().path());
    }
    let broken: Vec<String> = files
        .iter()
        .filter(|f| f.exists())
        .flat_map(|f| broken_links(f))
        .collect();
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_link_checker_finds_a_broken_file_and_a_broken_heading() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("a.md");
    std::fs::write(
        &page,
        "# Top\n\n[ok](#top) [gone](missing.md) [bad](#nowhere)\n",
    )
    .unwrap();
    let broken = broken_links(&page);
    assert_eq!(broken.len(), 2, "{broken:?}");
}

/// The literal text of each `#[error("…")]` message in `file`, split at its placeholders.
fn error_texts(file: &str) -> Vec<String> {
    let text = read(file);
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("#[error(") {
        rest = &rest[i + 8..];
        let Some(start) = rest.find('"') else { break };
        if rest[..start].contains(')') {
            continue; // #[error(transparent)]
        }
        let body = &rest[start + 1..];
        // The closing quote: the first one not escaped.
        let end = body
            .char_indices()
            .find(|&(i, c)| c == '"' && !body[..i].ends_with('\\'))
            .map_or(0, |(i, _)| i);
        let message = &body[..end];
        // The literal pieces between `{…}` placeholders.
        let mut piece = String::new();
        let mut depth = 0;
        for c in message.chars() {
            match c {
                '{' => {
                    depth += 1;
                    out.push(std::mem::take(&mut piece));
                }
                '}' => depth -= 1,
                _ if depth == 0 => piece.push(c),
                _ => {}
            }
        }
        out.push(piece);
    }
    out.into_iter()
        .map(|p| {
            p.trim_matches(|c: char| c == ':' || c == ' ' || c == ';' || c == '(' || c == ')')
                .to_string()
        })
        .filter(|p| p.len() >= 12)
        .collect()
}

#[test]
fn every_boundary_error_message_is_in_the_troubleshooting_page() {
    let page = read("docs/troubleshooting.md");
    let mut missing = Vec::new();
    for file in [
        "src/config/model.rs",
        "src/context.rs",
        "src/state/error.rs",
        "src/aws/error.rs",
        "src/lease/hold.rs",
        "src/daemon/error.rs",
        "src/verify/probe.rs",
        "src/error.rs",
    ] {
        for text in error_texts(file) {
            if !page.contains(&text) {
                missing.push(format!("{file}: {text:?}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not in docs/troubleshooting.md:\n{}",
        missing.join("\n")
    );
}
