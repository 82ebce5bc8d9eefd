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
// Rust source: the items the checker needs.

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Punct(char),
    Literal,
}

/// Splits Rust source into identifiers, punctuation and literals, skipping
/// whitespace and comments.
fn lex(src: &str) -> Vec<Token> {
    let chars: Vec<char> = src.chars().collect();
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' {
            i = skip_string(&chars, i + 1);
            tokens.push(Token::Literal);
        } else if c == '\'' {
            if at(i + 1) == '\\' {
                // A char literal with an escape.
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
                tokens.push(Token::Literal);
            } else if at(i + 2) == '\'' {
                i += 3;
                tokens.push(Token::Literal);
            } else {
                // A lifetime or label.
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token::Literal);
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let raw_prefix = matches!(word.as_str(), "r" | "br" | "cr");
            if raw_prefix && (at(i) == '"' || (at(i) == '#' && matches!(at(i + 1), '"' | '#'))) {
                i = skip_raw_string(&chars, i);
                tokens.push(Token::Literal);
            } else if word == "r" && at(i) == '#' {
                // A raw identifier, `r#name`.
                let start = i + 1;
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                tokens.push(Token::Ident(chars[start..i].iter().collect()));
            } else if matches!(word.as_str(), "b" | "c") && at(i) == '"' {
                i = skip_string(&chars, i + 1);
                tokens.push(Token::Literal);
            } else if word == "b" && at(i) == '\'' {
                i += 1;
                if at(i) == '\\' {
                    i += 1;
                }
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
                tokens.push(Token::Literal);
            } else {
                tokens.push(Token::Ident(word));
            }
        } else {
            tokens.push(Token::Punct(c));
            i += 1;
        }
    }
    tokens
}

/// Skips a string's body from just after its opening quote.
fn skip_string(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// Skips a raw string from its `#`s or opening quote.
fn skip_raw_string(chars: &[char], mut i: usize) -> usize {
    let mut hashes = 0;
    while i < chars.len() && chars[i] == '#' {
        hashes += 1;
        i += 1;
    }
    i += 1; // the opening quote
    while i < chars.len() {
        if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
            return i + 1 + hashes;
        }
        i += 1;
    }
    i
}

/// A function at module level (not inside another function's body).
#[derive(Debug)]
struct FnItem {
    module: Vec<String>,
    name: String,
    test: bool,
    ignored: bool,
}

/// What a Rust file declares, with the module path of each item inside the
/// file.
#[derive(Debug, Default)]
struct Items {
    fns: Vec<FnItem>,
    /// `mod name;` declarations: (enclosing inline modules, name).
    file_modules: Vec<(Vec<String>, String)>,
    /// Identifiers passed to module-level macro invocations.
    listed: BTreeSet<(Vec<String>, String)>,
    /// Every identifier in the file's code.
    idents: BTreeSet<String>,
}

enum Scope {
    Module(String),
    Block,
}

/// Index just past the bracket group opening at `open`.
fn skip_group(tokens: &[Token], open: usize) -> usize {
    let mut depth = 0;
    let mut i = open;
    while i < tokens.len() {
        match tokens[i] {
            Token::Punct('(' | '[' | '{') => depth += 1,
            Token::Punct(')' | ']' | '}') => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

fn ident(token: Option<&Token>) -> Option<&str> {
    match token {
        Some(Token::Ident(name)) => Some(name),
        _ => None,
    }
}

fn punct(token: Option<&Token>) -> Option<char> {
    match token {
        Some(Token::Punct(c)) => Some(*c),
        _ => None,
    }
}

fn items(src: &str) -> Items {
    let tokens = lex(src);
    let mut items = Items::default();
    let mut scopes: Vec<Scope> = Vec::new();
    // The paths of the attributes since the last item, `tokio::test` as
    // ["tokio", "test"].
    let mut attributes: Vec<Vec<String>> = Vec::new();
    let module_path = |scopes: &[Scope]| -> Option<Vec<String>> {
        scopes
            .iter()
            .map(|scope| match scope {
                Scope::Module(name) => Some(name.clone()),
                Scope::Block => None,
            })
            .collect()
    };
    let mut i = 0;
    while i < tokens.len() {
        let all = &tokens;
        let next = move |k: usize| all.get(i + k);
        match &tokens[i] {
            Token::Punct('#') => {
                let inner = punct(next(1)) == Some('!');
                let open = if inner { i + 2 } else { i + 1 };
                if punct(tokens.get(open)) != Some('[') {
                    i += 1;
                    continue;
                }
                let mut path = Vec::new();
                let mut k = open + 1;
                while let Some(token) = tokens.get(k) {
                    match token {
                        Token::Ident(name) => path.push(name.clone()),
                        Token::Punct(':') => {}
                        _ => break,
                    }
                    k += 1;
                }
                if !inner {
                    attributes.push(path);
                }
                i = skip_group(&tokens, open);
            }
            Token::Ident(word) if word == "mod" => {
                match (ident(next(1)), punct(next(2))) {
                    (Some(name), Some('{')) => {
                        scopes.push(Scope::Module(name.to_owned()));
                        i += 3;
                    }
                    (Some(name), Some(';')) => {
                        if let Some(path) = module_path(&scopes) {
                            items.file_modules.push((path, name.to_owned()));
                        }
                        i += 3;
                    }
                    _ => i += 1,
                }
                items.idents.insert(word.clone());
                attributes.clear();
            }
            Token::Ident(word) if word == "fn" => {
                if let (Some(name), Some(module)) = (ident(next(1)), module_path(&scopes)) {
                    items.fns.push(FnItem {
                        module,
                        name: name.to_owned(),
                        test: attributes
                            .iter()
                            .any(|a| a.last().is_some_and(|l| l == "test")),
                        ignored: attributes
                            .iter()
                            .any(|a| a.last().is_some_and(|l| l == "ignore")),
                    });
                }
                attributes.clear();
                i += 1;
            }
            Token::Ident(word) if word == "macro_rules" && punct(next(1)) == Some('!') => {
                // A macro's definition: its body is a pattern, not items.
                let mut k = i + 2;
                while k < tokens.len() && !matches!(tokens[k], Token::Punct('{' | '(' | '[')) {
                    k += 1;
                }
                i = skip_group(&tokens, k);
                attributes.clear();
            }
            Token::Ident(word)
                if punct(next(1)) == Some('!')
                    && matches!(punct(next(2)), Some('(' | '[' | '{')) =>
            {
                let end = skip_group(&tokens, i + 2);
                let path = module_path(&scopes);
                for token in &tokens[i + 3..end.min(tokens.len())] {
                    if let Token::Ident(name) = token {
                        items.idents.insert(name.clone());
                        if let Some(path) = &path {
                            items.listed.insert((path.clone(), name.clone()));
                        }
                    }
                }
                items.idents.insert(word.clone());
                i = end;
            }
            Token::Ident(word) => {
                items.idents.insert(word.clone());
                i += 1;
            }
            Token::Punct('{') => {
                scopes.push(Scope::Block);
                attributes.clear();
                i += 1;
            }
            Token::Punct('}') => {
                scopes.pop();
                attributes.clear();
                i += 1;
            }
            Token::Punct(';') => {
                attributes.clear();
                i += 1;
            }
            _ => i += 1,
        }
    }
    items
}

/// The repository, with each Rust file parsed once.
struct Sources<'a> {
    repo: &'a dyn Repo,
    parsed: RefCell<BTreeMap<String, Option<Rc<Items>>>>,
}

impl<'a> Sources<'a> {
    fn new(repo: &'a dyn Repo) -> Self {
        Sources {
            repo,
            parsed: RefCell::default(),
        }
    }

    /// The items of the Rust file at `path`, if it exists.
    fn items(&self, path: &str) -> Option<Rc<Items>> {
        self.parsed
            .borrow_mut()
            .entry(path.to_owned())
            .or_insert_with(|| self.repo.read(path).map(|src| Rc::new(items(&src))))
            .clone()
    }
}

/// The file a `mod name;` declared in `file`, inside its inline modules
/// `inline`, is read from.
fn module_file(repo: &dyn Repo, file: &str, inline: &[String], name: &str) -> Option<String> {
    let path = Path::new(file);
    let parent = path.parent().unwrap_or(Path::new(""));
    let file_name = path.file_name()?.to_str()?;
    // The crate roots and `mod.rs` own their directory; any other file
    // `x.rs` owns `x/`. Each file directly in `tests/` is a crate root.
    let owns_directory =
        matches!(file_name, "mod.rs" | "lib.rs" | "main.rs") || parent == Path::new("tests");
    let mut dir = if owns_directory {
        parent.to_path_buf()
    } else {
        parent.join(path.file_stem()?)
    };
    for module in inline {
        dir.push(module);
    }
    [
        dir.join(format!("{name}.rs")),
        dir.join(name).join("mod.rs"),
    ]
    .into_iter()
    .filter_map(|candidate| candidate.to_str().map(str::to_owned))
    .find(|candidate| repo.exists(candidate))
}

/// Checks that `file` has a test `name` at module path `modules`.
fn find_test(
    sources: &Sources<'_>,
    file: &str,
    modules: &[String],
    name: &str,
) -> Result<(), String> {
    let mut file = file.to_owned();
    let mut inline: Vec<String> = Vec::new();
    let mut parsed = sources
        .items(&file)
        .ok_or_else(|| format!("{file} does not exist"))?;
    for module in modules {
        let declared = parsed
            .file_modules
            .iter()
            .any(|(path, declared)| *path == inline && declared == module);
        if declared {
            let missing = || format!("the file of `mod {module};` is missing");
            file = module_file(sources.repo, &file, &inline, module).ok_or_else(missing)?;
            parsed = sources.items(&file).ok_or_else(missing)?;
            inline.clear();
        } else {
            inline.push(module.clone());
        }
    }
    let found: Vec<&FnItem> = parsed
        .fns
        .iter()
        .filter(|f| f.module == inline && f.name == name)
        .collect();
    if found.is_empty() {
        let place = if inline.is_empty() {
            file.clone()
        } else {
            format!("module `{}` of {file}", inline.join("::"))
        };
        return Err(format!("no `fn {name}` in {place}"));
    }
    if found.iter().any(|f| f.ignored) {
        return Err(format!("`fn {name}` in {file} is #[ignore]d"));
    }
    let listed = parsed.listed.contains(&(inline.clone(), name.to_owned()));
    if found.iter().any(|f| f.test) || listed {
        Ok(())
    } else {
        Err(format!(
            "`fn {name}` in {file} is not a test: no test attribute, and no macro invocation of its module lists it"
        ))
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

// ---------------------------------------------------------------------------
// The checker's own tests, on small documents and repositories in memory.

#[derive(Default)]
struct Memory(BTreeMap<String, String>);

impl Memory {
    fn with(mut self, path: &str, content: &str) -> Self {
        self.0.insert(path.to_owned(), content.to_owned());
        self
    }
}

impl Repo for Memory {
    fn read(&self, path: &str) -> Option<String> {
        self.0.get(path).cloned()
    }

    fn exists(&self, path: &str) -> bool {
        let dir = format!("{}/", path.trim_end_matches('/'));
        self.0.contains_key(path) || self.0.keys().any(|file| file.starts_with(&dir))
    }

    fn rust_files_in(&self, dir: &str) -> Vec<String> {
        let dir = format!("{}/", dir.trim_end_matches('/'));
        self.0
            .keys()
            .filter(|file| {
                file.strip_prefix(&dir)
                    .is_some_and(|rest| !rest.contains('/') && rest.ends_with(".rs"))
            })
            .cloned()
            .collect()
    }
}

fn repo() -> Memory {
    Memory::default()
        .with(
            "tests/races.rs",
            r#"
            mod common;
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn code_redemption_race() { let s = "fn not_a_test() {}"; }
            #[test]
            #[ignore]
            fn skipped() {}
            fn helper() { assert!(listed_in_a_body()); }
            macro_rules! on_every_backend { ($($name:ident),*) => { $(mod $name { #[test] fn t() {} })* }; }
            on_every_backend!(scenario);
            async fn scenario(db: &u8) { let c = '{'; let l: &'static str = "}"; }
            mod sql {
                on_every_backend!(nested_scenario);
                async fn nested_scenario() {}
            }
            "#,
        )
        .with("tests/common/mod.rs", "pub fn setup() {}")
        .with("src/store/memory.rs", "#[cfg(test)]\nmod tests;")
        .with("src/store/memory/tests.rs", "#[test]\nfn shards_stay_visible() {}")
        .with(
            "src/token/opaque.rs",
            "pub fn mint() {}\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn minted_tokens_differ() {}\n}",
        )
        .with(
            "src/testing/cases/codes.rs",
            "pub async fn redeem_code_once() {}\npub async fn forgotten_case() {}",
        )
        .with(
            "src/testing/mod.rs",
            "async fn code_store_cases() { run!(store, report: redeem_code_once); }",
        )
}

/// A document with one table; `backing` is its row's last cell.
fn doc_with(backing: &str) -> String {
    format!(
        "# Threat model\n\n| § | Threat | Status | Control (where) | Test |\n|---|---|---|---|---|\n\
         | 4.1.1 | Obtaining client secrets | controlled | Hashes. | {backing} |\n\n\
         ## Known limits\n\n1. **One.** Text.\n2. **Two.** Text.\n"
    )
}

fn errors_for(backing: &str) -> Vec<String> {
    check(&doc_with(backing), &repo())
}

#[test]
fn existing_references_of_every_form_pass() {
    let backing = "`tests/races.rs::code_redemption_race`, `tests/races.rs::scenario`, \
                   `tests/races.rs::sql::nested_scenario`, \
                   `src/store/memory/tests.rs::shards_stay_visible`, \
                   `src/store/memory.rs::tests::shards_stay_visible`, \
                   `src/token/opaque.rs::tests::minted_tokens_differ`, \
                   `testing::cases::redeem_code_once`, `fuzz:form_params` (no fuzz/ here), \
                   `mutants:src/token/opaque.rs` (no docs/MUTATION.md here), \
                   `tests/common/mod.rs`, (asserts `subject == None`)";
    assert_eq!(errors_for(backing), Vec::<String>::new());
}

#[test]
fn a_dangling_test_reference_fails_naming_it() {
    let errors = errors_for("`tests/races.rs::renamed_race`, `tests/gone.rs::anything`");
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0]
            .contains("`tests/races.rs::renamed_race`: no `fn renamed_race` in tests/races.rs")
    );
    assert!(
        errors[0].starts_with("docs/THREAT_MODEL.md:5:"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].contains("tests/gone.rs does not exist"),
        "{}",
        errors[1]
    );
}

#[test]
fn a_function_that_is_not_a_running_test_fails() {
    let errors = errors_for(
        "`tests/races.rs::helper`, `tests/races.rs::skipped`, `tests/races.rs::not_a_test`, \
         `tests/races.rs::listed_in_a_body`, `tests/races.rs::nested_scenario`, \
         `src/token/opaque.rs::mint`, `src/token/opaque.rs::minted_tokens_differ`",
    );
    assert_eq!(errors.len(), 7, "{errors:#?}");
    assert!(errors[0].contains("`fn helper` in tests/races.rs is not a test"));
    assert!(errors[1].contains("is #[ignore]d"));
    // In a string, in a macro call inside a body, in another module.
    assert!(errors[2].contains("no `fn not_a_test`"));
    assert!(errors[3].contains("no `fn listed_in_a_body`"));
    assert!(errors[4].contains("no `fn nested_scenario` in tests/races.rs"));
    assert!(errors[5].contains("`fn mint` in src/token/opaque.rs is not a test"));
    assert!(errors[6].contains("no `fn minted_tokens_differ` in src/token/opaque.rs"));
}

#[test]
fn a_missing_module_file_or_case_fails() {
    let errors = check(
        &doc_with(
            "`src/token/opaque.rs::nested::minted_tokens_differ`, `testing::cases::gone`, `testing::cases::forgotten_case`",
        ),
        &repo().with("src/token/opaque.rs", "mod nested;"),
    );
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(errors[0].contains("the file of `mod nested;` is missing"));
    assert!(errors[1].contains("no case `fn gone` in src/testing/cases/"));
    assert!(errors[2].contains("the case `forgotten_case` is run by no runner"));
}

#[test]
fn fuzz_targets_are_checked_once_fuzz_exists() {
    let backing = "`fuzz:form_params`, `fuzz:bearer_header`, `fuzz:basic_auth`";
    assert!(errors_for(backing).is_empty());
    let with_fuzz = repo()
        .with("fuzz/Cargo.toml", "[[bin]]\nname = \"form_params\"\n")
        .with("fuzz/fuzz_targets/form_params.rs", "")
        .with("fuzz/fuzz_targets/basic_auth.rs", "");
    let errors = check(&doc_with(backing), &with_fuzz);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(errors[0].contains("no fuzz target fuzz/fuzz_targets/bearer_header.rs"));
    assert!(errors[1].contains("fuzz/Cargo.toml has no [[bin]] `basic_auth`"));
}

#[test]
fn mutation_results_are_checked_once_the_document_exists() {
    let backing = "`mutants:src/store/redemption.rs`";
    assert!(errors_for(backing).is_empty());
    let listed = repo().with("docs/MUTATION.md", "| `src/store/redemption.rs` | 40 | 0 |");
    assert!(check(&doc_with(backing), &listed).is_empty());
    let unlisted = repo().with("docs/MUTATION.md", "| `src/token/opaque.rs` | 12 | 0 |");
    let errors = check(&doc_with(backing), &unlisted);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].contains("docs/MUTATION.md lists no results for src/store/redemption.rs"));
}

#[test]
fn a_row_without_backing_fails() {
    let nothing = errors_for("");
    assert_eq!(nothing.len(), 1, "{nothing:#?}");
    assert!(
        nothing[0].contains("row 4.1.1 names no test"),
        "{}",
        nothing[0]
    );
    // A bare dash, and a path that runs nothing, are no backing either.
    assert!(errors_for("—")[0].contains("\"—\" without the reason"));
    assert!(errors_for("`tests/common/mod.rs`")[0].contains("names no test"));
    // A reason is enough, but not for a `controlled` row.
    let controlled = errors_for("— nothing to test");
    assert_eq!(controlled.len(), 1, "{controlled:#?}");
    assert!(controlled[0].contains("is `controlled` but names no test"));
    let host = doc_with("— host: TLS is the host's").replace("controlled", "host");
    assert!(check(&host, &repo()).is_empty());
}

#[test]
fn references_to_missing_rows_and_limits_fail() {
    let text = doc_with("`tests/races.rs::code_redemption_race`").replace(
        "Hashes.",
        "Hashes (Known limits 2, 3; Known limits 1–2); as §4.1.1 and §4.4.3, \
         see the RFC 9700 §4.2 row and the RFC 6819 §4.1.1 resource-server row; \
         RFC 9700 §2.1 and §4.7.1 are not rows.",
    );
    let errors = check(&text, &repo());
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(errors[0].contains("Known limits 3 does not exist"));
    assert!(errors[1].contains("no row for RFC 9700 §4.2, which the text refers to"));
    assert!(errors[2].contains("row 4.1.1 refers to §4.4.3, which has no row"));
}

#[test]
fn malformed_tables_and_numbering_fail() {
    let text = doc_with("`tests/races.rs::code_redemption_race` | extra")
        .replace("2. **Two.**", "4. **Two.**");
    let errors = check(&text, &repo());
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(errors[0].contains("the row has 6 cells, its table 5"));
    assert!(errors[1].contains("numbered [1, 4]"));
}

#[test]
fn coverage_of_rfc_6819_is_one_row_each() {
    let errors = rfc_6819_coverage(&doc_with("x"));
    assert!(errors.contains(&format!("{DOC}: RFC 6819 §4.1.2 has no row")));
    assert!(!errors.iter().any(|e| e.contains("§4.1.1 ")), "{errors:#?}");
    let twice = doc_with("x").replace(
        "\n\n## Known",
        "\n| 4.1.1 | Again | host | x | y |\n\n## Known",
    );
    assert!(rfc_6819_coverage(&twice).contains(&format!("{DOC}: RFC 6819 §4.1.1 has 2 rows")));
    let stray = doc_with("x").replace("| 4.1.1 |", "| 4.9.9 |");
    assert!(
        rfc_6819_coverage(&stray)
            .contains(&format!("{DOC}: row 4.9.9 is no numbered RFC 6819 threat"))
    );
}

#[test]
fn the_lexer_skips_what_is_not_code() {
    let parsed = items(
        r##"
        // fn in_a_comment() {}
        /* fn in_a /* nested */ block() {} */
        const S: &str = r#"fn in_a_raw_string() { "#;
        const B: &[u8] = b"fn in_bytes() {";
        const C: char = '"';
        fn after<'a>(x: &'a str) -> char { let q = '\''; 'x' }
        fn r#match() {}
        "##,
    );
    let names: Vec<&str> = parsed.fns.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["after", "match"]);
    assert!(parsed.fns.iter().all(|f| f.module.is_empty()));
}

#[test]
fn citations_follow_lists_of_sections() {
    assert_eq!(
        citations("RFC 9700 §2.1 and §4.7.1 let; cf. §4.4.1.4, §4.6.7. RFC 6750 §2.3, §5.3"),
        [
            (Some("9700".to_owned()), "2.1".to_owned()),
            (Some("9700".to_owned()), "4.7.1".to_owned()),
            (None, "4.4.1.4".to_owned()),
            (None, "4.6.7".to_owned()),
            (Some("6750".to_owned()), "2.3".to_owned()),
            (Some("6750".to_owned()), "5.3".to_owned()),
        ]
    );
    assert_eq!(
        limit_references("Known limits 1–4, 8 and 11"),
        [1, 2, 3, 4, 8, 11]
    );
    assert_eq!(
        row_references(
            "the RFC 6819 §4.6.6 resource-server row below; RFC 7591 rows; RFC 9700 §4.2 says"
        ),
        [
            ("6819".to_owned(), Some("4.6.6".to_owned())),
            ("7591".to_owned(), None)
        ]
    );
}
