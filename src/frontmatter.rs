//! Front matter: finding the YAML block at the top of a page and parsing it
//! into a located tree.
//!
//! Pages are Jekyll files: a first line `---`, YAML, a line that is exactly
//! `---`, then the body. We split by lines ourselves (tolerating a BOM, CRLF
//! and trailing blanks after the fences) so that every line number we report
//! is a line of the page, not of the YAML snippet.
//!
//! The YAML is parsed with `serde-saphyr` into [`Node`], a plain tree whose
//! every value carries its line and column. Scalars are kept as the text the
//! author wrote, with YAML 1.2 booleans only: a bare `header: no` stays the
//! string `"no"` instead of silently becoming `false`, so nothing downstream
//! depends on how a bare word happens to parse. The parser's budget refuses
//! alias bombs.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;

/// The result of splitting a page into front matter and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split<'a> {
    /// The YAML text between the fences (CRLF already normalised by the caller).
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
    /// The opening `---` has no closing `---` line.
    Unclosed,
}

/// Normalises line endings and strips a UTF-8 BOM so that the splitter and
/// the YAML parser see the same lines the author sees.
pub fn normalise(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains('\r') {
        text.replace("\r\n", "\n")
    } else {
        text.to_owned()
    }
}

fn is_fence(line: &str) -> bool {
    line.trim_end() == "---"
}

/// Splits normalised page text. `Ok(None)` means the file has no front matter
/// and is not a page.
pub fn split(text: &str) -> Result<Option<Split<'_>>, SplitError> {
    let first_end = text.find('\n').unwrap_or(text.len());
    if !is_fence(&text[..first_end]) {
        return Ok(None);
    }
    let yaml_start = (first_end + 1).min(text.len());
    let mut pos = yaml_start;
    let mut line_no = 2;
    while pos < text.len() {
        let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
        if is_fence(&text[pos..end]) {
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

/// A YAML value. Scalars other than YAML 1.2 booleans, numbers and null are
/// kept as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Located>),
    /// Entries in document order; keys rendered as text.
    Map(Vec<(String, Located)>),
}

impl Node {
    /// The scalar as text, for fields that must be strings (`image_id: 12`
    /// is accepted as `"12"`). `None` for null, sequences and mappings.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Node::Str(s) => Some(s.clone()),
            Node::Bool(b) => Some(b.to_string()),
            Node::Int(i) => Some(i.to_string()),
            Node::Float(f) => Some(f.to_string()),
            Node::Null | Node::Seq(_) | Node::Map(_) => None,
        }
    }

    /// A short name of the value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "a boolean",
            Node::Int(_) | Node::Float(_) => "a number",
            Node::Str(_) => "a string",
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
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(i) => Value::from(*i),
            Node::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Node::Str(s) => Value::String(s.clone()),
            Node::Seq(items) => Value::Array(items.iter().map(|l| l.node.to_json()).collect()),
            Node::Map(entries) => Value::Object(
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

/// Parses YAML text into a located tree. An empty document is `Null`.
pub fn parse_yaml(yaml: &str) -> Result<Located, YamlError> {
    if yaml.trim().is_empty() {
        return Ok(Located {
            node: Node::Null,
            line: 1,
            column: 1,
        });
    }
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    options.with_snippet = false;
    match serde_saphyr::from_str_with_options::<Spanned<Node>>(yaml, options) {
        Ok(spanned) => Ok(located(spanned)),
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

fn located(spanned: Spanned<Node>) -> Located {
    Located {
        line: spanned.referenced.line() as usize,
        column: spanned.referenced.column() as usize,
        node: spanned.value,
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(i64::try_from(v).map_or(Node::Float(v as f64), Node::Int))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Node, E> {
        Ok(Node::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(located(item));
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            let key = key.as_text().ok_or_else(|| {
                de::Error::custom(format!(
                    "mapping keys must be scalars, found {}",
                    key.kind()
                ))
            })?;
            let value = map.next_value::<Spanned<Node>>()?;
            entries.push((key, located(value)));
        }
        Ok(Node::Map(entries))
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

    #[test]
    fn bare_words_stay_text() {
        let doc = parse_yaml("header: no\ntags: leg\non: yes\nflag: true\nn: 3\n").unwrap();
        assert_eq!(doc.node.get("header").unwrap().node, Node::Str("no".into()));
        assert_eq!(doc.node.get("on").unwrap().node, Node::Str("yes".into()));
        assert_eq!(doc.node.get("flag").unwrap().node, Node::Bool(true));
        assert_eq!(doc.node.get("n").unwrap().node, Node::Int(3));
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
