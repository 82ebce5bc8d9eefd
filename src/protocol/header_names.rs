//! Headers in `Debug` output: names only, since values carry credentials
//! (`Authorization`) and tokens (RFC 6819 §4.6.7).

use std::fmt;

use http::header::HeaderMap;

/// Shows the names of headers, never their values.
pub(crate) struct HeaderNames<'a>(pub(crate) &'a HeaderMap);

impl fmt::Debug for HeaderNames<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}
