//! The layer rule of docs/ARCHITECTURE.md, checked on the source: modules
//! import only from layers below their own (or from their own), and no two
//! files of one module import each other, directly or in a ring.
//!
//! Only code counts: `crate::…` and `super::…` paths outside comments and
//! outside `#[cfg(test)]` modules. Doc links may point anywhere.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The layers, bottom first. A module may use its own layer and those below.
const LAYERS: &[&[&str]] = &[
    &["secret", "erased", "error", "fetch"],
    // Signing and verification: keys, JWKS, JWS, JWT claims.
    &["jose"],
    &["token"],
    &["protocol"],
    &["client"],
    &["store"],
    // OpenID Connect: claims, subject identifiers, ID tokens; used by the
    // grants and endpoints above.
    &["oidc"],
    &["grant"],
    // The server object lives with its endpoints, which extend it with their
    // methods; the builder sits above them, configuring the endpoints
    // through their settings types and building the server object.
    &["endpoint"],
    &["server"],
    &["resource"],
    // Framework glue over the resource server's side, behind features.
    &["tower"],
    // Framework glue over the public, `http`-typed API.
    &["axum"],
    &["testing"],
];

/// What the crate root re-exports, as the top-level module it comes from.
const ROOT_ITEMS: &[(&str, &str)] = &[
    ("AuthorizationServer", "endpoint"),
    ("ServerBuilder", "server"),
    ("BuildError", "endpoint"),
    ("RegisterClientError", "endpoint"),
    ("DEFAULT_MAX_BODY", "endpoint"),
    ("MemoryStore", "store"),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("src/ is readable")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's code: comments dropped, and `#[cfg(test)]` items cut (they run
/// only in the crate's own tests).
fn code_of(source: &str) -> String {
    let mut code = String::new();
    let mut skip_depth: Option<i32> = None;
    let mut depth = 0i32;
    let mut pending_cfg_test = false;
    for line in source.lines() {
        let line = match line.find("//") {
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        };
        let trimmed = line.trim();
        if trimmed.starts_with("#[cfg(test)]") {
            pending_cfg_test = true;
            continue;
        }
        let opens = line.matches('{').count() as i32;
        let closes = line.matches('}').count() as i32;
        if pending_cfg_test && !trimmed.is_empty() {
            pending_cfg_test = false;
            if opens > closes {
                skip_depth = Some(depth);
            } else {
                // A one-line item (`mod tests;`, a `use`): skip just it.
                depth += opens - closes;
                continue;
            }
        }
        depth += opens - closes;
        match skip_depth {
            Some(d) if depth > d => continue,
            Some(_) => {
                skip_depth = None;
                continue;
            }
            None => {}
        }
        code.push_str(line);
        code.push('\n');
    }
    code
}

/// `(top-level module, path inside it)` of a file under `src/`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src/");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The paths a file's code names: each `crate::a::b` as `[a, b]` and each
/// `super::a` resolved against the file's own module path, including the
/// members of a `use …::{a, b::c}` group.
fn named_paths(code: &str, own: &[String]) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    for anchor in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(at) = code[from..].find(anchor) {
            let start = from + at;
            from = start + anchor.len();
            if start > 0 {
                let before = bytes[start - 1];
                if before.is_ascii_alphanumeric() || before == b'_' {
                    continue;
                }
            }
            let base: Vec<String> = if anchor == "crate::" {
                Vec::new()
            } else {
                // `super` is the parent of the file's module: for
                // `a/b.rs` and for `a/b/mod.rs` alike, `a`.
                let mut base = own.to_vec();
                base.pop();
                base
            };
            for tail in expand(&code[from..]) {
                let mut path = base.clone();
                path.extend(tail);
                found.push(path);
            }
        }
    }
    found
}

/// The paths after an anchor: `a::b::C` → `[a, b, C]`; `{a, b::c}` →
/// `[a]`, `[b, c]` (one level of grouping, as our `use` lines have).
fn expand(rest: &str) -> Vec<Vec<String>> {
    let ident = |s: &str| -> Vec<String> {
        s.split("::")
            .map(|p| {
                p.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect::<String>()
            })
            .take_while(|p| !p.is_empty())
            .collect()
    };
    let head: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
        .collect();
    let after = &rest[head.len()..];
    let prefix = ident(&head);
    if head.ends_with("::") && after.starts_with('{') {
        let Some(close) = after.find('}') else {
            return vec![prefix];
        };
        let mut out = Vec::new();
        for member in after[1..close].split(',') {
            let member = member.trim();
            if member.is_empty() || member == "self" {
                continue;
            }
            let mut path = prefix.clone();
            path.extend(ident(member.trim_start_matches('{')));
            out.push(path);
        }
        return out;
    }
    if prefix.is_empty() {
        return Vec::new();
    }
    vec![prefix]
}

struct Crate {
    /// Every file's module path, and its code.
    files: Vec<(Vec<String>, String)>,
}

fn load() -> Crate {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    let files = paths
        .iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "tests.rs"))
        .map(|p| {
            let source = fs::read_to_string(p).expect("a source file");
            (module_path(&src, p), code_of(&source))
        })
        .collect();
    Crate { files }
}

#[test]
fn lower_layers_never_import_upper_ones() {
    let krate = load();
    let mut violations = BTreeSet::new();
    for (own, code) in &krate.files {
        let Some(own_top) = own.first() else { continue };
        if own_top == "lib" {
            continue;
        }
        let own_layer = layer_of(own_top)
            .unwrap_or_else(|| panic!("module `{own_top}` has no layer in this test"));
        for path in named_paths(code, own) {
            let Some(first) = path.first() else { continue };
            let target = ROOT_ITEMS
                .iter()
                .find(|(item, _)| item == first)
                .map_or(first.as_str(), |(_, module)| module);
            let Some(target_layer) = layer_of(target) else {
                continue;
            };
            if target_layer > own_layer {
                violations.insert(format!(
                    "{} uses crate::{}",
                    own.join("::"),
                    path.join("::")
                ));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "upward imports (layers, bottom first: {LAYERS:?}):\n  {}",
        violations.into_iter().collect::<Vec<_>>().join("\n  ")
    );
}

#[test]
fn no_import_cycles_between_files_of_a_module() {
    let krate = load();
    let known: BTreeSet<Vec<String>> = krate.files.iter().map(|(p, _)| p.clone()).collect();
    // Edges between sibling files (and directories) of one module; a file's
    // use of its parent `mod.rs` or of its own children is not a sibling
    // edge.
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (own, code) in &krate.files {
        for path in named_paths(code, own) {
            // The longest known module the path names.
            let Some(target) = (1..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| known.contains(p))
            else {
                continue;
            };
            if target == *own
                || target.len() != own.len()
                || target[..target.len() - 1] != own[..own.len() - 1]
            {
                continue;
            }
            edges.entry(own.clone()).or_default().insert(target);
        }
    }
    let mut cycles = BTreeSet::new();
    for start in edges.keys() {
        // Depth-first search for a way back to `start`.
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((node, trail)) = stack.pop() {
            for next in edges.get(&node).into_iter().flatten() {
                if next == start {
                    let ring: Vec<String> = trail.iter().map(|p| p.join("::")).collect();
                    let mut key = ring.clone();
                    key.sort();
                    cycles.insert((key, ring.join(" -> ")));
                } else if seen.insert(next.clone()) {
                    let mut trail = trail.clone();
                    trail.push(next.clone());
                    stack.push((next.clone(), trail));
                }
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "import cycles between files:\n  {}",
        cycles
            .into_iter()
            .map(|(_, ring)| ring)
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}

#[test]
fn the_checker_sees_what_it_checks() {
    // A test that cannot fail is a defect: make sure the parser finds the
    // paths it must, and skips what it must.
    let code = code_of(
        "use crate::store::{GrantStore, sql::rows};\n\
         // use crate::server::Nothing;\n\
         fn f() { super::sibling::g(); }\n\
         #[cfg(test)]\nmod tests {\n    use crate::testing::x;\n}\n",
    );
    let own = vec!["client".to_owned(), "file".to_owned()];
    let paths = named_paths(&code, &own);
    assert!(paths.contains(&vec!["store".to_owned(), "GrantStore".to_owned()]));
    assert!(paths.contains(&vec![
        "store".to_owned(),
        "sql".to_owned(),
        "rows".to_owned()
    ]));
    assert!(paths.contains(&vec![
        "client".to_owned(),
        "sibling".to_owned(),
        "g".to_owned()
    ]));
    assert!(
        !paths
            .iter()
            .any(|p| p.first().is_some_and(|m| m == "server" || m == "testing"))
    );
}
