//! The remote cache: outputs shared between machines through an
//! S3-compatible object store (or, read-only, any HTTP server holding a
//! copy of one), behind the local cache in `out/.assetmill`.
//!
//! Outputs are found by the same keys the local cache compares (the path,
//! the hash of the inputs, the fingerprint of every setting and encoder
//! version that shapes it), so an output fetched is the output this build
//! would make, byte for byte. Nothing fetched is trusted before it is
//! checked ([`objects`]); a store that fails costs one warning and its
//! outputs are made here ([`session`]).
//!
//! The files follow a build: [`session`] (the store opened for one build)
//! → [`fetch`] (before units run: fetch what the store has) → [`upload`]
//! (as units end: store what was made). [`store`] speaks to the store, in
//! the terms of [`requests`]
//! (`object_store` on a small tokio runtime; in a build without the
//! `remote` feature it cannot be opened).

pub mod fetch;
mod objects;
mod requests;
pub mod session;
#[cfg_attr(not(feature = "remote"), path = "offline.rs")]
mod store;
pub mod upload;
