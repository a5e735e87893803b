//! How a name is written into anything people or programs read: a page's
//! path, an image name from front matter, an output path, a folder given on
//! the command line. Names come from the file system (on Unix, any bytes
//! but `/` and NUL, so not always UTF-8) and from YAML (always UTF-8, but
//! free to hold newlines, ESC sequences and bidi overrides). One rule, kept
//! here so that no output can panic on a name, lose it, or let it act on a
//! terminal:
//!
//! - **Machine form** ([`path`], [`slashed`], [`bytes`]), for JSON, NDJSON,
//!   the asset map and the names `budgets.pages` matches: a name that is
//!   valid UTF-8 is written exactly as it is. One that is not has each byte
//!   that is not part of valid UTF-8 written as `\xNN` (two uppercase hex
//!   digits) and everything else as it is: `bad-\xFF.md`. A diagnostic
//!   about such a file also carries `file_bytes`, the name's exact bytes, so
//!   a program can still open it (a real name may contain the four
//!   characters `\xFF`; only `file_bytes` tells the two apart).
//! - **JSON text** ([`json`]): on top of JSON's own escapes, DEL, the C1
//!   controls, bidi controls and the Unicode line and paragraph separators
//!   are written as `\uXXXX`. The parsed value is unchanged; the bytes
//!   hold nothing a terminal acts on. (The asset map's YAML copy escapes
//!   C0, DEL and C1 by YAML's own rules.)
//! - **Text form** ([`text`], [`path_text`]), for every human-readable line
//!   (the text report, `error:` lines, notes, explanations, the HTML
//!   review): the machine form with every such character shown as an
//!   escape: `\n`, `\r`, `\t`, else `\u{1b}` (Rust's spelling). A name can
//!   then never start a line of its own (`grep ': error:'` finds one line
//!   per problem, and no name forges a CI annotation such as
//!   `::error file=…::`), clear the screen, or set the window title.
//!   Backslashes are left as they are, so Windows paths stay readable.

use serde::Serialize;
use std::borrow::Cow;
use std::fmt::Write;
use std::path::{Component, Path};

/// The machine form of a path, as the platform spells it.
pub fn path(p: &Path) -> Cow<'_, str> {
    bytes(p.as_os_str().as_encoded_bytes())
}

/// The machine form of raw name bytes: themselves when valid UTF-8, else
/// each invalid byte as `\xNN`.
pub fn bytes(raw: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(raw) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(raw.len() + 8);
    for chunk in raw.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
    Cow::Owned(out)
}

/// A path's exact bytes when its machine form is an escape (the name is
/// not valid UTF-8); `None` when [`path`] already is the name. On Unix the
/// bytes of the name; on Windows its WTF-8 encoding.
pub fn raw(p: &Path) -> Option<&[u8]> {
    let raw = p.as_os_str().as_encoded_bytes();
    std::str::from_utf8(raw).is_err().then_some(raw)
}

/// A page's name: its path relative to the content folder by [`slashed`]
/// (exact when the name is UTF-8, else with `\xNN` for each byte that is
/// not), as the asset map, the size budgets and the review name pages.
pub fn page_name(content: &Path, page: &Path) -> String {
    slashed(page.strip_prefix(content).unwrap_or(page))
}

/// A path as text with every `\` turned into `/` (and bytes that are not
/// UTF-8 replaced): how a configured or queried path is compared with the
/// `/`-separated names of outputs. Unlike [`slashed`] it keeps `.` parts
/// and reads a `\` inside a Unix name as a separator too.
pub fn forward_slashes(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

/// The machine form of a relative path with `/` between its parts on every
/// platform, as templates and the asset map name pages and outputs.
pub fn slashed(p: &Path) -> String {
    let mut out = String::new();
    for part in p.components() {
        match part {
            Component::RootDir => out.push('/'),
            Component::CurDir => {}
            _ => {
                if !out.is_empty() && !out.ends_with('/') {
                    out.push('/');
                }
                out.push_str(&bytes(part.as_os_str().as_encoded_bytes()));
            }
        }
    }
    out
}

/// True for the characters a terminal (or a reader) would act on rather
/// than show: C0 controls (newline, CR, tab, ESC, BEL, …), DEL, C1
/// controls, bidi controls that reorder what is shown (Trojan Source), and
/// the Unicode line and paragraph separators.
pub fn acts(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// The text form of a string: every character that [`acts`] shown as an
/// escape (`\n`, `\r`, `\t`, else `\u{…}`), so it stays on its line and
/// does nothing to a terminal. Idempotent.
pub fn text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(acts) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if acts(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The text form of a path: its machine form, then [`text`].
pub fn path_text(p: &Path) -> String {
    text(&path(p)).into_owned()
}

/// `value` as JSON (pretty or one line), with every character that
/// [`acts`] written as a `\uXXXX` escape. Every output type holds names
/// as strings (a [`Diagnostic`](crate::outputs::diagnostics::Diagnostic) writes its path
/// by this module's rule), so this fails only if a new type breaks that.
pub fn json<T: Serialize + ?Sized>(value: &T, pretty: bool) -> serde_json::Result<String> {
    let s = if pretty {
        serde_json::to_string_pretty(value)?
    } else {
        serde_json::to_string(value)?
    };
    Ok(json_escape(s))
}

/// Escapes the characters serde_json leaves raw: it escapes the C0
/// controls in strings, and C0 outside strings is the document's own
/// layout. The rest can only occur inside strings, since JSON's own syntax
/// is ASCII, and `\uXXXX` means the same character there.
fn json_escape(s: String) -> String {
    let raw = |c: char| c > '\u{1f}' && acts(c);
    if !s.chars().any(raw) {
        return s;
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if raw(c) {
            // All of these are in the Basic Multilingual Plane.
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_names_are_written_as_they_are() {
        let name = "content/Ünïcode ✓ a\\xFF.md";
        assert!(matches!(bytes(name.as_bytes()), Cow::Borrowed(s) if s == name));
        assert_eq!(path(Path::new(name)), name);
        assert_eq!(raw(Path::new(name)), None);
    }

    #[test]
    fn invalid_bytes_are_hex_escapes_and_the_rest_is_kept() {
        assert_eq!(bytes(b"bad-\xff\xfe.md"), "bad-\\xFF\\xFE.md");
        // A truncated sequence is escaped byte by byte; valid text after
        // it is kept.
        assert_eq!(bytes(b"\xe2\x9c \xe2\x9c\x93"), "\\xE2\\x9C \u{2713}");
    }

    #[cfg(unix)]
    #[test]
    fn raw_bytes_only_for_names_that_need_the_escape() {
        use std::os::unix::ffi::OsStrExt;
        let p = Path::new(std::ffi::OsStr::from_bytes(b"content/x\xff.md"));
        assert_eq!(path(p), "content/x\\xFF.md");
        assert_eq!(raw(p), Some(&b"content/x\xff.md"[..]));
        assert_eq!(slashed(p), "content/x\\xFF.md");
    }

    #[test]
    fn slashed_joins_parts_with_slashes() {
        assert_eq!(slashed(Path::new("a/./b/c.md")), "a/b/c.md");
        assert_eq!(slashed(Path::new("../a")), "../a");
        assert_eq!(slashed(Path::new("/a/b")), "/a/b");
        assert_eq!(slashed(Path::new("")), "");
    }

    #[test]
    fn text_escapes_what_a_terminal_acts_on() {
        assert!(matches!(text("plain/x.png"), Cow::Borrowed(_)));
        assert_eq!(
            text("x\u{1b}]0;title\u{7}\u{1b}[2J\n::error file=x::forged"),
            "x\\u{1b}]0;title\\u{7}\\u{1b}[2J\\n::error file=x::forged"
        );
        assert_eq!(text("a\r\tb\u{7f}\u{9b}"), "a\\r\\tb\\u{7f}\\u{9b}");
        assert_eq!(
            text("evil\u{202e}gnp.exe\u{2028}"),
            "evil\\u{202e}gnp.exe\\u{2028}"
        );
        // Idempotent: an escaped text has nothing left to escape.
        let once = text("a\nb\u{1b}").into_owned();
        assert_eq!(text(&once), once);
    }

    #[test]
    fn json_has_no_raw_control_characters_and_the_same_value() {
        let value = serde_json::json!({
            "name": "a\u{1b}[2J\u{7f}\u{85}\u{202e}\u{2029}\n\"\\ ✓"
        });
        for pretty in [false, true] {
            let s = json(&value, pretty).unwrap();
            assert!(s.chars().all(|c| !acts(c) || c == '\n'), "{s:?}");
            assert!(s.contains("\\u007f") && s.contains("\\u202e"), "{s}");
            let back: serde_json::Value = serde_json::from_str(&s).unwrap();
            assert_eq!(back, value);
        }
    }
}
