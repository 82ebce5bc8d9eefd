//! What an authorization request asks of the browser's session, OpenID
//! Connect's demands included (Core §3.1.2.1): whether the user must sign
//! in (again), whether the consent page is needed, and the approval that
//! reports the sign-in to the library.
//!
//! - No signed-in session: the sign-in page.
//! - `prompt=login`, or a sign-in older than `max_age`
//!   ([`PendingAuthorization::requires_login`]), or a session that does not
//!   know when it signed in: the sign-in page, even to a signed-in browser.
//! - A valid `id_token_hint` naming another user than the session's: the
//!   sign-in page (subjects are public here, so the hint's `sub` is the
//!   user's name). `prompt=select_account` and `prompt=create` show the
//!   sign-in page too: choosing an account is signing in with it, and
//!   accounts are the operator's (`--user`), never created here.
//! - Otherwise the consent page — every time a page may be shown, so the
//!   user sees what each request asks (`prompt=consent` needs nothing
//!   more). A `prompt=none` request, which may show no page, is approved
//!   when the user approved the same client for at least the same scope in
//!   this session, and is `consent_required` otherwise.
//!
//! `ui_locales` is not used: the pages are in English only, which Core
//! §3.1.2.1 allows ("not an error if the OP does not support them").

use portcullis::endpoint::{Approval, InteractionRequired, PendingAuthorization};

use super::session::Session;

/// What the request needs next.
pub enum Step {
    /// The sign-in page, with a notice saying why when the browser is
    /// already signed in.
    SignIn(Option<&'static str>),
    /// The consent page.
    Consent,
    /// Already approved in this session: approving needs no page, and a
    /// `prompt=none` request is approved so.
    Approved(Approval),
}

impl Step {
    /// What the request needs with the browser's `session`.
    pub fn of(pending: &PendingAuthorization, session: Option<&Session>) -> Self {
        let Some((session, user)) = session.and_then(|s| Some((s, s.user()?))) else {
            return Step::SignIn(None);
        };
        let prompt = pending.prompt();
        if pending.openid().is_some() {
            let signed_in_at = session.signed_in_at();
            if signed_in_at.is_none() || pending.requires_login(signed_in_at) {
                return Step::SignIn(Some("The application asks you to sign in again."));
            }
            if pending
                .id_token_hint()
                .is_some_and(|hint| hint.subject != user)
            {
                return Step::SignIn(Some(
                    "The application asks for another account: sign in with it.",
                ));
            }
            if prompt.select_account() || prompt.create() {
                return Step::SignIn(Some("Sign in with the account to use."));
            }
        }
        let client = pending.client().id().as_str();
        match approval(session) {
            Some(approval) if !prompt.consent() && session.consented(client, pending.scope()) => {
                Step::Approved(approval)
            }
            _ => Step::Consent,
        }
    }

    /// Why a `prompt=none` request cannot be answered without a page, or
    /// its approval.
    pub fn silently(self) -> Result<Approval, InteractionRequired> {
        match self {
            Step::SignIn(_) => Err(InteractionRequired::Login),
            Step::Consent => Err(InteractionRequired::Consent),
            Step::Approved(approval) => Ok(approval),
        }
    }
}

/// The approval of the session's user: who, when they signed in (the ID
/// token's `auth_time`), how (`pwd`, RFC 8176 §2: a password), and in which
/// session (`sid`).
pub fn approval(session: &Session) -> Option<Approval> {
    let mut approval = Approval::new(session.user()?)
        .amr(["pwd"])
        .session_id(session.id());
    if let Some(at) = session.signed_in_at() {
        approval = approval.authenticated_at(at);
    }
    Some(approval)
}
