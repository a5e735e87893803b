//! Diagnostics and the report a run ends with.
//!
//! Every stage returns its problems as [`Diagnostic`]s instead of printing
//! them; the CLI sorts and renders them, compiler style:
//! `content/x.md:14: error: gallery frame muscles/png/X-3.png: truncated PNG`,
//! with an indented `    hint: …` line under it when there is a likely fix.

use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

/// How bad a diagnostic is. Only errors make the run fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    /// A suggestion for the fix (`did you mean muscles/png/Leg-3.png?`),
    /// shown on its own line under the diagnostic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
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

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}: {}", self.severity, self.message)?;
        // Indented under the diagnostic, as compilers show help lines, so
        // `grep ': error:'` still finds one line per problem.
        if let Some(hint) = &self.hint {
            write!(f, "\n    hint: {hint}")?;
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

    /// The same report as a JSON document.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serializes")
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
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
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
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(json["diagnostics"][0]["hint"], "did you mean a/Leg-3.png?");
    }
}
