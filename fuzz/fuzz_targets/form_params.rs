//! `Params::parse` (RFC 6749 §3.1, §3.2, Appendix B) against the reference
//! decoder, `form_urlencoded`.
//!
//! - Where the parser accepts, its pairs are the reference's, less the
//!   pairs with an empty name or value (§3.1: "treated as if omitted"), in
//!   order; `get` fails exactly for a repeated name.
//! - It refuses exactly what the reference decodes leniently: bytes that
//!   are not UTF-8, before or after percent-decoding, a `%` without two hex
//!   digits, more than `MAX_PARAMS` pairs.
//! - `Debug` shows the names only.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::protocol::{FormError, MAX_PARAMS, Params};

/// Whether every `%` is followed by two hex digits.
fn escapes_well_formed(input: &[u8]) -> bool {
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' {
            let hex = |j: usize| input.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

/// A name or value, decoded strictly: `+` is a space, escapes decoded,
/// `None` if the result is not UTF-8.
fn strict_decode(piece: &[u8]) -> Option<String> {
    let plus: Vec<u8> = piece
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    let bytes: Vec<u8> = percent_encoding::percent_decode(&plus).collect();
    String::from_utf8(bytes).ok()
}

fuzz_target!(|input: &[u8]| {
    let parsed = Params::parse(input);

    // What a strict reading of the same input gives.
    let utf8 = std::str::from_utf8(input).is_ok();
    let well_formed = escapes_well_formed(input);
    let pieces_utf8 = input.split(|b| *b == b'&').all(|piece| {
        let mut halves = piece.splitn(2, |b| *b == b'=');
        halves.all(|h| strict_decode(h).is_some())
    });
    let reference: Vec<(String, String)> = form_urlencoded::parse(input)
        .filter(|(n, v)| !n.is_empty() && !v.is_empty())
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();

    let params = match parsed {
        Ok(params) => params,
        Err(FormError::NotUtf8) => {
            assert!(!utf8 || !pieces_utf8, "refused as not UTF-8: {input:?}");
            return;
        }
        Err(FormError::BadPercentEncoding) => {
            assert!(!well_formed, "refused a well-formed escape: {input:?}");
            return;
        }
        Err(FormError::TooManyParams) => {
            assert!(
                reference.len() > MAX_PARAMS,
                "refused {} params",
                reference.len()
            );
            return;
        }
        Err(e) => panic!("unexpected parse error {e:?}"),
    };
    assert!(
        utf8 && well_formed && pieces_utf8,
        "accepted malformed input {input:?}"
    );
    assert!(reference.len() <= MAX_PARAMS);

    // The reference's pairs, name by name, in order.
    assert_eq!(params.len(), reference.len(), "{input:?}");
    assert_eq!(params.is_empty(), reference.is_empty());
    for (name, _) in &reference {
        let ours: Vec<&str> = params.get_all(name).collect();
        let theirs: Vec<&str> = reference
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(ours, theirs, "values of {name:?} in {input:?}");
        assert!(params.contains(name));
        match params.get(name) {
            Ok(Some(v)) => assert!(theirs.len() == 1 && theirs[0] == v),
            Err(FormError::Repeated(n)) => assert!(theirs.len() > 1 && n == *name),
            other => panic!("get({name:?}) = {other:?} with values {theirs:?}"),
        }
    }
    // Building from the reference's pairs gives the same parameters.
    let rebuilt = Params::from_pairs(reference.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    assert!(rebuilt == params, "from_pairs disagrees for {input:?}");
    assert!(params.clone().into_owned() == params);

    // Values may be secrets: `Debug` shows the names, and only them.
    let names: Vec<&String> = reference.iter().map(|(n, _)| n).collect();
    let expected = format!("Params {{ names: {names:?} }}");
    assert_eq!(format!("{params:?}"), expected);
});
