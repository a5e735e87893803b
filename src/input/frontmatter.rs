//! Front matter: finding the YAML block at the top of a page and parsing it
//! into a located tree.
//!
//! Which files are pages follows Jekyll, so that assetmill builds images for
//! exactly the pages Jekyll renders. Jekyll reads front matter only when the
//! file's first line (after an optional UTF-8 BOM) is `---`, optionally
//! followed by spaces, ending in LF or CRLF; the block ends at the first
//! later line that is `---` or `...` (optionally followed by spaces). So:
//!
//! * a blank line before the opening `---` means no front matter, and the
//!   file is not a page; we say so with a warning, because an author who
//!   wrote such a block meant it to be read;
//! * a file whose only line breaks are lone CRs (classic Mac) has no LF
//!   after its first `---`, so Jekyll reads no front matter either: not a
//!   page, with the same kind of warning.
//!
//! Line numbers must mean the same thing to us, to the YAML parser and to the
//! author. YAML counts LF, CRLF and a lone CR each as one line break, so
//! [`normalise`] turns all three into LF before anything is split or parsed;
//! every line we report is then a line of the page as YAML (and most editors)
//! count them, and the splitter and the parser can never disagree.
//!
//! The YAML is parsed with `serde-saphyr` into [`Node`], a plain tree whose
//! every value carries its line and column. Every scalar keeps the exact text
//! the author wrote next to what YAML makes of it: a bare `image_id: 0123`
//! is the id `"0123"`, not the number 123 (which would collide with `123`
//! and never match `im_id="0123"` in an include); likewise `0x1F`, `1.10`,
//! `1e3`, `-0` and `.5`. The text of a plain scalar comes from slicing the
//! YAML source with the byte span the parser reports for it (for an alias,
//! the span where its anchor was defined). YAML 1.2 booleans only: a bare
//! `header: no` stays the text `"no"`. The parser's budget refuses alias
//! bombs.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};
use std::fmt;

/// How a file begins, by Jekyll's rule (see the module header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Header {
    /// The first line is `---`: the file is a page.
    FrontMatter,
    /// No front matter: not a page.
    None,
    /// Not a page, although it looks like the author meant one: `line` is
    /// the page line (as [`normalise`] counts lines) of the `---` that
    /// Jekyll will not read, and `reason` says why.
    Misplaced { line: usize, reason: &'static str },
}

/// Whitespace as Ruby's `\s` sees it, which is what Jekyll's fence regexes
/// allow after `---`: ASCII only (no NBSP or other Unicode spaces).
fn trim_ruby_space(line: &str) -> &str {
    line.trim_end_matches([' ', '\t', '\r', '\x0B', '\x0C'])
}

/// Decides from the raw file text whether it has front matter, as Jekyll
/// does: the first line, up to its LF, must be `---` plus optional spaces.
/// Only the first lines are looked at, so a large file without front
/// matter costs nothing.
pub fn header(raw: &str) -> Header {
    let raw = raw.strip_prefix('\u{feff}').unwrap_or(raw);
    if let Some(end) = raw.find('\n')
        && trim_ruby_space(&raw[..end]) == "---"
    {
        return Header::FrontMatter;
    }
    // Walk the leading lines as `normalise` counts them (CRLF, CR, LF).
    let mut rest = raw;
    let mut line_no = 1;
    loop {
        let end = rest.find(['\r', '\n']).unwrap_or(rest.len());
        let line = &rest[..end];
        if trim_ruby_space(line) == "---" {
            if line_no > 1 {
                return Header::Misplaced {
                    line: line_no,
                    reason: "front matter must start on the first line; Jekyll does \
                             not read a `---` block that follows blank lines",
                };
            }
            // The first line is `---` but no LF ends it (that case returned
            // above): it ends in a lone CR, or the file ends.
            return if rest[end..].starts_with('\r') {
                Header::Misplaced {
                    line: 1,
                    reason: "its lines end in lone CRs (classic Mac), so Jekyll finds no \
                             line feed after the opening `---` and reads no front matter",
                }
            } else {
                Header::None
            };
        }
        if end == rest.len() || !line.trim().is_empty() {
            return Header::None;
        }
        let break_len = if rest[end..].starts_with("\r\n") {
            2
        } else {
            1
        };
        rest = &rest[end + break_len..];
        line_no += 1;
    }
}

/// The result of splitting a page into front matter and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split<'a> {
    /// The YAML text between the fences.
    pub yaml: &'a str,
    /// 1-based page line of the first YAML line.
    pub yaml_first_line: usize,
    /// The body after the closing fence.
    pub body: &'a str,
    /// 1-based page line of the first body line.
    pub body_first_line: usize,
}

/// Why a file that starts like a page is not a well-formed one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitError {
    /// The opening `---` has no closing `---` or `...` line.
    Unclosed,
}

/// Strips a UTF-8 BOM and turns every line break YAML knows (CRLF, lone CR,
/// LF) into LF, so that the splitter, the YAML parser and the include
/// scanner all count the same lines.
pub fn normalise(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text.to_owned()
    }
}

fn is_opening_fence(line: &str) -> bool {
    trim_ruby_space(line) == "---"
}

/// Jekyll closes front matter with `---` or `...`.
fn is_closing_fence(line: &str) -> bool {
    matches!(trim_ruby_space(line), "---" | "...")
}

/// Splits normalised page text. `Ok(None)` means the file has no front matter
/// and is not a page.
pub fn split(text: &str) -> Result<Option<Split<'_>>, SplitError> {
    let Some(first_end) = text.find('\n') else {
        // `---` with no line break after it: Jekyll's header needs one.
        return Ok(None);
    };
    if !is_opening_fence(&text[..first_end]) {
        return Ok(None);
    }
    let yaml_start = first_end + 1;
    let mut pos = yaml_start;
    let mut line_no = 2;
    while pos < text.len() {
        let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
        if is_closing_fence(&text[pos..end]) {
            let body_start = (end + 1).min(text.len());
            return Ok(Some(Split {
                yaml: &text[yaml_start..pos],
                yaml_first_line: 2,
                body: &text[body_start..],
                body_first_line: line_no + 1,
            }));
        }
        pos = end + 1;
        line_no += 1;
    }
    Err(SplitError::Unclosed)
}

/// A YAML value with its location in the YAML text (1-based line and column).
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    pub node: Node,
    pub line: usize,
    pub column: usize,
}

/// A YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Scalar(Scalar),
    Seq(Vec<Located>),
    /// Entries in document order; keys by their text.
    Map(Vec<(String, Located)>),
}

/// A scalar: the text the author wrote and what YAML 1.2 makes of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    /// For a plain scalar, its characters exactly as in the source (`0123`,
    /// `1e3`, `~`); for a quoted or block scalar, the string it denotes
    /// (quotes removed, escapes resolved).
    pub text: String,
    pub value: Value,
}

/// What YAML 1.2's core schema makes of a scalar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Text, including integers too large for `i64`.
    Str,
}

impl Node {
    /// A string scalar (for tests and callers building trees).
    pub fn text(text: impl Into<String>) -> Node {
        Node::Scalar(Scalar {
            text: text.into(),
            value: Value::Str,
        })
    }

    /// The scalar's text as written, for fields that hold names, ids, paths
    /// and prose (`image_id: 0123` is `"0123"`). `None` for null, sequences
    /// and mappings.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Node::Scalar(Scalar {
                value: Value::Null, ..
            }) => None,
            Node::Scalar(s) => Some(&s.text),
            Node::Seq(_) | Node::Map(_) => None,
        }
    }

    /// True for a null scalar (`~`, `null`, nothing).
    pub fn is_null(&self) -> bool {
        matches!(
            self,
            Node::Scalar(Scalar {
                value: Value::Null,
                ..
            })
        )
    }

    /// A short name of the value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Node::Scalar(s) => match s.value {
                Value::Null => "null",
                Value::Bool(_) => "a boolean",
                Value::Int(_) | Value::Float(_) => "a number",
                Value::Str => "a string",
            },
            Node::Seq(_) => "a list",
            Node::Map(_) => "a mapping",
        }
    }

    /// Looks a key up in a mapping (first match).
    pub fn get(&self, key: &str) -> Option<&Located> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Converts to JSON, for keeping unknown fields in the manifest.
    /// Booleans and numbers stay typed; a number JSON cannot hold (NaN, an
    /// infinity) keeps its text.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as Json;
        match self {
            Node::Scalar(s) => match s.value {
                Value::Null => Json::Null,
                Value::Bool(b) => Json::Bool(b),
                Value::Int(i) => Json::from(i),
                Value::Float(f) => serde_json::Number::from_f64(f)
                    .map_or_else(|| Json::String(s.text.clone()), Json::Number),
                Value::Str => Json::String(s.text.clone()),
            },
            Node::Seq(items) => Json::Array(items.iter().map(|l| l.node.to_json()).collect()),
            Node::Map(entries) => Json::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.node.to_json()))
                    .collect(),
            ),
        }
    }
}

/// A YAML syntax or structure error with its location in the YAML text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parses YAML text into a located tree. An empty document is null.
pub fn parse_yaml(yaml: &str) -> Result<Located, YamlError> {
    if yaml.trim().is_empty() {
        return Ok(Located {
            node: Node::Scalar(Scalar {
                text: String::new(),
                value: Value::Null,
            }),
            line: 1,
            column: 1,
        });
    }
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    options.with_snippet = false;
    // `.inf` and `.nan` are valid YAML; refusing them would turn a page
    // whose alt text is `.nan` into "invalid YAML". They keep their text.
    options.non_finite_float_policy = serde_saphyr::NonFiniteFloatPolicy::PassThrough;
    match serde_saphyr::from_str_with_options::<Spanned<Raw>>(yaml, options) {
        Ok(spanned) => Ok(located(spanned, yaml)),
        Err(err) => {
            let loc = err.location();
            let message = err.without_snippet().to_string();
            Err(YamlError {
                line: loc.map_or(1, |l| l.line() as usize),
                column: loc.map_or(1, |l| l.column() as usize),
                message: strip_location_suffix(&message),
            })
        }
    }
}

/// serde-saphyr appends " at line L column C" to messages; we print the
/// location ourselves in `page:line:col` form.
fn strip_location_suffix(message: &str) -> String {
    let first = message.lines().next().unwrap_or(message);
    match first.rfind(" at line ") {
        Some(i) => first[..i].to_owned(),
        None => first.to_owned(),
    }
}

/// The tree as serde hands it over: typed scalars without their text, which
/// [`located`] then recovers from the source with the spans.
enum Raw {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<Raw>, Spanned<Raw>)>),
}

/// The source text of a typed scalar at `at`, if the parser gave a byte
/// span for it and the span holds a one-line plain scalar. A typed scalar
/// whose span is quoted (`!!int "12"`) or missing gets its canonical
/// spelling instead.
fn source_text<'a>(source: &'a str, at: &Location) -> Option<&'a str> {
    let span = at.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    let text = source.get(start..start.checked_add(len)?)?;
    let plain = !text.contains(['\n', '\r']) && !text.starts_with(['"', '\'']);
    plain.then_some(text)
}

fn located(spanned: Spanned<Raw>, source: &str) -> Located {
    let text =
        |canonical: String| source_text(source, &spanned.defined).map_or(canonical, str::to_owned);
    let node = match spanned.value {
        Raw::Null => Node::Scalar(Scalar {
            text: text(String::new()),
            value: Value::Null,
        }),
        Raw::Bool(b) => Node::Scalar(Scalar {
            text: text(b.to_string()),
            value: Value::Bool(b),
        }),
        Raw::Int(i) => Node::Scalar(Scalar {
            text: text(i.to_string()),
            value: Value::Int(i),
        }),
        Raw::Float(f) => Node::Scalar(Scalar {
            text: text(f.to_string()),
            value: Value::Float(f),
        }),
        Raw::Str(s) => Node::text(s),
        Raw::Seq(items) => Node::Seq(items.into_iter().map(|i| located(i, source)).collect()),
        Raw::Map(entries) => Node::Map(
            entries
                .into_iter()
                .map(|(k, v)| {
                    // Keys are scalars (checked while parsing); a null key
                    // keeps its text (`~`, or empty).
                    let key = match located(k, source).node {
                        Node::Scalar(s) => s.text,
                        Node::Seq(_) | Node::Map(_) => String::new(),
                    };
                    (key, located(v, source))
                })
                .collect(),
        ),
    };
    Located {
        node,
        line: spanned.referenced.line() as usize,
        column: spanned.referenced.column() as usize,
    }
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Raw, E> {
        Ok(i64::try_from(v).map_or(Raw::Float(v as f64), Raw::Int))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Raw, E> {
        Ok(Raw::Str(v.to_string()))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Raw, E> {
        Ok(Raw::Str(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Raw, E> {
        Ok(Raw::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_none<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_unit<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        Raw::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Raw>>()? {
            items.push(item);
        }
        Ok(Raw::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<Raw>>()? {
            if let Raw::Seq(_) | Raw::Map(_) = key.value {
                let kind = if matches!(key.value, Raw::Seq(_)) {
                    "a list"
                } else {
                    "a mapping"
                };
                return Err(de::Error::custom(format!(
                    "mapping keys must be scalars, found {kind}"
                )));
            }
            let value = map.next_value::<Spanned<Raw>>()?;
            entries.push((key, value));
        }
        Ok(Raw::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_front_matter_and_counts_lines() {
        let text = "---\ntitle: x\n---\nbody\n";
        let s = split(text).unwrap().unwrap();
        assert_eq!(s.yaml, "title: x\n");
        assert_eq!(s.yaml_first_line, 2);
        assert_eq!(s.body, "body\n");
        assert_eq!(s.body_first_line, 4);
    }

    #[test]
    fn fences_may_have_trailing_spaces() {
        let s = split("---  \na: 1\n--- \t\nb").unwrap().unwrap();
        assert_eq!(s.yaml, "a: 1\n");
        assert_eq!(s.body, "b");
    }

    #[test]
    fn no_front_matter_is_not_a_page() {
        assert_eq!(split("# Title\n---\n").unwrap(), None);
        assert_eq!(split("").unwrap(), None);
        assert_eq!(split("----\na\n---\n").unwrap(), None);
        // `---` must be followed by a line break, as in Jekyll.
        assert_eq!(split("---").unwrap(), None);
    }

    #[test]
    fn jekyll_closes_front_matter_with_dots_too() {
        let s = split("---\na: 1\n... \nbody\n").unwrap().unwrap();
        assert_eq!(s.yaml, "a: 1\n");
        assert_eq!(s.body, "body\n");
        assert_eq!(s.body_first_line, 4);
        // `...` does not open front matter, and `....` does not close it.
        assert_eq!(split("...\na: 1\n...\n").unwrap(), None);
        assert_eq!(split("---\na: 1\n....\n"), Err(SplitError::Unclosed));
        // Empty front matter closed at once.
        let s = split("---\n...\n").unwrap().unwrap();
        assert_eq!((s.yaml, s.body_first_line), ("", 3));
    }

    #[test]
    fn header_follows_jekyll() {
        assert_eq!(header("---\na: 1\n---\n"), Header::FrontMatter);
        assert_eq!(
            header("\u{feff}--- \t\r\na: 1\r\n...\r\n"),
            Header::FrontMatter
        );
        assert_eq!(header("# Title\n---\n"), Header::None);
        assert_eq!(header("---"), Header::None);
        assert_eq!(header(""), Header::None);
        // A blank line first: Jekyll reads no front matter.
        let Header::Misplaced { line, reason } = header("\n \n---\na: 1\n---\n") else {
            panic!("a leading blank line is not reported")
        };
        assert_eq!(line, 3);
        assert!(reason.contains("first line"), "{reason}");
        // Lone CRs only: no LF after `---`, so no front matter in Jekyll.
        let Header::Misplaced { line, reason } = header("---\ra: 1\r---\rbody\r") else {
            panic!("a CR-only page is not reported")
        };
        assert_eq!(line, 1);
        assert!(reason.contains("CR"), "{reason}");
        // Blank lines then prose: just not a page.
        assert_eq!(header("\n\nHello\n---\n"), Header::None);
    }

    #[test]
    fn lone_crs_count_as_line_breaks_as_in_yaml() {
        // An LF page with a stray CR inside its YAML: the parser counts the
        // CR as a line break, so the splitter must too.
        let text = normalise("---\na: 1\rb: [\n---\n");
        let s = split(&text).unwrap().unwrap();
        assert_eq!(s.yaml, "a: 1\nb: [\n");
        let err = parse_yaml(s.yaml).unwrap_err();
        assert!(err.line >= 2, "{err:?}");
    }

    #[test]
    fn unclosed_front_matter_is_an_error() {
        assert_eq!(split("---\na: 1\n"), Err(SplitError::Unclosed));
    }

    #[test]
    fn bom_and_crlf_are_normalised() {
        let text = normalise("\u{feff}---\r\na: 1\r\n---\r\n");
        let s = split(&text).unwrap().unwrap();
        assert_eq!(s.yaml, "a: 1\n");
    }

    fn scalar(doc: &Located, key: &str) -> Scalar {
        match &doc.node.get(key).unwrap_or_else(|| panic!("no {key}")).node {
            Node::Scalar(s) => s.clone(),
            other => panic!("{key} is {other:?}"),
        }
    }

    #[test]
    fn bare_words_stay_text() {
        let doc = parse_yaml("header: no\ntags: leg\non: yes\nflag: true\nn: 3\n").unwrap();
        assert_eq!(doc.node.get("header").unwrap().node, Node::text("no"));
        assert_eq!(doc.node.get("on").unwrap().node, Node::text("yes"));
        assert_eq!(scalar(&doc, "flag").value, Value::Bool(true));
        assert_eq!(scalar(&doc, "n").value, Value::Int(3));
    }

    #[test]
    fn scalars_keep_their_source_text() {
        let yaml = "a: 0123\nb: 0x1F\nc: 1.10\nd: 1e3\ne: 007\nf: -0\ng: .5\n\
                    h: ~\ni: null\nj:\nk: True\nl: &x 0123\nm: *x\nn: 1e3 # note\n\
                    o: .nan\np: -.inf\nq: 99999999999999999999999\nr: !!int 12\n\
                    s: !!int \"12\"\nt: [0123, 1e3 , ~]\n0123: key\nu: 'q 0123'\nv: é\n";
        let doc = parse_yaml(yaml).unwrap();
        for (key, text) in [
            ("a", "0123"),
            ("b", "0x1F"),
            ("c", "1.10"),
            ("d", "1e3"),
            ("e", "007"),
            ("f", "-0"),
            ("g", ".5"),
            ("h", "~"),
            ("i", "null"),
            ("j", ""),
            ("k", "True"),
            ("l", "0123"),
            ("m", "0123"),
            ("n", "1e3"),
            ("o", ".nan"),
            ("p", "-.inf"),
            ("q", "99999999999999999999999"),
            ("r", "12"),
            ("s", "12"),
            ("u", "q 0123"),
            ("v", "é"),
        ] {
            assert_eq!(scalar(&doc, key).text, text, "{key}");
        }
        assert_eq!(scalar(&doc, "a").value, Value::Float(123.0));
        assert_eq!(scalar(&doc, "b").value, Value::Int(31));
        assert!(doc.node.get("h").unwrap().node.is_null());
        assert_eq!(doc.node.get("h").unwrap().node.as_text(), None);
        assert_eq!(doc.node.get("k").unwrap().node.as_text(), Some("True"));
        assert_eq!(scalar(&doc, "0123").text, "key");
        let Node::Seq(items) = &doc.node.get("t").unwrap().node else {
            panic!("t is not a list")
        };
        let texts: Vec<_> = items.iter().map(|i| i.node.as_text()).collect();
        assert_eq!(texts, [Some("0123"), Some("1e3"), None]);
    }

    #[test]
    fn sequence_items_carry_their_lines() {
        let yaml =
            "title: t\n\ngallery:\n  - image_url: a.png\n    caption: 'A'\n  - image_url: b.png\n";
        let doc = parse_yaml(yaml).unwrap();
        let Node::Seq(items) = &doc.node.get("gallery").unwrap().node else {
            panic!("gallery is not a list")
        };
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].line, 4);
        assert_eq!(items[1].line, 6);
        assert_eq!(items[0].node.get("caption").unwrap().line, 5);
    }

    #[test]
    fn syntax_errors_have_a_location() {
        let err = parse_yaml("a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(err.line >= 2, "{err:?}");
        assert!(!err.message.is_empty());
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut yaml = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            yaml.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(parse_yaml(&yaml).is_err());
    }
}
