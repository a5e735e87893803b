//! What the remote cache holds, by name, and the checks every object
//! passes before anything it says is used.
//!
//! Under the store's prefix, in layout `v1/`:
//!
//! - `records/<key>`: what one output is, as JSON: its path, input hash
//!   and options hash, and the [`OutputFile`] the asset map and the cache
//!   record (size, content hash, frames, SSIM). `<key>` is the BLAKE3 of
//!   the path, input hash and options hash, so two checkouts in other
//!   folders share it, and any change to a frame or a setting is another
//!   key.
//! - `blobs/<hash>`: an output's bytes, named by their BLAKE3: the same
//!   bytes are stored once, whichever outputs they are.
//! - `sources/<hash>-<limits>`: what validating a source of that content
//!   under those limits found ([`ImageInfo`]), so a build that fetches
//!   every output of a source need not decode it.
//!
//! A record is used only when it is small, parses, and says exactly the
//! path, role, input and options hashes asked for; a blob only when it has
//! the record's size and hash (it is read no further than that size).

use crate::outputs::assetmap::{self, OutputFile};
use crate::pipeline::keys::Planned;
use crate::stages::decode::ImageInfo;
use serde::{Deserialize, Serialize};

/// The largest record read.
pub const RECORD_LIMIT: u64 = 64 << 10;
/// The largest source fact read.
pub const SOURCE_LIMIT: u64 = 4 << 10;
const SCHEMA: &str = "assetmill.remote/1";

/// A record as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    schema: String,
    path: String,
    inputs: String,
    options: String,
    file: OutputFile,
}

/// The record of an output.
pub fn record_name(planned: &Planned) -> String {
    let key = assetmap::hash(
        format!("{}\0{}\0{}", planned.path, planned.inputs, planned.options).as_bytes(),
    );
    format!("v1/records/{key}")
}

/// The bytes of content `hash` (checked to be a BLAKE3 hex digest).
pub fn blob_name(hash: &str) -> String {
    format!("v1/blobs/{hash}")
}

/// What validation found of a source of content `hash` under `limits`.
pub fn source_name(hash: &str, limits: &str) -> String {
    format!("v1/sources/{hash}-{limits}")
}

/// The record to store for an output made as `file`.
pub fn record_bytes(planned: &Planned, file: &OutputFile) -> Vec<u8> {
    let record = Record {
        schema: SCHEMA.into(),
        path: planned.path.clone(),
        inputs: planned.inputs.clone(),
        options: planned.options.clone(),
        file: file.clone(),
    };
    serde_json::to_vec(&record).unwrap_or_default()
}

/// The output a fetched record describes, if it is one for `planned`:
/// why not otherwise.
pub fn check_record(bytes: &[u8], planned: &Planned, max_bytes: u64) -> Result<OutputFile, String> {
    let record: Record = serde_json::from_slice(bytes)
        .map_err(|e| format!("its record is not one assetmill wrote ({e})"))?;
    let file = record.file;
    if record.schema != SCHEMA
        || record.path != planned.path
        || record.inputs != planned.inputs
        || record.options != planned.options
        || file.path != planned.path
        || file.role != planned.role
    {
        return Err("its record is for another output".into());
    }
    if !is_digest(&file.hash) {
        return Err("its record names no valid content hash".into());
    }
    if file.bytes > max_bytes {
        return Err(format!(
            "its record says {} bytes, over the {max_bytes} bytes one download may take",
            file.bytes
        ));
    }
    Ok(file)
}

/// Whether fetched bytes are the ones `file` records: why not otherwise.
pub fn check_blob(bytes: &[u8], file: &OutputFile) -> Result<(), String> {
    if bytes.len() as u64 != file.bytes {
        return Err(format!(
            "it is {} bytes, not the {} its record says",
            bytes.len(),
            file.bytes
        ));
    }
    let hash = assetmap::hash(bytes);
    if hash != file.hash {
        return Err(format!(
            "its content hash is {hash}, not the {} its record says",
            file.hash
        ));
    }
    Ok(())
}

/// The facts a fetched source record holds, if they can be the ones of a
/// source of `bytes` bytes: why not otherwise.
pub fn check_source(bytes: &[u8], source_bytes: u64) -> Result<ImageInfo, String> {
    let info: ImageInfo = serde_json::from_slice(bytes)
        .map_err(|e| format!("its source record is not one assetmill wrote ({e})"))?;
    if info.bytes != source_bytes || info.width == 0 || info.height == 0 || info.frames == 0 {
        return Err("its source record does not describe that file".into());
    }
    if info.colour.is_none() {
        return Err("its source record is incomplete".into());
    }
    Ok(info)
}

/// The source facts to store.
pub fn source_bytes(info: &ImageInfo) -> Vec<u8> {
    serde_json::to_vec(info).unwrap_or_default()
}

/// A BLAKE3 digest as [`assetmap::hash`] writes it: 64 lowercase hex
/// digits (so a record cannot name a blob outside `blobs/`).
fn is_digest(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::outputs::assetmap::Role;
    use crate::pipeline::keys::Owner;

    fn planned(path: &str) -> Planned {
        let mut p = Planned::new(
            path.into(),
            Role::Gif,
            Owner::Animation(0),
            "in".into(),
            &Config::default(),
        );
        p.finish();
        p
    }

    fn file(path: &str, bytes: &[u8]) -> OutputFile {
        OutputFile {
            role: Role::Gif,
            path: path.into(),
            width: Some(4),
            height: Some(4),
            bytes: bytes.len() as u64,
            hash: assetmap::hash(bytes),
            frames: Some(2),
            duration_ms: Some(200),
            cells: None,
            format: None,
            ssim: Some(0.99),
        }
    }

    #[test]
    fn a_record_round_trips_and_answers_only_for_its_output() {
        let p = planned("g/a.gif");
        let f = file("g/a.gif", b"GIF89a");
        let bytes = record_bytes(&p, &f);
        assert_eq!(check_record(&bytes, &p, 1 << 20).unwrap(), f);
        // Another path, other inputs or options: another name, and the
        // record refuses to answer for it.
        let other = planned("g/b.gif");
        assert_ne!(record_name(&p), record_name(&other));
        assert!(check_record(&bytes, &other, 1 << 20).is_err());
        let mut changed = p.clone();
        changed.inputs = "other".into();
        assert_ne!(record_name(&p), record_name(&changed));
        assert!(check_record(&bytes, &changed, 1 << 20).is_err());
        // Too big for a download, or a hash that is a path.
        assert!(
            check_record(&bytes, &p, 3)
                .unwrap_err()
                .contains("over the 3 bytes")
        );
        let mut forged = f.clone();
        forged.hash = "../../records/x".into();
        let e = check_record(&record_bytes(&p, &forged), &p, 1 << 20).unwrap_err();
        assert!(e.contains("content hash"), "{e}");
        assert!(check_record(b"{}", &p, 1 << 20).is_err());
    }

    #[test]
    fn a_blob_must_have_the_recorded_size_and_hash() {
        let f = file("a.gif", b"GIF89a");
        assert!(check_blob(b"GIF89a", &f).is_ok());
        assert!(
            check_blob(b"GIF89b", &f)
                .unwrap_err()
                .contains("content hash")
        );
        assert!(check_blob(b"GIF89", &f).unwrap_err().contains("5 bytes"));
    }
}
