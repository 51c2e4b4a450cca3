//! The direct serialisation held to ammonia's output.

use proptest::prelude::*;

use super::super::Figure;
use super::super::NONE;
use super::super::extract::{Block, Kind, escape_into};
use super::super::images::Placed;
use super::super::sanitize::{ammonia_clean, raw_html};
use super::*;

/// The base URL of a page fetched from a feed.
fn base() -> Url {
    Url::parse("https://news.example/a/b.html?x=1").expect("url")
}

/// Checks both ways of sanitising `raw` agree (when the direct one answers)
/// and returns whether it answered.
fn agrees(raw: &str) -> bool {
    let mut answered = false;
    for base in [None, Some(base())] {
        if let Some(fast) = sanitize_known(raw, base.as_ref()) {
            assert_eq!(fast, ammonia_clean(raw, base.as_ref()), "{raw:?} {base:?}");
            answered = true;
        }
    }
    answered
}

fn block(kind: Kind, html: &str, group: usize) -> Block {
    Block {
        kind,
        text: "text".into(),
        html: html.into(),
        group,
        node: 0,
        link_len: 0,
    }
}

#[test]
fn blocks_lists_links_and_figures_come_out_as_ammonia_writes_them() {
    let mut link = String::from("see <a href=\"");
    escape_into("/x?a=1&b=\"2\"", &mut link);
    link.push_str("\">the <em>story</em></a> &amp; more\u{a0}<br>");
    let blocks = [
        block(
            Kind::H(1),
            "A &lt;headline&gt; with &quot;quotes&quot;",
            NONE,
        ),
        block(Kind::P, &link, NONE),
        block(Kind::P, "caf\u{e9} \u{a0}no-break\u{a0} \"said\"", NONE),
        block(Kind::Li(false), "<strong>one</strong>", 7),
        block(Kind::Li(false), "<i>two</i> <code>x</code>", 7),
        block(Kind::Li(true), "<a href=\"javascript:alert(1)\">x</a>", 9),
        block(Kind::Quote, "<a href=\"mailto:a@b.example\">mail</a>", NONE),
        block(Kind::H(4), "<a href=\"\">empty</a><a>none</a>", NONE),
        block(Kind::Row, "<th>a <b>b</b></th><td>c<br>d</td>", 3),
        block(Kind::Row, "<td>e</td>", 3),
        block(Kind::Pre, "<code>\n  fn x() {}\n</code>", NONE),
        block(Kind::Pre, "a\n\n  b", NONE),
    ];
    let figure = |url: &str, caption: Option<&str>, alt: Option<&str>| Placed {
        node: 1,
        figure: Figure {
            url: Url::parse(url).expect("url"),
            caption: caption.map(str::to_string),
            alt: alt.map(str::to_string),
        },
    };
    let figures = [
        figure(
            "https://img.example/a.jpg?w=1&h=2",
            Some("A \"cap\" <tion>"),
            None,
        ),
        figure("data:image/png;base64,AAAA", None, Some("alt & text")),
    ];
    let raw = raw_html(&blocks, &figures);
    assert!(agrees(&raw), "{raw}");
}

#[test]
fn what_the_parser_would_reshape_is_left_to_ammonia() {
    for raw in [
        "<pre>\ncode</pre>\n",
        "<table><tr>a<td>b</td></tr></table>\n",
        "<table><td>a</td></table>\n",
        "<tr><td>a</td></tr>\n",
        "<p><a href=\"x\">a <a href=\"y\">b</a></a></p>\n",
        "<p><b><b><b>deep</b></b></b></p>\n",
        "<p>a &copy; b</p>\n",
        "<p>a\rb</p>\n",
        "<p>a\0b</p>\n",
        "<p>open",
        "<p><em>misnested</p></em>",
        "text at the top",
        "<li>alone</li>",
        "<p><p>nested</p></p>",
        "<span>unknown</span>",
        "<p onclick=\"x\">attribute</p>",
    ] {
        assert_eq!(sanitize_known(raw, None), None, "{raw:?}");
    }
}

/// Text as pages have it, with everything escaping touches.
fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("word".to_string()),
            Just(" ".to_string()),
            Just("&".to_string()),
            Just("<".to_string()),
            Just(">".to_string()),
            Just("\"".to_string()),
            Just("'".to_string()),
            Just("\u{a0}".to_string()),
            Just("\u{e9}\u{65e5}".to_string()),
            Just("\n\t\u{c}".to_string()),
            Just("&amp;".to_string()),
            Just("\r".to_string()),
        ],
        0..6,
    )
    .prop_map(|parts| parts.concat())
}

/// Link targets of every kind ammonia tells apart.
fn href() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("https://a.example/x?y=1&z=2".to_string()),
        Just("/rel/path".to_string()),
        Just("rel page.html".to_string()),
        Just(String::new()),
        Just("javascript:alert(1)".to_string()),
        Just("data:text/html,x".to_string()),
        Just("mailto:a@b.example".to_string()),
        Just("http://[::1".to_string()),
        Just("  https://x.example/\u{a0}".to_string()),
        Just("//cdn.example/a\"b".to_string()),
        Just("#frag".to_string()),
        Just("?q=<1>".to_string()),
        Just("HTTPS://X.EXAMPLE".to_string()),
        Just("weird:thing".to_string()),
        Just("http://a b".to_string()),
        Just("tel:+1".to_string()),
    ]
}

/// Inline HTML as `Analysis::inline` writes it (nesting bounded).
fn inline() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        text().prop_map(|t| {
            let mut s = String::new();
            escape_into(&t, &mut s);
            s
        }),
        Just("<br>".to_string()),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        (
            prop_oneof![
                Just("em"),
                Just("strong"),
                Just("b"),
                Just("i"),
                Just("code"),
                Just("a")
            ],
            proptest::option::of(href()),
            proptest::collection::vec(inner, 0..4),
        )
            .prop_map(|(tag, href, content)| {
                let mut s = format!("<{tag}");
                if let (true, Some(h)) = (tag == "a", href) {
                    s.push_str(" href=\"");
                    escape_into(&h, &mut s);
                    s.push('"');
                }
                s.push('>');
                s.push_str(&content.concat());
                s.push_str(&format!("</{tag}>"));
                s
            })
    })
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::P),
        (1u8..=6).prop_map(Kind::H),
        any::<bool>().prop_map(Kind::Li),
        Just(Kind::Quote),
        Just(Kind::Pre),
        Just(Kind::Row),
    ]
}

fn figure() -> impl Strategy<Value = Figure> {
    (
        prop_oneof![
            Just("https://img.example/a.jpg?a=1&b=2"),
            Just("http://img.example/\u{e9}.png"),
            Just("data:image/png;base64,AA"),
            Just("ftp://img.example/x"),
        ],
        proptest::option::of(text()),
        proptest::option::of(text()),
    )
        .prop_map(|(url, caption, alt)| Figure {
            url: Url::parse(url).expect("url"),
            caption,
            alt,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn the_direct_output_is_ammonias_output(
        blocks in proptest::collection::vec((kind(), inline(), 0usize..3), 0..8),
        figures in proptest::collection::vec((0usize..9, figure()), 0..3),
    ) {
        let blocks: Vec<Block> = blocks
            .into_iter()
            .enumerate()
            .map(|(at, (kind, html, group))| {
                // A row's HTML is its cells, as `Analysis::blocks` writes them.
                let html = if kind == Kind::Row {
                    format!("<td>{html}</td><th>{html}</th>")
                } else {
                    html
                };
                Block { node: at, ..block(kind, &html, group) }
            })
            .collect();
        let mut figures: Vec<Placed> = figures
            .into_iter()
            .map(|(node, figure)| Placed { node, figure })
            .collect();
        figures.sort_by_key(|f| f.node);
        agrees(&raw_html(&blocks, &figures));
    }
}
