//! Help for authors on real files: "did you mean" hints on missing files
//! (text and JSON, `check` and `build`), and the frame-set warnings
//! (numbering, stems, frame counts, colour), each at its page and line.

use crate::common;

use common::{Site, line_of, write};
use serde_json::Value;
use std::borrow::Cow;

/// A page in the atlas's shape whose GIF is `muscles/gif/{gif}.gif` and
/// whose gallery lists `muscles/png/{frame}` for each frame, in order.
fn page(gif: &str, frames: &[String]) -> String {
    let mut s = format!(
        "---\n\nlayout: page\ntitle: 'The {gif} muscle'\n\nimages:\n  - image_id: 'Main'\n    \
         image_name: 'muscles/gif/{gif}.gif'\n    image_title: 'The {gif} muscle'\n    \
         image_alt: 'The {gif} muscle' \n\ngallery:\n"
    );
    for f in frames {
        s.push_str(&format!(
            "  - image_url: muscles/png/{f}\n    caption: '{f}'\n    title: '{f}'\n"
        ));
    }
    s.push_str("---\n\n{% include page-image im_id=\"Main\" %}\n\n{% include gallery %}\n");
    s
}

/// `{stem}-{n}.png` for each number.
fn names(stem: &str, numbers: impl IntoIterator<Item = u32>) -> Vec<String> {
    numbers
        .into_iter()
        .map(|n| format!("{stem}-{n}.png"))
        .collect()
}

/// A site with a well-formed muscle page and its frames for each name.
fn site_with(pages: &[&str], frames: u32) -> Site {
    let site = Site::new();
    for name in pages {
        add_muscle(&site, name, frames);
    }
    site
}

fn add_muscle(site: &Site, name: &str, frames: u32) {
    site.page(
        &format!("muscles/{name}.md"),
        &page(name, &names(name, 1..=frames)),
    );
    site.frames(name, frames as usize, 16, 16);
}

/// (file, line, severity, message, hint) of every diagnostic.
type Found = (String, u64, String, String, Option<String>);

fn found(json: &Value) -> Vec<Found> {
    json["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            (
                d["file"].as_str().unwrap().to_owned(),
                d["line"].as_u64().unwrap_or(0),
                d["severity"].as_str().unwrap().to_owned(),
                d["message"].as_str().unwrap().to_owned(),
                d.get("hint").map(|h| h.as_str().unwrap().to_owned()),
            )
        })
        .collect()
}

fn check_json(site: &Site) -> (i32, Vec<Found>) {
    let out = site.run(&["check", "--format", "json"]);
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    (out.status.code().unwrap(), found(&json))
}

fn check_text(site: &Site) -> (i32, String) {
    let out = site.run(&["check"]);
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

fn warning(file: &str, line: usize, message: &str, hint: Option<&str>) -> Found {
    diag("warning", file, line, message, hint)
}

fn error(file: &str, line: usize, message: &str, hint: Option<&str>) -> Found {
    diag("error", file, line, message, hint)
}

fn diag(severity: &str, file: &str, line: usize, message: &str, hint: Option<&str>) -> Found {
    (
        file.to_owned(),
        line as u64,
        severity.to_owned(),
        message.to_owned(),
        hint.map(str::to_owned),
    )
}

/// Writes `text` as `content/muscles/{name}.md` and returns it.
fn put(site: &Site, name: &str, text: String) -> String {
    site.page(&format!("muscles/{name}.md"), &text);
    text
}

#[test]
fn well_formed_site_has_no_warnings() {
    let site = site_with(
        &["Arm-Biceps", "Leg-Soleus", "Leg", "Back-Latissimus dorsi"],
        16,
    );
    let (code, text) = check_text(&site);
    assert_eq!(code, 0, "{text}");
    assert_eq!(text, "4 pages, 68 images, 0 errors, 0 warnings\n");
}

#[test]
fn renamed_set_is_one_error_with_a_hint() {
    let site = site_with(&["Leg-Soleus"], 16);
    site.frames("Shoulder-ScapularDeltoid", 16, 16, 16);
    let text = put(
        &site,
        "Shoulder",
        page(
            "Shoulder-ScapularDeltoid",
            &names("Shoulder-ScapularPartDeltoid", 1..=16),
        ),
    );
    let line = line_of(&text, "ScapularPartDeltoid-1.png");
    let message = "16 gallery frames muscles/png/Shoulder-ScapularPartDeltoid-{1..16}.png are \
                   missing; the folder has Shoulder-ScapularDeltoid-{1..16}.png — rename the \
                   gallery entries (or the files) so they match";
    let hint = "did you mean muscles/png/Shoulder-ScapularDeltoid-{1..16}.png?";
    let (code, found) = check_json(&site);
    assert_eq!(code, 1, "the run still fails");
    assert_eq!(
        found,
        [error(
            "content/muscles/Shoulder.md",
            line,
            message,
            Some(hint)
        )]
    );
    let (code, text) = check_text(&site);
    assert_eq!(code, 1);
    assert_eq!(
        text,
        format!(
            "content/muscles/Shoulder.md:{line}: error: {message}\n    hint: {hint}\n\
             2 pages, 34 images, 1 error, 0 warnings\n"
        )
    );
}

/// A set renamed by adding to its stem is too far for the edit-distance
/// rule (a quarter of the name) but contains the named stem: it is
/// offered, nearest first with the runner-up named, and a complete set
/// of another name is not.
#[test]
fn a_set_whose_stem_contains_the_named_one_is_offered_however_far() {
    let site = site_with(&["Leg-Soleus"], 16);
    site.frames("Arm-PlantarisPart", 16, 16, 16);
    site.frames("Arm-PlantarisPartLonger", 16, 16, 16);
    // Not complete: numbers 1-8 only.
    site.frames("Arm-PlantarisHalf", 8, 16, 16);
    let text = put(
        &site,
        "Plantaris",
        page("Arm-Plantaris", &names("Arm-Plantaris", 1..=16)),
    );
    let line = line_of(&text, "Arm-Plantaris-1.png");
    let message = "16 gallery frames muscles/png/Arm-Plantaris-{1..16}.png are missing; the \
                   folder has Arm-PlantarisPart-{1..16}.png — rename the gallery entries (or \
                   the files) so they match";
    let hint = "did you mean muscles/png/Arm-PlantarisPart-{1..16}.png? \
                (or Arm-PlantarisPartLonger-{1..16}.png)";
    let (code, found) = check_json(&site);
    assert_eq!(code, 1);
    assert_eq!(
        found,
        [error(
            "content/muscles/Plantaris.md",
            line,
            message,
            Some(hint)
        )]
    );
}

#[test]
fn one_letter_typo_gets_a_hint() {
    let site = site_with(&["Leg-Soleus"], 4);
    let mut frames = names("Leg-Soleus", 1..=4);
    frames[2] = "Leg-Soelus-3.png".into();
    let text = put(&site, "Leg-Soleus", page("Leg-Soleus", &frames));
    let line = line_of(&text, "Soelus-3.png");
    let (code, found) = check_json(&site);
    assert_eq!(code, 1);
    assert_eq!(
        found,
        [error(
            "content/muscles/Leg-Soleus.md",
            line,
            "gallery frame muscles/png/Leg-Soelus-3.png: file not found",
            Some("did you mean muscles/png/Leg-Soleus-3.png?")
        )]
    );
}

#[test]
fn case_difference_and_spaces_get_a_hint() {
    let site = site_with(&["Leg-Soleus"], 4);
    site.png("muscles/png/Latissimus dorsi.png", 16, 16, 1);
    let text = "---\nimages:\n  - image_id: 'Lat'\n    image_name: 'muscles/png/latissimus dorsi.png'\n    \
                image_alt: 'x'\n---\n";
    site.page("back.md", text);
    let (code, found) = check_json(&site);
    assert_eq!(code, 1);
    assert_eq!(
        found,
        [error(
            "content/back.md",
            3,
            "page image muscles/png/latissimus dorsi.png: file not found",
            Some("did you mean muscles/png/Latissimus dorsi.png?")
        )]
    );
}

#[test]
fn nothing_absurd_is_suggested() {
    let site = site_with(&["Leg"], 4);
    // Frame 5 does not exist: another frame of the set is no answer, and
    // `Arm` is not a typo of `Leg`.
    let mut frames = names("Leg", 1..=4);
    frames.push("Leg-5.png".into());
    let text = put(&site, "Leg", page("Leg", &frames));
    site.page(
        "arm.md",
        "---\nimages:\n  - image_id: 'A'\n    image_name: 'muscles/png/Arm-1.png'\n    image_alt: 'x'\n---\n",
    );
    let (_, found) = check_json(&site);
    assert_eq!(
        found,
        [
            error(
                "content/arm.md",
                3,
                "page image muscles/png/Arm-1.png: file not found",
                None
            ),
            error(
                "content/muscles/Leg.md",
                line_of(&text, "Leg-5.png"),
                "gallery frame muscles/png/Leg-5.png: file not found",
                None
            ),
        ]
    );
}

#[test]
fn build_json_carries_the_hint() {
    let site = site_with(&["Leg"], 4);
    site.png("muscles/png/Soleus.png", 16, 16, 1);
    site.page(
        "soleus.md",
        "---\nimages:\n  - image_id: 'S'\n    image_name: 'muscles/png/soleus.png'\n    image_alt: 'x'\n---\n",
    );
    let out = site.run(&["build", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(
        found(&json),
        [error(
            "content/soleus.md",
            3,
            "page image muscles/png/soleus.png: file not found",
            Some("did you mean muscles/png/Soleus.png?")
        )]
    );
}

#[test]
fn skipped_frame_is_warned_with_the_file_the_folder_has() {
    let site = site_with(&["Leg"], 5);
    let frames = names("Leg", [1, 2, 4, 5]);
    let text = put(&site, "Leg", page("Leg", &frames));
    let (code, found) = check_json(&site);
    assert_eq!(code, 0, "warnings only");
    assert_eq!(
        found,
        [warning(
            "content/muscles/Leg.md",
            line_of(&text, "Leg-2.png"),
            "gallery of Leg-N.png frames skips frame Leg-3.png; the rotation would jump there — \
             add the missing frame or renumber the frames",
            Some("the folder has muscles/png/Leg-3.png")
        )]
    );
}

#[test]
fn repeated_frame_is_warned() {
    let site = site_with(&["Leg"], 4);
    // A mistyped number: 3 twice and no 4.
    let text = put(&site, "Leg", page("Leg", &names("Leg", [1, 2, 3, 3])));
    let first = line_of(&text, "Leg-3.png");
    let again = first + 3;
    let (_, found) = check_json(&site);
    assert_eq!(
        found,
        [warning(
            "content/muscles/Leg.md",
            again,
            &format!(
                "gallery frame muscles/png/Leg-3.png is listed again (first on line {first}) and \
                 frame 4 is not listed; the animation would show one view twice and skip another \
                 — list Leg-4.png here"
            ),
            Some("did you mean muscles/png/Leg-4.png?")
        )]
    );
    // A plain repeat: every frame is there, one twice.
    let text = put(&site, "Leg", page("Leg", &names("Leg", [1, 2, 3, 4, 2])));
    let first = line_of(&text, "Leg-2.png");
    let (_, found) = check_json(&site);
    assert_eq!(
        found,
        [warning(
            "content/muscles/Leg.md",
            line_of(&text, "Leg-4.png") + 3,
            &format!(
                "gallery frame muscles/png/Leg-2.png is listed again (first on line {first}); \
                 the animation would show that view twice — remove this entry"
            ),
            None
        )]
    );
}

#[test]
fn out_of_order_frames_are_warned() {
    let site = site_with(&["Leg"], 4);
    let text = put(&site, "Leg", page("Leg", &names("Leg", [1, 3, 2, 4])));
    let (_, found) = check_json(&site);
    assert_eq!(
        found,
        [warning(
            "content/muscles/Leg.md",
            line_of(&text, "Leg-2.png"),
            &format!(
                "gallery frame muscles/png/Leg-2.png is listed after Leg-3.png (line {}); frames \
                 play in the order listed, so the rotation would jump — list the frames in \
                 numeric order",
                line_of(&text, "Leg-3.png")
            ),
            None
        )]
    );
}

#[test]
fn frame_of_another_stem_is_warned() {
    let site = site_with(&["Leg", "Arm"], 4);
    let mut frames = names("Leg", 1..=4);
    frames[2] = "Arm-3.png".into();
    let text = put(&site, "Leg", page("Leg", &frames));
    let (_, found) = check_json(&site);
    assert_eq!(
        found,
        [warning(
            "content/muscles/Leg.md",
            line_of(&text, "Arm-3.png"),
            "gallery frame muscles/png/Arm-3.png is not one of this gallery's Leg-N.png frames \
             (3 of 4 are); the animation would show it in the rotation — replace it with this \
             gallery's own frame",
            Some("did you mean muscles/png/Leg-3.png?")
        )]
    );
}

#[test]
fn gif_named_after_another_stem_is_warned() {
    let site = site_with(&["Leg"], 4);
    let text = put(&site, "Leg", page("Arm", &names("Leg", 1..=4)));
    let (_, found) = check_json(&site);
    assert_eq!(
        found,
        [warning(
            "content/muscles/Leg.md",
            line_of(&text, "image_id"),
            "page image muscles/gif/Arm.gif is assembled from this page's gallery, whose frames \
             are Leg-N.png; one of the two names is probably left from another page — rename \
             the GIF after its frames, or list this GIF's own frames",
            Some("did you mean muscles/gif/Leg.gif?")
        )]
    );
}

#[test]
fn odd_frame_count_is_warned_against_the_site_majority() {
    let site = site_with(&["Arm", "Leg", "Back", "Neck"], 8);
    add_muscle(&site, "Foot", 6);
    let text = page("Foot", &names("Foot", 1..=6));
    let (code, found) = check_json(&site);
    assert_eq!(code, 0);
    assert_eq!(
        found,
        [warning(
            "content/muscles/Foot.md",
            line_of(&text, "Foot-1.png"),
            "gallery has 6 frames, but 4 of the site's 5 galleries have 8; if frames are \
             missing, add them (ignore this if the animation is meant to be different)",
            None
        )]
    );
    // Without a clear majority nothing is said.
    add_muscle(&site, "Hand", 6);
    assert_eq!(check_json(&site), (0, vec![]));
}

/// A 32x32 PNG of any colour type and depth, with an ICC profile if given.
fn png_frame(color: png::ColorType, depth: png::BitDepth, icc: Option<&[u8]>) -> Vec<u8> {
    let mut info = png::Info::with_size(32, 32);
    info.color_type = color;
    info.bit_depth = depth;
    info.icc_profile = icc.map(|p| Cow::Owned(p.to_vec()));
    let channels = match color {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        _ => 4,
    };
    let bytes = if depth == png::BitDepth::Sixteen {
        2
    } else {
        1
    };
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::with_info(&mut out, info).unwrap();
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header().unwrap();
        let data: Vec<u8> = (0..32 * 32 * channels * bytes)
            .map(|i| (i * 7) as u8)
            .collect();
        writer.write_image_data(&data).unwrap();
    }
    out
}

#[test]
fn mixed_colour_type_depth_and_profile_are_warned() {
    use png::{BitDepth::*, ColorType::*};
    let site = Site::new();
    let text = put(&site, "Leg", page("Leg", &names("Leg", 1..=5)));
    let profile: &[u8] = b"not a real profile, but a profile all the same";
    let frames = [
        png_frame(Rgb, Eight, None),
        png_frame(Rgb, Eight, None),
        png_frame(Rgba, Sixteen, None),
        png_frame(Rgb, Eight, Some(profile)),
        png_frame(Grayscale, Eight, None),
    ];
    for (i, bytes) in frames.iter().enumerate() {
        write(
            &site.images().join(format!("muscles/png/Leg-{}.png", i + 1)),
            bytes,
        );
    }
    let file = "content/muscles/Leg.md";
    let at = |n: u32| line_of(&text, &format!("Leg-{n}.png"));
    let layout = |n: u32, is: &str| {
        warning(
            file,
            at(n),
            &format!(
                "gallery frame muscles/png/Leg-{n}.png: frame is {is} but most frames of \
                 muscles/gif/Leg.gif are 8-bit RGB; the animation, sprite sheet and thumbnails \
                 are made from 8-bit RGBA copies of every frame, so the difference is smoothed \
                 over, but this frame was probably exported with other settings — re-export it \
                 as 8-bit RGB like the rest"
            ),
            None,
        )
    };
    let (code, found) = check_json(&site);
    assert_eq!(code, 0);
    assert_eq!(
        found,
        [
            layout(3, "16-bit RGBA"),
            warning(
                file,
                at(4),
                "gallery frame muscles/png/Leg-4.png: frame has an embedded colour profile (ICC \
                 profile c301848f) but the other frames of muscles/gif/Leg.gif have none; \
                 assetmill does not apply colour profiles: the animation, sprite sheet and \
                 thumbnails use every frame's stored values as sRGB and leave profiles out, so \
                 this frame's colours may not match theirs — re-export it with the same profile \
                 as the rest (sRGB is safest)",
                None
            ),
            layout(5, "8-bit greyscale"),
        ]
    );
}

#[test]
fn old_cache_entries_without_colour_are_not_trusted() {
    use png::{BitDepth::*, ColorType::*};
    let site = Site::new();
    let text = put(&site, "Leg", page("Leg", &names("Leg", 1..=3)));
    for (i, depth) in [Eight, Eight, Sixteen].into_iter().enumerate() {
        write(
            &site.images().join(format!("muscles/png/Leg-{}.png", i + 1)),
            &png_frame(Rgb, depth, None),
        );
    }
    let config = site.config();
    let first = common::build(&config);
    assert_eq!(first.report.summary.warnings, 1, "{:?}", first.report);
    // Strip the colour from every cached source, as an older assetmill
    // wrote them, and build again: the sources are decoded again and the
    // warning is still there.
    let cache = config.out.join(".assetmill/cache.json");
    let mut json: Value = serde_json::from_slice(&std::fs::read(&cache).unwrap()).unwrap();
    for info in json["sources"].as_object_mut().unwrap().values_mut() {
        assert!(info.as_object_mut().unwrap().remove("colour").is_some());
    }
    std::fs::write(&cache, serde_json::to_vec(&json).unwrap()).unwrap();
    let again = common::build(&config);
    assert_eq!(again.summary.decoded, 3);
    assert_eq!(again.summary.built, 0, "outputs stay up to date");
    let lines: Vec<usize> = again
        .report
        .diagnostics
        .iter()
        .map(|d| d.line.unwrap())
        .collect();
    assert_eq!(lines, [line_of(&text, "Leg-3.png")]);
    let third = common::build(&config);
    assert_eq!(third.summary.decoded, 0, "the new entries are trusted");
    assert_eq!(third.report.summary.warnings, 1);
}
