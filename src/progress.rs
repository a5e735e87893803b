//! How stages report progress without printing: they call a [`Progress`]
//! the caller provides. The library ships only [`Quiet`]; the CLI's
//! terminal bars are one implementation of the trait. Several stages may be
//! under way at once (pages, and frames within them), named by `stage`.

/// Receives progress from the stages. Methods may be called from several
/// threads at once.
pub trait Progress: Sync {
    /// A stage starts with `total` units of work.
    fn start(&self, _stage: &str, _total: u64) {}
    /// `n` more units of `stage` are done.
    fn advance(&self, _stage: &str, _n: u64) {}
    /// `stage` is over.
    fn finish(&self, _stage: &str) {}
    /// Something the user should know while waiting (e.g. for a lock).
    fn note(&self, _message: &str) {}
    /// A build event (see [`Event`]).
    fn event(&self, _event: &Event<'_>) {}
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Progress for Quiet {}

/// Something that happened during a build, for machine-readable progress
/// (the CLI's `--progress ndjson` writes each as one JSON line). Fields are
/// described in the README's event schema.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event<'a> {
    /// The plan is made; work starts.
    Start {
        pages: usize,
        /// Source files and animations the pages name.
        images: usize,
        /// Units of work this run covers (animations, lone sources).
        units: usize,
        /// Outputs planned, and how many of them are not up to date.
        outputs: usize,
        stale: usize,
        /// Sources that will be decoded.
        decode: usize,
        /// `I/N` for a shard build.
        shard: Option<String>,
        dry_run: bool,
    },
    /// One unit is done: every output it has now, made or reused.
    Unit {
        /// The animation's GIF key, or the lone source's key.
        unit: &'a str,
        kind: &'static str,
        seconds: f64,
        outputs: Vec<UnitOutput<'a>>,
        errors: usize,
    },
    /// A problem found; as soon as it is known.
    Diagnostic(&'a crate::outputs::diagnostics::Diagnostic),
}

/// One output in an [`Event::Unit`].
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct UnitOutput<'a> {
    pub path: &'a str,
    pub role: crate::outputs::assetmap::Role,
    pub bytes: u64,
    /// Written by this run (else reused from the cache).
    pub built: bool,
}
