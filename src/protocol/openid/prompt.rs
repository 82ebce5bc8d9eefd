//! The `prompt` parameter (OpenID Connect Core 1.0 §3.1.2.1).

use std::fmt;

/// What the relying party asks the provider to show the End-User: the
/// `prompt` parameter's values (OpenID Connect Core 1.0 §3.1.2.1, and
/// `create` from OpenID Connect Initiating User Registration 1.0).
///
/// Parsed by [`Prompt::parse`]: values are space-separated and case
/// sensitive; `none` stands alone; an unknown value is refused.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Prompt(u8);

const NONE: u8 = 1;
const LOGIN: u8 = 1 << 1;
const CONSENT: u8 = 1 << 2;
const SELECT_ACCOUNT: u8 = 1 << 3;
const CREATE: u8 = 1 << 4;

const NAMES: [(u8, &str); 5] = [
    (NONE, "none"),
    (LOGIN, "login"),
    (CONSENT, "consent"),
    (SELECT_ACCOUNT, "select_account"),
    (CREATE, "create"),
];

/// Why a `prompt` value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidPrompt {
    /// A value this provider does not know.
    #[error("prompt has an unknown value")]
    Unknown,
    /// `none` with another value (Core §3.1.2.1: an error).
    #[error("prompt=none cannot be combined with other values")]
    NoneWithOthers,
}

impl Prompt {
    /// The values `prompt` may take, as the discovery document's
    /// `prompt_values_supported` lists them.
    pub const SUPPORTED: [&'static str; 5] =
        ["none", "login", "consent", "select_account", "create"];

    /// Parses the parameter's value.
    pub fn parse(value: &str) -> Result<Self, InvalidPrompt> {
        let mut bits = 0;
        for word in value.split(' ').filter(|w| !w.is_empty()) {
            let (bit, _) = NAMES
                .iter()
                .find(|(_, name)| *name == word)
                .ok_or(InvalidPrompt::Unknown)?;
            bits |= bit;
        }
        if bits & NONE != 0 && bits != NONE {
            return Err(InvalidPrompt::NoneWithOthers);
        }
        Ok(Self(bits))
    }

    /// `none`: no page at all may be shown; an End-User who is not already
    /// signed in and consenting gets an error (`login_required`,
    /// `consent_required`, `interaction_required`,
    /// `account_selection_required`).
    pub fn none(self) -> bool {
        self.0 & NONE != 0
    }

    /// `login`: authenticate the End-User again, even with a session.
    pub fn login(self) -> bool {
        self.0 & LOGIN != 0
    }

    /// `consent`: ask for consent again, even if given before.
    pub fn consent(self) -> bool {
        self.0 & CONSENT != 0
    }

    /// `select_account`: let the End-User pick among their accounts.
    pub fn select_account(self) -> bool {
        self.0 & SELECT_ACCOUNT != 0
    }

    /// `create`: the relying party would like the sign-up page
    /// (Initiating User Registration 1.0).
    pub fn create(self) -> bool {
        self.0 & CREATE != 0
    }

    /// Whether no value was given.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (bit, name) in NAMES {
            if self.0 & bit != 0 {
                if !first {
                    f.write_str(" ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Prompt({self})")
    }
}

impl From<Prompt> for String {
    fn from(prompt: Prompt) -> Self {
        prompt.to_string()
    }
}

impl TryFrom<String> for Prompt {
    type Error = InvalidPrompt;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_and_print_in_order() {
        let prompt = Prompt::parse("consent  login").unwrap();
        assert!(prompt.login() && prompt.consent() && !prompt.none());
        assert_eq!(prompt.to_string(), "login consent");
        assert!(Prompt::parse("").unwrap().is_empty());
        assert!(Prompt::parse("create").unwrap().create());
        assert!(Prompt::parse("select_account").unwrap().select_account());
    }

    #[test]
    fn none_stands_alone_and_unknown_values_are_refused() {
        assert!(Prompt::parse("none").unwrap().none());
        assert_eq!(
            Prompt::parse("none login"),
            Err(InvalidPrompt::NoneWithOthers)
        );
        assert_eq!(Prompt::parse("Login"), Err(InvalidPrompt::Unknown));
        assert_eq!(Prompt::parse("login bogus"), Err(InvalidPrompt::Unknown));
    }
}
