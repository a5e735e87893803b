//! Renders a [`Review`] as one HTML file: inline CSS and JS, no fonts,
//! scripts or images fetched from anywhere but the output folder, which it
//! links to relatively, so it works from `file://`, over HTTP, or
//! downloaded as a CI artifact together with `out/`.
//!
//! Built for a site of hundreds of pages: images load lazily, videos load
//! nothing until they scroll into view, and sections off screen are not
//! laid out (`content-visibility`).

use super::{FrameView, ImageView, OutputView, PageView, Review, SpriteView};
use crate::error::Result;
use crate::outputs::assetmap::{Kind, Role};
use crate::outputs::names;
use crate::outputs::output::OutDir;
use std::fmt::Write as _;
use std::path::PathBuf;

const CSS: &str = include_str!("report.css");
const JS: &str = include_str!("report.js");

impl Review {
    /// Writes the report into `out` at `rel` (atomically, like every
    /// output) and returns its path.
    pub fn write(&self, out: &OutDir, rel: &str) -> Result<PathBuf> {
        let depth = rel.matches('/').count();
        out.write(rel, render(self, &"../".repeat(depth)).as_bytes())
    }
}

/// The whole document. `prefix` leads from the report's folder to the
/// output folder (`../` for `.assetmill/report.html`).
pub fn render(review: &Review, prefix: &str) -> String {
    let mut h = Html {
        s: String::with_capacity(64 * 1024 + review.pages.len() * 8 * 1024),
        prefix,
    };
    h.head(review);
    h.run(review);
    h.problems(review);
    h.changes(review);
    h.pages(review);
    let _ = write!(h.s, "</main>\n<script>\n{JS}</script>\n</body>\n</html>\n");
    h.s
}

struct Html<'a> {
    s: String,
    prefix: &'a str,
}

impl Html<'_> {
    fn head(&mut self, review: &Review) {
        let title = format!("assetmill review: {}", review.site);
        let _ = write!(
            self.s,
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"color-scheme\" content=\"light dark\">\n\
             <title>{}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n\
             <header>\n<h1>{}</h1>\n</header>\n",
            esc(&title),
            esc(&title)
        );
        let _ = write!(
            self.s,
            "<nav id=\"controls\" class=\"controls\" aria-label=\"Filter pages\" hidden>\n\
             <label>Filter pages and files <input type=\"search\" id=\"filter\" \
             placeholder=\"page or file name\"></label>\n\
             <label><input type=\"checkbox\" id=\"only-problems\"> Only pages with problems</label>\n\
             <span id=\"shown\" class=\"muted\" aria-live=\"polite\"></span>\n\
             <a href=\"#problems\">Problems</a> <a href=\"#pages\">Pages</a>\n</nav>\n<main>\n"
        );
    }

    fn run(&mut self, review: &Review) {
        let r = &review.run;
        let out_ratio = ratio(r.output_bytes, r.source_bytes);
        let facts = [
            ("Pages", r.pages.to_string()),
            ("Images", r.images.to_string()),
            ("Errors", r.errors.to_string()),
            ("Warnings", r.warnings.to_string()),
            ("Built", r.built.to_string()),
            ("Reused", r.reused.to_string()),
            ("Removed", r.removed.to_string()),
            ("Sources decoded", r.decoded.to_string()),
            ("Sources", bytes(r.source_bytes)),
            (
                "Output folder",
                format!("{}{}", bytes(r.output_bytes), out_ratio),
            ),
            ("Written this run", bytes(r.written_bytes)),
            ("Wall time", format!("{:.2} s", r.seconds)),
            (
                "AV1 SIMD",
                match &r.av1.simd {
                    Some(level) => level.clone(),
                    None => format!(
                        "none: AV1 runs 4-5x slower; fix: {}",
                        r.av1.fix.unwrap_or_default()
                    ),
                },
            ),
        ];
        self.s.push_str(
            "<section id=\"run\" aria-labelledby=\"run-h\">\n<h2 id=\"run-h\">Run</h2>\n<dl class=\"facts\">\n",
        );
        for (name, value) in facts {
            let _ = writeln!(self.s, "<div><dt>{name}</dt><dd>{}</dd></div>", esc(&value));
        }
        self.s.push_str("</dl>\n");
        if !r.stages.is_empty() {
            self.s.push_str(
                "<table>\n<caption class=\"muted\">CPU time by stage, summed over threads</caption>\n\
                 <thead><tr><th>Stage</th><th class=\"n\">CPU</th></tr></thead>\n<tbody>\n",
            );
            for (stage, t) in &r.stages {
                let _ = writeln!(
                    self.s,
                    "<tr><td>{stage}</td><td class=\"n\">{t:.2} s</td></tr>"
                );
            }
            self.s.push_str("</tbody>\n</table>\n");
        }
        self.s.push_str("</section>\n");
    }

    fn problems(&mut self, review: &Review) {
        let _ = writeln!(
            self.s,
            "<section id=\"problems\" aria-labelledby=\"problems-h\">\n\
             <h2 id=\"problems-h\">Problems ({})</h2>",
            review.problems.len()
        );
        if review.problems.is_empty() {
            self.s
                .push_str("<p>No errors or warnings.</p>\n</section>\n");
            return;
        }
        self.s.push_str("<ul class=\"problems\">\n");
        for p in &review.problems {
            let location = match &p.anchor {
                Some(anchor) => format!(
                    "<a href=\"#{}\"><code>{}</code></a>",
                    esc(anchor),
                    esc(&p.location)
                ),
                None => format!("<code>{}</code>", esc(&p.location)),
            };
            let _ = writeln!(
                self.s,
                "<li class=\"problem\" data-severity=\"{sev}\">{location}: \
                 <span class=\"sev-{sev}\">{sev}</span>: {}</li>",
                esc(&p.message),
                sev = p.severity,
            );
        }
        self.s.push_str("</ul>\n</section>\n");
    }

    fn changes(&mut self, review: &Review) {
        let r = &review.run;
        let _ = write!(
            self.s,
            "<section id=\"changes\" aria-labelledby=\"changes-h\">\n\
             <h2 id=\"changes-h\">What this run changed</h2>\n\
             <p>{} files built (the asset map included), {} reused (up to date), {} removed.</p>\n",
            r.built, r.reused, r.removed
        );
        if !review.built.is_empty() {
            let _ = write!(
                self.s,
                "<details>\n<summary>Outputs built ({})</summary>\n<table>\n\
                 <thead><tr><th>Output</th><th>Why</th></tr></thead>\n<tbody>\n",
                review.built.len()
            );
            for (path, reason) in &review.built {
                let _ = writeln!(
                    self.s,
                    "<tr><td class=\"path\">{}</td><td>{reason}</td></tr>",
                    self.link(path, path)
                );
            }
            self.s.push_str("</tbody>\n</table>\n</details>\n");
        }
        if !review.removed.is_empty() {
            let _ = write!(
                self.s,
                "<details>\n<summary>Removed ({})</summary>\n<ul>\n",
                review.removed.len()
            );
            for path in &review.removed {
                let _ = writeln!(
                    self.s,
                    "<li><code>{}</code> (no longer referenced)</li>",
                    esc(path)
                );
            }
            self.s.push_str("</ul>\n</details>\n");
        }
        self.s.push_str("</section>\n");
    }

    fn pages(&mut self, review: &Review) {
        let _ = writeln!(
            self.s,
            "<section id=\"pages\" aria-labelledby=\"pages-h\">\n\
             <h2 id=\"pages-h\">Pages ({})</h2>",
            review.pages.len()
        );
        for page in &review.pages {
            self.page(page);
        }
        self.s.push_str("</section>\n");
    }

    fn page(&mut self, page: &PageView) {
        // The names the filter matches, one per line (`&#10;`, which `esc`
        // would show as `\n`), so a query never matches across two names.
        let search: Vec<String> = std::iter::once(&page.name)
            .chain(page.images.iter().map(|i| &i.written))
            .chain(page.gallery.iter().map(|f| &f.written))
            .map(|name| esc(&name.to_lowercase()))
            .collect();
        let problems = page.errors + page.warnings;
        let _ = write!(
            self.s,
            "<article class=\"page{}\" id=\"{}\" data-problems=\"{problems}\" data-search=\"{}\">\n\
             <h3><a href=\"#{}\">{}</a>",
            if problems > 0 { " has-problems" } else { "" },
            esc(&page.anchor),
            search.join("&#10;"),
            esc(&page.anchor),
            esc(&page.name),
        );
        if page.errors > 0 {
            let _ = write!(
                self.s,
                "<span class=\"badge sev-error\">{}</span>",
                count(page.errors, "error")
            );
        }
        if page.warnings > 0 {
            let _ = write!(
                self.s,
                "<span class=\"badge sev-warning\">{}</span>",
                count(page.warnings, "warning")
            );
        }
        self.s.push_str("</h3>\n");
        for image in &page.images {
            self.image(image);
        }
        match &page.gallery_shown_on {
            Some((name, anchor)) => {
                let _ = writeln!(
                    self.s,
                    "<h4>Gallery: {} frames</h4>\n<p>The same frames as \
                     <a href=\"#{}\">{}</a>.</p>",
                    page.gallery.len(),
                    esc(anchor),
                    esc(name)
                );
            }
            None if !page.gallery.is_empty() => self.gallery(&page.gallery),
            None => {}
        }
        self.s.push_str("</article>\n");
    }

    fn image(&mut self, image: &ImageView) {
        let _ = write!(
            self.s,
            "<div class=\"image\">\n<h4><code>{}</code> <span class=\"muted\">line {}</span></h4>\n",
            esc(&image.written),
            image.line
        );
        let alt = image
            .alt
            .as_deref()
            .or(image.title.as_deref())
            .unwrap_or("");
        if let (Some(built), Some((page, anchor))) = (&image.built, &image.shown_on) {
            // Shown in full on an earlier page: the picture and a link.
            let shown = built
                .outputs
                .iter()
                .find(|o| o.role == Role::Gif)
                .or_else(|| built.outputs.iter().find(|o| o.role == Role::Optimized));
            self.s.push_str("<div class=\"players\">\n");
            if let Some(out) = shown {
                self.figure_img(out, alt, "Image");
            }
            let _ = writeln!(
                self.s,
                "</div>\n<p>Its outputs are shown with <a href=\"#{}\">{}</a>.</p>\n</div>",
                esc(anchor),
                esc(page)
            );
            return;
        }
        let Some(built) = &image.built else {
            self.s.push_str(
                "<p class=\"missing\">Nothing was built from it: see <a href=\"#problems\">Problems</a>.</p>\n</div>\n",
            );
            return;
        };
        if !built.shared_with.is_empty() {
            let _ = writeln!(
                self.s,
                "<p class=\"muted\">Also used by {}.</p>",
                esc(&built.shared_with.join(", "))
            );
        }
        self.s.push_str("<div class=\"players\">\n");
        for out in &built.outputs {
            match out.role {
                Role::Gif => self.figure_img(out, alt, "GIF"),
                Role::Optimized if built.kind == Kind::Image => {
                    self.figure_img(out, alt, "Image");
                }
                Role::Webm => self.figure_video(out, alt, "WebM (AV1)", "video/webm"),
                Role::Mp4 => self.figure_video(out, alt, "MP4 (H.264)", "video/mp4"),
                // A page image's variants side by side; a gallery's would
                // be 16 times as many, so they are in its table only.
                Role::Still if built.kind == Kind::Image => {
                    self.figure_img(out, alt, &variant_label(out));
                }
                _ => {}
            }
        }
        if let Some(sprite) = &built.sprite {
            self.viewer(sprite, &image.written);
        }
        self.s.push_str("</div>\n");
        self.outputs(&built.outputs);
        self.s.push_str("</div>\n");
    }

    fn figure_img(&mut self, out: &OutputView, alt: &str, label: &str) {
        let _ = writeln!(
            self.s,
            "<figure><img src=\"{}\" alt=\"{}\"{} loading=\"lazy\" decoding=\"async\">\
             <figcaption>{label}: {}</figcaption></figure>",
            self.url(&out.path),
            esc(alt),
            size_attrs(out),
            esc(&summary(out)),
        );
    }

    fn figure_video(&mut self, out: &OutputView, alt: &str, label: &str, mime: &str) {
        let _ = writeln!(
            self.s,
            "<figure><video{} preload=\"none\" muted loop playsinline controls data-autoplay \
             aria-label=\"{}\"><source src=\"{}\" type=\"{mime}\">\
             <a href=\"{}\">{label}</a></video><figcaption>{label}: {}</figcaption></figure>",
            size_attrs(out),
            esc(&format!("{alt} ({label})")),
            self.url(&out.path),
            self.url(&out.path),
            esc(&summary(out)),
        );
    }

    fn viewer(&mut self, sprite: &SpriteView, written: &str) {
        let Some(first) = sprite.cells.first() else {
            return;
        };
        let cells: Vec<String> = sprite
            .cells
            .iter()
            .map(|c| format!("{},{},{},{}", c.x, c.y, c.w, c.h))
            .collect();
        let scale = 100.0 * f64::from(sprite.width) / f64::from(first.w.max(1));
        let _ = write!(
            self.s,
            "<figure><div class=\"spin\" tabindex=\"0\" role=\"slider\" \
             aria-label=\"360° view of {}: drag, scroll or use the arrow keys\" \
             aria-valuemin=\"1\" aria-valuemax=\"{}\" aria-valuenow=\"1\" \
             data-width=\"{}\" data-height=\"{}\" data-cells=\"{}\" \
             style=\"aspect-ratio: {} / {}\">\
             <img src=\"{}\" alt=\"\" loading=\"lazy\" decoding=\"async\" draggable=\"false\" \
             style=\"width: {scale:.4}%; transform: translate({:.4}%, {:.4}%)\"></div>\
             <figcaption>360° viewer ({} frames): drag, scroll or ←/→. Sprite {}",
            esc(written),
            sprite.cells.len(),
            sprite.width,
            sprite.height,
            cells.join(";"),
            first.w,
            first.h,
            self.url(&sprite.sheet),
            -100.0 * f64::from(first.x) / f64::from(sprite.width.max(1)),
            -100.0 * f64::from(first.y) / f64::from(sprite.height.max(1)),
            sprite.cells.len(),
            self.link(&sprite.sheet, "sheet"),
        );
        if let Some(atlas) = &sprite.atlas {
            let _ = write!(self.s, ", {}", self.link(atlas, "atlas"));
        }
        self.s.push_str("</figcaption></figure>\n");
    }

    fn gallery(&mut self, gallery: &[FrameView]) {
        let _ = write!(
            self.s,
            "<h4>Gallery: {} frames</h4>\n<ol class=\"strip\">\n",
            gallery.len()
        );
        for frame in gallery {
            let alt = frame.caption.as_deref().unwrap_or(&frame.written);
            match frame.outputs.iter().find(|o| o.role == Role::Thumb) {
                Some(thumb) => {
                    let _ = writeln!(
                        self.s,
                        "<li><a href=\"{}\"><img src=\"{}\" alt=\"{}\"{} loading=\"lazy\" \
                         decoding=\"async\" title=\"{} (line {})\"></a></li>",
                        self.url(
                            frame
                                .outputs
                                .iter()
                                .find(|o| o.role == Role::Optimized)
                                .map_or(&thumb.path, |o| &o.path)
                        ),
                        self.url(&thumb.path),
                        esc(alt),
                        size_attrs(thumb),
                        esc(&frame.written),
                        frame.line
                    );
                }
                None => {
                    let _ = writeln!(
                        self.s,
                        "<li class=\"missing\"><code>{}</code> (line {}): not built</li>",
                        esc(&frame.written),
                        frame.line
                    );
                }
            }
        }
        self.s.push_str("</ol>\n");
        let variants = gallery
            .iter()
            .any(|f| f.outputs.iter().any(|o| o.role == Role::Still));
        let _ = write!(
            self.s,
            "<details>\n<summary>Frame outputs</summary>\n<table class=\"outputs\">\n\
             <thead><tr><th>Frame</th><th class=\"n\">Source</th><th class=\"n\">Optimized</th>\
             <th class=\"n\">vs source</th><th class=\"n\">Thumbnail</th><th class=\"n\">Bytes</th>\
             <th class=\"n\">SSIM</th>{}<th>This run</th></tr></thead>\n<tbody>\n",
            if variants { "<th>Variants</th>" } else { "" }
        );
        for frame in gallery {
            let optimized = frame.outputs.iter().find(|o| o.role == Role::Optimized);
            let thumb = frame.outputs.iter().find(|o| o.role == Role::Thumb);
            let built = frame.outputs.iter().any(|o| o.change.is_some());
            let name = frame.written.rsplit('/').next().unwrap_or(&frame.written);
            let cell = if variants {
                let list: Vec<String> = (frame.outputs.iter())
                    .filter(|o| o.role == Role::Still)
                    .map(|o| {
                        format!(
                            "{} {}, {}",
                            self.link(&o.path, &variant_label(o)),
                            bytes(o.bytes),
                            o.ssim.map(|s| format!("SSIM {s:.4}")).unwrap_or_default()
                        )
                    })
                    .collect();
                format!("<td>{}</td>", list.join("<br>"))
            } else {
                String::new()
            };
            let _ = writeln!(
                self.s,
                "<tr><td class=\"path\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td>{cell}<td>{}</td></tr>",
                match optimized {
                    Some(o) => self.link(&o.path, name),
                    None => format!("<code>{}</code>", esc(name)),
                },
                frame
                    .source
                    .as_ref()
                    .map(|s| bytes(s.bytes))
                    .unwrap_or_default(),
                optimized.map(|o| bytes(o.bytes)).unwrap_or_default(),
                optimized
                    .and_then(|o| o.ratio)
                    .map(|r| format!("{r:.2}×"))
                    .unwrap_or_default(),
                thumb.map(dims).unwrap_or_default(),
                thumb.map(|o| bytes(o.bytes)).unwrap_or_default(),
                thumb
                    .and_then(|o| o.ssim)
                    .map(|s| format!("{s:.4}"))
                    .unwrap_or_default(),
                if built { "built" } else { "reused" },
            );
        }
        self.s.push_str("</tbody>\n</table>\n</details>\n");
    }

    fn outputs(&mut self, outputs: &[OutputView]) {
        self.table_head();
        for out in outputs {
            self.row(out);
        }
        self.s.push_str("</tbody>\n</table>\n");
    }

    fn table_head(&mut self) {
        self.s.push_str(
            "<table class=\"outputs\">\n<thead><tr><th>Output</th><th>Role</th>\
             <th class=\"n\">Size</th><th class=\"n\">Bytes</th><th class=\"n\">vs source</th>\
             <th class=\"n\">SSIM</th><th>This run</th></tr></thead>\n<tbody>\n",
        );
    }

    fn row(&mut self, out: &OutputView) {
        let dims = dims(out);
        let _ = writeln!(
            self.s,
            "<tr><td class=\"path\">{}</td><td>{}</td><td class=\"n\">{dims}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            self.link(&out.path, &out.path),
            role_name(out.role),
            bytes(out.bytes),
            out.ratio.map(|r| format!("{r:.2}×")).unwrap_or_default(),
            out.ssim.map(|s| format!("{s:.4}")).unwrap_or_default(),
            out.change.map_or("reused", |c| c),
        );
    }

    /// A relative URL to a file in the output folder, percent-encoded.
    fn url(&self, path: &str) -> String {
        let mut url = String::from(self.prefix);
        for b in path.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
                url.push(char::from(b));
            } else {
                let _ = write!(url, "%{b:02X}");
            }
        }
        esc(&url)
    }

    fn link(&self, path: &str, text: &str) -> String {
        format!(
            "<a href=\"{}\"><code>{}</code></a>",
            self.url(path),
            esc(text)
        )
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Optimized => "optimized",
        Role::Thumb => "thumbnail",
        Role::Gif => "GIF",
        Role::Webm => "WebM",
        Role::Mp4 => "MP4",
        Role::Sprite => "sprite sheet",
        Role::SpriteMap => "sprite atlas",
        Role::TexturePacker => "TexturePacker atlas",
        Role::Still => "still variant",
        Role::AssetMap => "asset map",
    }
}

/// `WEBP 480 px`: a still variant's format and width.
fn variant_label(out: &OutputView) -> String {
    format!(
        "{} {} px",
        out.format.as_deref().unwrap_or("").to_uppercase(),
        out.width.unwrap_or(0)
    )
}

fn dims(out: &OutputView) -> String {
    match (out.width, out.height) {
        (Some(w), Some(h)) => format!("{w}×{h}"),
        _ => String::new(),
    }
}

fn size_attrs(out: &OutputView) -> String {
    match (out.width, out.height) {
        (Some(w), Some(h)) => format!(" width=\"{w}\" height=\"{h}\""),
        _ => String::new(),
    }
}

/// `123 KB, 16 frames, 1.60 s, SSIM 0.9952`.
fn summary(out: &OutputView) -> String {
    let mut parts = vec![bytes(out.bytes)];
    if let Some(f) = out.frames {
        parts.push(count(f as usize, "frame"));
    }
    if let Some(ms) = out.duration_ms {
        parts.push(format!("{:.2} s", ms as f64 / 1000.0));
    }
    if let Some(s) = out.ssim {
        parts.push(format!("SSIM {s:.4}"));
    }
    parts.join(", ")
}

fn ratio(part: u64, whole: u64) -> String {
    if whole == 0 {
        String::new()
    } else {
        format!(" ({:.2}× the sources)", part as f64 / whole as f64)
    }
}

fn count(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Bytes in SI units, as file managers show them.
fn bytes(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.1} KB", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.2} MB", n as f64 / 1e6),
        _ => format!("{:.2} GB", n as f64 / 1e9),
    }
}

/// Escapes text for HTML content and quoted attributes, after showing
/// control and bidi characters as the text report does ([`names::text`]):
/// a name reads the same in both (a newline in it shows as `\n`, not as a
/// space), and none can reorder what the page shows.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in names::text(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<img src="x" onerror='y'> & z"#),
            "&lt;img src=&quot;x&quot; onerror=&#39;y&#39;&gt; &amp; z"
        );
    }

    #[test]
    fn control_and_bidi_characters_show_as_in_the_text_report() {
        assert_eq!(
            esc("a\u{1b}[2J\u{202e}gnp.b\nc\t<d>"),
            "a\\u{1b}[2J\\u{202e}gnp.b\\nc\\t&lt;d&gt;"
        );
    }

    #[test]
    fn urls_are_relative_and_percent_encoded() {
        let h = Html {
            s: String::new(),
            prefix: "../",
        };
        assert_eq!(
            h.url("muscles/gif/Back-Latissimus Dorsi#1.gif"),
            "../muscles/gif/Back-Latissimus%20Dorsi%231.gif"
        );
        assert_eq!(h.url("a/\"b\".png"), "../a/%22b%22.png");
    }

    #[test]
    fn bytes_read_like_a_file_manager() {
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(12_345), "12.3 KB");
        assert_eq!(bytes(4_500_000), "4.50 MB");
    }
}
