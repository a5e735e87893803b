//! Lossy WebP by libwebp (the reference encoder, built from its bundled C
//! source by `libwebp-sys`), alpha kept losslessly; and libwebp's decoder,
//! for measuring what a browser shows.

use image::RgbaImage;

/// libwebp's version, part of every WebP variant's cache key (a test
/// checks it against `Cargo.lock`'s `libwebp-sys`).
pub const ENCODER: (&str, &str) = ("libwebp-sys", "0.14.4");

/// libwebp's effort, 0 (fastest) to 6: `cwebp`'s default.
const METHOD: i32 = 4;

/// The largest side a WebP holds.
const WEBP_MAX_SIDE: u32 = 16383;

/// Encodes `image` as lossy WebP at `quality` with libwebp.
pub fn encode(image: &RgbaImage, quality: u8) -> Result<Vec<u8>, String> {
    use libwebp_sys as w;
    let (width, height) = image.dimensions();
    if width.max(height) > WEBP_MAX_SIDE || width == 0 || height == 0 {
        return Err(format!(
            "WebP holds 1 to {WEBP_MAX_SIDE} pixels a side, not {width}x{height}"
        ));
    }
    let mut config = w::WebPConfig::new().map_err(|()| "libwebp refused its default settings")?;
    config.quality = f32::from(quality);
    config.method = METHOD;
    config.alpha_quality = 100;
    // One thread: units already run in parallel, and the bytes must not
    // depend on scheduling.
    config.thread_level = 0;
    // SAFETY: `config` was initialised by libwebp and is only read.
    if unsafe { w::WebPValidateConfig(&config) } == 0 {
        return Err("libwebp refused the settings".into());
    }
    let mut picture = w::WebPPicture::new().map_err(|()| "libwebp refused a picture")?;
    picture.width = width as i32;
    picture.height = height as i32;
    // Owns what libwebp allocates, freed on every path out.
    struct Owned {
        picture: w::WebPPicture,
        writer: w::WebPMemoryWriter,
    }
    impl Drop for Owned {
        fn drop(&mut self) {
            // SAFETY: both were initialised by libwebp (below) and are
            // freed once, here.
            unsafe {
                w::WebPPictureFree(&mut self.picture);
                w::WebPMemoryWriterClear(&mut self.writer);
            }
        }
    }
    let mut writer = std::mem::MaybeUninit::<w::WebPMemoryWriter>::uninit();
    // SAFETY: WebPMemoryWriterInit fills in every field of the writer.
    let writer = unsafe {
        w::WebPMemoryWriterInit(writer.as_mut_ptr());
        writer.assume_init()
    };
    let mut owned = Box::new(Owned { picture, writer });
    // The writer lives in the box, so its address is stable while libwebp
    // writes through `custom_ptr`.
    owned.picture.writer = Some(w::WebPMemoryWrite);
    owned.picture.custom_ptr = (&raw mut owned.writer).cast();
    let stride = (width * 4) as i32;
    // SAFETY: the buffer holds `height` rows of `stride` bytes (an
    // RgbaImage of these dimensions); libwebp copies it into the picture.
    if unsafe { w::WebPPictureImportRGBA(&mut owned.picture, image.as_ptr(), stride) } == 0 {
        return Err("libwebp could not take the pixels (out of memory?)".into());
    }
    // SAFETY: config and picture are initialised; the picture writes into
    // `owned.writer` through the callback set above.
    if unsafe { w::WebPEncode(&config, &mut owned.picture) } == 0 {
        return Err(format!(
            "libwebp failed to encode ({:?})",
            owned.picture.error_code
        ));
    }
    if owned.writer.mem.is_null() {
        return Err("libwebp wrote nothing".into());
    }
    // SAFETY: libwebp wrote `size` bytes at `mem`, which stays allocated
    // until `owned` drops (after this copy).
    let bytes = unsafe { std::slice::from_raw_parts(owned.writer.mem, owned.writer.size) };
    Ok(bytes.to_vec())
}

/// Decodes a WebP with libwebp's decoder into RGBA.
pub fn decode(bytes: &[u8]) -> Result<RgbaImage, String> {
    use libwebp_sys as w;
    let (mut width, mut height) = (0i32, 0i32);
    // SAFETY: libwebp reads `bytes.len()` bytes and returns a buffer of
    // width * height * 4 bytes it allocated, or null on failure.
    let pixels = unsafe { w::WebPDecodeRGBA(bytes.as_ptr(), bytes.len(), &mut width, &mut height) };
    if pixels.is_null() {
        return Err("the WebP just written does not decode".into());
    }
    let len = width as usize * height as usize * 4;
    // SAFETY: the buffer holds `len` bytes (above); it is copied, then
    // freed once with libwebp's own free.
    let raw = unsafe {
        let raw = std::slice::from_raw_parts(pixels, len).to_vec();
        w::WebPFree(pixels.cast());
        raw
    };
    RgbaImage::from_raw(width as u32, height as u32, raw)
        .ok_or_else(|| "libwebp decoded a WebP of an impossible size".to_owned())
}
