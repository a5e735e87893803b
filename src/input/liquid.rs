//! The two Liquid includes of a page body that concern images:
//! `{% include page-image im_id="X" %}` and `{% include gallery %}`.
//!
//! Only tags are scanned, not a full Liquid grammar: whitespace control
//! (`{%-`), any spacing around `=`, and single, double or no quotes are
//! accepted, and the `.html` suffix some sites write is ignored.

use serde::Serialize;

/// An image-related include found in a page body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "include", rename_all = "kebab-case")]
pub enum Include {
    /// `page-image`; `im_id` is `None` when the tag names no id.
    PageImage {
        line: usize,
        im_id: Option<String>,
    },
    Gallery {
        line: usize,
    },
}

/// Scans a body whose first line is page line `first_line`.
pub fn scan_includes(body: &str, first_line: usize) -> Vec<Include> {
    let mut found = Vec::new();
    let mut rest = body;
    let mut offset = 0;
    while let Some(start) = rest.find("{%") {
        let Some(len) = rest[start..].find("%}") else {
            break;
        };
        let tag = &rest[start + 2..start + len];
        let line = first_line + body[..offset + start].matches('\n').count();
        if let Some(include) = parse_tag(tag, line) {
            found.push(include);
        }
        offset += start + len + 2;
        rest = &rest[start + len + 2..];
    }
    found
}

fn parse_tag(tag: &str, line: usize) -> Option<Include> {
    let tag = tag.trim_matches('-').trim();
    let rest = tag.strip_prefix("include")?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let rest = rest.trim_start();
    let name_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let name = rest[..name_end].trim_end_matches(".html");
    match name {
        "gallery" => Some(Include::Gallery { line }),
        "page-image" => Some(Include::PageImage {
            line,
            im_id: argument(&rest[name_end..], "im_id"),
        }),
        _ => None,
    }
}

/// Finds `key=value` among include arguments (value quoted or bare).
fn argument(args: &str, key: &str) -> Option<String> {
    let mut rest = args.trim_start();
    while !rest.is_empty() {
        let eq = rest.find('=')?;
        let name = rest[..eq].trim();
        let after = rest[eq + 1..].trim_start();
        let (value, remaining) = match after.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let end = after[1..].find(q)? + 1;
                (&after[1..end], &after[end + 1..])
            }
            _ => {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                (&after[..end], &after[end..])
            }
        };
        if name == key {
            return Some(value.to_owned());
        }
        rest = remaining.trim_start();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_includes_with_any_quoting_and_spacing() {
        let body = "text\n{% include page-image im_id=\"A\" %}\n\n{%- include page-image.html im_id = 'B' -%}\n\
                    {%include page-image im_id=C%}\n{% include gallery %}\n{% include list-pages tag=\"m\" %}\n";
        let found = scan_includes(body, 10);
        assert_eq!(
            found,
            vec![
                Include::PageImage {
                    line: 11,
                    im_id: Some("A".into())
                },
                Include::PageImage {
                    line: 13,
                    im_id: Some("B".into())
                },
                Include::PageImage {
                    line: 14,
                    im_id: Some("C".into())
                },
                Include::Gallery { line: 15 },
            ]
        );
    }

    #[test]
    fn include_without_id_is_reported_as_such() {
        let found = scan_includes("{% include page-image %}", 1);
        assert_eq!(
            found,
            vec![Include::PageImage {
                line: 1,
                im_id: None
            }]
        );
    }

    #[test]
    fn other_tags_and_unclosed_tags_are_ignored() {
        assert!(scan_includes("{% if x %}{% include footer %}{% include gallery", 1).is_empty());
        assert!(scan_includes("{% includegallery %}", 1).is_empty());
    }
}
