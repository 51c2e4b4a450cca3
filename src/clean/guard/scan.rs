//! The input pass itself: a scanner over the page's markup, one method per
//! kind of markup and per class of element, with the tree-builder state it
//! follows in its fields.

use memchr::memchr;

use super::lex::{
    comment_end, contains_ignore_case, end_tag_end, gt_end, is_ws, name_end, no_attrs, raw_end,
    script_end, tag_end,
};
use super::names::{
    Class, Void, classify, formatting_id, is_block_boundary, is_dropped_attr, is_frame,
    is_image_attr, may_be_ignored, opens_block_element, script_runs, void_never_content,
};
use super::subtree::{Subtree, plain_subtree_end, svg_end, template_end};
use super::{MAX_FORMATTING, NAV_WORDS_ATTR, Out, Prepared, Slim};

/// Where the scan goes after one piece of markup.
enum Step {
    /// On at this index.
    At(usize),
    /// Nothing more to cut: the rest of the page stays as it is.
    Stop,
    /// The page must be prepared again with nothing but over-deep tags cut.
    Restart,
}

/// What a start tag's element class decided.
struct Start {
    /// Where the scan goes on.
    next: usize,
    /// The element goes whole, up to here.
    cut_to: Option<usize>,
}

impl Start {
    /// The scan goes on at `next`, the element stays.
    fn at(next: usize) -> Self {
        Start { next, cut_to: None }
    }
}

/// One start tag: its place and what it is.
#[derive(Clone, Copy)]
struct Tag<'h> {
    /// Index of its `<`.
    lt: usize,
    /// Index just past its `>`.
    gt: usize,
    /// Its name as written.
    name: &'h [u8],
    /// Written `<name/>`.
    self_closing: bool,
}

/// The pass over one page, with the tree-builder state it follows.
pub(super) struct Scanner<'a> {
    /// The page.
    html: &'a str,
    /// The page's bytes.
    b: &'a [u8],
    /// Container nesting depth beyond which opening tags go.
    max: usize,
    /// What goes besides over-deep tags. After SVG or MathML the pass cannot
    /// skip, which elements are raw text and which tags break out of foreign
    /// content depends on tree-builder state it does not model: from there
    /// on it cuts nothing (but over-deep tags), so the parser sees the rest
    /// of the page as it is. (A failed SVG or template skip is such a
    /// place, so no part of the page is scanned twice.)
    slim: Slim,
    /// Never-content bytes were asked to go (whatever `slim` says by now).
    never_content: bool,
    /// The page with the cuts so far.
    out: Out<'a>,
    /// depth[0]: containers, depth[1]: formatting elements.
    depth: [usize; 2],
    /// Open `<pre>`/`<listing>` elements: their whitespace is kept.
    pre_depth: usize,
    /// Open `<figure>`/`<picture>` elements: an image in one may be the
    /// article's (`clean::images`), so it stays; every other `<img>` goes.
    framed: usize,
    /// Inside a `<select>`, `<input>` would close it: there it stays.
    in_select: bool,
    /// Inside a `<button>`, another one closes it (and all opened since).
    in_button: bool,
    /// Formatting elements that may still be in the parser's list of active
    /// formatting elements, by [`formatting_id`]: an end tag takes out the
    /// last of its name, a stray one nothing. `None` once there were too many
    /// to follow. A `<nav>` holding one of these names may close one.
    open_formatting: Option<Vec<u8>>,
    /// A block or end tag came while a formatting element was open, and no
    /// text since: the parser may have closed that element but keep it
    /// pending in its list, to open it again at the next text or inline tag
    /// (whitespace, `<img>`, `<svg>` included). Those then stay, so it
    /// reopens where it would on the page.
    pending_formatting: bool,
    /// The last tag kept surely starts a block (a block start tag the parser
    /// never ignores, or `</p>`): whitespace-only text after it is never
    /// rendered, and nothing after the parse reads it. (A block end tag may
    /// be a stray one the parser ignores, and then the whitespace after it
    /// may be all that parts two words of one line.)
    after_block: bool,
    /// The last thing kept was text: an element cut between it and more text
    /// leaves a `<!---->`, so the two stay separate text nodes as on the page.
    text_open: bool,
    /// An executable script was dropped.
    scripted: bool,
    /// A `<nav>` before this point sits inside one whose skip already failed.
    nav_looked: usize,
}

impl<'a> Scanner<'a> {
    /// A scanner at the start of `html`.
    pub(super) fn new(html: &'a str, max: usize, slim: Slim) -> Self {
        Scanner {
            html,
            b: html.as_bytes(),
            max,
            slim,
            never_content: slim.never_content,
            out: Out {
                src: html,
                buf: None,
                done: 0,
            },
            depth: [0; 2],
            pre_depth: 0,
            framed: 0,
            in_select: false,
            in_button: false,
            open_formatting: Some(Vec::new()),
            pending_formatting: false,
            after_block: false,
            text_open: false,
            scripted: false,
            nav_looked: 0,
        }
    }

    /// Runs the pass over the whole page; `None` when the page must be
    /// prepared again with nothing but over-deep tags cut.
    pub(super) fn run(mut self) -> Option<Prepared<'a>> {
        let b = self.b;
        let n = b.len();
        let mut i = 0;
        while let Some(off) = b.get(i..).and_then(|r| memchr(b'<', r)) {
            let lt = i + off;
            self.text(i, lt);
            let Some(&c) = b.get(lt + 1) else { break };
            let step = match c {
                b'!' => Step::At(self.declaration(lt)),
                b'?' => Step::At(gt_end(b, lt + 2).unwrap_or(n)),
                b'/' => self.end_tag(lt),
                c if c.is_ascii_alphabetic() => self.start_tag(lt),
                _ => {
                    // A `<` that opens nothing is text.
                    self.text_open = true;
                    Step::At(lt + 1)
                }
            };
            match step {
                Step::At(next) => i = next,
                Step::Stop => break,
                Step::Restart => return None,
            }
        }
        Some(Prepared {
            html: self.out.finish(),
            scripted: self.scripted,
        })
    }

    /// The text `b[i..lt]` before a `<`: what it says of the text node, and
    /// its edge whitespace shortened or dropped.
    fn text(&mut self, i: usize, lt: usize) {
        let b = self.b;
        let off = lt - i;
        let text = b.get(i..lt).unwrap_or_default();
        let blank = text.iter().all(|&c| is_ws(c));
        if !blank {
            // Whitespace running on into the next text changes no word.
            self.text_open = true;
            self.after_block = false;
            // Text reopens any pending formatting element, here on the page
            // as in the slimmed copy.
            self.pending_formatting = false;
        }
        if self.slim.whitespace && self.pre_depth == 0 && off >= 1 {
            if !blank {
                if off >= 2 {
                    shorten_edge_whitespace(b, i, lt, &mut self.out);
                }
            } else if !self.pending_formatting
                && (self.after_block || self.depth[0] < self.max && opens_block_element(b, lt))
            {
                self.out.replace(i, lt, "");
            } else if off >= 2 {
                shorten_edge_whitespace(b, i, lt, &mut self.out);
            }
        }
    }

    /// `<!`: a comment (emptied), or a doctype, CDATA outside SVG or bogus
    /// comment (kept). Returns where the scan goes on.
    fn declaration(&mut self, lt: usize) -> usize {
        let b = self.b;
        let n = b.len();
        if b.get(lt + 2..).is_some_and(|r| r.starts_with(b"--")) {
            // An unterminated comment runs to the end, as in a browser.
            let end = comment_end(b, lt + 2).unwrap_or(n);
            if self.slim.never_content && end - lt > 7 {
                self.out.replace(lt, end, "<!---->");
            }
            // A comment node ends the text node (end tags may not: the
            // parser ignores stray ones, nor may doctypes).
            self.text_open = false;
            end
        } else {
            // Doctype, CDATA outside SVG, bogus comment: up to the first `>`.
            gt_end(b, lt + 2).unwrap_or(n)
        }
    }

    /// `</`: an end tag closes what it names in the state followed.
    fn end_tag(&mut self, lt: usize) -> Step {
        let b = self.b;
        let c = match b.get(lt + 2) {
            Some(c) => *c,
            None => return Step::Stop,
        };
        if c == b'>' {
            return Step::At(lt + 3);
        }
        if !c.is_ascii_alphabetic() {
            return Step::At(gt_end(b, lt + 2).unwrap_or(b.len()));
        }
        let ne = name_end(b, lt + 2);
        let Some((gt, _)) = tag_end(b, ne, no_attrs) else {
            return Step::Stop;
        };
        let name = b.get(lt + 2..ne).unwrap_or_default();
        let class = classify(name);
        if class == Class::Pre {
            self.pre_depth = self.pre_depth.saturating_sub(1);
        }
        if is_frame(name) {
            self.framed = self.framed.saturating_sub(1);
        }
        if matches!(class, Class::Counted | Class::Formatting) {
            let d = &mut self.depth[usize::from(class == Class::Formatting)];
            *d = d.saturating_sub(1);
        }
        if name.eq_ignore_ascii_case(b"select") {
            self.in_select = false;
        } else if name.eq_ignore_ascii_case(b"button") {
            self.in_button = false;
        }
        let list = self.open_formatting.as_mut();
        if let (Some(list), Some(id)) = (list, formatting_id(name))
            && let Some(at) = list.iter().rposition(|&f| f == id)
        {
            list.remove(at);
        }
        let none_open = self.open_formatting.as_ref().is_some_and(Vec::is_empty);
        self.pending_formatting =
            !none_open && (self.pending_formatting || formatting_id(name).is_none());
        // `</p>` and `</br>` always make (or close) an element; other
        // end tags may be stray ones the parser ignores.
        let p = name.eq_ignore_ascii_case(b"p");
        if p || name.eq_ignore_ascii_case(b"br") {
            self.text_open = false;
        }
        self.after_block = p;
        Step::At(gt)
    }

    /// A start tag: its attributes thinned, then what its class of element
    /// asks (dropped whole, emptied, counted, or a state change).
    fn start_tag(&mut self, lt: usize) -> Step {
        let b = self.b;
        let ne = name_end(b, lt + 1);
        let name = b.get(lt + 1..ne).unwrap_or_default();
        // `<frameset>` replaces the body unless something before it
        // (an image, an input, text in a menu) set the parser's
        // frameset-ok flag, which the cut parts may have done: the
        // page is passed again with nothing but over-deep tags cut.
        if self.never_content && self.out.buf.is_some() && name.eq_ignore_ascii_case(b"frameset") {
            return Step::Restart;
        }
        let class = classify(name);
        let formatting = class == Class::Formatting;
        let counted = formatting || class == Class::Counted;
        let limit = if formatting { MAX_FORMATTING } else { self.max };
        let too_deep = counted && self.depth[usize::from(formatting)] >= limit;
        let void = self.void_kind(name);
        let whole = void.is_some()
            || self.slim.never_content
                && matches!(
                    class,
                    Class::Script | Class::RawDropped | Class::Svg | Class::Template
                );
        // A tag that may go whole keeps its attributes until then (no cut inside it).
        let cut_attrs = self.slim.attrs && !too_deep && !whole;
        // The page ends inside the tag: the parser drops it; keep the rest as is.
        let Some((gt, self_closing)) = self.thin_attributes(name, ne, cut_attrs) else {
            return Step::Stop;
        };
        if !self_closing && is_frame(name) {
            self.framed = self.framed.saturating_add(1);
        }
        if let Some(kind) = void {
            let tag = b.get(lt..gt).unwrap_or_default();
            if !kind.is_read(tag) {
                self.text_open = cut_element(&mut self.out, lt, gt, self.text_open);
                return Step::At(gt);
            }
        }
        let kept_before = self.after_block;
        let (block, ignorable) = (is_block_boundary(name), may_be_ignored(name));
        self.after_block = block && !ignorable;
        // A block start may close a `<p>` and the formatting inside it.
        let none_open = self.open_formatting.as_ref().is_some_and(Vec::is_empty);
        self.pending_formatting |= !none_open && block;
        let tag = Tag {
            lt,
            gt,
            name,
            self_closing,
        };
        let start = match class {
            Class::Counted | Class::Formatting => {
                if too_deep {
                    self.out.replace(lt, gt, "");
                    self.after_block = kept_before;
                } else {
                    self.open(name, formatting);
                }
                Start::at(self.nav(tag, too_deep))
            }
            Class::Script => self.script(tag),
            Class::RawDropped => self.raw_dropped(tag),
            Class::RawKept => Start::at(raw_end(b, gt, name)),
            Class::Svg => self.svg(tag),
            Class::Template => self.template(tag),
            // Everything after `<plaintext>` is text: no more tags to see.
            Class::Plaintext => return Step::Stop,
            // `<pre/>` opens one too: HTML ignores the slash here.
            Class::Pre => {
                self.pre_depth += 1;
                Start::at(gt)
            }
            Class::Other => {
                self.other(tag);
                Start::at(gt)
            }
        };
        if let Some(stop) = start.cut_to {
            self.after_block = kept_before;
            self.text_open = cut_element(&mut self.out, lt, stop, self.text_open);
            return Step::At(stop);
        }
        if !too_deep && !ignorable {
            // A start tag that makes an element ends the text node.
            self.text_open = false;
        }
        Step::At(start.next)
    }

    /// The void never-content element `name` is, when it may go whole here.
    fn void_kind(&self, name: &[u8]) -> Option<Void> {
        if !self.slim.never_content {
            return None;
        }
        let img = name.eq_ignore_ascii_case(b"img");
        void_never_content(name).filter(|v| {
            // `<link>` and `<meta>` go to the head, reopening nothing.
            (*v != Void::Input || !self.in_select)
                && (!self.pending_formatting || matches!(v, Void::Link | Void::Meta))
                && !(img && self.framed > 0)
        })
    }

    /// Finds the end of the start tag whose name ends at `ne`, cutting the
    /// attributes nothing reads when `cut` (of an image, all but what
    /// `clean::images` reads). Returns the index past `>` and whether the
    /// tag is self-closing; `None` when the page ends inside it.
    fn thin_attributes(&mut self, name: &[u8], ne: usize, cut: bool) -> Option<(usize, bool)> {
        let b = self.b;
        let img = name.eq_ignore_ascii_case(b"img");
        let out = &mut self.out;
        let on_attr = |span: usize, start: usize, end_name: usize, end: usize| {
            let drop = |n: &[u8]| {
                if img {
                    !is_image_attr(n)
                } else {
                    is_dropped_attr(n)
                }
            };
            if cut && b.get(start..end_name).is_some_and(drop) {
                out.replace(span, end, "");
            }
        };
        tag_end(b, ne, on_attr)
    }

    /// A container or formatting element kept: one level deeper.
    fn open(&mut self, name: &[u8], formatting: bool) {
        self.depth[usize::from(formatting)] += 1;
        if let (true, Some(list)) = (formatting, self.open_formatting.as_mut()) {
            match formatting_id(name) {
                Some(id) if list.len() < MAX_FORMATTING => list.push(id),
                _ => self.open_formatting = None,
            }
        }
    }

    /// A `<nav>` is never content: it stays, empty, when its end is plain.
    /// Not when the menu holds a formatting element like one still open (an
    /// `<a>` in it would close an open `<a>`), nor inside a `<select>` or
    /// `<button>`, which an `<input>`, `<select>` or `<button>` in it would
    /// close, and the `<nav>` with it. Returns where the scan goes on.
    fn nav(&mut self, tag: Tag<'_>, too_deep: bool) -> usize {
        let nav = tag.name.eq_ignore_ascii_case(b"nav");
        let nav = nav && tag.gt >= self.nav_looked && !self.in_select && !self.in_button;
        if !(nav && self.slim.never_content && !too_deep && self.open_formatting.is_some()) {
            return tag.gt;
        }
        let plain = plain_subtree_end(self.html, tag.gt, tag.name, &mut self.nav_looked);
        // Only an element of the same name in the menu can close an open
        // formatting element (an `<a>` closes an `<a>`; a fourth like one
        // evicts the first).
        let clashes = |nav: &Subtree| {
            self.open_formatting
                .as_ref()
                .is_none_or(|list| list.iter().any(|&f| nav.formatting & 1 << f != 0))
        };
        match plain.filter(|nav| !clashes(nav)) {
            Some(nav) => {
                // The words stay on the element: whether they are visible
                // depends on its ancestors.
                let mark = format!(" {NAV_WORDS_ATTR}={}>", nav.words);
                self.out.replace(tag.gt - 1, nav.end, &mark);
                self.scripted |= nav.scripted;
                nav.end
            }
            None => tag.gt,
        }
    }

    /// `<script>`: skipped to its end; it goes unless it is JSON-LD.
    fn script(&mut self, tag: Tag<'_>) -> Start {
        let b = self.b;
        let end = script_end(b, tag.gt);
        let text = b.get(tag.lt..tag.gt).unwrap_or_default();
        let json_ld = contains_ignore_case(text, b"ld+json");
        if self.slim.never_content && !json_ld {
            self.scripted |= script_runs(text);
            return Start {
                next: end,
                cut_to: Some(end_tag_end(b, end)),
            };
        }
        Start::at(end)
    }

    /// `<style>`, `<noscript>`, `<textarea>`, `<iframe>`: raw text that goes.
    fn raw_dropped(&mut self, tag: Tag<'_>) -> Start {
        let b = self.b;
        let end = raw_end(b, tag.gt, tag.name);
        if !self.slim.never_content {
            return Start::at(end);
        }
        // In a select the tag stays, emptied: under the older select
        // parsing rules a `<textarea>` closes the select.
        if self.in_select {
            self.out.replace(tag.gt, end, "");
            return Start::at(end);
        }
        Start {
            next: end,
            cut_to: Some(end_tag_end(b, end)),
        }
    }

    /// `<svg>`: dropped whole when its end is clear, else the pass cuts no
    /// more never-content.
    fn svg(&mut self, tag: Tag<'_>) -> Start {
        if !self.slim.never_content {
            return Start::at(tag.gt);
        }
        if tag.self_closing {
            return Start {
                next: tag.gt,
                cut_to: (!self.pending_formatting).then_some(tag.gt),
            };
        }
        match svg_end(self.b, tag.gt) {
            // The tags stay while a formatting element may be pending.
            Some(end) if self.pending_formatting => {
                self.out.replace(tag.gt, end, "");
                Start::at(end)
            }
            Some(end) => Start {
                next: tag.gt,
                cut_to: Some(end_tag_end(self.b, end)),
            },
            None => {
                self.slim = Slim::NONE;
                Start::at(tag.gt)
            }
        }
    }

    /// `<template>`: inert content, dropped whole when its end is clear.
    fn template(&mut self, tag: Tag<'_>) -> Start {
        if !self.slim.never_content {
            return Start::at(tag.gt);
        }
        match template_end(self.b, tag.gt) {
            Some(end) => Start {
                next: tag.gt,
                cut_to: Some(end_tag_end(self.b, end)),
            },
            // Unterminated, or holding foreign content: where it ends, and
            // what is inert, is not clear.
            None => {
                self.slim = Slim::NONE;
                Start::at(tag.gt)
            }
        }
    }

    /// Any other element: what `<select>`, `<button>` and `<math>` change.
    fn other(&mut self, tag: Tag<'_>) {
        if tag.name.eq_ignore_ascii_case(b"select") {
            self.in_select = true;
        } else if tag.name.eq_ignore_ascii_case(b"button") {
            self.in_button = true;
        } else if tag.name.eq_ignore_ascii_case(b"math") && !tag.self_closing {
            self.slim = Slim::NONE;
        }
    }
}

/// Cuts the element `b[from..to]`. Right after text a `<!---->` stays in its
/// place, so that text cannot run on into text after it: they stay separate
/// text nodes as on the page (the cleaner counts words per node, and the tag
/// that follows may be one the parser ignores). Returns whether a text node
/// is still open.
fn cut_element(out: &mut Out<'_>, from: usize, to: usize, text_before: bool) -> bool {
    out.replace(from, to, if text_before { "<!---->" } else { "" });
    false
}

/// Shortens the whitespace at both ends of the text `b[from..to]` (the
/// indentation around tags) to its first character; the text between stays.
fn shorten_edge_whitespace(b: &[u8], from: usize, to: usize, out: &mut Out<'_>) {
    let Some(text) = b.get(from..to) else {
        return;
    };
    let lead = text.iter().take_while(|&&c| is_ws(c)).count();
    if lead >= 2 {
        out.replace(from + 1, from + lead, "");
    }
    if lead == text.len() {
        return;
    }
    let trail = text.iter().rev().take_while(|&&c| is_ws(c)).count();
    if trail >= 2 {
        out.replace(to - trail + 1, to, "");
    }
}
