//! docs/THREAT_MODEL.md names only what exists: every test, conformance
//! case, fuzz target, mutation result and repository path it cites, every
//! row and known limit it refers to, and a backing entry for every row.
//!
//! The reference formats are stated at the top of the document:
//!
//! - `tests/FILE.rs::name` and `src/PATH.rs::module::name`: a function at
//!   that module path (inline `mod x { … }` or a `mod x;` file) that carries
//!   a test attribute (`#[test]`, `#[tokio::test(…)]`) and no `#[ignore]`,
//!   or that a module-level macro invocation of the same module lists (the
//!   scenarios `on_every_backend!(…)` turns into one test per backend).
//! - `testing::cases::name`: a public function in `src/testing/cases/` that
//!   the runners in `src/testing/mod.rs` name.
//! - `fuzz:name`: `fuzz/fuzz_targets/name.rs`, a `[[bin]]` of
//!   `fuzz/Cargo.toml` — checked when `fuzz/` exists.
//! - `mutants:path`: `path` is listed in `docs/MUTATION.md` — checked when
//!   that document exists.
//! - Any other backticked `src/…`, `tests/…`, `examples/…`, `benches/…`,
//!   `docs/…`, `fuzz/…` path: the file or directory exists.
//! - Rows are referred to as `Known limits N` (a numbered item of that
//!   section), `the RFC NNNN §X row` (a row whose § cell cites it), or, inside
//!   a table, by a bare `§4.…` (an RFC 6819 row, or a group of them).
//! - Every row's last cell (Test) holds at least one reference, or starts
//!   with "—" followed by the reason nothing applies; a `controlled` row needs
//!   a reference.
//!
//! The source of Rust files is read with a small lexer (comments, strings,
//! char literals and lifetimes skipped), enough to find `mod`, `fn`,
//! attributes and macro invocations, and which module each sits in.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::rc::Rc;

#[path = "threat_model/checker_tests.rs"]
mod checker_tests;
#[path = "threat_model/rust_items.rs"]
mod rust_items;

use rust_items::*;

const DOC: &str = "docs/THREAT_MODEL.md";

/// The numbered threats of RFC 6819 §4.1–§4.6, and §4.4.4, which has none
/// and gets one row: the document claims exactly one row for each.
const RFC_6819_THREATS: &[&str] = &[
    "4.1.1", "4.1.2", "4.1.3", "4.1.4", "4.1.5", "4.2.1", "4.2.2", "4.2.3", "4.2.4", "4.3.1",
    "4.3.2", "4.3.3", "4.3.4", "4.3.5", "4.4.1.1", "4.4.1.2", "4.4.1.3", "4.4.1.4", "4.4.1.5",
    "4.4.1.6", "4.4.1.7", "4.4.1.8", "4.4.1.9", "4.4.1.10", "4.4.1.11", "4.4.1.12", "4.4.1.13",
    "4.4.2.1", "4.4.2.2", "4.4.2.3", "4.4.2.4", "4.4.2.5", "4.4.2.6", "4.4.3.1", "4.4.3.2",
    "4.4.3.3", "4.4.3.4", "4.4.3.5", "4.4.3.6", "4.4.4", "4.5.1", "4.5.2", "4.5.3", "4.5.4",
    "4.6.1", "4.6.2", "4.6.3", "4.6.4", "4.6.5", "4.6.6", "4.6.7",
];

/// Prefixes of backticked spans that name a file or directory of the
/// repository.
const PATH_PREFIXES: &[&str] = &["src/", "tests/", "examples/", "benches/", "docs/", "fuzz/"];

// ---------------------------------------------------------------------------
// The repository, on disk or in memory.

/// What the checker reads: files by path relative to the repository root.
trait Repo {
    fn read(&self, path: &str) -> Option<String>;
    fn exists(&self, path: &str) -> bool;
    /// The `.rs` files directly in `dir`, as repository paths.
    fn rust_files_in(&self, dir: &str) -> Vec<String>;
}

struct Disk(PathBuf);

impl Repo for Disk {
    fn read(&self, path: &str) -> Option<String> {
        fs::read_to_string(self.0.join(path)).ok()
    }

    fn exists(&self, path: &str) -> bool {
        self.0.join(path).exists()
    }

    fn rust_files_in(&self, dir: &str) -> Vec<String> {
        let Ok(entries) = fs::read_dir(self.0.join(dir)) else {
            return Vec::new();
        };
        let mut files: Vec<String> = entries
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| name.ends_with(".rs"))
            .map(|name| format!("{}/{name}", dir.trim_end_matches('/')))
            .collect();
        files.sort();
        files
    }
}

// ---------------------------------------------------------------------------
// The document.

/// One row of a threat table.
#[derive(Debug)]
struct Row {
    line: usize,
    /// The § cell, as written.
    id: String,
    status: String,
    cells: Vec<String>,
    /// What the § cell cites: (RFC number, section).
    cites: Vec<(String, String)>,
}

impl Row {
    fn backing(&self) -> &str {
        self.cells.last().map(String::as_str).unwrap_or("")
    }
}

/// Splits a table line into its cells; a `|` inside backticks or escaped as
/// `\|` does not split.
fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|');
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut cells = vec![String::new()];
    let mut in_code = false;
    let mut escaped = false;
    for c in inner.chars() {
        let current = cells.last_mut().unwrap();
        match c {
            _ if escaped => {
                current.push(c);
                escaped = false;
            }
            '\\' => {
                current.push(c);
                escaped = true;
            }
            '`' => {
                in_code = !in_code;
                current.push(c);
            }
            '|' if !in_code => cells.push(String::new()),
            _ => current.push(c),
        }
    }
    cells.iter().map(|cell| cell.trim().to_owned()).collect()
}

/// The backticked spans of `text`.
fn code_spans(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

fn is_section_char(c: char) -> bool {
    c.is_ascii_digit() || c == '.'
}

/// The section numbers cited in `text`, each with the RFC it belongs to:
/// `RFC 9700 §2.1 and §4.7.1` gives ("9700", "2.1"), ("9700", "4.7.1"); a
/// § that follows no RFC citation gets `None`.
fn citations(text: &str) -> Vec<(Option<String>, String)> {
    let mut found = Vec::new();
    let mut rfc: Option<String> = None;
    // Where the last citation ended, so that what lies between it and the
    // next § tells whether that one continues the list.
    let mut last_end = 0;
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        if let Some(after) = rest.strip_prefix("RFC ") {
            let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
            if !digits.is_empty() {
                rfc = Some(digits.clone());
                i += 4 + digits.len();
                last_end = i;
                continue;
            }
        }
        if let Some(after) = rest.strip_prefix('§') {
            let section: String = after.chars().take_while(|&c| is_section_char(c)).collect();
            let section = section.trim_end_matches('.').to_owned();
            let between = &text[last_end..i];
            let continues = between.trim().is_empty()
                || matches!(
                    between.trim(),
                    "," | "and" | "or" | "–" | "-" | ";" | ", and" | ", or"
                );
            if !continues {
                rfc = None;
            }
            i += '§'.len_utf8() + section.len();
            last_end = i;
            if !section.is_empty() {
                found.push((rfc.clone(), section));
            }
            continue;
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    found
}

#[derive(Debug, Default)]
struct Doc {
    rows: Vec<Row>,
    /// The numbers of the items of the Known limits section.
    limits: Vec<u32>,
    errors: Vec<String>,
}

fn parse(text: &str) -> Doc {
    let mut doc = Doc::default();
    let mut header: Option<Vec<String>> = None;
    let mut in_limits = false;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if let Some(heading) = line.strip_prefix("## ") {
            in_limits = heading.trim() == "Known limits";
        }
        if in_limits {
            let digits: String = line.chars().take_while(char::is_ascii_digit).collect();
            if !digits.is_empty() && line[digits.len()..].starts_with(". ") {
                doc.limits.push(digits.parse().unwrap());
            }
        }
        if !line.starts_with('|') {
            header = None;
            continue;
        }
        let row = cells(line);
        let Some(columns) = &header else {
            header = Some(row);
            continue;
        };
        if row
            .iter()
            .all(|cell| cell.chars().all(|c| matches!(c, '-' | ':')))
        {
            continue;
        }
        if row.len() != columns.len() {
            doc.errors.push(format!(
                "{DOC}:{number}: the row has {} cells, its table {}",
                row.len(),
                columns.len()
            ));
            continue;
        }
        let column = |name: &str| columns.iter().position(|c| c == name);
        let id = row[0].clone();
        // An RFC 6819 row's § cell is the bare section number.
        let cites = if !id.is_empty() && id.chars().all(is_section_char) {
            vec![("6819".to_owned(), id.clone())]
        } else {
            citations(&id)
                .into_iter()
                .map(|(rfc, section)| (rfc.unwrap_or_else(|| "6819".to_owned()), section))
                .collect()
        };
        doc.rows.push(Row {
            line: number,
            status: column("Status").map(|c| row[c].clone()).unwrap_or_default(),
            id,
            cites,
            cells: row,
        });
    }
    doc
}

/// A reference to a test, case, fuzz target or mutation result.
#[derive(Debug, PartialEq)]
enum Reference<'a> {
    Test {
        file: &'a str,
        modules: Vec<&'a str>,
        name: &'a str,
    },
    Case(&'a str),
    Fuzz(&'a str),
    Mutants(&'a str),
    /// A repository path (no `::`).
    Path(&'a str),
}

fn reference(span: &str) -> Option<Reference<'_>> {
    // `tests/<file>.rs::<name>` describes the format; it names nothing.
    if span.contains('<') {
        return None;
    }
    if let Some(name) = span.strip_prefix("testing::cases::") {
        return Some(Reference::Case(name));
    }
    if let Some(name) = span.strip_prefix("fuzz:") {
        return Some(Reference::Fuzz(name));
    }
    if let Some(path) = span.strip_prefix("mutants:") {
        return Some(Reference::Mutants(path));
    }
    if span.contains(char::is_whitespace)
        || !PATH_PREFIXES.iter().any(|prefix| span.starts_with(prefix))
    {
        return None;
    }
    match span.split_once(".rs::") {
        Some((stem, path)) => {
            let mut segments: Vec<&str> = path.split("::").collect();
            let name = segments.pop()?;
            Some(Reference::Test {
                file: &span[..stem.len() + 3],
                modules: segments,
                name,
            })
        }
        None => Some(Reference::Path(span)),
    }
}

/// Whether `span` backs a row: a reference to something that runs.
fn is_backing(reference: &Reference<'_>) -> bool {
    !matches!(reference, Reference::Path(_))
}

fn check_reference(sources: &Sources<'_>, reference: &Reference<'_>) -> Result<(), String> {
    let repo = sources.repo;
    match reference {
        Reference::Test {
            file,
            modules,
            name,
        } => {
            let modules: Vec<String> = modules.iter().map(|m| (*m).to_owned()).collect();
            find_test(sources, file, &modules, name)
        }
        Reference::Case(name) => {
            let defined = repo
                .rust_files_in("src/testing/cases")
                .iter()
                .filter_map(|file| sources.items(file))
                .any(|items| {
                    items
                        .fns
                        .iter()
                        .any(|f| f.module.is_empty() && f.name == *name)
                });
            if !defined {
                return Err(format!("no case `fn {name}` in src/testing/cases/"));
            }
            let runners = sources.items("src/testing/mod.rs");
            if runners.is_some_and(|runners| runners.idents.contains(*name)) {
                Ok(())
            } else {
                Err(format!(
                    "the case `{name}` is run by no runner in src/testing/mod.rs"
                ))
            }
        }
        Reference::Fuzz(name) => {
            if !repo.exists("fuzz") {
                return Ok(());
            }
            let target = format!("fuzz/fuzz_targets/{name}.rs");
            if !repo.exists(&target) {
                return Err(format!("no fuzz target {target}"));
            }
            let manifest = repo.read("fuzz/Cargo.toml").unwrap_or_default();
            if manifest.contains(&format!("name = \"{name}\"")) {
                Ok(())
            } else {
                Err(format!("fuzz/Cargo.toml has no [[bin]] `{name}`"))
            }
        }
        Reference::Mutants(path) => match repo.read("docs/MUTATION.md") {
            None => Ok(()),
            Some(results) if results.contains(*path) => Ok(()),
            Some(_) => Err(format!("docs/MUTATION.md lists no results for {path}")),
        },
        Reference::Path(path) => {
            if repo.exists(path) {
                Ok(())
            } else {
                Err(format!("{path} does not exist"))
            }
        }
    }
}

/// The numbers of `Known limits 1–4`, `Known limits 8, 11`, `Known limits
/// 6 and 16`.
fn limit_references(text: &str) -> Vec<u32> {
    let leading = |s: &str| -> usize { s.chars().take_while(char::is_ascii_digit).count() };
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("Known limits ") {
        rest = &rest[at + "Known limits ".len()..];
        let mut list = rest;
        loop {
            let digits = leading(list);
            let Ok(from) = list[..digits].parse::<u32>() else {
                break;
            };
            list = &list[digits..];
            let range_end = list
                .strip_prefix('–')
                .or_else(|| list.strip_prefix('-'))
                .filter(|after| leading(after) > 0);
            match range_end {
                Some(after) => {
                    let to: u32 = after[..leading(after)].parse().unwrap();
                    found.extend(from..=to);
                    list = &after[leading(after)..];
                }
                None => found.push(from),
            }
            match [", and ", ", ", " and "]
                .iter()
                .find_map(|separator| list.strip_prefix(separator))
            {
                Some(after) if leading(after) > 0 => list = after,
                _ => break,
            }
        }
    }
    found
}

/// `the RFC 9700 §4.2 row`, `the RFC 6819 §4.6.6 resource-server row`,
/// `the RFC 7591 rows`: (RFC, section if any).
fn row_references(text: &str) -> Vec<(String, Option<String>)> {
    let mut found = Vec::new();
    for (i, _) in text.match_indices("RFC ") {
        let after = &text[i + 4..];
        let rfc: String = after.chars().take_while(char::is_ascii_digit).collect();
        if rfc.is_empty() {
            continue;
        }
        let mut rest = &after[rfc.len()..];
        let mut section = None;
        if let Some(tail) = rest.strip_prefix(" §") {
            let digits: String = tail.chars().take_while(|&c| is_section_char(c)).collect();
            rest = &tail[digits.len()..];
            section = Some(digits.trim_end_matches('.').to_owned());
        }
        let words: Vec<&str> = rest.split_whitespace().take(2).collect();
        let row_word = |w: &str| {
            let w = w.trim_end_matches(['.', ',', ')', ';']);
            w == "row" || w == "rows"
        };
        let names_a_row = match words.as_slice() {
            [first, ..] if rest.starts_with(' ') && row_word(first) => true,
            [qualifier, second] if rest.starts_with(' ') && !qualifier.contains('§') => {
                qualifier.chars().all(|c| c.is_alphabetic() || c == '-') && row_word(second)
            }
            _ => false,
        };
        if names_a_row {
            found.push((rfc, section));
        }
    }
    found
}

/// Every problem with the document `text` in `repo`.
fn check(text: &str, repo: &dyn Repo) -> Vec<String> {
    let doc = parse(text);
    let mut errors = doc.errors.clone();
    let sources = Sources::new(repo);
    let line_of = |offset: usize| text[..offset].matches('\n').count() + 1;

    // Every reference in the document, wherever it is.
    let mut offset = 0;
    for (k, piece) in text.split('`').enumerate() {
        if k % 2 == 1 {
            if let Some(reference) = reference(piece) {
                if let Err(problem) = check_reference(&sources, &reference) {
                    errors.push(format!("{DOC}:{}: `{piece}`: {problem}", line_of(offset)));
                }
            }
        }
        offset += piece.len() + 1;
    }

    // Every row is backed, or says why nothing applies.
    for row in &doc.rows {
        let backing = row.backing();
        let references = code_spans(backing)
            .into_iter()
            .filter_map(reference)
            .filter(is_backing)
            .count();
        let reason = backing
            .strip_prefix('—')
            .map(|rest| rest.trim_matches(|c: char| !c.is_alphanumeric()));
        let place = format!("{DOC}:{}: row {}", row.line, row.id);
        match reason {
            _ if references > 0 => {}
            Some(reason) if !reason.is_empty() => {
                if row.status.starts_with("controlled") {
                    errors.push(format!(
                        "{place} is `controlled` but names no test, case or fuzz target"
                    ));
                }
            }
            Some(_) => errors.push(format!(
                "{place}: \"—\" without the reason nothing backs it"
            )),
            None => errors.push(format!(
                "{place} names no test, case, fuzz target or mutation result, and no \"—\" with a reason"
            )),
        }
    }

    // Known limits referred to exist, and are numbered 1, 2, 3, ….
    let expected: Vec<u32> = (1..=u32::try_from(doc.limits.len()).unwrap()).collect();
    if doc.limits != expected {
        errors.push(format!(
            "{DOC}: the Known limits are numbered {:?}, not 1 to {}",
            doc.limits,
            doc.limits.len()
        ));
    }
    for (number, line) in text.lines().enumerate() {
        for limit in limit_references(line) {
            if !doc.limits.contains(&limit) {
                errors.push(format!(
                    "{DOC}:{}: Known limits {limit} does not exist",
                    number + 1
                ));
            }
        }
        for (rfc, section) in row_references(line) {
            let exists = doc.rows.iter().any(|row| {
                row.cites
                    .iter()
                    .any(|(r, s)| *r == rfc && section.as_ref().is_none_or(|want| s == want))
            });
            if !exists {
                let cited = section.map_or(format!("RFC {rfc}"), |s| format!("RFC {rfc} §{s}"));
                errors.push(format!(
                    "{DOC}:{}: no row for {cited}, which the text refers to",
                    number + 1
                ));
            }
        }
    }

    // A bare `§4.…` in a table cell is one of RFC 6819's rows (or a group
    // of them, like §4.4.3).
    for row in &doc.rows {
        for cell in &row.cells[1..] {
            for (rfc, section) in citations(cell) {
                if rfc.is_some() || !section.starts_with("4.") {
                    continue;
                }
                let exists = doc.rows.iter().any(|other| {
                    other.cites.iter().any(|(r, s)| {
                        r == "6819" && (*s == section || s.starts_with(&format!("{section}.")))
                    })
                });
                if !exists {
                    errors.push(format!(
                        "{DOC}:{}: row {} refers to §{section}, which has no row",
                        row.line, row.id
                    ));
                }
            }
        }
    }
    errors
}

/// The document's claim: exactly one row per numbered RFC 6819 threat.
fn rfc_6819_coverage(text: &str) -> Vec<String> {
    let doc = parse(text);
    let mut rows: BTreeMap<&str, usize> = BTreeMap::new();
    for row in &doc.rows {
        let bare = !row.id.is_empty() && row.id.chars().all(is_section_char);
        if bare {
            *rows.entry(row.id.as_str()).or_default() += 1;
        }
    }
    let mut errors = Vec::new();
    for threat in RFC_6819_THREATS {
        match rows.get(threat) {
            Some(1) => {}
            Some(n) => errors.push(format!("{DOC}: RFC 6819 §{threat} has {n} rows")),
            None => errors.push(format!("{DOC}: RFC 6819 §{threat} has no row")),
        }
    }
    for id in rows.keys() {
        if !RFC_6819_THREATS.contains(id) {
            errors.push(format!("{DOC}: row {id} is no numbered RFC 6819 threat"));
        }
    }
    errors
}

fn report(errors: &[String]) -> String {
    format!(
        "{} problem(s) in the threat model:\n  {}",
        errors.len(),
        errors.join("\n  ")
    )
}

#[test]
fn the_threat_model_names_only_what_exists() {
    let root = Disk(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let text = root.read(DOC).expect("docs/THREAT_MODEL.md");
    let mut errors = check(&text, &root);
    errors.extend(rfc_6819_coverage(&text));
    assert!(errors.is_empty(), "{}", report(&errors));
}

#[test]
fn the_checker_finds_the_documents_rows_and_references() {
    // Guards the checker against a parse that finds nothing to check.
    let root = Disk(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let text = root.read(DOC).expect("docs/THREAT_MODEL.md");
    let doc = parse(&text);
    assert!(
        doc.rows.len() >= RFC_6819_THREATS.len(),
        "{} rows",
        doc.rows.len()
    );
    assert!(doc.limits.len() >= 20, "{} known limits", doc.limits.len());
    let references = code_spans(&text)
        .into_iter()
        .filter_map(reference)
        .filter(is_backing)
        .count();
    assert!(references > 300, "{references} references");
}
