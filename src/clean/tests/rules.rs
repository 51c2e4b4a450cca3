//! A source's `[sources.rules]` and learned template blocks over the general method.

use super::*;

/// A page whose promo box sits inside the body and whose real headline
/// is not the `<h1>` (the site uses it for the section name).
const RULED: &str = r#"<html><head><title>Local News</title></head><body>
<h1>Local News</h1>
<div class="story">
<h2 class="headline">Library opens late on Thursdays</h2>
<p>The town library will stay open until nine on Thursday evenings from next month, the council said on Monday.</p>
<div class="member-box"><p>Members get early access to every story we publish, and fewer adverts, for just a few pounds a month.</p></div>
<p>Staff said the change followed a survey in which most readers asked for later hours, especially students and shift workers.</p>
</div>
<div class="sidebar-extra"><p>Weather for the week ahead: mild, with showers on Tuesday and a chance of sun, later.</p></div>
</body></html>"#;

fn rules(content: Option<&str>, remove: &[&str], title: Option<&str>) -> Rules {
    let sel = |s: &str| scraper::Selector::parse(s).expect("test selector");
    Rules {
        content: content.map(sel),
        remove: remove.iter().map(|s| sel(s)).collect(),
        title: title.map(sel),
    }
}

#[test]
fn remove_and_title_rules_override_the_general_method() {
    let plain = clean(RULED, None).expect("article");
    assert!(
        plain.text.contains("Members get early access"),
        "{}",
        plain.text
    );
    let rules = rules(None, &[".member-box"], Some("h2.headline"));
    let options = Options {
        rules: Some(&rules),
        ..Options::default()
    };
    let c = clean_with(RULED, None, &options).expect("article");
    assert!(!c.text.contains("Members get early access"), "{}", c.text);
    assert_eq!(c.title.as_deref(), Some("Library opens late on Thursdays"));
    assert!(!c.text.contains("Library opens late"), "{}", c.text);
    assert!(c.text.starts_with("The town library"), "{}", c.text);
}

#[test]
fn content_rule_selects_the_body_and_falls_back_when_it_matches_nothing() {
    let rules_hit = rules(Some(".sidebar-extra"), &[], None);
    let options = Options {
        rules: Some(&rules_hit),
        ..Options::default()
    };
    let c = clean_with(RULED, None, &options);
    // One short paragraph is below the article minimum even when a rule chose it.
    assert!(matches!(c, Err(CleanError::NoArticle(..))), "{c:?}");
    let rules_story = rules(Some("div.story > p"), &[], None);
    let options = Options {
        rules: Some(&rules_story),
        ..Options::default()
    };
    let c = clean_with(RULED, None, &options).expect("article");
    assert_eq!(c.text.split("\n\n").count(), 2, "{}", c.text);
    assert!(!c.text.contains("Members"), "{}", c.text);
    let rules_miss = rules(Some(".no-such-class"), &[], None);
    let options = Options {
        rules: Some(&rules_miss),
        ..Options::default()
    };
    let c = clean_with(RULED, None, &options).expect("general method");
    assert_eq!(c.text, clean(RULED, None).expect("article").text);
}

#[test]
fn learned_template_blocks_are_dropped() {
    let promo = "Members get early access to every story we publish, and fewer adverts, for just a few pounds a month.";
    let is_template = |block: &str| block == promo;
    let options = Options {
        is_boilerplate: Some(&is_template),
        ..Options::default()
    };
    let c = clean_with(RULED, None, &options).expect("article");
    assert!(!c.text.contains("Members get"), "{}", c.text);
    assert!(c.text.contains("The town library"));
    assert!(c.text.contains("Staff said"));
}
