//! Rust source, read just enough to find `mod`, `fn`, test attributes
//! and macro invocations, and which module each sits in.

use super::*;

// ---------------------------------------------------------------------------
// Rust source: the items the checker needs.

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    Ident(String),
    Punct(char),
    Literal,
}

/// Splits Rust source into identifiers, punctuation and literals, skipping
/// whitespace and comments.
pub(crate) fn lex(src: &str) -> Vec<Token> {
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
pub(crate) fn skip_string(chars: &[char], mut i: usize) -> usize {
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
pub(crate) fn skip_raw_string(chars: &[char], mut i: usize) -> usize {
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
pub(crate) struct FnItem {
    pub(crate) module: Vec<String>,
    pub(crate) name: String,
    pub(crate) test: bool,
    pub(crate) ignored: bool,
}

/// What a Rust file declares, with the module path of each item inside the
/// file.
#[derive(Debug, Default)]
pub(crate) struct Items {
    pub(crate) fns: Vec<FnItem>,
    /// `mod name;` declarations: (enclosing inline modules, name).
    pub(crate) file_modules: Vec<(Vec<String>, String)>,
    /// Identifiers passed to module-level macro invocations.
    pub(crate) listed: BTreeSet<(Vec<String>, String)>,
    /// Every identifier in the file's code.
    pub(crate) idents: BTreeSet<String>,
}

pub(crate) enum Scope {
    Module(String),
    Block,
}

/// Index just past the bracket group opening at `open`.
pub(crate) fn skip_group(tokens: &[Token], open: usize) -> usize {
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

pub(crate) fn ident(token: Option<&Token>) -> Option<&str> {
    match token {
        Some(Token::Ident(name)) => Some(name),
        _ => None,
    }
}

pub(crate) fn punct(token: Option<&Token>) -> Option<char> {
    match token {
        Some(Token::Punct(c)) => Some(*c),
        _ => None,
    }
}

pub(crate) fn items(src: &str) -> Items {
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
pub(crate) struct Sources<'a> {
    pub(crate) repo: &'a dyn Repo,
    pub(crate) parsed: RefCell<BTreeMap<String, Option<Rc<Items>>>>,
}

impl<'a> Sources<'a> {
    pub(crate) fn new(repo: &'a dyn Repo) -> Self {
        Sources {
            repo,
            parsed: RefCell::default(),
        }
    }

    /// The items of the Rust file at `path`, if it exists.
    pub(crate) fn items(&self, path: &str) -> Option<Rc<Items>> {
        self.parsed
            .borrow_mut()
            .entry(path.to_owned())
            .or_insert_with(|| self.repo.read(path).map(|src| Rc::new(items(&src))))
            .clone()
    }
}

/// The file a `mod name;` declared in `file`, inside its inline modules
/// `inline`, is read from.
pub(crate) fn module_file(
    repo: &dyn Repo,
    file: &str,
    inline: &[String],
    name: &str,
) -> Option<String> {
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
pub(crate) fn find_test(
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
