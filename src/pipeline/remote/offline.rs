//! The store's interface in a build without the `remote` feature: it
//! cannot be opened, so no other method can be reached (a [`Store`] holds
//! a value that cannot exist).

use super::requests::{Fault, Got, Put, Stored};
use crate::config::Location;
use std::convert::Infallible;
use std::time::Duration;

pub struct Store {
    never: Infallible,
}

impl Store {
    pub fn open(_: &Location) -> Result<Store, String> {
        Err(
            "this assetmill was built without the `remote` feature (the command has it; \
             a program using the library turns it on in Cargo.toml)"
                .into(),
        )
    }

    pub fn get_each(
        &self,
        _: &[(String, u64)],
        _: &(dyn Fn() -> bool + Sync),
        _: &(dyn Fn(usize, Result<Got, Fault>) + Sync),
    ) {
        match self.never {}
    }

    pub fn size_each(
        &self,
        _: &[String],
        _: &(dyn Fn() -> bool + Sync),
        _: &(dyn Fn(usize, Result<Option<u64>, Fault>) + Sync),
    ) {
        match self.never {}
    }

    pub fn put_later(&self, _: Vec<Put>, _: Box<dyn FnOnce(Vec<Stored>, Option<Fault>) + Send>) {
        match self.never {}
    }

    pub fn wait(&self, _: Duration) -> bool {
        match self.never {}
    }
}
