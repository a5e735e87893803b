//! RGBA → 4:2:0 Y'CbCr, the one colour conversion every video uses.
//!
//! Sources are sRGB. Pixels are flattened on the background colour (neither
//! H.264 nor the template's `<video>` carries alpha), the last column and
//! row are cropped when odd (4:2:0 needs even dimensions; at most one pixel
//! is lost, nothing is rescaled), and converted with the BT.709 matrix into
//! limited range. [`COLOUR`] is what both bitstreams and both containers are
//! tagged with, so a browser converts back with the same matrix.
//! Integer arithmetic throughout: the same input gives the same planes on
//! every machine.

use image::RgbaImage;

/// Colour description code points (ITU-T H.273), shared by the AV1
/// sequence header, the H.264 VUI, the WebM `Colour` element and the MP4
/// `colr` box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colour {
    pub primaries: u8,
    pub transfer: u8,
    pub matrix: u8,
    pub full_range: bool,
}

/// BT.709 primaries (the same as sRGB's), the sRGB transfer curve the
/// source pixels are encoded with, the BT.709 matrix, limited range.
pub const COLOUR: Colour = Colour {
    primaries: 1,
    transfer: 13,
    matrix: 1,
    full_range: false,
};

/// The one among an encoder's `candidates` (its own enum's variants) whose
/// H.273 code point is `code`, so [`COLOUR`] and [`STILL_COLOUR`] stay the
/// one place the values are written; `encoder` names the crate lacking it.
pub fn by_code<T: Copy>(
    code: u8,
    candidates: impl IntoIterator<Item = T>,
    code_of: impl Fn(T) -> u8,
    encoder: &str,
) -> Result<T, String> {
    (candidates.into_iter())
        .find(|&c| code_of(c) == code)
        .ok_or_else(|| format!("{encoder} has no colour code point {code}"))
}

/// The still images' colour (AVIF variants): the same primaries, transfer
/// and matrix as [`COLOUR`], in full range and without chroma subsampling
/// ([`to_444`]): a still has no odd-size or playback constraints, and full
/// range keeps all 256 levels of each 8-bit channel.
pub const STILL_COLOUR: Colour = Colour {
    full_range: true,
    ..COLOUR
};

/// One frame of 8-bit 4:2:0 Y'CbCr with even dimensions; planes are tightly
/// packed (stride = width, and width / 2 for chroma).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    pub width: u32,
    pub height: u32,
    pub y: Vec<u8>,
    pub u: Vec<u8>,
    pub v: Vec<u8>,
}

/// The video size for frames of `width` x `height`: each rounded down to
/// even, or `None` when that leaves nothing.
pub fn video_size(width: u32, height: u32) -> Option<(u32, u32)> {
    let (w, h) = (width & !1, height & !1);
    (w > 0 && h > 0).then_some((w, h))
}

// BT.709: Kr = 0.2126, Kb = 0.0722, Kg = 0.7152, in 16.16 fixed point and
// scaled for limited range (219 luma steps, 224 chroma steps over 255).
const SHIFT: u32 = 16;
const HALF: i64 = 1 << (SHIFT - 1);
const fn fixed(x: f64) -> i64 {
    (x * (1u64 << SHIFT) as f64 + 0.5) as i64
}
const YR: i64 = fixed(0.2126 * 219.0 / 255.0);
const YG: i64 = fixed(0.7152 * 219.0 / 255.0);
const YB: i64 = fixed(0.0722 * 219.0 / 255.0);
// Cb = (B - Y) / 1.8556, Cr = (R - Y) / 1.5748, scaled to 224 steps.
const UR: i64 = fixed(-0.2126 / 1.8556 * 224.0 / 255.0);
const UG: i64 = fixed(-0.7152 / 1.8556 * 224.0 / 255.0);
const UB: i64 = fixed(0.5 * 224.0 / 255.0);
const VR: i64 = fixed(0.5 * 224.0 / 255.0);
const VG: i64 = fixed(-0.7152 / 1.5748 * 224.0 / 255.0);
const VB: i64 = fixed(-0.0722 / 1.5748 * 224.0 / 255.0);

/// Flattens `rgba` on `background`, crops to even and converts.
/// Returns `None` when the image is smaller than 2 x 2.
pub fn from_rgba(rgba: &RgbaImage, background: [u8; 3]) -> Option<Picture> {
    let (width, height) = video_size(rgba.width(), rgba.height())?;
    let (w, h) = (width as usize, height as usize);
    let stride = rgba.width() as usize * 4;
    let raw = rgba.as_raw();
    let flat = |x: usize, y: usize| over(&raw[y * stride + x * 4..][..4], background);
    let mut y_plane = vec![0u8; w * h];
    let mut u_plane = vec![0u8; w / 2 * (h / 2)];
    let mut v_plane = vec![0u8; w / 2 * (h / 2)];
    for by in 0..h / 2 {
        for bx in 0..w / 2 {
            let mut sum = [0i64; 3];
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let (x, y) = (bx * 2 + dx, by * 2 + dy);
                let [r, g, b] = flat(x, y);
                y_plane[y * w + x] = luma(r, g, b);
                for c in 0..3 {
                    sum[c] += [r, g, b][c];
                }
            }
            // The chroma of the block's mean colour (sum / 4, folded into
            // the rounding shift).
            let [r, g, b] = sum;
            let i = by * (w / 2) + bx;
            u_plane[i] = chroma(UR * r + UG * g + UB * b);
            v_plane[i] = chroma(VR * r + VG * g + VB * b);
        }
    }
    Some(Picture {
        width,
        height,
        y: y_plane,
        u: u_plane,
        v: v_plane,
    })
}

/// One RGBA pixel flattened on the background.
pub fn over(p: &[u8], background: [u8; 3]) -> [i64; 3] {
    let a = i64::from(p[3]);
    let mut out = [0; 3];
    for c in 0..3 {
        out[c] = (i64::from(p[c]) * a + i64::from(background[c]) * (255 - a) + 127) / 255;
    }
    out
}

/// What [`from_rgba`] encodes, before the colour conversion: `rgba`
/// flattened on `background` and cropped to the video size. The reference a
/// video's decoded frames are measured against.
pub fn flatten(rgba: &RgbaImage, background: [u8; 3]) -> Option<image::RgbImage> {
    let (width, height) = video_size(rgba.width(), rgba.height())?;
    let stride = rgba.width() as usize * 4;
    let mut raw = Vec::with_capacity(width as usize * height as usize * 3);
    for row in rgba.as_raw().chunks_exact(stride).take(height as usize) {
        for p in row.chunks_exact(4).take(width as usize) {
            if p[3] == 255 {
                raw.extend_from_slice(&p[..3]);
            } else {
                raw.extend(over(p, background).map(|c| c as u8));
            }
        }
    }
    image::RgbImage::from_raw(width, height, raw)
}

fn luma(r: i64, g: i64, b: i64) -> u8 {
    (16 + ((YR * r + YG * g + YB * b + HALF) >> SHIFT)).clamp(0, 255) as u8
}

/// `sum4` is the fixed-point chroma of four pixels added together.
fn chroma(sum4: i64) -> u8 {
    (128 + ((sum4 + (HALF << 2)) >> (SHIFT + 2))).clamp(0, 255) as u8
}

// The same matrix in full range (255 steps for luma and chroma), for
// [`to_444`].
const FYR: i64 = fixed(0.2126);
const FYG: i64 = fixed(0.7152);
const FYB: i64 = fixed(0.0722);
const FUR: i64 = fixed(-0.2126 / 1.8556);
const FUG: i64 = fixed(-0.7152 / 1.8556);
const FUB: i64 = fixed(0.5);
const FVR: i64 = fixed(0.5);
const FVG: i64 = fixed(-0.7152 / 1.5748);
const FVB: i64 = fixed(-0.0722 / 1.5748);

/// `rgba`'s colour (alpha ignored) as three full planes of full-range
/// BT.709 Y'CbCr ([`STILL_COLOUR`]), tightly packed.
pub fn to_444(rgba: &RgbaImage) -> [Vec<u8>; 3] {
    let n = rgba.width() as usize * rgba.height() as usize;
    let mut planes = [
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    ];
    let code = |sum: i64, offset: i64| (offset + ((sum + HALF) >> SHIFT)).clamp(0, 255) as u8;
    for p in rgba.pixels() {
        let [r, g, b] = [p[0], p[1], p[2]].map(i64::from);
        planes[0].push(code(FYR * r + FYG * g + FYB * b, 0));
        planes[1].push(code(FUR * r + FUG * g + FUB * b, 128));
        planes[2].push(code(FVR * r + FVG * g + FVB * b, 128));
    }
    planes
}

/// The inverse of [`to_444`]: full-range BT.709 planes of `width` x
/// `height` back to sRGB, as a decoder shows them.
pub fn from_444(planes: [&[u8]; 3], width: u32, height: u32) -> image::RgbImage {
    let chroma = |k: f64| -> [f64; 256] { std::array::from_fn(|c| k * (c as f64 - 128.0)) };
    let (r_of_cr, b_of_cb) = (chroma(1.5748), chroma(1.8556));
    let raw = (planes[0].iter().zip(planes[1]).zip(planes[2]))
        .flat_map(|((&y, &u), &v)| {
            let yy = f64::from(y);
            let r = yy + r_of_cr[usize::from(v)];
            let b = yy + b_of_cb[usize::from(u)];
            let g = (yy - 0.2126 * r - 0.0722 * b) / 0.7152;
            [r, g, b].map(|c| c.round().clamp(0.0, 255.0) as u8)
        })
        .collect();
    image::RgbImage::from_raw(width, height, raw).expect("w x h x 3 bytes")
}

/// The inverse conversion (limited-range BT.709 → sRGB), for tests and
/// quality measurement: upsamples chroma by repetition. The per-code-value
/// terms come from tables (the same f64 expressions, computed once).
pub fn to_rgb(picture: &Picture) -> image::RgbImage {
    let (w, h) = (picture.width as usize, picture.height as usize);
    let luma: [f64; 256] = std::array::from_fn(|c| (c as f64 - 16.0) * 255.0 / 219.0);
    let chroma = |k: f64| -> [f64; 256] {
        std::array::from_fn(|c| k * ((c as f64 - 128.0) * 255.0 / 224.0))
    };
    let (r_of_cr, b_of_cb) = (chroma(1.5748), chroma(1.8556));
    let mut raw = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        let row = &picture.y[y * w..][..w];
        let i = (y / 2) * (w / 2);
        let (us, vs) = (&picture.u[i..][..w / 2], &picture.v[i..][..w / 2]);
        for (x, &code) in row.iter().enumerate() {
            let yy = luma[usize::from(code)];
            let r = yy + r_of_cr[usize::from(vs[x / 2])];
            let b = yy + b_of_cb[usize::from(us[x / 2])];
            let g = (yy - 0.2126 * r - 0.0722 * b) / 0.7152;
            raw.extend([r, g, b].map(|c| c.round().clamp(0.0, 255.0) as u8));
        }
    }
    image::RgbImage::from_raw(picture.width, picture.height, raw).expect("w x h x 3 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    fn solid(w: u32, h: u32, px: [u8; 4]) -> RgbaImage {
        RgbaImage::from_pixel(w, h, Rgba(px))
    }

    #[test]
    fn reference_colours_hit_the_bt709_limited_code_values() {
        // Values from BT.709 limited range: white, black and the primaries.
        for (rgb, yuv) in [
            ([255, 255, 255], [235, 128, 128]),
            ([0, 0, 0], [16, 128, 128]),
            ([255, 0, 0], [63, 102, 240]),
            ([0, 255, 0], [173, 42, 26]),
            ([0, 0, 255], [32, 240, 118]),
        ] {
            let p = from_rgba(&solid(2, 2, [rgb[0], rgb[1], rgb[2], 255]), [0; 3]).unwrap();
            assert_eq!([p.y[0], p.u[0], p.v[0]], yuv, "{rgb:?}");
        }
    }

    #[test]
    fn odd_sizes_are_cropped_and_alpha_flattened_on_the_background() {
        let mut image = solid(5, 3, [0, 0, 0, 0]);
        image.put_pixel(4, 2, Rgba([0, 0, 0, 255])); // cropped away
        let p = from_rgba(&image, [255, 255, 255]).unwrap();
        assert_eq!((p.width, p.height), (4, 2));
        assert_eq!((p.y.len(), p.u.len(), p.v.len()), (8, 2, 2));
        assert!(
            p.y.iter().all(|&y| y == 235),
            "transparent on white is white"
        );
        assert!(from_rgba(&solid(1, 9, [0; 4]), [0; 3]).is_none());
    }

    #[test]
    fn flatten_is_what_the_planes_encode() {
        let image = RgbaImage::from_fn(5, 4, |x, y| {
            Rgba([x as u8 * 50, y as u8 * 60, 9, 40 * x as u8])
        });
        let flat = flatten(&image, [255, 0, 128]).unwrap();
        assert_eq!(flat.dimensions(), (4, 4));
        // Opaque after flattening: converting the flat image gives the
        // same planes.
        let opaque = image::DynamicImage::ImageRgb8(flat).to_rgba8();
        assert_eq!(from_rgba(&opaque, [0; 3]), from_rgba(&image, [255, 0, 128]));
    }

    #[test]
    fn to_rgb_tables_give_the_formula_s_values() {
        let formula = |y: u8, u: u8, v: u8| {
            let yy = (f64::from(y) - 16.0) * 255.0 / 219.0;
            let cb = (f64::from(u) - 128.0) * 255.0 / 224.0;
            let cr = (f64::from(v) - 128.0) * 255.0 / 224.0;
            let r = yy + 1.5748 * cr;
            let b = yy + 1.8556 * cb;
            let g = (yy - 0.2126 * r - 0.0722 * b) / 0.7152;
            [r, g, b].map(|c| c.round().clamp(0.0, 255.0) as u8)
        };
        for u in (0..=255u8).step_by(5) {
            for v in (0..=255u8).step_by(3) {
                let picture = Picture {
                    width: 256,
                    height: 2,
                    y: (0..=255u8).chain(0..=255u8).collect(),
                    u: vec![u; 128],
                    v: vec![v; 128],
                };
                let rgb = to_rgb(&picture);
                for y in 0..=255u8 {
                    assert_eq!(rgb.get_pixel(u32::from(y), 1).0, formula(y, u, v));
                }
            }
        }
    }

    #[test]
    fn full_range_444_hits_the_code_values_and_round_trips() {
        // Full-range BT.709: white, black and the primaries.
        for (rgb, yuv) in [
            ([255, 255, 255], [255, 128, 128]),
            ([0, 0, 0], [0, 128, 128]),
            ([255, 0, 0], [54, 99, 255]),
            ([0, 255, 0], [182, 30, 12]),
            ([0, 0, 255], [18, 255, 116]),
        ] {
            let planes = to_444(&solid(1, 1, [rgb[0], rgb[1], rgb[2], 9]));
            assert_eq!([planes[0][0], planes[1][0], planes[2][0]], yuv, "{rgb:?}");
        }
        let image = RgbaImage::from_fn(37, 11, |x, y| {
            Rgba([(x * 7) as u8, (y * 23) as u8, ((x * y) % 256) as u8, 255])
        });
        let planes = to_444(&image);
        let back = from_444([&planes[0], &planes[1], &planes[2]], 37, 11);
        for (a, b) in image.pixels().zip(back.pixels()) {
            for c in 0..3 {
                assert!(a[c].abs_diff(b[c]) <= 1, "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn conversion_round_trips_within_rounding() {
        let mut image = RgbaImage::new(16, 16);
        for (x, y, p) in image.enumerate_pixels_mut() {
            // Flat 2x2 blocks, so chroma subsampling loses nothing.
            let (bx, by) = (x / 2, y / 2);
            *p = Rgba([
                (bx * 36) as u8,
                (by * 36) as u8,
                ((bx + by) * 18) as u8,
                255,
            ]);
        }
        let back = to_rgb(&from_rgba(&image, [0; 3]).unwrap());
        for (a, b) in image.pixels().zip(back.pixels()) {
            for c in 0..3 {
                assert!(a[c].abs_diff(b[c]) <= 2, "{a:?} vs {b:?}");
            }
        }
    }
}
