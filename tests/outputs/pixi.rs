//! The TexturePacker atlas where people use it: headless Chromium loads
//! PixiJS (v7, vendored under `tests/fixtures/pixi/`), which loads
//! `X-sprite.texturepacker.json` with its own loader into a `Spritesheet`.
//! The page reports each texture's rectangle, the animation as texture
//! names, the sheet's size and every frame's pixels, read through PixiJS's
//! own texture (on a 2D canvas, and through the WebGL renderer where
//! headless Chromium has one); the test compares them with what assetmill
//! wrote and with the source frames.

use crate::common;

use common::Site;
use image::{Rgb, RgbImage};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// A name with a space, as on the model site: the atlas's `meta.image`
/// holds it as a file name, and PixiJS must resolve it beside the atlas.
const NAME: &str = "Arm-Biceps Brachii";
const FRAMES: u32 = 4;
const WIDTH: u32 = 24;
const HEIGHT: u32 = 16;

/// PixiJS 7.4.3's browser bundle (MIT; see `tests/fixtures/pixi/README.md`).
const PIXI: &[u8] = include_bytes!("../fixtures/pixi/pixi.min.js");

/// Frame `i` (1-based): a solid colour of its own, with a white block at
/// the top left and a black bottom row, so that a shifted, flipped or
/// swapped rectangle shows.
fn source(i: u32) -> RgbImage {
    const COLOURS: [[u8; 3]; 4] = [[220, 40, 40], [40, 180, 60], [40, 70, 220], [240, 200, 40]];
    let base = COLOURS[(i - 1) as usize];
    RgbImage::from_fn(WIDTH, HEIGHT, |x, y| {
        if y == HEIGHT - 1 {
            Rgb([0, 0, 0])
        } else if x < WIDTH / 3 && y < HEIGHT / 2 {
            Rgb([255, 255, 255])
        } else {
            Rgb(base)
        }
    })
}

/// A page image built from the four frames, played 1 2 3 4 3 2 at 80 ms a
/// frame, frame 2 held for 600 ms.
fn page() -> String {
    let mut s = format!(
        "---\nlayout: page\nheader: no\nimages:\n  - image_id: 'Arm'\n    \
         image_name: 'muscles/gif/{NAME}.gif'\n    image_alt: 'The arm'\n    \
         image_delay_ms: 80\n    image_pingpong: true\ngallery:\n"
    );
    for i in 1..=FRAMES {
        s.push_str(&format!(
            "  - image_url: muscles/png/{NAME}-{i}.png\n    title: '{NAME} {i}'\n"
        ));
        if i == 2 {
            s.push_str("    delay_ms: 600\n");
        }
    }
    s.push_str("---\n{% include page-image im_id=\"Arm\" %}\n");
    s
}

const SCRIPT: &str = r#"
<script>
const send = (o) => fetch('/report', {method: 'POST', body: JSON.stringify(o)});
const errors = [];
addEventListener('error', (e) => errors.push(String(e.message || e.type)), true);
addEventListener('unhandledrejection', (e) => errors.push(String(e.reason)));
setTimeout(() => send({error: 'timeout', errors}), 60000);
const rect = (r) => ({x: r.x, y: r.y, width: r.width, height: r.height});
(async () => {
  if (typeof PIXI === 'undefined') throw new Error('PixiJS did not load');
  // PixiJS 7's Assets.init probes WebGL for compressed texture formats and,
  // where there is no WebGL (headless Chromium with --disable-gpu), throws
  // "Cannot read properties of undefined (reading 'getExtension')" from
  // that probe's `remove`. A page without WebGL loads no compressed
  // textures anyway, so the probe is taken out there.
  const hasWebgl = !!document.createElement('canvas').getContext('webgl');
  if (!hasWebgl) PIXI.extensions.remove(PIXI.detectCompressedTextures);
  const sheet = await PIXI.Assets.load(ATLAS);
  if (!(sheet instanceof PIXI.Spritesheet)) {
    throw new Error('PIXI.Assets.load gave ' + Object.prototype.toString.call(sheet));
  }
  const names = new Map(Object.entries(sheet.textures).map(([k, t]) => [t, k]));
  const textures = {};
  for (const [k, t] of Object.entries(sheet.textures)) {
    textures[k] = {frame: rect(t.frame), orig: rect(t.orig), trimmed: t.trim != null,
                   rotate: t.rotate, same_base: t.baseTexture === sheet.baseTexture};
  }
  const animations = {};
  for (const [k, list] of Object.entries(sheet.animations)) {
    animations[k] = list.map((t) => names.has(t) ? names.get(t) : null);
  }
  const base = sheet.baseTexture;
  const source = base.resource && base.resource.source;
  // Each texture's pixels, cut from PixiJS's own source image at PixiJS's
  // own rectangle on a 2D canvas.
  const canvas = {};
  const c = document.createElement('canvas');
  c.width = base.realWidth; c.height = base.realHeight;
  const g = c.getContext('2d', {willReadFrequently: true});
  g.drawImage(source, 0, 0);
  for (const [k, t] of Object.entries(sheet.textures)) {
    const f = t.frame;
    canvas[k] = Array.from(g.getImageData(f.x, f.y, f.width, f.height).data);
  }
  // The same through PixiJS's renderer, where headless Chromium has WebGL.
  let webgl;
  try {
    const app = new PIXI.Application({width: base.width, height: base.height,
                                      backgroundAlpha: 0, antialias: false});
    const pixels = {};
    for (const [k, t] of Object.entries(sheet.textures)) {
      pixels[k] = Array.from(app.renderer.extract.pixels(new PIXI.Sprite(t)));
    }
    webgl = {renderer: app.renderer.type, pixels};
    app.destroy(true);
  } catch (e) {
    webgl = {error: String(e)};
  }
  // What an AnimatedSprite made from the animation plays.
  const stem = Object.keys(sheet.animations)[0];
  const sprite = new PIXI.AnimatedSprite(sheet.animations[stem]);
  send({
    version: PIXI.VERSION,
    has_webgl: hasWebgl,
    errors,
    textures,
    animations,
    base: {width: base.width, height: base.height, real_width: base.realWidth,
           real_height: base.realHeight, resolution: base.resolution,
           valid: base.valid},
    data_meta: sheet.data.meta,
    durations: Object.fromEntries(Object.entries(sheet.data.frames)
      .map(([k, f]) => [k, f.duration])),
    animated_frames: sprite.totalFrames,
    canvas,
    webgl,
  });
})().catch((e) => send({error: String(e && e.stack || e), errors}));
</script>
"#;

#[derive(Deserialize, Debug)]
struct Rect {
    x: f64,
    y: f64,
    width: f64,
    height: f64,
}

#[derive(Deserialize, Debug)]
struct Texture {
    frame: Rect,
    orig: Rect,
    trimmed: bool,
    rotate: u32,
    same_base: bool,
}

#[derive(Deserialize, Debug)]
struct Base {
    width: f64,
    height: f64,
    real_width: f64,
    real_height: f64,
    resolution: f64,
    valid: bool,
}

#[derive(Deserialize, Debug)]
struct WebGl {
    error: Option<String>,
    renderer: Option<u32>,
    pixels: Option<BTreeMap<String, Vec<u8>>>,
}

#[derive(Deserialize, Debug)]
struct Seen {
    version: String,
    has_webgl: bool,
    errors: Vec<String>,
    textures: BTreeMap<String, Texture>,
    animations: BTreeMap<String, Vec<Option<String>>>,
    base: Base,
    durations: BTreeMap<String, Option<u32>>,
    animated_frames: usize,
    canvas: BTreeMap<String, Vec<u8>>,
    webgl: WebGl,
}

/// The largest channel difference between RGBA bytes a page read and an
/// opaque RGB image; panics when the sizes differ.
fn max_difference(rgba: &[u8], image: &RgbImage, what: &str) -> u8 {
    assert_eq!(
        rgba.len(),
        (image.width() * image.height() * 4) as usize,
        "{what}: pixel count"
    );
    rgba.chunks_exact(4)
        .zip(image.pixels())
        .map(|(seen, want)| {
            let colour = (0..3).map(|c| seen[c].abs_diff(want[c])).max().unwrap();
            colour.max(255 - seen[3])
        })
        .max()
        .unwrap()
}

#[test]
fn pixijs_loads_the_texturepacker_atlas_with_assetmills_frames_order_and_pixels() {
    let site = Site::new();
    site.page("muscles/arm.md", &page());
    for i in 1..=FRAMES {
        let png = common::png_bytes(&source(i));
        site.asset_bytes(&format!("muscles/png/{NAME}-{i}.png"), &png);
    }
    // Padding and two columns: the cells sit at x and y offsets of their
    // own, and the sheet is not a multiple of a frame.
    common::write(
        &site.root().join("assetmill.yml"),
        b"sprite:\n  atlas: [assetmill, texturepacker]\n  padding: 2\n  columns: 2\n\
          video:\n  formats: []\n",
    );
    let out = site.run(&["-q", "build"]);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let dir = site.out().join("muscles/gif");
    let atlas_path = dir.join(format!("{NAME}-sprite.texturepacker.json"));
    let atlas: Value = serde_json::from_slice(&std::fs::read(&atlas_path).unwrap()).unwrap();
    let sheet = image::open(dir.join(format!("{NAME}-sprite.png")))
        .unwrap()
        .into_rgb8();
    // What assetmill wrote, read here: the sheet's cells are the sources.
    assert_eq!(atlas["meta"]["image"], format!("{NAME}-sprite.png"));
    assert_eq!(
        atlas["meta"]["size"],
        serde_json::json!({"w": sheet.width(), "h": sheet.height()})
    );
    let frames = atlas["frames"].as_object().unwrap();
    assert_eq!(frames.len(), FRAMES as usize);
    for i in 1..=FRAMES {
        let f = &frames[&format!("{NAME}-{i}.png")]["frame"];
        let [x, y, w, h] = ["x", "y", "w", "h"].map(|k| f[k].as_u64().unwrap() as u32);
        assert_eq!((w, h), (WIDTH, HEIGHT), "frame {i}");
        let cell = image::imageops::crop_imm(&sheet, x, y, w, h).to_image();
        assert_eq!(cell, source(i), "the sheet's cell {i} is frame {i}");
    }

    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"></head><body>\n\
         <script src=\"/pixi.min.js\"></script>\n\
         <script>const ATLAS = {};</script>\n{SCRIPT}</body></html>",
        serde_json::to_string(&format!(
            "/muscles/gif/{}",
            common::browser::url_path(&format!("{NAME}-sprite.texturepacker.json"))
        ))
        .unwrap()
    );
    let mut extra = BTreeMap::new();
    extra.insert("pixi.html".to_owned(), html.into_bytes());
    extra.insert("pixi.min.js".to_owned(), PIXI.to_vec());
    let Some(body) = common::browser::report(&site.out(), extra, "pixi.html") else {
        return;
    };
    let seen: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert!(seen.get("error").is_none(), "PixiJS in Chromium: {seen:#}");
    let seen: Seen = serde_json::from_value(seen).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(seen.version, "7.4.3");
    assert!(seen.errors.is_empty(), "{:?}", seen.errors);

    // Every frame of the atlas is a texture of the sheet, at its rectangle,
    // whole (neither trimmed nor rotated).
    assert_eq!(
        seen.textures.keys().collect::<Vec<_>>(),
        frames.keys().collect::<Vec<_>>()
    );
    for (name, t) in &seen.textures {
        let f = &frames[name]["frame"];
        let want = ["x", "y", "w", "h"].map(|k| f[k].as_f64().unwrap());
        let got = [t.frame.x, t.frame.y, t.frame.width, t.frame.height];
        assert_eq!(got, want, "{name}: PixiJS's frame");
        assert_eq!([t.orig.width, t.orig.height], [want[2], want[3]], "{name}");
        assert!(!t.trimmed && t.rotate == 0 && t.same_base, "{name}: {t:?}");
    }

    // The animation, named after the page image, in ping-pong order.
    let order: Vec<Option<String>> = [1, 2, 3, 4, 3, 2]
        .iter()
        .map(|i| Some(format!("{NAME}-{i}.png")))
        .collect();
    assert_eq!(seen.animations.keys().collect::<Vec<_>>(), [NAME]);
    assert_eq!(seen.animations[NAME], order);
    assert_eq!(seen.animated_frames, 6);
    // PixiJS keeps the per-frame durations in the data it parsed (it does
    // not play them by itself: an AnimatedSprite takes one speed unless
    // given {texture, time} pairs, which a page builds from these).
    let durations: Vec<Option<u32>> = (1..=FRAMES)
        .map(|i| seen.durations[&format!("{NAME}-{i}.png")])
        .collect();
    assert_eq!(durations, [Some(80), Some(600), Some(80), Some(80)]);

    // The base texture is the sheet, at scale 1.
    let b = &seen.base;
    assert!(b.valid, "{b:?}");
    let size = [f64::from(sheet.width()), f64::from(sheet.height())];
    assert_eq!([b.width, b.height], size, "{b:?}");
    assert_eq!([b.real_width, b.real_height], size, "{b:?}");
    assert_eq!(b.resolution, 1.0, "{b:?}");

    // The pixels PixiJS's textures cut from the sheet are the frames'.
    for i in 1..=FRAMES {
        let name = format!("{NAME}-{i}.png");
        let diff = max_difference(&seen.canvas[&name], &source(i), &name);
        assert!(diff <= 2, "{name}: canvas differs by {diff}");
    }
    if !seen.has_webgl {
        eprintln!("note: no WebGL in headless Chromium; pixels read on a 2D canvas only");
        return;
    }
    let pixels = seen.webgl.pixels.as_ref();
    let pixels = pixels.unwrap_or_else(|| panic!("WebGL: {:?}", seen.webgl.error));
    assert_eq!(seen.webgl.renderer, Some(1), "PixiJS's WebGL renderer");
    for i in 1..=FRAMES {
        let name = format!("{NAME}-{i}.png");
        let diff = max_difference(&pixels[&name], &source(i), &name);
        assert!(diff <= 2, "{name}: WebGL extract differs by {diff}");
    }
}
