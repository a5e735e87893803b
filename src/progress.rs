//! How stages report progress without printing: they call a [`Progress`]
//! the caller provides. The library ships only [`Quiet`]; the CLI's
//! terminal bars are one implementation of the trait.

/// Receives progress from the stages. Methods may be called from several
/// threads at once.
pub trait Progress: Sync {
    /// A stage starts with `total` units of work.
    fn start(&self, _stage: &str, _total: u64) {}
    /// `n` more units are done.
    fn advance(&self, _n: u64) {}
    /// The current stage is over.
    fn finish(&self) {}
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Progress for Quiet {}
