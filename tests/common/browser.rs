//! A real browser for what people see: a small HTTP server (byte ranges,
//! as media elements ask for them) over a folder, and headless Chromium
//! (Debian's `chromium`, which `.ci/run` installs) opening a page that
//! POSTs what it found to `/report`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How every test starts Chromium: headless, quiet, nothing fetched from
/// the network on its own. Each run adds its own `--user-data-dir`.
pub const CHROMIUM_FLAGS: [&str; 6] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
];

/// Serves `root` (and `extra` files by URL path) on 127.0.0.1, opens `page`
/// in headless Chromium and returns the first body POSTed to `/report`.
/// `None` when Chromium is missing outside CI (see [`super::tool`]).
pub fn report(root: &Path, extra: BTreeMap<String, Vec<u8>>, page: &str) -> Option<String> {
    report_with(root, extra, page, &[])
}

/// [`report`] with more Chromium flags (`--window-size=600,800`,
/// `--force-device-scale-factor=2`).
pub fn report_with(
    root: &Path,
    extra: BTreeMap<String, Vec<u8>>,
    page: &str,
    flags: &[String],
) -> Option<String> {
    let chromium = super::tool("chromium")?;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    let root = root.to_owned();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (root, extra, tx) = (root.clone(), extra.clone(), tx.clone());
            std::thread::spawn(move || {
                let _ = serve(stream, &root, &extra, &tx);
            });
        }
    });
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium)
        .args(CHROMIUM_FLAGS)
        .arg("--autoplay-policy=no-user-gesture-required")
        .args(flags)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("http://127.0.0.1:{port}/{page}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let got = rx.recv_timeout(Duration::from_secs(90));
    stop(&mut child);
    match got {
        Ok(body) => Some(body),
        Err(_) => {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("Chromium reported nothing within 90 s; it said:\n{err}");
        }
    }
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(v) = path
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "webm" => "video/webm",
        "mp4" => "video/mp4",
        "gif" => "image/gif",
        "png" => "image/png",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "jpg" | "jpeg" => "image/jpeg",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

fn serve(
    stream: TcpStream,
    root: &Path,
    extra: &BTreeMap<String, Vec<u8>>,
    tx: &mpsc::Sender<String>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let mut request = String::new();
        if reader.read_line(&mut request)? == 0 {
            return Ok(());
        }
        let mut headers = BTreeMap::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
            }
        }
        let mut parts = request.split_whitespace();
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
        let path = percent_decode(target.split('?').next().unwrap_or("/"));
        if method == "POST" {
            let len: usize = headers
                .get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; len];
            reader.read_exact(&mut body)?;
            if path == "/report" {
                let _ = tx.send(String::from_utf8_lossy(&body).into_owned());
            }
            out.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")?;
            continue;
        }
        let rel = path.trim_start_matches('/');
        let body = match extra.get(rel) {
            Some(b) => Some(b.clone()),
            None if !rel.split('/').any(|c| c == "..") => std::fs::read(root.join(rel)).ok(),
            None => None,
        };
        let Some(body) = body else {
            out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")?;
            continue;
        };
        let total = body.len();
        let range = headers
            .get("range")
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.split_once('-'))
            .and_then(|(a, b)| {
                let start: usize = a.parse().ok()?;
                let end: usize = if b.is_empty() {
                    total.checked_sub(1)?
                } else {
                    b.parse().ok()?
                };
                (start <= end && end < total).then_some((start, end))
            });
        let head = |status: &str, len: usize, extra: String| {
            format!(
                "HTTP/1.1 {status}\r\nContent-Type: {}\r\nContent-Length: {len}\r\n\
                 Accept-Ranges: bytes\r\nCache-Control: no-store\r\n{extra}\r\n",
                content_type(rel)
            )
        };
        match range {
            Some((start, end)) => {
                let extra = format!("Content-Range: bytes {start}-{end}/{total}\r\n");
                out.write_all(head("206 Partial Content", end - start + 1, extra).as_bytes())?;
                out.write_all(&body[start..=end])?;
            }
            None => {
                out.write_all(head("200 OK", total, String::new()).as_bytes())?;
                out.write_all(&body)?;
            }
        }
        out.flush()?;
    }
}

/// The path of `rel` under `root` as a browser requests it.
pub fn url_path(rel: &str) -> String {
    rel.replace(' ', "%20")
}
