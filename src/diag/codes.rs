//! Every stable diagnostic code imgopt reports, as one typed enum: `DF...` for Dockerfile rules
//! (one per rule in [`crate::rules::RULES`]) and `PL...` for plan-file diagnostics
//! (`plan::file::codes`). A code never changes meaning once released.
//!
//! Owns: [`Code`] (its text, its family) and the test that no two diagnostics share a code.
//! Does not: decide severities or messages (the rules and the plan parser do).

use std::fmt;

use serde::{Serialize, Serializer};

/// Which part of imgopt reports a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// Dockerfile rules (`imgopt analyze`).
    Dockerfile,
    /// Plan files (`imgopt plan`).
    Plan,
}

macro_rules! codes {
    ($($(#[doc = $doc:literal])* $v:ident = $family:ident;)*) => {
        /// A stable diagnostic code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($(#[doc = $doc])* $v,)*
        }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &'static [Code] = &[$(Code::$v,)*];

            /// The code as written in reports (`DF201`, `PL004`).
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$v => stringify!($v),)*
                }
            }

            /// Which part of imgopt reports it.
            #[must_use]
            pub const fn family(self) -> Family {
                match self {
                    $(Code::$v => Family::$family,)*
                }
            }
        }
    };
}

codes! {
    /// unknown-instruction
    DF001 = Dockerfile;
    /// unknown-flag
    DF002 = Dockerfile;
    /// base-image-latest-tag
    DF101 = Dockerfile;
    /// base-image-not-pinned
    DF102 = Dockerfile;
    /// full-base-image
    DF103 = Dockerfile;
    /// toolchain-image-as-runtime
    DF104 = Dockerfile;
    /// build-toolchain-in-final-stage
    DF105 = Dockerfile;
    /// unstripped-binary
    DF106 = Dockerfile;
    /// jdk-as-runtime
    DF107 = Dockerfile;
    /// apt-lists-not-removed
    DF201 = Dockerfile;
    /// apt-install-recommends
    DF202 = Dockerfile;
    /// apk-add-cache
    DF203 = Dockerfile;
    /// pip-cache-kept
    DF204 = Dockerfile;
    /// js-package-cache-kept
    DF205 = Dockerfile;
    /// rpm-cache-kept
    DF206 = Dockerfile;
    /// docs-kept
    DF207 = Dockerfile;
    /// curl-and-wget-installed
    DF208 = Dockerfile;
    /// dev-dependencies-in-final-image
    DF209 = Dockerfile;
    /// gem-cache-kept
    DF210 = Dockerfile;
    /// copy-all-before-dependency-install
    DF301 = Dockerfile;
    /// add-remote-archive
    DF302 = Dockerfile;
    /// dockerignore-missing
    DF303 = Dockerfile;
    /// broad-copy-from-build-stage
    DF304 = Dockerfile;
    /// deleted-in-later-layer
    DF401 = Dockerfile;
    /// recursive-chown-in-separate-layer
    DF402 = Dockerfile;
    /// useradd-without-no-log-init
    DF403 = Dockerfile;
    /// consecutive-package-installs
    DF404 = Dockerfile;
    /// Plan file: YAML syntax error.
    PL001 = Plan;
    /// Plan file: unknown key.
    PL002 = Plan;
    /// Plan file: wrong type of value.
    PL003 = Plan;
    /// Plan file: invalid value.
    PL004 = Plan;
    /// Plan file: missing required key.
    PL005 = Plan;
    /// Plan file: reference to an undefined image or runtime class.
    PL006 = Plan;
    /// Plan file: duplicate name.
    PL007 = Plan;
    /// Plan file: a manifest could not be read or used.
    PL008 = Plan;
    /// Plan file: an image reference that could not be resolved.
    PL009 = Plan;
}

impl Code {
    /// The code with this text (case-insensitive).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|c| c.as_str().eq_ignore_ascii_case(text))
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::plan::file::codes as plan;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = BTreeSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "{c} declared twice");
            let (prefix, digits) = c.as_str().split_at(2);
            assert!(digits.len() == 3 && digits.bytes().all(|b| b.is_ascii_digit()), "{c}");
            let want = match c.family() {
                Family::Dockerfile => "DF",
                Family::Plan => "PL",
            };
            assert_eq!(prefix, want, "{c}: family and prefix disagree");
            assert_eq!(Code::parse(&c.as_str().to_ascii_lowercase()), Some(*c));
        }
    }

    #[test]
    fn every_rule_has_exactly_its_code() {
        let rules: BTreeSet<&str> = crate::rules::RULES.iter().map(|r| r.meta().code).collect();
        assert_eq!(rules.len(), crate::rules::RULES.len(), "two rules share a code");
        let declared: BTreeSet<&str> = Code::ALL
            .iter()
            .filter(|c| c.family() == Family::Dockerfile)
            .map(|c| c.as_str())
            .collect();
        assert_eq!(rules, declared, "rules and Dockerfile codes differ");
        for r in crate::rules::RULES {
            assert_eq!(r.meta().id.as_str(), r.meta().code);
        }
    }

    #[test]
    fn plan_codes_are_declared_and_distinct_from_rule_codes() {
        let used = [
            plan::SYNTAX,
            plan::UNKNOWN_KEY,
            plan::TYPE,
            plan::VALUE,
            plan::MISSING,
            plan::REFERENCE,
            plan::DUPLICATE,
            plan::MANIFEST,
            plan::IMAGE_REF,
        ];
        let unique: BTreeSet<&str> = used.iter().copied().collect();
        assert_eq!(unique.len(), used.len(), "two plan diagnostics share a code");
        let declared: BTreeSet<&str> = Code::ALL
            .iter()
            .filter(|c| c.family() == Family::Plan)
            .map(|c| c.as_str())
            .collect();
        assert_eq!(unique, declared, "plan::file::codes and the Code enum differ");
    }
}
