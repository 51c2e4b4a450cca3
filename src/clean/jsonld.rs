//! The article facts a page states in JSON-LD (`<script type="application/ld+json">`):
//! schema.org article nodes, the `WebPage` Yoast puts the date on, and the
//! organisation or website that publishes it.

use std::collections::HashMap;

use serde_json::Value;

use super::dom::collapse_ws;
use super::metadata::non_empty;

/// Upper bound on JSON-LD values visited per page, to bound work on huge blobs.
const LD_VISIT_LIMIT: usize = 20_000;
/// Keywords kept from one article node, at most.
const MAX_KEYWORDS: usize = 30;

/// The article facts found in JSON-LD; the first article node's value of
/// each field wins, except the body (the longest).
#[derive(Debug, Default)]
pub(crate) struct LdArticle {
    /// `headline`, else `name`.
    pub headline: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `author` names (strings, Person objects or arrays of either; a
    /// reference by `@id` is looked up in the page's other nodes).
    pub authors: Vec<String>,
    /// The `author` names typed `Organization` (the publisher named as
    /// the author, not a person's byline).
    pub organisation_authors: Vec<String>,
    /// `datePublished` of an article node.
    pub date_published: Option<String>,
    /// `datePublished` of a node that is not an article (Yoast puts the
    /// post's date on its `WebPage`).
    pub page_date_published: Option<String>,
    /// `dateCreated`.
    pub date_created: Option<String>,
    /// `dateModified` of an article node, else of the page node.
    pub date_modified: Option<String>,
    /// `inLanguage`.
    pub language: Option<String>,
    /// Longest `articleBody`.
    pub body: Option<String>,
    /// `image`: a URL, an `ImageObject` (`url`, `contentUrl`) or a list; the first.
    pub image: Option<String>,
    /// `articleSection` (the first, when a list).
    pub section: Option<String>,
    /// `keywords`, split at commas when a single string.
    pub keywords: Vec<String>,
    /// The publisher's `name`, also when the article only points at it by `@id`.
    pub publisher: Option<String>,
    /// `name` of the `WebSite` node.
    pub website: Option<String>,
}

/// True for schema.org article types (`NewsArticle`, `BlogPosting`, ...), also in arrays.
fn is_article_type(v: Option<&Value>) -> bool {
    let check = |s: &str| {
        s.ends_with("Article") || s == "BlogPosting" || s == "LiveBlogPosting" || s == "Report"
    };
    has_type(v, check)
}

/// True when `@type` (a string or an array of strings) satisfies `check`.
fn has_type(v: Option<&Value>, check: impl Fn(&str) -> bool) -> bool {
    match v {
        Some(Value::String(s)) => check(s),
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str().is_some_and(&check)),
        _ => false,
    }
}

/// A string from a JSON-LD value that may be a string, an array or an object with `name`.
pub(crate) fn ld_str(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => non_empty(collapse_ws(s)),
        Value::Array(a) => a.iter().find_map(|x| ld_str(Some(x))),
        Value::Object(o) => o
            .get("name")
            .and_then(|n| n.as_str())
            .and_then(|n| non_empty(collapse_ws(n))),
        _ => None,
    }
}

/// The URL of an `image` value: a string, an `ImageObject` or a list of either.
fn ld_image(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => non_empty(s.trim().to_string()),
        Value::Array(a) => a.iter().take(10).find_map(|x| ld_image(Some(x))),
        Value::Object(o) => ["url", "contentUrl"]
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_str))
            .and_then(|s| non_empty(s.trim().to_string())),
        _ => None,
    }
}

/// One `author` entry: a name, or a reference by `@id` to a node elsewhere.
enum LdAuthor {
    /// A name given in place, and whether it is typed `Organization`.
    Name(String, bool),
    /// An `@id` to look up once every node has been seen.
    Ref(String),
}

/// Author entries from a string, a Person/Organization object (by name or
/// by `@id` reference) or an array of either.
fn ld_authors(v: Option<&Value>) -> Vec<LdAuthor> {
    let entry = |x: &Value| match x {
        Value::String(s) => Some(LdAuthor::Name(collapse_ws(s), false)),
        Value::Object(o) => match o.get("name").and_then(Value::as_str) {
            Some(n) => Some(LdAuthor::Name(
                collapse_ws(n),
                has_type(o.get("@type"), |t| t == "Organization"),
            )),
            None => o
                .get("@id")
                .and_then(Value::as_str)
                .map(|id| LdAuthor::Ref(id.to_string())),
        },
        _ => None,
    };
    match v {
        Some(Value::Array(a)) => a.iter().take(10).filter_map(entry).collect(),
        Some(x) => entry(x).into_iter().collect(),
        None => Vec::new(),
    }
}

/// Keywords from a comma-separated string or a list of strings.
fn ld_keywords(v: Option<&Value>) -> Vec<String> {
    let parts: Vec<String> = match v {
        Some(Value::String(s)) => s.split(',').map(collapse_ws).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(collapse_ws)
            .collect(),
        _ => Vec::new(),
    };
    parts
        .into_iter()
        .filter(|k| !k.is_empty())
        .take(MAX_KEYWORDS)
        .collect()
}

/// Parses JSON-LD blobs and walks them (iteratively) for article objects.
pub(crate) fn parse_ld(blobs: &[String]) -> LdArticle {
    let mut out = LdArticle::default();
    // Names by `@id` (and whether the node is an organisation), for a
    // publisher or author given as a reference.
    let mut names: HashMap<String, (String, bool)> = HashMap::new();
    // Each article node's author entries, resolved once all nodes are seen.
    let mut author_entries: Vec<Vec<LdAuthor>> = Vec::new();
    let mut publisher_ref: Option<String> = None;
    let mut page_modified: Option<String> = None;
    let mut visited = 0usize;
    'blobs: for blob in blobs {
        // Raw control characters inside strings are common and invalid JSON;
        // outside strings they are plain whitespace, so blanking them is safe.
        let fixed: String = blob
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let Ok(root) = serde_json::from_str::<Value>(fixed.trim()) else {
            continue;
        };
        let mut stack: Vec<&Value> = vec![&root];
        while let Some(v) = stack.pop() {
            visited += 1;
            if visited > LD_VISIT_LIMIT {
                break 'blobs;
            }
            match v {
                Value::Array(a) => stack.extend(a.iter().rev()),
                Value::Object(o) => {
                    let kind = o.get("@type");
                    if is_article_type(kind) {
                        take_article(o, &mut out, &mut publisher_ref, &mut author_entries);
                    } else {
                        if out.page_date_published.is_none() {
                            out.page_date_published = ld_str(o.get("datePublished"));
                        }
                        if page_modified.is_none() && has_type(kind, |t| t.ends_with("WebPage")) {
                            page_modified = ld_str(o.get("dateModified"));
                        }
                    }
                    if has_type(kind, |t| t == "WebSite") && out.website.is_none() {
                        out.website = ld_str(o.get("name"));
                    }
                    if let (Some(id), Some(name)) = (
                        o.get("@id").and_then(Value::as_str),
                        o.get("name").and_then(Value::as_str),
                    ) && names.len() < 64
                    {
                        let organisation = has_type(kind, |t| t == "Organization");
                        names.insert(id.to_string(), (collapse_ws(name), organisation));
                    }
                    // A blog's page wraps its post in `blogPost`.
                    for key in [
                        "@graph",
                        "mainEntity",
                        "mainEntityOfPage",
                        "itemListElement",
                        "blogPost",
                    ] {
                        if let Some(x) = o.get(key) {
                            stack.push(x);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    // The first article node whose authors resolve to a name gives them.
    for entries in author_entries {
        for entry in entries {
            let (name, organisation) = match entry {
                LdAuthor::Name(n, org) => (n, org),
                LdAuthor::Ref(id) => match names.get(&id) {
                    Some((n, org)) => (n.clone(), *org),
                    None => continue,
                },
            };
            if organisation {
                out.organisation_authors.push(name.clone());
            }
            out.authors.push(name);
        }
        if !out.authors.is_empty() {
            break;
        }
    }
    if out.publisher.is_none() {
        out.publisher = publisher_ref
            .and_then(|id| names.remove(&id))
            .map(|(n, _)| n)
            .filter(|n| !n.is_empty());
    }
    if out.date_modified.is_none() {
        out.date_modified = page_modified;
    }
    out
}

/// Merges one article object; the first value of each field wins, the longest body wins.
fn take_article(
    o: &serde_json::Map<String, Value>,
    out: &mut LdArticle,
    publisher_ref: &mut Option<String>,
    author_entries: &mut Vec<Vec<LdAuthor>>,
) {
    let fill = |slot: &mut Option<String>, value: Option<String>| {
        if slot.is_none() {
            *slot = value;
        }
    };
    fill(
        &mut out.headline,
        ld_str(o.get("headline")).or_else(|| ld_str(o.get("name"))),
    );
    fill(&mut out.description, ld_str(o.get("description")));
    let authors = ld_authors(o.get("author"));
    if !authors.is_empty() && author_entries.len() < 10 {
        author_entries.push(authors);
    }
    fill(&mut out.date_published, ld_str(o.get("datePublished")));
    fill(&mut out.date_created, ld_str(o.get("dateCreated")));
    fill(&mut out.date_modified, ld_str(o.get("dateModified")));
    fill(&mut out.language, ld_str(o.get("inLanguage")));
    fill(&mut out.image, ld_image(o.get("image")));
    fill(&mut out.section, ld_str(o.get("articleSection")));
    if out.keywords.is_empty() {
        out.keywords = ld_keywords(o.get("keywords"));
    }
    if out.publisher.is_none() {
        let publisher = o.get("publisher");
        out.publisher = ld_str(publisher);
        if out.publisher.is_none() && publisher_ref.is_none() {
            *publisher_ref = publisher
                .and_then(|p| p.get("@id"))
                .and_then(Value::as_str)
                .map(str::to_string);
        }
    }
    if let Some(Value::String(b)) = o.get("articleBody") {
        let longer = out.body.as_ref().is_none_or(|cur| b.len() > cur.len());
        if longer && !b.trim().is_empty() {
            out.body = Some(b.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_yoast_graph_gives_the_publisher_by_reference_and_the_page_dates() {
        let blob = r##"{"@context":"https://schema.org","@graph":[
            {"@type":"Article","@id":"https://x.test/a#article","headline":"H",
             "publisher":{"@id":"https://x.test/#organization"},
             "image":{"@id":"https://x.test/a#primaryimage"},
             "articleSection":["Politics","World"],"keywords":"budget, council , ,roads"},
            {"@type":"WebPage","@id":"https://x.test/a","datePublished":"2024-03-01T08:00:00+00:00",
             "dateModified":"2024-03-02T09:30:00+00:00"},
            {"@type":"ImageObject","@id":"https://x.test/a#primaryimage","url":"https://x.test/lead.jpg"},
            {"@type":"Organization","@id":"https://x.test/#organization","name":"The Courier"},
            {"@type":"WebSite","@id":"https://x.test/#website","name":"Courier Online"}]}"##;
        let ld = parse_ld(&[blob.to_string()]);
        assert_eq!(ld.publisher.as_deref(), Some("The Courier"));
        assert_eq!(ld.website.as_deref(), Some("Courier Online"));
        assert_eq!(ld.section.as_deref(), Some("Politics"));
        assert_eq!(ld.keywords, ["budget", "council", "roads"]);
        assert_eq!(
            ld.page_date_published.as_deref(),
            Some("2024-03-01T08:00:00+00:00")
        );
        assert_eq!(
            ld.date_modified.as_deref(),
            Some("2024-03-02T09:30:00+00:00")
        );
    }

    #[test]
    fn images_are_read_as_strings_objects_and_lists() {
        for (image, want) in [
            (r#""https://x.test/a.jpg""#, "https://x.test/a.jpg"),
            (r#"{"@type":"ImageObject","url":"/b.jpg"}"#, "/b.jpg"),
            (r#"[{"contentUrl":"c.jpg"},"d.jpg"]"#, "c.jpg"),
        ] {
            let blob = format!(r#"{{"@type":"NewsArticle","image":{image}}}"#);
            assert_eq!(parse_ld(&[blob]).image.as_deref(), Some(want), "{image}");
        }
    }
}
