//! What a request to the remote store gives back, and what an upload
//! sends: the terms [`super::store`] and its callers share (the same
//! whether or not the `remote` feature is on; without it, no store opens,
//! so nothing is ever made of these).
#![cfg_attr(not(feature = "remote"), allow(dead_code))]

/// What a download found.
#[derive(Debug)]
pub enum Got {
    Found(Vec<u8>),
    Missing,
    /// Larger than the caller's limit (the object's size as the store
    /// said it, or as far as it was read).
    TooBig(u64),
}

/// A request that failed (after its retry): the store is down, slow, or
/// refused it. The message names no credential.
#[derive(Debug, Clone)]
pub struct Fault(pub String);

/// One object to store, and whether to skip it when the store already
/// holds an object of its size there (content-addressed blobs: the same
/// name is the same bytes).
pub struct Put {
    pub name: String,
    pub bytes: Vec<u8>,
    pub unless_present: bool,
}

/// How a [`Put`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Written(u64),
    Present,
}
