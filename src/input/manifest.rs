//! Stage 1, pages → [`Manifest`]: walks the content folder, reads every
//! page's front matter and collects each `images:` and `gallery:` entry with
//! the page and line it came from, plus the image includes of the body.
//!
//! A page with a problem (bad YAML, wrong shapes, an entry without a path)
//! yields diagnostics for that page only; every other page is still read.

use crate::config::Loop;
use crate::config::delay;
use crate::error::Error;
use crate::input::frontmatter::{self, Located, Node};
use crate::input::liquid::{self, Include};
use crate::outputs::diagnostics::Diagnostic;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Extensions of files that may be pages.
pub const PAGE_EXTENSIONS: &[&str] = &["md", "markdown", "html"];

/// Every page of the site, in sorted path order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Manifest {
    pub pages: Vec<Page>,
    /// Problems met while reading (per page, or about the content folder).
    #[serde(skip)]
    pub diagnostics: Vec<Diagnostic>,
}

/// One file with front matter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page {
    /// The page's path as reports show it (content folder joined with the
    /// path inside it).
    pub path: PathBuf,
    pub images: Vec<PageImage>,
    pub gallery: Vec<GalleryEntry>,
    pub includes: Vec<Include>,
}

/// An entry of `images:`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageImage {
    /// 1-based page line where the entry starts.
    pub line: usize,
    pub image_id: Option<String>,
    /// The path as written, relative to the image root.
    pub image_name: String,
    pub image_title: Option<String>,
    pub image_alt: Option<String>,
    /// `image_delay_ms`, `image_loop` and `image_pingpong`: the timing of
    /// the GIF assembled for this entry.
    #[serde(skip_serializing_if = "ImageTiming::is_empty")]
    pub timing: ImageTiming,
    /// Any other fields of the entry, kept as written.
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Timing keys of an `images:` entry; `None` where not written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImageTiming {
    /// `image_delay_ms`: every frame's delay.
    pub delay_ms: Option<u32>,
    /// `image_loop`: a play count or `forever`.
    #[serde(rename = "loop")]
    pub repeat: Option<Loop>,
    /// `image_pingpong`: forward, then back.
    pub pingpong: Option<bool>,
}

impl ImageTiming {
    pub fn is_empty(&self) -> bool {
        *self == ImageTiming::default()
    }
}

/// An entry of `gallery:`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GalleryEntry {
    pub line: usize,
    /// The path as written, relative to the image root.
    pub image_url: String,
    pub caption: Option<String>,
    pub title: Option<String>,
    /// `delay_ms`: how long this frame is held in the page's animation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u32>,
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Pages larger than this are refused: no hand-written page comes near it,
/// and a runaway or generated file should not be read whole into memory.
pub const MAX_PAGE_BYTES: u64 = 16 << 20;

/// Reads every page under `content` (recursively, in sorted order).
pub fn read_site(content: &Path) -> Manifest {
    let mut diagnostics = Vec::new();
    let mut files = Vec::new();
    if let Err(e) = collect_files(content, &mut files, &mut diagnostics) {
        diagnostics.push(Diagnostic::error(
            e.path(),
            None,
            format!("cannot read content folder: {}", e.detail()),
        ));
    }
    files.sort();
    let results: Vec<(Option<Page>, Vec<Diagnostic>)> =
        files.par_iter().map(|path| read_page_file(path)).collect();
    let mut pages = Vec::new();
    for (page, mut diags) in results {
        pages.extend(page);
        diagnostics.append(&mut diags);
    }
    Manifest { pages, diagnostics }
}

fn has_page_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| PAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Candidate page files, skipping hidden entries and not following
/// symlinked folders (so a link cycle cannot trap the walk). A FIFO,
/// socket or device with a page's extension is skipped with a note: opening
/// a FIFO waits for a writer forever. A symlink with a page's extension is
/// kept; [`read_page_file`] reads it only if it leads to a regular file.
fn collect_files(
    dir: &Path,
    files: &mut Vec<PathBuf>,
    diags: &mut Vec<Diagnostic>,
) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let kind = entry.file_type().map_err(|e| Error::io(&path, e))?;
        if kind.is_dir() {
            collect_files(&path, files, diags)?;
        } else if !has_page_extension(&path) {
            continue;
        } else if kind.is_file() || kind.is_symlink() {
            files.push(path);
        } else {
            diags.push(skipped(&path, crate::fsread::kind_name(&kind)));
        }
    }
    Ok(())
}

fn skipped(path: &Path, kind: &str) -> Diagnostic {
    Diagnostic::note(
        path,
        None,
        format!("skipped: {kind}, not a regular file; only regular files are read as pages"),
    )
}

fn read_page_file(path: &Path) -> (Option<Page>, Vec<Diagnostic>) {
    use crate::fsread::{ReadError, read_regular};
    let bytes = match read_regular(path, MAX_PAGE_BYTES) {
        Ok(b) => b,
        // A symlink to a folder or FIFO, or a file swapped for one since
        // the walk: not a page, and not the author's mistake to fix.
        Err(ReadError::NotRegular(kind)) => return (None, vec![skipped(path, kind)]),
        Err(ReadError::Missing) if path.is_symlink() => {
            return (
                None,
                vec![Diagnostic::note(
                    path,
                    None,
                    "skipped: a symbolic link whose target does not exist",
                )],
            );
        }
        Err(e @ ReadError::TooBig { .. }) => {
            return (
                None,
                vec![Diagnostic::error(
                    path,
                    None,
                    format!("page not read: {e} (pages are limited to 16 MiB)"),
                )],
            );
        }
        Err(e) => return (None, vec![Diagnostic::error(path, None, e.to_string())]),
    };
    match std::str::from_utf8(&bytes) {
        Ok(text) => read_page(path, text),
        Err(e) => (
            None,
            vec![Diagnostic::error(
                path,
                None,
                format!("not UTF-8 text ({e}); cannot read front matter"),
            )],
        ),
    }
}

/// Reads one page's text. `None` when the file has no front matter (see
/// [`frontmatter`] for Jekyll's rules, which decide what is a page).
pub fn read_page(path: &Path, text: &str) -> (Option<Page>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    match frontmatter::header(text) {
        frontmatter::Header::FrontMatter => {}
        frontmatter::Header::None => return (None, diags),
        frontmatter::Header::Misplaced { line, reason } => {
            diags.push(Diagnostic::warning(
                path,
                Some(line),
                format!("not a page: {reason}"),
            ));
            return (None, diags);
        }
    }
    let text = frontmatter::normalise(text);
    let split = match frontmatter::split(&text) {
        Ok(Some(split)) => split,
        Ok(None) => return (None, diags),
        Err(frontmatter::SplitError::Unclosed) => {
            diags.push(Diagnostic::error(
                path,
                Some(1),
                "front matter opened here is never closed by a `---` or `...` line",
            ));
            return (Some(empty_page(path)), diags);
        }
    };
    let mut page = empty_page(path);
    page.includes = liquid::scan_includes(split.body, split.body_first_line);
    let offset = split.yaml_first_line - 1;
    let doc = match frontmatter::parse_yaml(split.yaml) {
        Ok(doc) => doc,
        Err(e) => {
            let mut d = Diagnostic::error(
                path,
                Some(e.line + offset),
                format!("invalid YAML: {}", e.message),
            );
            d.column = Some(e.column);
            diags.push(d);
            return (Some(page), diags);
        }
    };
    let mut reader = EntryReader {
        path,
        offset,
        diags: &mut diags,
    };
    match &doc.node {
        Node::Map(_) => {
            page.images = reader.list(&doc.node, "images", PageImage::from_node);
            page.gallery = reader.list(&doc.node, "gallery", GalleryEntry::from_node);
        }
        null if null.is_null() => {}
        other => reader.error(
            doc.line,
            format!(
                "front matter must be a mapping of keys, found {}",
                other.kind()
            ),
        ),
    }
    (Some(page), diags)
}

fn empty_page(path: &Path) -> Page {
    Page {
        path: path.to_owned(),
        images: Vec::new(),
        gallery: Vec::new(),
        includes: Vec::new(),
    }
}

/// Turns located YAML into entries, reporting problems with page lines.
struct EntryReader<'a> {
    path: &'a Path,
    offset: usize,
    diags: &'a mut Vec<Diagnostic>,
}

type FromNode<T> = fn(&mut EntryReader<'_>, usize, &[(String, Located)]) -> Option<T>;

impl EntryReader<'_> {
    fn error(&mut self, yaml_line: usize, message: String) {
        self.diags.push(Diagnostic::error(
            self.path,
            Some(yaml_line + self.offset),
            message,
        ));
    }

    fn list<T>(&mut self, doc: &Node, key: &str, from_node: FromNode<T>) -> Vec<T> {
        let Some(value) = doc.get(key) else {
            return Vec::new();
        };
        let items = match &value.node {
            Node::Seq(items) => items,
            null if null.is_null() => return Vec::new(),
            other => {
                self.error(
                    value.line,
                    format!("`{key}` must be a list of entries, found {}", other.kind()),
                );
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for item in items {
            match &item.node {
                Node::Map(fields) => {
                    if let Some(entry) = from_node(self, item.line + self.offset, fields) {
                        out.push(entry);
                    }
                }
                other => self.error(
                    item.line,
                    format!(
                        "each `{key}` entry must be a mapping, found {}",
                        other.kind()
                    ),
                ),
            }
        }
        out
    }

    /// A text field: absent or null is `None`; a list or mapping is an
    /// error. Any other scalar is its exact source text, so `0123`, `1e3`
    /// or `true` mean the characters written, not a number or a boolean.
    fn text(&mut self, fields: &[(String, Located)], key: &str) -> Option<String> {
        let value = fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)?;
        match &value.node {
            Node::Seq(_) | Node::Map(_) => {
                self.error(
                    value.line,
                    format!("`{key}` must be text, found {}", value.node.kind()),
                );
                None
            }
            scalar => scalar.as_text().map(str::to_owned),
        }
    }

    /// A scalar's exact text, or `None` (absent, null, or a list or mapping,
    /// which [`Self::text`] reports), with the line it is on.
    fn scalar(&mut self, fields: &[(String, Located)], key: &str) -> Option<(String, usize)> {
        let line = fields.iter().find(|(k, _)| k == key)?.1.line;
        Some((self.text(fields, key)?, line))
    }

    /// A delay in milliseconds (`delay_ms`, `image_delay_ms`), judged by
    /// [`delay::delay`], the rule the config's `gif.delay_ms` follows too;
    /// its note or warning is reported at the line.
    fn delay(&mut self, fields: &[(String, Located)], key: &str) -> Option<u32> {
        let (text, line) = self.scalar(fields, key)?;
        match delay::delay(key, &text) {
            Ok(judged) => {
                if let Some((severity, message)) = judged.remark {
                    self.diags.push(Diagnostic::new(
                        severity,
                        self.path,
                        Some(line + self.offset),
                        message,
                    ));
                }
                Some(judged.ms)
            }
            Err(message) => {
                self.error(line, message);
                None
            }
        }
    }

    /// `image_loop`: a play count from 1 to 65535, or `forever`.
    fn repeat(&mut self, fields: &[(String, Located)], key: &str) -> Option<Loop> {
        let (text, line) = self.scalar(fields, key)?;
        match delay::whole_number(&text) {
            Some(n @ 1..=65_535) => Some(Loop::Times(n as u16)),
            _ if text.trim() == "forever" => Some(Loop::Forever),
            _ => {
                self.error(
                    line,
                    format!(
                        "`{key}` must be `forever` or how many times the animation plays, \
                         from 1 to 65535; found `{text}`"
                    ),
                );
                None
            }
        }
    }

    /// A switch: exactly `true` or `false` (not YAML 1.1's `yes`, `on`, …,
    /// which parsers disagree on).
    fn switch(&mut self, fields: &[(String, Located)], key: &str) -> Option<bool> {
        let (text, line) = self.scalar(fields, key)?;
        match text.trim() {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                self.error(
                    line,
                    format!("`{key}` must be `true` or `false`; found `{text}`"),
                );
                None
            }
        }
    }

    /// The required path field of an entry; its absence is an error.
    fn required(&mut self, line: usize, fields: &[(String, Located)], key: &str) -> Option<String> {
        let value = self.text(fields, key);
        if value.is_some() {
            return value;
        }
        let message = match fields.iter().find(|(k, _)| k == key).map(|(_, v)| &v.node) {
            None => format!("entry has no `{key}`"),
            // `~` and `null` are YAML's spellings of "nothing"; a file
            // really named so must be quoted.
            Some(Node::Scalar(s)) if !s.text.is_empty() => format!(
                "`{key}` is `{}`, which YAML reads as null; quote it if it is a name",
                s.text
            ),
            Some(Node::Scalar(_)) => format!("`{key}` is empty"),
            // A list or mapping: `text` has reported it already.
            Some(_) => return None,
        };
        self.diags
            .push(Diagnostic::error(self.path, Some(line), message));
        None
    }
}

fn extra(fields: &[(String, Located)], known: &[&str]) -> BTreeMap<String, serde_json::Value> {
    fields
        .iter()
        .filter(|(k, _)| !known.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.node.to_json()))
        .collect()
}

impl PageImage {
    const FIELDS: &[&str] = &[
        "image_id",
        "image_name",
        "image_title",
        "image_alt",
        "image_delay_ms",
        "image_loop",
        "image_pingpong",
    ];

    fn from_node(
        r: &mut EntryReader<'_>,
        line: usize,
        fields: &[(String, Located)],
    ) -> Option<Self> {
        let image_id = r.text(fields, "image_id");
        let image_title = r.text(fields, "image_title");
        let image_alt = r.text(fields, "image_alt");
        let timing = ImageTiming {
            delay_ms: r.delay(fields, "image_delay_ms"),
            repeat: r.repeat(fields, "image_loop"),
            pingpong: r.switch(fields, "image_pingpong"),
        };
        let image_name = r.required(line, fields, "image_name")?;
        Some(PageImage {
            line,
            image_id,
            image_name,
            image_title,
            image_alt,
            timing,
            extra: extra(fields, Self::FIELDS),
        })
    }
}

impl GalleryEntry {
    const FIELDS: &[&str] = &["image_url", "caption", "title", "delay_ms"];

    fn from_node(
        r: &mut EntryReader<'_>,
        line: usize,
        fields: &[(String, Located)],
    ) -> Option<Self> {
        let caption = r.text(fields, "caption");
        let title = r.text(fields, "title");
        let delay_ms = r.delay(fields, "delay_ms");
        let image_url = r.required(line, fields, "image_url")?;
        Some(GalleryEntry {
            line,
            image_url,
            caption,
            title,
            delay_ms,
            extra: extra(fields, Self::FIELDS),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Page, Vec<Diagnostic>) {
        let (page, diags) = read_page(Path::new("content/p.md"), text);
        (page.expect("a page"), diags)
    }

    const MUSCLE: &str = "---\n\nlayout: page\nheader: no\ntags: leg\n\nimages:\n  - image_id: 'Leg'\n    image_name: 'muscles/gif/Leg.gif'\n    image_title: 'The leg'\n    image_alt: 'The leg' \n    extra_field: 3\n\ngallery:\n  - image_url: muscles/png/Leg-1.png\n    caption: 'Leg 1'\n    title: 'Leg 1'\n  - image_url: muscles/png/Leg 2.png\n    caption: 'Leg 2'\n---\n\n{% include page-image im_id=\"Leg\" %}\n\n{% include gallery %}\n";

    #[test]
    fn reads_entries_with_page_lines() {
        let (page, diags) = read(MUSCLE);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(page.images.len(), 1);
        let image = &page.images[0];
        assert_eq!(image.line, 8);
        assert_eq!(image.image_id.as_deref(), Some("Leg"));
        assert_eq!(image.image_name, "muscles/gif/Leg.gif");
        assert_eq!(image.image_alt.as_deref(), Some("The leg"));
        assert_eq!(image.extra["extra_field"], serde_json::json!(3));
        assert_eq!(page.gallery.len(), 2);
        assert_eq!(page.gallery[0].line, 15);
        assert_eq!(page.gallery[1].line, 18);
        assert_eq!(page.gallery[1].image_url, "muscles/png/Leg 2.png");
        assert_eq!(page.gallery[1].title, None);
        assert_eq!(
            page.includes,
            vec![
                Include::PageImage {
                    line: 22,
                    im_id: Some("Leg".into())
                },
                Include::Gallery { line: 24 }
            ]
        );
    }

    #[test]
    fn crlf_and_bom_keep_the_same_lines() {
        let crlf = format!("\u{feff}{}", MUSCLE.replace('\n', "\r\n"));
        let (a, _) = read(MUSCLE);
        let (b, diags) = read(&crlf);
        assert!(diags.is_empty());
        assert_eq!(a, b);
    }

    #[test]
    fn no_front_matter_is_not_a_page() {
        assert!(read_page(Path::new("x.md"), "# Hello\n").0.is_none());
    }

    #[test]
    fn yaml_error_names_the_page_line() {
        let (_, diags) = read("---\ntitle: ok\nimages: [unclosed\n---\n");
        assert_eq!(diags.len(), 1);
        assert!(diags[0].line.unwrap() >= 3, "{diags:?}");
        assert!(diags[0].message.starts_with("invalid YAML"));
    }

    #[test]
    fn wrong_shapes_are_errors_on_that_page() {
        let (_, d) = read("---\n- a\n- b\n---\n");
        assert!(d[0].message.contains("must be a mapping"), "{d:?}");
        let (_, d) = read("---\nimages: 'x.png'\n---\n");
        assert_eq!(d[0].line, Some(2));
        assert!(d[0].message.contains("must be a list"), "{d:?}");
        let (page, d) = read("---\ngallery:\n  - just-a-string.png\n  - image_url: ok.png\n---\n");
        assert_eq!(d[0].line, Some(3));
        assert_eq!(page.gallery.len(), 1);
    }

    #[test]
    fn entry_without_path_is_an_error() {
        let (page, d) = read(
            "---\nimages:\n  - image_id: a\n    image_alt: x\n  - image_id: b\n    image_name:\n---\n",
        );
        assert!(page.images.is_empty());
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].line, Some(3));
        assert!(d[0].message.contains("no `image_name`"));
        assert!(d[1].message.contains("`image_name` is empty"));
    }

    #[test]
    fn ids_and_text_fields_keep_their_source_text() {
        let text = "---\nimages:\n\
                    - {image_id: 0123, image_name: 1e3, image_title: 1.10, image_alt: true}\n\
                    - {image_id: 0x1F, image_name: 007.png}\n\
                    - {image_id: 1.10, image_name: a.png}\n\
                    - {image_id: 1e3, image_name: a.png}\n\
                    - {image_id: 007, image_name: a.png}\n\
                    - {image_id: -0, image_name: a.png}\n\
                    - {image_id: .5, image_name: a.png}\n\
                    - {image_id: 123, image_name: a.png}\n\
                    gallery:\n\
                    - {image_url: 0123, caption: 1.10, title: 0x1F}\n---\n";
        let (page, diags) = read(text);
        assert!(diags.is_empty(), "{diags:?}");
        let ids: Vec<_> = page.images.iter().map(|i| i.image_id.as_deref()).collect();
        assert_eq!(
            ids,
            [
                Some("0123"),
                Some("0x1F"),
                Some("1.10"),
                Some("1e3"),
                Some("007"),
                Some("-0"),
                Some(".5"),
                Some("123")
            ]
        );
        let first = &page.images[0];
        assert_eq!(first.image_name, "1e3");
        assert_eq!(first.image_title.as_deref(), Some("1.10"));
        assert_eq!(first.image_alt.as_deref(), Some("true"));
        assert_eq!(page.images[1].image_name, "007.png");
        let entry = &page.gallery[0];
        assert_eq!(entry.image_url, "0123");
        assert_eq!(entry.caption.as_deref(), Some("1.10"));
        assert_eq!(entry.title.as_deref(), Some("0x1F"));
    }

    #[test]
    fn null_where_a_path_is_required_is_an_error() {
        let (page, d) = read(
            "---\nimages:\n  - image_name: ~\n  - image_name: null\n  - image_name: '~'\n\
             gallery:\n  - image_url: NULL\n    caption: ~\n---\n",
        );
        assert_eq!(page.images.len(), 1, "a quoted `~` is a name");
        assert_eq!(page.images[0].image_name, "~");
        assert!(page.gallery.is_empty());
        let messages: Vec<_> = d.iter().map(|d| (d.line, d.message.as_str())).collect();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert_eq!(messages[0].0, Some(3));
        assert!(
            messages[0].1.contains("`image_name` is `~`"),
            "{messages:?}"
        );
        assert!(messages[0].1.contains("null"), "{messages:?}");
        assert_eq!(messages[1].0, Some(4));
        assert!(messages[1].1.contains("`null`"), "{messages:?}");
        assert_eq!(messages[2].0, Some(7));
        assert!(
            messages[2].1.contains("`image_url` is `NULL`"),
            "{messages:?}"
        );
    }

    #[test]
    fn dots_close_front_matter() {
        let (page, d) = read("---\nimages:\n  - image_name: a.png\n...\n{% include gallery %}\n");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(page.images.len(), 1);
        assert_eq!(page.includes, vec![Include::Gallery { line: 5 }]);
        let (_, d) = read("---\nimages: []\n");
        assert!(d[0].message.contains("`---` or `...`"), "{d:?}");
    }

    #[test]
    fn blank_line_before_the_fence_is_not_a_page_but_is_warned_about() {
        let (page, d) = read_page(
            Path::new("p.md"),
            "\n---\nimages:\n  - image_name: a.png\n---\n",
        );
        assert!(page.is_none());
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0].severity,
            crate::outputs::diagnostics::Severity::Warning
        );
        assert_eq!(d[0].line, Some(2));
        assert!(d[0].message.contains("first line"), "{d:?}");
    }

    #[test]
    fn cr_only_pages_are_not_pages_but_are_warned_about() {
        let (page, d) = read_page(
            Path::new("p.md"),
            "---\rimages:\r  - image_name: a.png\r---\r",
        );
        assert!(page.is_none());
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0].severity,
            crate::outputs::diagnostics::Severity::Warning
        );
        assert_eq!(d[0].line, Some(1));
    }

    #[test]
    fn a_stray_cr_counts_as_a_line_everywhere() {
        // Line 3 ends in a lone CR, so `image_name` is on line 4 for YAML;
        // the entry, the error below it and the include agree.
        let (page, d) = read(
            "---\nimages:\n  - image_id: a\r    image_name: a.png\n  - image_id: b\n---\n\
             {% include gallery %}\n",
        );
        assert_eq!(page.images[0].line, 3);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].line, Some(5));
        assert_eq!(page.includes, vec![Include::Gallery { line: 7 }]);
    }
}

#[cfg(test)]
mod hostile_input {
    use super::*;

    /// Hostile front matter yields diagnostics, never a panic or a hang.
    #[test]
    fn never_panics() {
        let deep = format!("---\nx: {}\n---\n", "[".repeat(20_000));
        let long = format!("---\ntitle: '{}'\n---\n", "a".repeat(1 << 20));
        let cases = [
            deep.as_str(),
            long.as_str(),
            "---\nimages: *nowhere\n---\n",
            "---\na: &a [*a]\n---\n",
            "---\nimages:\n  - image_name: !!binary aGVsbG8=\n---\n",
            "---\n? [complex, key]\n: v\n---\n",
            "---\nimages:\n  - {image_name: [1, 2], image_id: {a: b}}\n---\n",
            "---\n\t- tab\n---\n",
            "---\nn: 99999999999999999999999999999999999\nimages:\n  - image_name: 1e400\n---\n",
            "---\nimages: [~, null, '', {}]\ngallery: {a: b}\n---\n",
            "---\n---\n",
            "---",
            "---\r\n\u{feff}\r\n---\r\n",
            "---\nimages:\n  - image_name: \"\\uD800\"\n---\n",
            "---\nkey: 'unterminated\n---\n",
            "---\n%YAML 1.1\n---\nimages: []\n---\n",
        ];
        for text in cases {
            let (page, diags) = read_page(Path::new("p.md"), text);
            for d in &diags {
                assert!(d.line.is_some(), "{text:.40?}: {d:?}");
            }
            if let Some(page) = page {
                assert!(page.images.iter().all(|i| !i.image_name.is_empty()));
            }
        }
    }
}
