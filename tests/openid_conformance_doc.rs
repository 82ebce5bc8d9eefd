//! docs/OPENID_CONFORMANCE.md names only tests that exist: every
//! `FILE.rs::name` it cites is a function of `tests/FILE.rs`, marked as a
//! test, and every module of the Basic OP plan has a row.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs;

const DOC: &str = "docs/OPENID_CONFORMANCE.md";

/// The modules of `oidcc-basic-certification-test-plan`.
const MODULES: &[&str] = &[
    "oidcc-server",
    "oidcc-response-type-missing",
    "oidcc-idtoken-signature",
    "oidcc-idtoken-unsigned",
    "oidcc-userinfo-get",
    "oidcc-userinfo-post-header",
    "oidcc-userinfo-post-body",
    "oidcc-ensure-request-without-nonce-succeeds-for-code-flow",
    "oidcc-scope-profile",
    "oidcc-scope-email",
    "oidcc-scope-address",
    "oidcc-scope-phone",
    "oidcc-scope-all",
    "oidcc-ensure-other-scope-order-succeeds",
    "oidcc-display-page",
    "oidcc-display-popup",
    "oidcc-prompt-login",
    "oidcc-prompt-none-not-logged-in",
    "oidcc-prompt-none-logged-in",
    "oidcc-max-age-1",
    "oidcc-max-age-10000",
    "oidcc-ensure-request-with-unknown-parameter-succeeds",
    "oidcc-id-token-hint",
    "oidcc-login-hint",
    "oidcc-ui-locales",
    "oidcc-claims-locales",
    "oidcc-ensure-request-with-acr-values-succeeds",
    "oidcc-codereuse",
    "oidcc-codereuse-30seconds",
    "oidcc-ensure-registered-redirect-uri",
    "oidcc-ensure-post-request-succeeds",
    "oidcc-server-client-secret-post",
    "oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported",
    "oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported",
    "oidcc-claims-essential",
    "oidcc-ensure-request-object-with-redirect-uri",
    "oidcc-refresh-token",
    "oidcc-ensure-request-with-valid-pkce-succeeds",
];

/// Whether `source` has a test function `name`: `fn name(` preceded, on
/// one of the few lines before, by a test attribute.
fn has_test(source: &str, name: &str) -> bool {
    let lines: Vec<&str> = source.lines().collect();
    lines.iter().enumerate().any(|(i, line)| {
        let declared = line.contains(&format!("fn {name}("));
        declared
            && lines[i.saturating_sub(3)..i]
                .iter()
                .any(|l| l.trim_start().starts_with("#[tokio::test") || l.trim() == "#[test]")
    })
}

#[test]
fn every_cited_test_exists_and_every_module_has_a_row() {
    let doc = fs::read_to_string(DOC).unwrap();
    let mut cited = 0;
    for piece in doc.split('`').skip(1).step_by(2) {
        let Some((file, name)) = piece.split_once(".rs::") else {
            continue;
        };
        let source = fs::read_to_string(format!("tests/{file}.rs"))
            .unwrap_or_else(|_| panic!("{DOC} cites tests/{file}.rs, which does not exist"));
        assert!(
            has_test(&source, name),
            "{DOC} cites {piece}, which is not a test"
        );
        cited += 1;
    }
    assert!(cited > 40, "only {cited} citations found");
    for module in MODULES {
        assert!(
            doc.contains(&format!("| `{module}` |")),
            "{DOC} has no row for {module}"
        );
    }
}
