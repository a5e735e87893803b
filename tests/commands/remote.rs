//! The remote cache against a real S3 server on loopback (`s3s-fs`, which
//! `.ci/run` installs, keeping each object as a plain file under its
//! root) and a plain HTTP server serving that root: write then read across
//! two checkouts, tampered and forged objects, a server that stops or
//! refuses the credentials, read-only mode, `--check` and `--explain`.

use crate::common::{self, Running, Site, muscle_page, tree, within};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const KEY: &str = "assetmill-test";
const SECRET: &str = "s3cr3t-never-printed-7f1c";

/// An `s3s-fs` server on a free loopback port, with one empty bucket,
/// `cache`.
struct S3 {
    root: tempfile::TempDir,
    port: u16,
    server: Option<Running>,
}

impl S3 {
    fn start() -> Option<S3> {
        let program = common::tool("s3s-fs")?;
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("cache")).unwrap();
        let mut s3 = S3 {
            root,
            port: common::free_port(),
            server: None,
        };
        s3.serve(&program);
        Some(s3)
    }

    /// Starts the server (again) on its root and port.
    fn serve(&mut self, program: &Path) {
        self.server = Some(Running(
            Command::new(program)
                .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
                .args(["--access-key", KEY, "--secret-key", SECRET])
                .arg(self.root.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start s3s-fs"),
        ));
        let port = self.port;
        assert!(
            within(30, || std::net::TcpStream::connect(("127.0.0.1", port))
                .is_ok()),
            "s3s-fs did not come up"
        );
    }

    fn restart(&mut self) {
        let program = common::tool("s3s-fs").unwrap();
        self.serve(&program);
    }

    fn stop(&mut self) {
        self.server = None;
    }

    /// Every object the bucket holds under `prefix`, by key.
    fn objects(&self, prefix: &str) -> Vec<PathBuf> {
        let base = self.root.path().join("cache").join(prefix);
        if !base.exists() {
            return Vec::new();
        }
        let mut found: Vec<PathBuf> = tree(&base).into_keys().map(PathBuf::from).collect();
        found.sort();
        found
    }

    /// The file holding object `key` of the bucket.
    fn object(&self, key: &str) -> PathBuf {
        self.root.path().join("cache").join(key)
    }
}

/// The assetmill command in `site` against the server (`secret` signs
/// the requests; `None`: no credentials at all), with the remote cache
/// from the arguments only.
fn command(site: &Site, s3: &S3, secret: Option<&str>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_assetmill"));
    command
        .current_dir(site.root())
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{}", s3.port))
        .env("AWS_REGION", "us-east-1")
        .env_remove("ASSETMILL_REMOTE_CACHE")
        .env_remove("ASSETMILL_REMOTE_CACHE_MODE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE");
    match secret {
        Some(secret) => command
            .env("AWS_ACCESS_KEY_ID", KEY)
            .env("AWS_SECRET_ACCESS_KEY", secret),
        None => command
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY"),
    };
    command
}

/// Runs [`command`] with `args` to its end.
fn run(site: &Site, s3: &S3, secret: Option<&str>, args: &[&str]) -> Output {
    command(site, s3, secret)
        .args(args)
        .output()
        .expect("run assetmill")
}

/// [`run`] with `--format json`: (exit code, build document).
fn build(site: &Site, s3: &S3, secret: Option<&str>, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["build", "-q", "--format", "json"];
    all.extend(args);
    common::document(&run(site, s3, secret, &all), &all)
}

/// The arguments of a read-only build from `url`.
fn read_only(url: &str) -> [&str; 4] {
    ["--remote-cache", url, "--remote-cache-mode", "read-only"]
}

/// Two muscle pages of four 64 px frames each (eight pictures), with the
/// fastest AV1 preset.
fn site() -> Site {
    let site = Site::new();
    site.fast_videos();
    for (k, name) in ["Arm-Biceps", "Leg-Soleus"].into_iter().enumerate() {
        site.page(&format!("{name}.md"), &muscle_page(name, 4));
        for i in 1..=4 {
            let seed = 100 * (k as u32 + 1) + i;
            site.png(&format!("muscles/png/{name}-{i}.png"), 64, 64, seed);
        }
    }
    site
}

/// The same site in another folder (another checkout).
fn checkout_of(site: &Site) -> Site {
    let other = Site::new();
    for dir in ["content", "assets"] {
        for (rel, bytes) in tree(&site.root().join(dir)) {
            common::write(&other.root().join(dir).join(rel), &bytes);
        }
    }
    std::fs::copy(
        site.root().join("assetmill.yml"),
        other.root().join("assetmill.yml"),
    )
    .unwrap();
    other
}

fn remote(doc: &Value) -> &Value {
    &doc["summary"]["remote"]
}

/// The warnings of a build document that are the remote cache's.
fn remote_warnings(doc: &Value) -> Vec<(String, String)> {
    common::diagnostics(doc)
        .into_iter()
        .filter(|(_, _, severity, message)| {
            severity == "warning" && message.contains("remote cache")
        })
        .map(|(file, _, _, message)| (file, message))
        .collect()
}

/// A build with the store filled by a first checkout: the second checkout,
/// in another folder, fetches every output, decodes and encodes nothing,
/// and ends with the same tree (its cache included); the same bytes are
/// stored once.
#[test]
fn a_second_checkout_fetches_everything_and_writes_the_same_tree() {
    let Some(s3) = S3::start() else { return };
    let first = site();
    // A third page whose frames are copies of the first's under other
    // names: its outputs are other paths with the same bytes.
    first.page("Arm-Copy.md", &muscle_page("Arm-Copy", 4));
    for i in 1..=4 {
        let from = first
            .images()
            .join(format!("muscles/png/Arm-Biceps-{i}.png"));
        let to = first.images().join(format!("muscles/png/Arm-Copy-{i}.png"));
        std::fs::copy(from, to).unwrap();
    }
    let url = "s3://cache/site";
    let (code, filled) = build(&first, &s3, Some(SECRET), &["--remote-cache", url]);
    assert_eq!(code, 0, "{filled}");
    let r = remote(&filled);
    assert_eq!(r["mode"], "read-write");
    assert_eq!(
        (r["hits"].as_u64(), r["errors"].as_u64()),
        (Some(0), Some(0)),
        "{r}"
    );
    let outputs = filled["summary"]["built"].as_u64().unwrap() - 1; // the asset map
    assert_eq!(r["misses"].as_u64(), Some(outputs));
    // Each output's bytes and record, and each source's facts; the blobs
    // are content-addressed, so there are no more of them than distinct
    // outputs.
    let objects = s3.objects("site");
    let blobs = objects.iter().filter(|o| o.starts_with("v1/blobs")).count();
    let records = objects
        .iter()
        .filter(|o| o.starts_with("v1/records"))
        .count();
    let sources = objects
        .iter()
        .filter(|o| o.starts_with("v1/sources"))
        .count();
    // Arm-Copy's outputs are Arm-Biceps's bytes: stored once.
    let mut hashes = output_hashes(&first);
    hashes.dedup();
    assert!(hashes.len() < outputs as usize);
    assert_eq!((records, sources), (outputs as usize, 8));
    assert_eq!(blobs, hashes.len());
    // (Two units may store the same bytes at once: harmless, and counted.)
    assert!(r["uploaded"].as_u64().unwrap() >= (blobs + records + sources) as u64);

    let second = checkout_of(&first);
    let (code, fetched) = build(&second, &s3, Some(SECRET), &["--remote-cache", url]);
    assert_eq!(code, 0, "{fetched}");
    let r = remote(&fetched);
    assert_eq!(r["hits"].as_u64(), Some(outputs), "{r}");
    assert_eq!(
        (r["misses"].as_u64(), r["rejected"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(r["uploaded"].as_u64(), Some(0));
    let summary = &fetched["summary"];
    assert_eq!(summary["decoded"], 0, "nothing decoded: {summary}");
    let stages = summary["stages"].as_object().unwrap();
    for stage in ["decode", "animate", "video", "optimize", "resize"] {
        assert!(
            stages.get(stage).is_none_or(|t| t.as_f64() == Some(0.0)),
            "{stage} ran: {summary}"
        );
    }
    assert!(remote_warnings(&fetched).is_empty());
    assert_eq!(tree(&first.out()), tree(&second.out()));
    // Up to date as if made here.
    let (code, check) = build(&second, &s3, Some(SECRET), &["--check"]);
    assert_eq!(code, 0, "{check}");
}

/// The site's cache file, parsed.
fn cache(site: &Site) -> Value {
    let bytes = std::fs::read(site.out().join(".assetmill/cache.json")).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The content hash of every output but the asset map, sorted.
fn output_hashes(site: &Site) -> Vec<String> {
    let mut hashes: Vec<String> = cache(site)["outputs"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(path, _)| *path != "assets.json")
        .map(|(_, r)| r["file"]["hash"].as_str().unwrap().to_owned())
        .collect();
    hashes.sort_unstable();
    hashes
}

/// The store's copy of an output changed (other bytes of the same size),
/// and a record swapped for another output's: both are refused with a
/// warning naming the output, which is made here exactly as the first
/// checkout made it.
#[test]
fn tampered_and_forged_objects_are_refused_and_their_outputs_made_here() {
    let Some(s3) = S3::start() else { return };
    let first = site();
    let url = "s3://cache/t";
    assert_eq!(
        build(&first, &s3, Some(SECRET), &["--remote-cache", url]).0,
        0
    );
    let gif = "muscles/gif/Arm-Biceps.gif";
    let recorded = cache(&first);
    let gif_hash = recorded["outputs"][gif]["file"]["hash"].as_str().unwrap();
    let blob = s3.object(&format!("t/v1/blobs/{gif_hash}"));
    let mut bytes = std::fs::read(&blob).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5a;
    std::fs::write(&blob, &bytes).unwrap();
    // The Leg-Soleus GIF's record replaced by its MP4's.
    let records = |path: &str| -> PathBuf {
        let want = format!("\"path\":\"{path}\"");
        s3.objects("t")
            .into_iter()
            .filter(|o| o.starts_with("v1/records"))
            .map(|o| s3.object(&format!("t/{}", o.display())))
            .find(|o| String::from_utf8_lossy(&std::fs::read(o).unwrap()).contains(&want))
            .unwrap()
    };
    let forged = "muscles/gif/Leg-Soleus.gif";
    std::fs::copy(records("muscles/gif/Leg-Soleus.mp4"), records(forged)).unwrap();
    // And a video's bytes with more after them.
    let webm = "muscles/gif/Leg-Soleus.webm";
    let webm_hash = recorded["outputs"][webm]["file"]["hash"].as_str().unwrap();
    let longer = s3.object(&format!("t/v1/blobs/{webm_hash}"));
    let mut more = std::fs::read(&longer).unwrap();
    more.extend_from_slice(&[0; 4096]);
    std::fs::write(&longer, more).unwrap();

    let second = checkout_of(&first);
    let (code, doc) = build(&second, &s3, Some(SECRET), &read_only(url));
    assert_eq!(code, 0, "{doc}");
    let r = remote(&doc);
    assert_eq!(r["rejected"].as_u64(), Some(3), "{r}");
    let warnings = remote_warnings(&doc);
    assert_eq!(warnings.len(), 3, "{warnings:#?}");
    let named = |path: &str, says: &str| {
        warnings
            .iter()
            .any(|(file, message)| file.ends_with(path) && message.contains(says))
    };
    assert!(named(gif, "content hash"), "{warnings:#?}");
    assert!(named(forged, "another output"), "{warnings:#?}");
    assert!(named(webm, "bytes or more"), "{warnings:#?}");
    // Made here: the GIFs' frames decoded, nothing else refetched wrongly.
    assert!(doc["summary"]["decoded"].as_u64().unwrap() > 0);
    assert_eq!(tree(&first.out()), tree(&second.out()));
    // Read-only: the tampered object is left as it was.
    assert_eq!(std::fs::read(&blob).unwrap(), bytes);
}

/// Read-only mode fetches and never writes; wrong credentials and no
/// credentials are one warning each, the build made here as without a
/// store, and the secret is never printed or written.
#[test]
fn read_only_writes_nothing_and_refused_credentials_only_cost_a_warning() {
    let Some(s3) = S3::start() else { return };
    let url = "s3://cache/ro";
    let local = site();
    let (code, _) = build(&local, &s3, Some(SECRET), &[]);
    assert_eq!(code, 0);

    let reader = checkout_of(&local);
    let (code, doc) = build(&reader, &s3, Some(SECRET), &read_only(url));
    assert_eq!(code, 0, "{doc}");
    let r = remote(&doc);
    assert_eq!(r["mode"], "read-only");
    assert_eq!(
        (r["uploaded"].as_u64(), r["hits"].as_u64()),
        (Some(0), Some(0))
    );
    assert!(s3.objects("ro").is_empty(), "{:?}", s3.objects("ro"));
    assert_eq!(tree(&local.out()), tree(&reader.out()));

    for secret in [Some("wrong-secret"), None] {
        let refused = checkout_of(&local);
        let out = run(
            &refused,
            &s3,
            secret,
            &["build", "-q", "--format", "json", "--remote-cache", url],
        );
        assert_eq!(out.status.code(), Some(0));
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let warnings = remote_warnings(&doc);
        assert_eq!(warnings.len(), 1, "{secret:?}: {warnings:#?}");
        assert!(
            warnings[0]
                .1
                .contains("not used for the rest of this build")
        );
        assert!(remote(&doc)["errors"].as_u64().unwrap() >= 3);
        assert_eq!(tree(&local.out()), tree(&refused.out()));
        assert!(s3.objects("ro").is_empty());
        // The secret is nowhere: not printed, not in out/ (report too).
        let printed = [out.stdout, out.stderr].concat();
        assert!(!String::from_utf8_lossy(&printed).contains(SECRET));
        for (path, bytes) in common::snapshot(&refused.out())
            .into_iter()
            .map(|(p, (_, b))| (p, b))
        {
            assert!(
                !String::from_utf8_lossy(&bytes).contains(SECRET),
                "{}",
                path.display()
            );
        }
    }
}

/// The server stops while a read-write build runs, and is unreachable for
/// the next: both builds end as a build without a store would, each with
/// one warning, and what the store kept is still sound for a later build.
#[test]
fn a_store_that_stops_mid_build_or_is_down_never_fails_the_build() {
    let Some(mut s3) = S3::start() else { return };
    let url = "s3://cache/down";
    let local = site();
    // A few more pages, so that the build is under way when it stops.
    for name in ["Hip-Psoas", "Neck-Scalene"] {
        local.page(&format!("{name}.md"), &muscle_page(name, 4));
        local.frames(name, 4, 64, 64);
    }
    let (code, _) = build(&local, &s3, Some(SECRET), &[]);
    assert_eq!(code, 0);

    let stopping = checkout_of(&local);
    let mut child = command(&stopping, &s3, Some(SECRET))
        .args(["build", "-q", "--progress", "ndjson", "-j", "1"])
        .args(["--remote-cache", url])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Stop the server as the first unit ends (its uploads under way).
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    let mut finish = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains("\"event\":\"unit\"") && s3.server.is_some() {
            s3.stop();
        }
        if line.contains("\"event\":\"finish\"") {
            finish = Some(serde_json::from_str::<Value>(&line).unwrap());
        }
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let finish = finish.expect("a finish event");
    let r = &finish["summary"]["remote"];
    assert!(r["errors"].as_u64().unwrap() >= 1, "{r}");
    assert_eq!(finish["errors"], 0);
    assert_eq!(tree(&local.out()), tree(&stopping.out()));

    // Down from the start: a refused connection, the build made here.
    let down = checkout_of(&local);
    let (code, doc) = build(&down, &s3, Some(SECRET), &["--remote-cache", url]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(remote_warnings(&doc).len(), 1, "{doc}");
    assert_eq!(tree(&local.out()), tree(&down.out()));

    // What the store kept before it stopped is whole: a build reading it
    // now refuses nothing, and still ends with the same tree.
    s3.restart();
    let later = checkout_of(&local);
    let (code, doc) = build(&later, &s3, Some(SECRET), &read_only(url));
    assert_eq!(code, 0, "{doc}");
    assert_eq!(remote(&doc)["rejected"], 0, "{doc}");
    assert_eq!(tree(&local.out()), tree(&later.out()));
}

/// The bucket's files served by a plain HTTP server are a read-only
/// remote cache for anonymous readers: everything is fetched, nothing is
/// written, even when read-write is asked.
#[test]
fn a_plain_http_server_serving_the_bucket_is_a_read_only_cache() {
    let Some(s3) = S3::start() else { return };
    let Some(python) = common::tool("python3") else {
        return;
    };
    let first = site();
    assert_eq!(
        build(
            &first,
            &s3,
            Some(SECRET),
            &["--remote-cache", "s3://cache/pub"]
        )
        .0,
        0
    );
    let port = common::free_port();
    let _http = Running(
        Command::new(python)
            .args(["-c", STATIC_SERVER, &port.to_string()])
            .arg(s3.root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    assert!(within(30, || std::net::TcpStream::connect((
        "127.0.0.1",
        port
    ))
    .is_ok()));
    let before = s3.objects("pub");
    let reader = checkout_of(&first);
    let url = format!("http://127.0.0.1:{port}/cache/pub");
    let (code, doc) = build(&reader, &s3, None, &["--remote-cache", &url]);
    assert_eq!(code, 0, "{doc}");
    let r = remote(&doc);
    assert_eq!(r["mode"], "read-only");
    assert_eq!(
        r["hits"].as_u64(),
        Some(output_hashes(&first).len() as u64),
        "{r}"
    );
    assert_eq!(doc["summary"]["decoded"], 0);
    assert_eq!(tree(&first.out()), tree(&reader.out()));
    assert_eq!(s3.objects("pub"), before);
}

/// Python's static file server, threaded, with a listen queue for
/// assetmill's parallel requests (its default queue holds 5).
const STATIC_SERVER: &str = "
import functools, http.server, sys
class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2])
http.server.SimpleHTTPRequestHandler.protocol_version = 'HTTP/1.1'
Server(('127.0.0.1', int(sys.argv[1])), handler).serve_forever()
";

/// `--check` and `--explain` tell what the store has (a build fetches
/// it) from what must be made, and fetch nothing.
#[test]
fn check_and_explain_tell_what_the_store_has_from_what_must_be_made() {
    let Some(s3) = S3::start() else { return };
    let url = "s3://cache/ask";
    let first = site();
    assert_eq!(
        build(&first, &s3, Some(SECRET), &["--remote-cache", url]).0,
        0
    );
    let second = checkout_of(&first);
    second.page("Hip-Psoas.md", &muscle_page("Hip-Psoas", 4));
    second.frames("Hip-Psoas", 4, 64, 64);
    let (code, doc) = build(
        &second,
        &s3,
        Some(SECRET),
        &["--check", "--remote-cache", url],
    );
    assert_eq!(code, 1, "{doc}");
    let changes = doc["changes"].as_array().unwrap();
    for c in changes {
        let path = c["path"].as_str().unwrap();
        let expected = !path.contains("Hip-Psoas") && path != "assets.json";
        assert_eq!(c["remote"].as_bool(), Some(expected), "{c}");
    }
    assert!(!second.out().join("muscles").exists(), "nothing fetched");
    let explain = |path: &str| {
        let out = run(
            &second,
            &s3,
            Some(SECRET),
            &[
                "build",
                "--explain",
                path,
                "--format",
                "json",
                "--remote-cache",
                url,
            ],
        );
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["outputs"][0]["remote"].clone()
    };
    assert_eq!(explain("muscles/gif/Arm-Biceps.webm"), true);
    assert_eq!(explain("muscles/gif/Hip-Psoas.webm"), false);
    let text = run(
        &second,
        &s3,
        Some(SECRET),
        &[
            "build",
            "--explain",
            "muscles/gif/Arm-Biceps.gif",
            "--remote-cache",
            url,
        ],
    );
    assert!(String::from_utf8_lossy(&text.stdout).contains("the remote cache has it"));
    // Variables give the same.
    let out = Command::new(env!("CARGO_BIN_EXE_assetmill"))
        .args(["build", "--check", "--format", "json"])
        .current_dir(second.root())
        .env("ASSETMILL_REMOTE_CACHE", url)
        .env("ASSETMILL_REMOTE_CACHE_MODE", "off")
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["summary"].get("remote").is_none(), "off: {doc}");
}

/// The CI example's remote cache as GitHub would set it: its variables,
/// with the expressions evaluated for a push and for a pull request. A
/// push stores what it makes; a pull request, with the same outputs
/// stale, fetches and stores nothing.
#[test]
fn the_github_actions_example_writes_on_pushes_and_only_reads_on_pull_requests() {
    let Some(s3) = S3::start() else { return };
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci/github-actions.yml"),
    )
    .unwrap();
    let flow: Value = serde_saphyr::from_str(&text).unwrap();
    let env = flow["env"].as_object().unwrap();
    let endpoint = format!("http://127.0.0.1:{}", s3.port);
    // `${{ vars.X }}`, `${{ secrets.X }}` and
    // `${{ github.event_name == 'pull_request' && A || B }}`, as GitHub
    // evaluates them.
    let evaluate = |value: &str, event: &str| -> String {
        let Some(expr) = value
            .trim()
            .strip_prefix("${{")
            .and_then(|v| v.strip_suffix("}}"))
        else {
            return value.to_owned();
        };
        let term = |t: &str| -> String {
            let t = t.trim();
            match t {
                "vars.ASSETMILL_REMOTE_CACHE" => "s3://cache/ci".into(),
                "vars.ASSETMILL_CACHE_REGION" => "us-east-1".into(),
                "vars.ASSETMILL_CACHE_ENDPOINT" => endpoint.clone(),
                s if s.starts_with("secrets.") && s.ends_with("KEY_ID") => KEY.into(),
                s if s.starts_with("secrets.") => SECRET.into(),
                s if s.starts_with('\'') => s.trim_matches('\'').into(),
                other => panic!("unknown term {other}"),
            }
        };
        match expr.split_once("&&") {
            Some((condition, rest)) => {
                let (then, otherwise) = rest.split_once("||").unwrap();
                assert_eq!(condition.trim(), "github.event_name == 'pull_request'");
                term(if event == "pull_request" {
                    then
                } else {
                    otherwise
                })
            }
            None => term(expr),
        }
    };
    let site = site();
    let run_as = |event: &str| -> Value {
        let mut command = Command::new(env!("CARGO_BIN_EXE_assetmill"));
        command
            .args(["build", "-q", "--format", "json"])
            .current_dir(site.root());
        for (name, value) in env {
            command.env(name, evaluate(value.as_str().unwrap(), event));
        }
        common::document(&command.output().unwrap(), &[event]).1
    };
    for name in [
        "ASSETMILL_REMOTE_CACHE",
        "ASSETMILL_REMOTE_CACHE_MODE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ENDPOINT_URL",
    ] {
        assert!(env.contains_key(name), "{name}");
    }
    let pull = run_as("pull_request");
    assert_eq!(remote(&pull)["mode"], "read-only", "{pull}");
    assert_eq!(remote(&pull)["uploaded"], 0);
    assert!(s3.objects("ci").is_empty());
    std::fs::remove_dir_all(site.out()).unwrap();
    let push = run_as("push");
    assert_eq!(remote(&push)["mode"], "read-write", "{push}");
    assert!(remote(&push)["uploaded"].as_u64().unwrap() > 0, "{push}");
    assert!(!s3.objects("ci").is_empty());
}

/// Two machines filling the store with the same outputs at once store the
/// same bytes under the same names: a third checkout fetches every output
/// whole.
#[test]
fn two_builds_storing_the_same_outputs_at_once_leave_a_sound_store() {
    let Some(s3) = S3::start() else { return };
    let url = "s3://cache/race";
    let first = site();
    let second = checkout_of(&first);
    let spawn = |site: &Site| {
        command(site, &s3, Some(SECRET))
            .args(["build", "-q", "--format", "json", "--remote-cache", url])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(&first), spawn(&second));
    for child in [a, b] {
        let (code, doc) = common::document(&child.wait_with_output().unwrap(), &["race"]);
        assert_eq!(code, 0, "{doc}");
        assert_eq!(remote(&doc)["errors"], 0, "{doc}");
    }
    assert_eq!(tree(&first.out()), tree(&second.out()));
    let third = checkout_of(&first);
    let (code, doc) = build(&third, &s3, Some(SECRET), &read_only(url));
    assert_eq!(code, 0, "{doc}");
    let r = remote(&doc);
    assert_eq!(
        (r["misses"].as_u64(), r["rejected"].as_u64()),
        (Some(0), Some(0)),
        "{r}"
    );
    assert_eq!(doc["summary"]["decoded"], 0);
    assert_eq!(tree(&first.out()), tree(&third.out()));
}
