//! The cleaner's memory budget. Parsing builds a node for every element and
//! text run, and the cleaner keeps a few more words per node, so memory
//! follows the number of tags far more than the bytes: 1 M `<p>x</p>` (8 MB)
//! once took 600 MB and 2.25 M `<p>x` 1.4 GB, past any container limit, and
//! the link crashed the daemon again after every restart. The page left
//! after the pre-pass (scripts, styles, images and the like are gone by
//! then) is measured before anything is parsed, and a page over budget is
//! refused, which is final for its link.

use memchr::memchr_iter;

use super::CleanError;

/// Most elements a page may have once prepared. The largest page in the
/// evaluation sets has under 10,000; a very long Wikipedia page about 60,000.
pub(crate) const MAX_ELEMENTS: usize = 200_000;

/// Most bytes of markup a page may have once prepared; default bodies are
/// capped at 10 MB before this, but `fetch.max_body_bytes` allows 100 MB.
pub(crate) const MAX_MARKUP_BYTES: usize = 16 << 20;

/// Refuses a prepared page that would take more memory to parse and clean
/// than the budget allows. Linear in the page, no allocation.
pub(crate) fn check(prepared: &str) -> Result<(), CleanError> {
    if prepared.len() > MAX_MARKUP_BYTES {
        return Err(CleanError::OverBudget(format!(
            "{} bytes of markup (the cleaner takes at most {MAX_MARKUP_BYTES})",
            prepared.len()
        )));
    }
    let bytes = prepared.as_bytes();
    // A start tag is `<` then an ASCII letter; comments, end tags and a
    // stray `<` in text do not make elements.
    let mut elements = 0usize;
    for at in memchr_iter(b'<', bytes) {
        if bytes.get(at + 1).is_some_and(u8::is_ascii_alphabetic) {
            elements += 1;
            if elements > MAX_ELEMENTS {
                return Err(CleanError::OverBudget(format!(
                    "more than {MAX_ELEMENTS} elements (the cleaner's memory budget)"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_with_more_elements_than_the_budget_is_refused_before_parsing() {
        let page = "<p>x".repeat(MAX_ELEMENTS + 1);
        let err = check(&page).expect_err("over budget");
        assert!(err.to_string().contains("200000 elements"), "{err}");
        assert!(check(&"<p>x</p>".repeat(MAX_ELEMENTS)).is_ok());
    }

    #[test]
    fn end_tags_comments_and_stray_angles_are_not_counted() {
        let page = "</p><!-- c --> a < b ".repeat(MAX_ELEMENTS);
        assert!(check(&page).is_ok());
    }

    #[test]
    fn markup_beyond_the_byte_budget_is_refused() {
        let page = "x".repeat(MAX_MARKUP_BYTES + 1);
        let err = check(&page).expect_err("over budget");
        assert!(err.to_string().contains("bytes of markup"), "{err}");
    }
}
