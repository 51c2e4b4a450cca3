//! Counts in what Thresher prints: "1 article", "2 articles", never
//! "1 articles" or "article(s)".

use std::fmt::Display;

/// `one` when `n` is 1, else `many`: the word (a noun or a verb) that agrees
/// with the count, as in `{n} {word(n, "article stays", "articles stay")}`.
pub fn word<'a, N>(n: N, one: &'a str, many: &'a str) -> &'a str
where
    N: PartialEq + From<u8>,
{
    if n == N::from(1) { one } else { many }
}

/// `n` and the noun that agrees with it: `count(1, "article", "articles")`
/// is "1 article", `count(0, …)` "0 articles".
pub fn count<N>(n: N, one: &str, many: &str) -> String
where
    N: Copy + Display + PartialEq + From<u8>,
{
    format!("{n} {}", word(n, one, many))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_takes_the_singular_and_every_other_count_the_plural() {
        assert_eq!(count(1u64, "article", "articles"), "1 article");
        assert_eq!(count(0u64, "article", "articles"), "0 articles");
        assert_eq!(count(2usize, "entry", "entries"), "2 entries");
        assert_eq!(count(11u32, "source", "sources"), "11 sources");
        assert_eq!(word(1usize, "stays", "stay"), "stays");
        assert_eq!(word(21usize, "stays", "stay"), "stay");
    }
}
