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
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Progress for Quiet {}
