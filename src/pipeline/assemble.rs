//! The asset map from what is now in `out/`: one record per key a page
//! wrote, with its source's facts, its outputs and the pages using it.

use super::keys::Owner;
use super::outcome::Made;
use super::scope::Scope;
use crate::config::Config;
use crate::error::Result;
use crate::outputs::assetmap::{self, Asset, AssetMap, FileInfo, Kind, OutputFile};
use crate::plan::{Plan, Use};
use crate::stages::decode::{self, ImageInfo};
use std::collections::{BTreeMap, BTreeSet};

/// The asset map from what is now in `out/`.
pub(super) fn asset_map(
    config: &Config,
    plan: &Plan,
    infos: &[Result<ImageInfo>],
    hashes: &[Option<String>],
    scope: &Scope,
    made: &[Made],
) -> AssetMap {
    let pages = |users: &[Use]| -> Vec<String> {
        let set: BTreeSet<String> = users
            .iter()
            .map(|u| crate::outputs::names::page_name(&config.content, &u.page))
            .collect();
        set.into_iter().collect()
    };
    let written =
        |users: &[Use]| -> BTreeSet<String> { users.iter().map(|u| u.written.clone()).collect() };
    let mut by_owner: BTreeMap<(u8, usize), Vec<OutputFile>> = BTreeMap::new();
    for Made { planned, file, .. } in made {
        let key = match planned.owner {
            Owner::Source(s) => (0, s),
            Owner::Animation(a) => (1, a),
        };
        by_owner.entry(key).or_default().push(file.clone());
    }
    for files in by_owner.values_mut() {
        files.sort_by_key(|f| f.role);
    }
    let mut assets = BTreeMap::new();
    for (s, source) in plan.sources.iter().enumerate() {
        let (true, Ok(info), Some(hash)) = (scope.sources[s], &infos[s], &hashes[s]) else {
            continue;
        };
        let outputs = by_owner.get(&(0, s)).cloned().unwrap_or_default();
        let asset = Asset {
            srcset: assetmap::srcset(
                &outputs,
                &decode::format_name(info.format).to_ascii_lowercase(),
            ),
            kind: if source.is_frame() {
                Kind::Frame
            } else {
                Kind::Image
            },
            source: Some(FileInfo {
                format: decode::format_name(info.format).to_owned(),
                width: info.width,
                height: info.height,
                bytes: info.bytes,
                hash: hash.clone(),
            }),
            frames: Vec::new(),
            outputs,
            pages: pages(&source.users),
            playback: None,
        };
        for key in written(&source.users) {
            assets.insert(key, asset.clone());
        }
    }
    for (a, animation) in plan.animations.iter().enumerate() {
        let (true, Some(outputs)) = (scope.animations[a], by_owner.get(&(1, a))) else {
            continue;
        };
        let frames = animation
            .frames
            .iter()
            .map(|&s| {
                let users = &plan.sources[s].users;
                users
                    .iter()
                    .find(|u| u.page == animation.page)
                    .unwrap_or(&users[0])
                    .written
                    .clone()
            })
            .collect();
        let asset = Asset {
            kind: Kind::Animation,
            source: None,
            frames,
            outputs: outputs.clone(),
            pages: pages(&animation.users),
            playback: Some(animation.timing(&config.gif).playback()),
            srcset: BTreeMap::new(),
        };
        for key in written(&animation.users) {
            assets.insert(key, asset.clone());
        }
    }
    AssetMap {
        version: assetmap::SCHEMA_VERSION,
        assets,
    }
}
