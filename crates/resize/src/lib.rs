//! Lanczos3 resizing of RGBA8 pixels with premultiplied alpha (SIMD, by
//! `fast_image_resize`), so that transparent edges get no dark fringes.
//!
//! assetmill's resize stage (`src/stages/resize.rs`) is the caller, and its
//! tests are this function's. This crate exists so that the resizer's
//! generic kernels are compiled once, here, instead of in every build of
//! assetmill's library and of its test harness (see Cargo.toml).

use fast_image_resize::images::{TypedImage, TypedImageRef};
use fast_image_resize::pixels::U8x4;
use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};

/// Resizes `pixels`, `width`x`height` RGBA8 rows without padding, to
/// `to_width`x`to_height` with Lanczos3 on premultiplied alpha, and returns
/// the new rows. The source is borrowed: the resizer makes its one
/// premultiplied copy.
///
/// # Panics
/// When `pixels` is not `width * height * 4` bytes, or a size is zero.
pub fn lanczos3_rgba8(
    pixels: &[u8],
    width: u32,
    height: u32,
    to_width: u32,
    to_height: u32,
) -> Vec<u8> {
    // Typed to RGBA8: the untyped `resize` dispatches on the pixel type at
    // run time, which compiles every pixel type's kernels; typed, only
    // RGBA8's are.
    let src = TypedImageRef::<U8x4>::from_buffer(width, height, pixels)
        .expect("the buffer holds width x height RGBA8 pixels");
    let mut out = vec![0u8; to_width as usize * to_height as usize * 4];
    let mut dst = TypedImage::<U8x4>::from_buffer(to_width, to_height, &mut out)
        .expect("the buffer holds to_width x to_height RGBA8 pixels");
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .use_alpha(true);
    Resizer::new()
        .resize_typed(&src, &mut dst, &options)
        .expect("same pixel type on both sides");
    out
}
