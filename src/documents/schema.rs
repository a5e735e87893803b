//! The JSON Schemas in `schema/` are generated from the document types;
//! this test fails when a committed file differs from what the types
//! generate now, so the published schema cannot drift from the output.
//! After changing a document on purpose, regenerate the files with
//! `ASSETMILL_WRITE_SCHEMA=1 cargo test --lib documents` (and bump the
//! document's version if a field was removed or changed meaning).

use super::{Build, Check, EventLine, Explain, Fatal};
use schemars::{JsonSchema, generate::SchemaSettings};
use std::path::Path;

/// Every document: its file under `schema/`, its `schema` value and its
/// JSON Schema as generated now.
fn documents() -> Vec<(&'static str, &'static str, serde_json::Value)> {
    fn generate<T: JsonSchema>() -> serde_json::Value {
        SchemaSettings::draft2020_12()
            .for_serialize()
            .into_generator()
            .into_root_schema_for::<T>()
            .to_value()
    }
    vec![
        ("check", Check::SCHEMA, generate::<Check>()),
        ("build", Build::SCHEMA, generate::<Build>()),
        ("fatal", Fatal::SCHEMA, generate::<Fatal>()),
        ("explain", Explain::SCHEMA, generate::<Explain>()),
        ("event", EventLine::SCHEMA, generate::<EventLine>()),
    ]
}

#[test]
fn committed_schemas_are_what_the_document_types_generate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema");
    let write = std::env::var_os("ASSETMILL_WRITE_SCHEMA").is_some();
    let mut stale = Vec::new();
    for (name, tag, schema) in documents() {
        // The `schema` field's constant is the document's own name.
        assert_eq!(schema["properties"]["schema"]["const"], tag, "{name}");
        assert_eq!(tag, format!("assetmill.{name}/1"));
        let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        let path = dir.join(format!("{name}.schema.json"));
        if write {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(&text) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "{stale:?} differ from what the document types generate; if the change is meant, \
         run `ASSETMILL_WRITE_SCHEMA=1 cargo test --lib documents` and commit them"
    );
}
