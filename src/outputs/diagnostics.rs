//! Diagnostics and the report a run ends with.
//!
//! Every stage returns its problems as [`Diagnostic`]s instead of printing
//! them; the CLI sorts and renders them, compiler style:
//! `content/x.md:14: error: gallery frame muscles/png/X-3.png: truncated PNG`,
//! with an indented `    hint: …` line under it when there is a likely fix.
//! Names in both forms, text and JSON, follow [`names`]: a diagnostic is
//! always one line (its hint one more), and always serializes.

use crate::outputs::names;
use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};
use std::fmt;
use std::path::PathBuf;

/// How bad a diagnostic is. Only errors make the run fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        })
    }
}

/// One problem, located at a file and (where known) a line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// In JSON, by [`names`]' machine form, plus `file_bytes` (the exact
    /// bytes) when the name is not UTF-8.
    pub file: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    /// A suggestion for the fix (`did you mean muscles/png/Leg-3.png?`),
    /// shown on its own line under the diagnostic.
    pub hint: Option<String>,
}

/// Written by hand so that no file name can make it fail: the path goes
/// through [`names::path`] (`PathBuf`'s own `Serialize` refuses a name
/// that is not UTF-8, which once panicked `--format json`).
impl Serialize for Diagnostic {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Diagnostic", 7)?;
        s.serialize_field("severity", &self.severity)?;
        s.serialize_field("file", &names::path(&self.file))?;
        match names::raw(&self.file) {
            Some(raw) => s.serialize_field("file_bytes", raw)?,
            None => s.skip_field("file_bytes")?,
        }
        s.serialize_field("line", &self.line)?;
        s.serialize_field("column", &self.column)?;
        s.serialize_field("message", &self.message)?;
        match &self.hint {
            Some(hint) => s.serialize_field("hint", hint)?,
            None => s.skip_field("hint")?,
        }
        s.end()
    }
}

/// The JSON Schema of the `Serialize` above, for the documents' schema
/// files (see `documents`).
#[cfg(test)]
impl schemars::JsonSchema for Diagnostic {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Diagnostic".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        /// One problem, located at a file and (where known) a line.
        #[derive(Serialize, schemars::JsonSchema)]
        struct Shape {
            severity: Severity,
            /// The file, by the names rule's machine form.
            file: String,
            /// The file name's exact bytes; only when it is not UTF-8.
            #[serde(skip_serializing_if = "Option::is_none")]
            file_bytes: Option<Vec<u8>>,
            line: Option<usize>,
            column: Option<usize>,
            message: String,
            /// A suggestion for the fix.
            #[serde(skip_serializing_if = "Option::is_none")]
            hint: Option<String>,
        }
        Shape::json_schema(generator)
    }
}

impl Diagnostic {
    pub fn new(
        severity: Severity,
        file: impl Into<PathBuf>,
        line: Option<usize>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity,
            file: file.into(),
            line,
            column: None,
            message: message.into(),
            hint: None,
        }
    }

    /// The same diagnostic with a suggestion for the fix.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn error(
        file: impl Into<PathBuf>,
        line: Option<usize>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(Severity::Error, file, line, message)
    }

    pub fn warning(
        file: impl Into<PathBuf>,
        line: Option<usize>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(Severity::Warning, file, line, message)
    }

    pub fn note(file: impl Into<PathBuf>, line: Option<usize>, message: impl Into<String>) -> Self {
        Self::new(Severity::Note, file, line, message)
    }

    /// The sort order of reports: by file, then line, then severity.
    fn sort_key(&self) -> (&PathBuf, usize, usize, Severity, &str) {
        (
            &self.file,
            self.line.unwrap_or(0),
            self.column.unwrap_or(0),
            self.severity,
            &self.message,
        )
    }
}

/// One line (and an indented hint line), every name and message in
/// [`names`]' text form: a newline or an ESC sequence in an image name
/// shows as `\n` or `\u{1b}`, never starts a line or reaches a terminal.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&names::path_text(&self.file))?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}: {}", self.severity, names::text(&self.message))?;
        // Indented under the diagnostic, as compilers show help lines, so
        // `grep ': error:'` still finds one line per problem.
        if let Some(hint) = &self.hint {
            write!(f, "\n    hint: {}", names::text(hint))?;
        }
        Ok(())
    }
}

/// Counts shown in the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Files with front matter.
    pub pages: usize,
    /// Distinct images referenced (files to validate plus animations to assemble).
    pub images: usize,
    pub errors: usize,
    pub warnings: usize,
}

/// The outcome of `check`: every diagnostic, sorted, and the counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub diagnostics: Vec<Diagnostic>,
    pub summary: Summary,
}

impl Report {
    /// Builds a report, sorting and de-duplicating the diagnostics.
    pub fn new(mut diagnostics: Vec<Diagnostic>, pages: usize, images: usize) -> Self {
        diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        diagnostics.dedup();
        let count = |s| diagnostics.iter().filter(|d| d.severity == s).count();
        let summary = Summary {
            pages,
            images,
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
        };
        Report {
            diagnostics,
            summary,
        }
    }

    pub fn has_errors(&self) -> bool {
        self.summary.errors > 0
    }

    /// The human-readable report: one line per diagnostic, then the summary.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for d in &self.diagnostics {
            out.push_str(&d.to_string());
            out.push('\n');
        }
        out.push_str(&self.summary.to_string());
        out.push('\n');
        out
    }

    /// The same report as a JSON document (see [`names::json`]).
    pub fn to_json(&self) -> serde_json::Result<String> {
        names::json(self, true)
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, {}, {}, {}",
            plural(self.pages, "page"),
            plural(self.images, "image"),
            plural(self.errors, "error"),
            plural(self.warnings, "warning")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_by_page_then_line_and_counts() {
        let report = Report::new(
            vec![
                Diagnostic::warning("content/b.md", Some(3), "w"),
                Diagnostic::error("content/a.md", Some(14), "late"),
                Diagnostic::error("content/a.md", Some(2), "early"),
            ],
            2,
            5,
        );
        let text = report.to_text();
        assert_eq!(
            text,
            "content/a.md:2: error: early\ncontent/a.md:14: error: late\n\
             content/b.md:3: warning: w\n2 pages, 5 images, 2 errors, 1 warning\n"
        );
        assert!(report.has_errors());
        let json: serde_json::Value = serde_json::from_str(&report.to_json().unwrap()).unwrap();
        assert_eq!(json["summary"]["errors"], 2);
        assert_eq!(json["diagnostics"][0]["line"], 2);
        assert!(json["diagnostics"][0].get("hint").is_none());
    }

    #[test]
    fn hints_show_under_the_diagnostic_and_in_json() {
        let report = Report::new(
            vec![
                Diagnostic::error(
                    "content/a.md",
                    Some(7),
                    "gallery frame a/Lge-3.png: file not found",
                )
                .with_hint("did you mean a/Leg-3.png?"),
            ],
            1,
            1,
        );
        assert_eq!(
            report.to_text(),
            "content/a.md:7: error: gallery frame a/Lge-3.png: file not found\n    \
             hint: did you mean a/Leg-3.png?\n1 page, 1 image, 1 error, 0 warnings\n"
        );
        let json: serde_json::Value = serde_json::from_str(&report.to_json().unwrap()).unwrap();
        assert_eq!(json["diagnostics"][0]["hint"], "did you mean a/Leg-3.png?");
    }

    #[cfg(unix)]
    #[test]
    fn a_file_name_that_is_not_utf8_serializes_by_the_names_rule() {
        use std::os::unix::ffi::OsStrExt;
        let file = std::path::Path::new(std::ffi::OsStr::from_bytes(b"content/bad-\xff.md"));
        let d = Diagnostic::error(file, Some(3), "page image a.png: file not found");
        let json: serde_json::Value =
            serde_json::from_str(&Report::new(vec![d.clone()], 1, 1).to_json().unwrap()).unwrap();
        let got = &json["diagnostics"][0];
        assert_eq!(got["file"], "content/bad-\\xFF.md");
        let bytes: Vec<u8> = serde_json::from_value(got["file_bytes"].clone()).unwrap();
        assert_eq!(bytes, b"content/bad-\xff.md");
        assert_eq!(got["line"], 3);
        assert!(got.get("hint").is_none());
        // Through an NDJSON event too (an internally tagged enum).
        let event = crate::progress::Event::Diagnostic(&d);
        let line: serde_json::Value =
            serde_json::from_str(&crate::outputs::names::json(&event, false).unwrap()).unwrap();
        assert_eq!(line["event"], "diagnostic");
        assert_eq!(line["file"], "content/bad-\\xFF.md");
        assert_eq!(
            d.to_string(),
            "content/bad-\\xFF.md:3: error: page image a.png: file not found"
        );
    }

    #[test]
    fn names_in_messages_never_start_a_line_or_reach_a_terminal() {
        let d = Diagnostic::error(
            "content/a\u{1b}[2J.md",
            Some(2),
            "page image x\u{1b}]0;title\u{7}\n::error file=x::forged.png: file not found",
        )
        .with_hint("did you mean y\r\n::warning::z.png?");
        let text = Report::new(vec![d], 1, 1).to_text();
        assert_eq!(
            text,
            "content/a\\u{1b}[2J.md:2: error: page image x\\u{1b}]0;title\\u{7}\\n::error \
             file=x::forged.png: file not found\n    hint: did you mean y\\r\\n::warning::z.png?\n\
             1 page, 1 image, 1 error, 0 warnings\n"
        );
    }
}
