//! Every input a fuzzer found (a crash, a hang, a broken property), kept in
//! `tests/fuzz/<target>/` and replayed through the same entry point the
//! fuzz target uses, so a fixed bug stays fixed in `cargo test`.

use std::path::Path;
use std::time::{Duration, Instant};

#[test]
fn every_fuzz_finding_stays_fixed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz");
    let mut replayed = 0;
    for (name, run) in assetmill::fuzzing::TARGETS {
        let dir = root.join(name);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for file in files.iter().filter(|f| f.is_file()) {
            let data = std::fs::read(file).unwrap();
            let started = Instant::now();
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{name}: {} panics", file.display());
            // Generous: a hang found by the fuzzer took seconds or forever.
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{name}: {} took {:?}",
                file.display(),
                started.elapsed()
            );
            replayed += 1;
        }
    }
    assert!(
        replayed > 0,
        "no fuzz findings or seeds under {}",
        root.display()
    );
}
