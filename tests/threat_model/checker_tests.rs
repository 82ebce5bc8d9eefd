//! The checker itself, on small documents and repositories in memory.

use super::*;

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
