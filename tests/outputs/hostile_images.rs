//! Hostile and unusual animated images on real files: frame bombs refused
//! from their headers (quickly, naming the limit and its config key),
//! compositing that costs each frame's rectangle and matches image's own
//! decoder, corrupt late frames caught, and animated PNGs that stay
//! animated through `build`.

use crate::common;

use assetmill::config::Limits;
use assetmill::internals::decode;
use common::Site;
use gif::{DisposalMethod, Encoder, Frame, Repeat};
use image::codecs::gif::GifDecoder;
use image::codecs::png::PngDecoder;
use image::{AnimationDecoder, DynamicImage, RgbaImage};
use std::io::Cursor;
use std::path::Path;
use std::time::{Duration, Instant};

/// A hang guard, not a benchmark: before the fix the bomb took 224 s.
const HANG_GUARD: Duration = Duration::from_secs(30);

/// A page naming one page image `name`, on line 3.
fn page_with_image(site: &Site, name: &str) {
    site.page(
        "p.md",
        &format!(
            "---\nimages:\n  - image_id: a\n    image_name: {name}\n    image_alt: A\n---\n\
             {{% include page-image im_id=\"a\" %}}\n"
        ),
    );
}

fn config(site: &Site, yaml: &str) {
    common::write(&site.root().join("assetmill.yml"), yaml.as_bytes());
}

/// Runs `check` and returns (exit code, stdout), failing if it takes longer
/// than the hang guard.
fn check(site: &Site) -> (i32, String) {
    let started = Instant::now();
    let out = site.run(&["check"]);
    assert!(
        started.elapsed() < HANG_GUARD,
        "check took {:?}",
        started.elapsed()
    );
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn gif_bytes(width: u16, height: u16, frames: impl IntoIterator<Item = Frame<'static>>) -> Vec<u8> {
    let palette = [255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9];
    let mut out = Vec::new();
    {
        let mut e = Encoder::new(&mut out, width, height, &palette).unwrap();
        e.set_repeat(Repeat::Infinite).unwrap();
        for f in frames {
            e.write_frame(&f).unwrap();
        }
    }
    out
}

fn gif_frame(
    left: u16,
    top: u16,
    w: u16,
    h: u16,
    dispose: DisposalMethod,
    seed: u16,
) -> Frame<'static> {
    Frame {
        left,
        top,
        width: w,
        height: h,
        dispose,
        transparent: Some(3),
        delay: 4,
        buffer: (0..u32::from(w) * u32::from(h))
            .map(|i| ((i % u32::from(w) + i / u32::from(w) * 2 + u32::from(seed)) % 4) as u8)
            .collect::<Vec<_>>()
            .into(),
        ..Frame::default()
    }
}

/// 5000 frames of 1x1 on a 4000x4000 screen: image's decoder composites
/// every one onto a full-screen buffer (224 s).
fn frame_bomb() -> Vec<u8> {
    gif_bytes(
        4000,
        4000,
        (0..5000).map(|i| gif_frame(i % 7, i % 5, 1, 1, DisposalMethod::Keep, i)),
    )
}

#[test]
fn gif_frame_bomb_is_refused_by_check_naming_page_line_file_and_limit() {
    let site = Site::new();
    page_with_image(&site, "bomb.gif");
    site.asset_bytes("bomb.gif", &frame_bomb());
    let (code, stdout) = check(&site);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains(
            "content/p.md:3: error: page image bomb.gif: GIF has 5000 frames, over the limit \
             of 1000 frames (limits.max_frames)"
        ),
        "{stdout}"
    );

    // With only the frame limit raised, the canvas-times-frames limit
    // (5000 x 16 M pixels) refuses it, still from the header.
    config(&site, "limits:\n  max_frames: 10000\n");
    let (code, stdout) = check(&site);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains(
            "content/p.md:3: error: page image bomb.gif: GIF has 5000 frames of 4000x4000, \
             80000000000 pixels in all, over the limit of 1000000000 (limits.max_animation_pixels)"
        ),
        "{stdout}"
    );

    // With both raised it is decoded, every frame, in a few seconds.
    config(
        &site,
        "limits:\n  max_frames: 10000\n  max_animation_pixels: 100000000000\n",
    );
    let (code, stdout) = check(&site);
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn gif_frame_bomb_decodes_every_frame_when_allowed() {
    let site = Site::new();
    site.asset_bytes("bomb.gif", &frame_bomb());
    let path = site.images().join("bomb.gif");
    let refused = decode::load(&path, &Limits::default()).unwrap_err();
    assert!(
        refused.to_string().contains("limits.max_frames"),
        "{refused}"
    );
    let limits = Limits {
        max_frames: 5000,
        max_animation_pixels: 80_000_000_000,
        ..Limits::default()
    };
    let started = Instant::now();
    let loaded = decode::load(&path, &limits).unwrap();
    assert!(started.elapsed() < HANG_GUARD, "{:?}", started.elapsed());
    assert_eq!(loaded.info.frames, 5000);
    assert_eq!((loaded.info.width, loaded.info.height), (4000, 4000));
    // First frame: one opaque pixel at (0, 0), the rest transparent.
    let first = loaded.pixels.to_rgba8();
    assert_eq!(first.get_pixel(0, 0).0, [255, 0, 0, 255]);
    assert_eq!(first.get_pixel(1, 0).0, [0, 0, 0, 0]);
    // One frame more than allowed is refused.
    let one_short = Limits {
        max_frames: 4999,
        ..limits
    };
    let err = decode::load(&path, &one_short).unwrap_err();
    assert!(err.to_string().contains("5000 frames"), "{err}");
}

#[test]
fn gif_first_frame_matches_image_decoder_with_offsets_and_disposal() {
    let site = Site::new();
    let frames = [
        gif_frame(2, 1, 9, 7, DisposalMethod::Previous, 0),
        gif_frame(0, 0, 16, 12, DisposalMethod::Background, 1),
        gif_frame(5, 4, 6, 6, DisposalMethod::Keep, 2),
    ];
    site.asset_bytes("a.gif", &gif_bytes(16, 12, frames));
    let path = site.images().join("a.gif");
    let loaded = decode::load(&path, &Limits::default()).unwrap();
    assert_eq!(loaded.info.frames, 3);
    let theirs: Vec<RgbaImage> = GifDecoder::new(Cursor::new(std::fs::read(&path).unwrap()))
        .unwrap()
        .into_frames()
        .map(|f| f.unwrap().into_buffer())
        .collect();
    assert_eq!(loaded.pixels, DynamicImage::ImageRgba8(theirs[0].clone()));
    // The frame is offset: the corner is transparent, the inside is not.
    assert_eq!(theirs[0].get_pixel(0, 0).0[3], 0);
    assert_eq!(theirs[0].get_pixel(2, 1).0[3], 255);
}

#[test]
fn gif_frames_beyond_the_screen_are_clipped() {
    let site = Site::new();
    let frames = [
        gif_frame(0, 0, 40, 30, DisposalMethod::Background, 0),
        gif_frame(65000, 65000, 500, 500, DisposalMethod::Previous, 1),
        gif_frame(7, 7, 3, 3, DisposalMethod::Keep, 2),
    ];
    site.asset_bytes("wide.gif", &gif_bytes(8, 8, frames));
    let loaded = decode::load(&site.images().join("wide.gif"), &Limits::default()).unwrap();
    assert_eq!(loaded.info.frames, 3);
    assert_eq!(loaded.pixels.to_rgba8().dimensions(), (8, 8));

    // A frame larger than max_side is refused before decoding.
    let limits = Limits {
        max_side: 100,
        ..Limits::default()
    };
    let err = decode::load(&site.images().join("wide.gif"), &limits).unwrap_err();
    assert!(err.to_string().contains("500 px a side"), "{err}");
    assert!(err.to_string().contains("limits.max_side"), "{err}");
}

#[test]
fn gif_with_a_corrupt_late_frame_is_refused() {
    let site = Site::new();
    let frames = (0..4).map(|i| gif_frame(0, 0, 16, 16, DisposalMethod::Keep, i));
    let mut bytes = gif_bytes(16, 16, frames);
    // The last frame's LZW code size byte (after the 9-byte descriptor; no
    // local palette): an invalid size makes LZW decoding fail while the
    // block structure stays intact.
    let code_size = last_image_descriptor(&bytes) + 10;
    assert_eq!(bytes[code_size], 2);
    bytes[code_size] = 13;
    site.asset_bytes("bad.gif", &bytes);
    page_with_image(&site, "bad.gif");
    let (code, stdout) = check(&site);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("content/p.md:3: error: page image bad.gif: cannot decode GIF: frame 4"),
        "{stdout}"
    );
}

/// The offset of the last image descriptor (0x2C) of a GIF written by
/// [`gif_bytes`], found by walking its blocks.
fn last_image_descriptor(gif: &[u8]) -> usize {
    let mut pos = 13 + 3 * (1 << ((gif[10] & 7) + 1));
    let mut last = None;
    let skip_sub_blocks = |mut pos: usize| {
        while gif[pos] != 0 {
            pos += 1 + usize::from(gif[pos]);
        }
        pos + 1
    };
    loop {
        match gif[pos] {
            0x21 => pos = skip_sub_blocks(pos + 2),
            0x2C => {
                last = Some(pos);
                pos = skip_sub_blocks(pos + 11);
            }
            _ => return last.unwrap(),
        }
    }
}

/// An uncompressed APNG of `frames` frames on 24x16, sub-rectangles with
/// offsets, every disposal and blend.
fn apng(frames: u32) -> Vec<u8> {
    use png::{BlendOp, DisposeOp};
    let (w, h) = (24u32, 16u32);
    let mut out = Vec::new();
    let mut e = png::Encoder::new(&mut out, w, h);
    e.set_color(png::ColorType::Rgba);
    e.set_depth(png::BitDepth::Eight);
    e.set_compression(png::Compression::NoCompression);
    e.set_animated(frames, 0).unwrap();
    let mut writer = e.write_header().unwrap();
    for i in 0..frames {
        let (fw, fh, x, y) = if i == 0 {
            (w, h, 0, 0)
        } else {
            (8 + i % 9, 5 + i % 6, i % 11, i % 7)
        };
        writer.set_frame_position(0, 0).unwrap();
        writer.set_frame_dimension(fw, fh).unwrap();
        writer.set_frame_position(x, y).unwrap();
        writer.set_frame_delay(1 + i as u16, 25).unwrap();
        let dispose = [DisposeOp::None, DisposeOp::Background, DisposeOp::Previous];
        writer.set_dispose_op(dispose[i as usize % 3]).unwrap();
        writer
            .set_blend_op([BlendOp::Source, BlendOp::Over][i as usize % 2])
            .unwrap();
        let data: Vec<u8> = (0..fw * fh)
            .flat_map(|p| {
                let (px, py) = (p % fw, p / fw);
                let a = if (px + py + i).is_multiple_of(4) {
                    0
                } else {
                    255
                };
                [(px * 9 + i * 20) as u8, (py * 14) as u8, (i * 31) as u8, a]
            })
            .collect();
        writer.write_image_data(&data).unwrap();
    }
    writer.finish().unwrap();
    out
}

/// Every composited frame of an APNG, with its delay.
fn apng_frames(bytes: &[u8]) -> Vec<(RgbaImage, image::Delay)> {
    PngDecoder::new(Cursor::new(bytes))
        .unwrap()
        .apng()
        .unwrap()
        .into_frames()
        .map(|f| {
            let f = f.unwrap();
            let delay = f.delay();
            (f.into_buffer(), delay)
        })
        .collect()
}

#[test]
fn apng_page_image_stays_animated_through_build() {
    let site = Site::new();
    page_with_image(&site, "anim.png");
    let source = apng(9);
    site.asset_bytes("anim.png", &source);
    let loaded = decode::load(&site.images().join("anim.png"), &Limits::default()).unwrap();
    assert_eq!(loaded.info.frames, 9);

    let out = site.run(&["build", "--quiet"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let written = std::fs::read(site.out().join("anim.png")).unwrap();
    assert!(written.len() < source.len(), "not optimized");
    let (a, b) = (apng_frames(&source), apng_frames(&written));
    assert_eq!(a.len(), 9);
    assert_eq!(b.len(), 9);
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x, y, "frame {i}");
    }
    // The optimized file itself passes assetmill's own validation.
    let reread = decode::load(&site.out().join("anim.png"), &Limits::default()).unwrap();
    assert_eq!(reread.info.frames, 9);
}

/// The chunk `name` (last one if `last`), as (start of length field, data
/// range).
fn chunk(png: &[u8], name: &[u8; 4], last: bool) -> (usize, std::ops::Range<usize>) {
    let mut pos = 8;
    let mut found = None;
    while pos + 8 <= png.len() {
        let len = u32::from_be_bytes(png[pos..pos + 4].try_into().unwrap()) as usize;
        if &png[pos + 4..pos + 8] == name {
            found = Some((pos, pos + 8..pos + 8 + len));
            if !last {
                break;
            }
        }
        pos += 12 + len;
    }
    found.unwrap()
}

/// Replaces a chunk's data, fixing its length and CRC.
fn replace_chunk_data(png: &[u8], at: usize, data: std::ops::Range<usize>, new: &[u8]) -> Vec<u8> {
    let mut out = png[..at].to_vec();
    out.extend_from_slice(&(new.len() as u32).to_be_bytes());
    let name = &png[at + 4..at + 8];
    out.extend_from_slice(name);
    out.extend_from_slice(new);
    let mut crc = crc32fast::Hasher::new();
    crc.update(name);
    crc.update(new);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
    out.extend_from_slice(&png[data.end + 4..]);
    out
}

#[test]
fn apng_with_a_corrupt_late_frame_is_refused() {
    let site = Site::new();
    page_with_image(&site, "anim.png");
    let source = apng(5);
    let (at, data) = chunk(&source, b"fdAT", true);
    // Keep the sequence number, replace the zlib stream with junk.
    let mut junk = source[data.start..data.start + 4].to_vec();
    junk.extend_from_slice(&[0xFF; 40]);
    let broken = replace_chunk_data(&source, at, data, &junk);
    // The still decoder sees only the first frame and is happy.
    assert!(image::load_from_memory(&broken).is_ok());
    site.asset_bytes("anim.png", &broken);
    let (code, stdout) = check(&site);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("content/p.md:3: error: page image anim.png: cannot decode PNG: frame 5"),
        "{stdout}"
    );
}

#[test]
fn apng_frame_counts_are_judged_from_the_header() {
    let site = Site::new();
    page_with_image(&site, "anim.png");
    site.asset_bytes("anim.png", &apng(40));
    config(&site, "limits:\n  max_frames: 30\n");
    let (code, stdout) = check(&site);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains(
            "page image anim.png: APNG has 40 frames, over the limit of 30 frames (limits.max_frames)"
        ),
        "{stdout}"
    );

    // An acTL claiming two billion frames over two fcTL chunks.
    let source = apng(2);
    let (at, data) = chunk(&source, b"acTL", false);
    let mut actl = 2_000_000_000u32.to_be_bytes().to_vec();
    actl.extend_from_slice(&source[data.start + 4..data.end]);
    site.asset_bytes("anim.png", &replace_chunk_data(&source, at, data, &actl));
    let (code, stdout) = check(&site);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("APNG acTL declares 2000000000 frames but the file has 2 fcTL chunks"),
        "{stdout}"
    );
}

/// An animated WebP of `frames` lossless frames, each the same 7x5 image.
fn animated_webp(frames: usize) -> Vec<u8> {
    let still = RgbaImage::from_fn(7, 5, |x, y| {
        image::Rgba([x as u8 * 30, y as u8 * 50, 90, 255])
    });
    let mut encoded = Vec::new();
    DynamicImage::ImageRgba8(still)
        .write_to(&mut Cursor::new(&mut encoded), image::ImageFormat::WebP)
        .unwrap();
    assert_eq!(&encoded[12..16], b"VP8L");
    let len = u32::from_le_bytes(encoded[16..20].try_into().unwrap()) as usize;
    let vp8l = &encoded[12..20 + len + (len & 1)];
    let chunk = |name: &[u8], data: &[u8]| {
        let mut c = name.to_vec();
        c.extend_from_slice(&(data.len() as u32).to_le_bytes());
        c.extend_from_slice(data);
        if data.len() % 2 == 1 {
            c.push(0);
        }
        c
    };
    let u24 = |v: u32| v.to_le_bytes()[..3].to_vec();
    let mut body = b"WEBP".to_vec();
    body.extend(chunk(
        b"VP8X",
        &[[0x12, 0, 0, 0].to_vec(), u24(6), u24(4)].concat(),
    ));
    body.extend(chunk(b"ANIM", &[0, 0, 0, 0, 0, 0]));
    for _ in 0..frames {
        let header = [u24(0), u24(0), u24(6), u24(4), u24(100), vec![0]].concat();
        body.extend(chunk(b"ANMF", &[header, vp8l.to_vec()].concat()));
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend(body);
    out
}

#[test]
fn animated_webp_frames_are_counted_limited_and_decoded() {
    let site = Site::new();
    site.asset_bytes("anim.webp", &animated_webp(3));
    let path = site.images().join("anim.webp");
    let loaded = decode::load(&path, &Limits::default()).unwrap();
    assert_eq!(loaded.info.frames, 3);
    assert_eq!((loaded.info.width, loaded.info.height), (7, 5));

    let limits = Limits {
        max_frames: 2,
        ..Limits::default()
    };
    let err = decode::load(&path, &limits).unwrap_err();
    assert!(
        err.to_string()
            .contains("WebP has 3 frames, over the limit of 2 frames (limits.max_frames)"),
        "{err}"
    );

    // The last frame's lossless signature broken: the first frame
    // decodes, the animation does not.
    let mut broken = animated_webp(3);
    let last = broken.windows(4).rposition(|w| w == b"VP8L").unwrap();
    assert_eq!(broken[last + 8], 0x2F);
    broken[last + 8] = 0;
    std::fs::write(&path, &broken).unwrap();
    let err = decode::load(&path, &Limits::default()).unwrap_err();
    assert!(
        err.to_string().contains("cannot decode WebP: frame 3"),
        "{err}"
    );
}

#[test]
fn every_seed_in_the_fuzz_corpus_decodes_or_is_refused_cleanly() {
    // The fuzz corpus holds hostile inputs; the real loader must return
    // (Ok or a clear error naming the file) for each, quickly.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/decode");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let bytes = std::fs::read(entry.path()).unwrap();
        let format = image::guess_format(&bytes).unwrap_or(image::ImageFormat::Png);
        let name = Path::new("x").with_extension(format.extensions_str()[0]);
        let started = Instant::now();
        let file = entry.file_name().to_string_lossy().into_owned();
        match decode::from_bytes(&name, format, bytes, &Limits::default()) {
            // Seeds are valid images; the animated ones have 3 frames.
            Ok(loaded) if file.starts_with("seed-anim") || file.starts_with("seed-apng") => {
                assert_eq!(loaded.info.frames, 3, "{file}");
            }
            Ok(_) => {}
            Err(e) => {
                assert!(!file.starts_with("seed"), "{file}: {e}");
                assert_eq!(e.path(), name);
                assert!(!e.detail().is_empty());
            }
        }
        assert!(started.elapsed() < HANG_GUARD, "{}", entry.path().display());
        seen += 1;
    }
    assert!(seen >= 2);
}
