//! Class/id/role hints, matched on whole tokens so that "header" is not
//! "head", "shadow" or "download" is not "ad", and so on.

use super::dom::ReadAttrs;

/// What an element's class/id/role/itemprop say about it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Hint {
    /// Looks like article content ("article-body", "entry-content", ...).
    pub positive: bool,
    /// Looks like boilerplate (ads, comments, share bars, ...).
    pub negative: bool,
    /// Article furniture that is not body text (byline, dateline, captions).
    pub furniture: bool,
    /// Looks like a standfirst / deck.
    pub standfirst: bool,
    /// Looks like a comment thread or form.
    pub comments: bool,
    /// Marked as the article body by microdata.
    pub article_body: bool,
    /// Text for screen readers only ("sr-only", "visually-hidden"): hidden wherever it sits.
    pub reader_only: bool,
    /// A box shown on hover ("tooltiptext", "popover", "hovercard"): hidden
    /// until then, so never part of the sentence it sits in.
    pub on_hover: bool,
}

/// Tokens that mark article content.
fn is_positive(t: &str) -> bool {
    matches!(
        t,
        "article"
            | "articles"
            | "articlebody"
            | "content"
            | "contents"
            | "entry"
            | "post"
            | "story"
            | "body"
            | "text"
            | "main"
            | "blog"
            | "hentry"
            | "prose"
            | "richtext"
            | "copy"
    )
}

/// Tokens that mark boilerplate.
fn is_negative(t: &str) -> bool {
    matches!(
        t,
        "ad" | "ads"
            | "adv"
            | "advert"
            | "adverts"
            | "adslot"
            | "adunit"
            | "adsense"
            | "adwrapper"
            | "adcontainer"
            | "dfp"
            | "gpt"
            | "banner"
            | "promo"
            | "promos"
            | "promoted"
            | "sponsor"
            | "sponsored"
            | "sponsors"
            | "disqus"
            | "share"
            | "sharing"
            | "shares"
            | "social"
            | "related"
            | "recommended"
            | "recommendations"
            | "recirc"
            | "recirculation"
            | "newsletter"
            | "newsletters"
            | "subscribe"
            | "subscription"
            | "signup"
            | "cookie"
            | "cookies"
            | "consent"
            | "gdpr"
            | "sidebar"
            | "footer"
            | "nav"
            | "navbar"
            | "navigation"
            | "menu"
            | "breadcrumb"
            | "breadcrumbs"
            | "tags"
            | "popup"
            | "modal"
            | "overlay"
            | "masthead"
            | "outbrain"
            | "taboola"
            | "trending"
            | "recent"
            | "prev"
            | "previous"
            | "popular"
            | "toolbar"
            | "pagination"
            | "pager"
            | "skip"
            | "login"
            | "rss"
            | "follow"
            | "comment"
            | "comments"
            | "header"
            | "topbar"
            | "jump"
            | "shopping"
            | "affiliate"
            | "print"
            | "tools"
            | "utility"
            | "feedback"
            | "teasers"
            | "slideshow"
            | "carousel"
            | "gallery"
    )
}

/// Tokens that mark text shown to screen readers only.
fn is_reader_only(t: &str) -> bool {
    matches!(t, "sr" | "visually" | "screenreader")
}

/// Prefixes that mark boilerplate in one-word class names ("sharebar", "relatedposts").
const NEG_PREFIX: &[&str] = &[
    "advert",
    "sponsor",
    "comment",
    "share",
    "social",
    "related",
    "newsletter",
    "subscri",
    "cookie",
    "sidebar",
    "footer",
    "breadcrumb",
    "promo",
    "outbrain",
    "taboola",
    "recommend",
    "disqus",
];

/// Tokens that mark article furniture (bylines, dates, captions).
fn is_furniture(t: &str) -> bool {
    matches!(
        t,
        "byline"
            | "bylines"
            | "author"
            | "authors"
            | "dateline"
            | "timestamp"
            | "date"
            | "published"
            | "updated"
            | "caption"
            | "credit"
            | "credits"
            | "meta"
            | "bio"
            | "tag"
            | "topics"
            | "category"
            | "categories"
            | "kicker"
            | "eyebrow"
            | "label"
    )
}

/// Tokens that mark a standfirst / deck.
fn is_standfirst(t: &str) -> bool {
    matches!(
        t,
        "standfirst"
            | "subtitle"
            | "subheadline"
            | "subhead"
            | "dek"
            | "deck"
            | "strapline"
            | "summary"
            | "description"
            | "teaser"
            | "excerpt"
            | "sapo"
    )
}

/// Calls `f` with each lower-case token of a class/id value, split at
/// non-alphanumerics and camelCase humps; one reused buffer, no per-token allocation.
fn for_each_token(value: &str, buf: &mut String, mut f: impl FnMut(&str)) {
    buf.clear();
    let mut prev_lower = false;
    let mut count = 0;
    for c in value.chars() {
        // ASCII (nearly every class name) skips the Unicode tables; same answers.
        let (alnum, upper, lower_or_digit) = if c.is_ascii() {
            (
                c.is_ascii_alphanumeric(),
                c.is_ascii_uppercase(),
                c.is_ascii_lowercase() || c.is_ascii_digit(),
            )
        } else {
            (
                c.is_alphanumeric(),
                c.is_uppercase(),
                c.is_lowercase() || c.is_numeric(),
            )
        };
        let boundary = !alnum || (upper && prev_lower);
        if boundary && !buf.is_empty() {
            f(buf);
            buf.clear();
            count += 1;
            // Attribute soup (thousands of classes) is not a hint worth reading.
            if count >= 64 {
                return;
            }
        }
        if alnum {
            prev_lower = lower_or_digit;
            if c.is_ascii() {
                buf.push(c.to_ascii_lowercase());
            } else {
                buf.extend(c.to_lowercase());
            }
        } else {
            prev_lower = false;
        }
    }
    if !buf.is_empty() {
        f(buf);
    }
}

/// A Tailwind-style class with a variant (`hover:`, `md:`) or an arbitrary
/// value (`w-[144px]`, `bg-black/5`).
fn is_utility_variant(name: &str) -> bool {
    name.bytes().any(|b| matches!(b, b':' | b'[' | b'/'))
}

/// The hints one class/id token gives, added to `h`.
fn apply_token(h: &mut Hint, t: &str) {
    if is_positive(t) {
        h.positive = true;
    }
    if is_negative(t) || NEG_PREFIX.iter().any(|p| t.starts_with(p)) {
        h.negative = true;
    }
    if is_reader_only(t) {
        h.negative = true;
        h.reader_only = true;
    }
    // The box, not the trigger: "tooltip" is often the term itself.
    if matches!(t, "tooltiptext" | "popover" | "hovercard") {
        h.on_hover = true;
    }
    if t.starts_with("comment") || t == "disqus" || t == "respond" {
        h.comments = true;
    }
    if is_furniture(t) {
        h.furniture = true;
    }
    if is_standfirst(t) {
        h.standfirst = true;
    }
}

/// The hint of a `class` value alone.
fn class_hint(c: &str, buf: &mut String) -> Hint {
    let mut h = Hint::default();
    // A utility-first class list (Tailwind: `md:w-1/3`, `first:px-[4px]`)
    // describes looks, not roles: its variant and value classes are
    // skipped, and in such a list so is any class with a number in it
    // (`font-utility-2` is a type scale, not a utility bar).
    let utility = c.split_ascii_whitespace().any(is_utility_variant);
    for name in c.split_ascii_whitespace() {
        let styling =
            is_utility_variant(name) || (utility && name.bytes().any(|b| b.is_ascii_digit()));
        if !styling {
            for_each_token(name, buf, |t| apply_token(&mut h, t));
        }
    }
    h
}

/// Class hints already computed on one page, by `class` value: pages repeat
/// a few class lists on thousands of elements (often on siblings in a row,
/// so the last one is compared before the map is hashed), and the token
/// buffer every element's hint reuses.
#[derive(Default)]
pub(crate) struct ClassCache<'a> {
    /// Hint of each `class` value seen.
    map: std::collections::HashMap<&'a str, Hint>,
    /// The last `class` value looked up, and its hint.
    last: Option<(&'a str, Hint)>,
    /// The buffer tokens are lower-cased into.
    buf: String,
}

impl<'a> ClassCache<'a> {
    /// An empty cache.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The hint of the `class` value `c`, computed once per value.
    fn class(&mut self, c: &'a str) -> Hint {
        if let Some((last, h)) = self.last
            && last == c
        {
            return h;
        }
        let buf = &mut self.buf;
        let h = *self.map.entry(c).or_insert_with(|| class_hint(c, buf));
        self.last = Some((c, h));
        h
    }
}

/// Computes the hint of one element, reading the class part from `cache`
/// when the page had the same `class` value before.
pub(crate) fn hint_cached<'a>(a: &ReadAttrs<'a>, cache: &mut ClassCache<'a>) -> Hint {
    let mut h = match a.class {
        Some(c) => cache.class(c),
        None => Hint::default(),
    };
    let buf = &mut cache.buf;
    let mut apply = |t: &str| apply_token(&mut h, t);
    if let Some(id) = a.id {
        for_each_token(id, buf, &mut apply);
    }
    if let Some(ip) = a.itemprop {
        let ip = ip.to_ascii_lowercase();
        if ip.contains("articlebody") || ip.split_whitespace().any(|t| t == "text") {
            h.positive = true;
            h.article_body = true;
        }
        if ip.contains("author") || ip.contains("date") {
            h.furniture = true;
        }
        if ip.contains("description") || ip.contains("alternativeheadline") {
            h.standfirst = true;
        }
    }
    if let Some(role) = a.role {
        let role = role.to_ascii_lowercase();
        match role.trim() {
            "main" | "article" => h.positive = true,
            "navigation" | "banner" | "complementary" | "contentinfo" | "dialog"
            | "alertdialog" | "menu" | "menubar" | "search" | "toolbar" => h.negative = true,
            _ => {}
        }
    }
    h
}

/// Readability-style weight of an element from its hints.
pub(crate) fn class_weight(h: &Hint) -> f64 {
    let mut w = 0.0;
    if h.positive {
        w += 25.0;
    }
    if h.negative {
        w -= 25.0;
    }
    if h.article_body {
        w += 25.0;
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        let mut v = Vec::new();
        let mut buf = String::new();
        for_each_token(s, &mut buf, |t| v.push(t.to_string()));
        v
    }

    #[test]
    fn tokenises_on_boundaries_and_humps() {
        assert_eq!(toks("article-body"), vec!["article", "body"]);
        assert_eq!(toks("relatedLinks"), vec!["related", "links"]);
        assert_eq!(toks("shadow download"), vec!["shadow", "download"]);
        assert_eq!(toks("HEADER"), vec!["header"]);
    }
}
