//! Stage: resize. Pure fit maths plus a SIMD Lanczos3 resizer
//! (`fast_image_resize`, called through the `assetmill-resize` crate in
//! `crates/resize`, which compiles its kernels once), working on
//! premultiplied alpha so transparent edges get no dark fringes. The
//! source is borrowed, not copied: the resizer already makes one
//! premultiplied copy of it, and a full-size frame is the largest buffer
//! the pipeline holds.

use image::RgbaImage;

/// The size of an image `width`x`height` scaled to `target` pixels wide,
/// keeping the aspect ratio and never upscaling. Heights round to the
/// nearest pixel and are at least 1.
pub fn fit_width(width: u32, height: u32, target: u32) -> (u32, u32) {
    if target >= width || width == 0 {
        return (width, height);
    }
    let h = (u64::from(height) * u64::from(target) + u64::from(width) / 2) / u64::from(width);
    (target, (h as u32).max(1))
}

/// Resizes to exactly `width`x`height` with Lanczos3 (premultiplied alpha).
/// Returns a copy when the size is unchanged.
pub fn resize(image: &RgbaImage, width: u32, height: u32) -> RgbaImage {
    if image.dimensions() == (width, height) {
        return image.clone();
    }
    let pixels = assetmill_resize::lanczos3_rgba8(
        image.as_raw(),
        image.width(),
        image.height(),
        width,
        height,
    );
    RgbaImage::from_raw(width, height, pixels).expect("buffer matches its dimensions")
}

/// Resizes to `target` pixels wide (see [`fit_width`]).
pub fn to_width(image: &RgbaImage, target: u32) -> RgbaImage {
    let (w, h) = fit_width(image.width(), image.height(), target);
    resize(image, w, h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    #[test]
    fn fit_keeps_aspect_and_never_upscales() {
        assert_eq!(fit_width(600, 600, 256), (256, 256));
        assert_eq!(fit_width(600, 400, 256), (256, 171));
        assert_eq!(fit_width(100, 50, 256), (100, 50));
        assert_eq!(fit_width(256, 10, 256), (256, 10));
        assert_eq!(fit_width(1000, 1, 10), (10, 1));
    }

    #[test]
    fn smooth_images_stay_close() {
        let src = RgbaImage::from_fn(200, 100, |x, y| Rgba([x as u8, y as u8 * 2, 128, 255]));
        let out = to_width(&src, 50);
        assert_eq!(out.dimensions(), (50, 25));
        let p = out.get_pixel(25, 12);
        assert!((i32::from(p[0]) - 102).abs() <= 3, "{p:?}");
        assert!((i32::from(p[1]) - 100).abs() <= 4, "{p:?}");
    }

    #[test]
    fn transparent_pixels_do_not_darken_edges() {
        // Left half transparent black, right half opaque white.
        let src = RgbaImage::from_fn(64, 8, |x, _| {
            if x < 32 {
                Rgba([0, 0, 0, 0])
            } else {
                Rgba([255, 255, 255, 255])
            }
        });
        let out = to_width(&src, 16);
        for x in 0..16 {
            let p = out.get_pixel(x, 1);
            if p[3] > 0 {
                assert!(p[0] >= 250, "dark fringe at x={x}: {p:?}");
            }
        }
        assert_eq!(out.get_pixel(0, 1)[3], 0);
        assert_eq!(out.get_pixel(15, 1)[3], 255);
    }
}
