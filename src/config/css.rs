//! CSS selectors of `[sources.rules]`, with errors a user can act on.
//!
//! `scraper` reports most mistakes as "Unexpected error occurred. Please
//! report this to the developer" followed by an internal name such as
//! `ClassNeedsIdent`. The parser's own error kinds say exactly what is
//! wrong, so each is put in plain words here. (The parser keeps no
//! position: where it stops says little about where the mistake is.)

use scraper::error::SelectorErrorKind;
use selectors::parser::SelectorParseErrorKind;

/// Parses `css`; the error quotes it and says what is wrong.
pub fn parse(css: &str) -> Result<scraper::Selector, String> {
    scraper::Selector::parse(css)
        .map_err(|kind| format!("invalid CSS selector {css:?}: {}", reason(&kind)))
}

/// The mistake, in plain words.
fn reason(kind: &SelectorErrorKind) -> &'static str {
    match kind {
        SelectorErrorKind::UnexpectedToken => {
            "a character or word where none may stand (a stray symbol, an unclosed bracket or quote?)"
        }
        SelectorErrorKind::EndOfLine => {
            "it ends too early (an unclosed '[' or '(' or a combinator with nothing after it?)"
        }
        SelectorErrorKind::InvalidAtRule | SelectorErrorKind::InvalidAtRuleBody => {
            "an @-rule is not a selector"
        }
        SelectorErrorKind::QualRuleInvalid => "it is not a selector",
        SelectorErrorKind::TooManyNestedBlocks => "brackets are nested too deeply",
        SelectorErrorKind::ExpectedColonOnPseudoElement => {
            "a pseudo-element needs '::' before its name"
        }
        SelectorErrorKind::ExpectedIdentityOnPseudoElement => {
            "'::' must be followed by a pseudo-element name"
        }
        SelectorErrorKind::UnexpectedSelectorParseError(inner) => selector_reason(inner),
    }
}

/// The selector parser's own error kinds, in plain words.
fn selector_reason(kind: &SelectorParseErrorKind) -> &'static str {
    use SelectorParseErrorKind as K;
    match kind {
        K::ClassNeedsIdent => {
            "a '.' must be followed by a class name (two dots in a row, or a dot at the end?)"
        }
        K::EmptySelector => "a selector is empty (a comma with nothing before or after it?)",
        K::DanglingCombinator => "a combinator ('>', '+' or '~') has nothing after it",
        K::NoQualifiedNameInAttributeSelector => "'[' must be followed by an attribute name",
        K::UnexpectedTokenInAttributeSelector => {
            "an attribute selector is malformed: write [name], [name=value] or [name=\"value\"]"
        }
        K::ExpectedBarInAttr | K::InvalidQualNameInAttr | K::ExpectedNamespace => {
            "an attribute or namespace name is malformed"
        }
        K::BadValueInAttr => "an attribute value must be a word or a quoted string",
        K::NoIdentForPseudo => "':' must be followed by a pseudo-class name",
        K::UnsupportedPseudoClassOrElement => {
            "an unknown or unsupported pseudo-class or pseudo-element (for example :hover, which a page has no state for)"
        }
        K::UnexpectedIdent => {
            "a name stands where none may (a missing space, comma or combinator?)"
        }
        K::PseudoElementExpectedColon => "a pseudo-element needs '::' before its name",
        K::PseudoElementExpectedIdent => "'::' must be followed by a pseudo-element name",
        K::NonCompoundSelector
        | K::NonPseudoElementAfterSlotted
        | K::InvalidPseudoElementAfterSlotted
        | K::InvalidPseudoElementInsideWhere
        | K::InvalidState
        | K::ExplicitNamespaceUnexpectedToken => "this form of selector is not supported here",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_selector_is_quoted_with_what_is_wrong_and_where() {
        let err = parse("div..x[").unwrap_err();
        assert!(err.contains(r#""div..x[""#), "{err}");
        assert!(
            err.contains("'.' must be followed by a class name"),
            "{err}"
        );
        assert!(!err.contains("report this to the developer"), "{err}");
        for (css, needle) in [
            ("div >", "nothing after it"),
            ("p:hover-ish", "pseudo-class"),
            ("a[", "unclosed '['"),
            ("p,,a", "empty"),
        ] {
            let err = parse(css).unwrap_err();
            assert!(err.contains(needle), "{css}: {err}");
        }
        assert!(parse("div.story-body > p, aside").is_ok());
    }
}
