//! Animated PNG (APNG) and animated WebP: frame counts read from the chunk
//! structure before any pixel is decoded, then every frame decoded once.
//!
//! The still decoders only look at the first image, so an APNG or animated
//! WebP with a corrupt tenth frame used to pass `check` and break later in a
//! browser. Counting is a walk over chunk headers (lengths only), linear in
//! the file size, so a header claiming two billion frames is refused before
//! the first frame is inflated.

use std::io::Cursor;

/// What a PNG's chunks say about animation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PngLayout {
    /// `acTL`'s frame count, if an `acTL` precedes the image data (which
    /// is what makes a PNG animated).
    pub num_frames: Option<u32>,
    /// `fcTL` chunks in the file.
    pub fctl: u64,
    /// Sum of the `fcTL` rectangles' areas.
    pub frame_pixels: u64,
}

/// Walks a PNG's chunk headers up to `IEND`.
pub fn png_layout(bytes: &[u8]) -> Result<PngLayout, String> {
    let mut layout = PngLayout::default();
    let mut seen_idat = false;
    let mut pos = 8usize;
    while let Some(header) = bytes.get(pos..pos + 8) {
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let name = &header[4..8];
        let data = bytes
            .get(pos + 8..(pos + 8).saturating_add(len))
            .ok_or_else(|| {
                format!(
                    "chunk {} at byte {pos} runs past the end of the file",
                    String::from_utf8_lossy(name)
                )
            })?;
        match name {
            b"IEND" => break,
            b"IDAT" => seen_idat = true,
            b"acTL" if !seen_idat && data.len() >= 8 => {
                layout.num_frames = Some(u32::from_be_bytes([data[0], data[1], data[2], data[3]]));
            }
            b"fcTL" if data.len() >= 12 => {
                let w = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
                let h = u32::from_be_bytes([data[8], data[9], data[10], data[11]]);
                layout.fctl += 1;
                layout.frame_pixels = layout
                    .frame_pixels
                    .saturating_add(u64::from(w) * u64::from(h));
            }
            _ => {}
        }
        pos = pos.saturating_add(12 + len);
    }
    Ok(layout)
}

/// Decodes every image of an APNG (the default image and each animation
/// frame's data) and reads to `IEND`, so any corrupt frame is an error.
/// `alloc` bounds the decoder's allocations. Returns the animation's frame
/// count.
pub fn decode_apng_frames(bytes: &[u8], alloc: usize) -> Result<u32, String> {
    let mut decoder =
        png::Decoder::new_with_limits(Cursor::new(bytes), png::Limits { bytes: alloc });
    decoder.set_transformations(png::Transformations::IDENTITY);
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let Some(control) = reader.info().animation_control else {
        return Ok(1);
    };
    // Without an fcTL before IDAT the default image is not a frame.
    let hidden_default = reader.info().frame_control.is_none();
    let images = u64::from(control.num_frames) + u64::from(hidden_default);
    let size = reader
        .output_buffer_size()
        .ok_or("frame buffer does not fit in memory")?;
    let mut buf = vec![0; size];
    for image in 0..images {
        reader.next_frame(&mut buf).map_err(|e| {
            if hidden_default && image == 0 {
                format!("default image: {e}")
            } else {
                format!("frame {}: {e}", image + 1 - u64::from(hidden_default))
            }
        })?;
    }
    reader.finish().map_err(|e| e.to_string())?;
    Ok(control.num_frames)
}

/// What a WebP's RIFF chunks say about animation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebpLayout {
    /// The `VP8X` animation flag is set.
    pub animated: bool,
    /// `ANMF` chunks within the RIFF size.
    pub frames: u64,
}

/// Walks a WebP's top-level chunk headers within the RIFF size, as
/// image-webp does.
pub fn webp_layout(bytes: &[u8]) -> WebpLayout {
    let mut layout = WebpLayout::default();
    let Some(riff) = bytes.get(4..8) else {
        return layout;
    };
    let riff = u32::from_le_bytes([riff[0], riff[1], riff[2], riff[3]]) as usize;
    let end = riff.saturating_add(8).min(bytes.len());
    let mut pos = 12usize;
    while pos + 8 <= end {
        let name = &bytes[pos..pos + 4];
        let size = u32::from_le_bytes([
            bytes[pos + 4],
            bytes[pos + 5],
            bytes[pos + 6],
            bytes[pos + 7],
        ]) as usize;
        if name == b"VP8X" && pos == 12 {
            layout.animated = bytes.get(pos + 8).is_some_and(|flags| flags & 0x02 != 0);
        } else if name == b"ANMF" {
            layout.frames += 1;
        }
        pos = pos.saturating_add(8).saturating_add(size + (size & 1));
    }
    layout
}

/// Decodes every frame of an animated WebP. Returns the frame count.
pub fn decode_webp_frames(bytes: &[u8]) -> Result<u32, String> {
    use image::AnimationDecoder;
    let decoder =
        image::codecs::webp::WebPDecoder::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let mut count = 0u32;
    for frame in decoder.into_frames() {
        count += 1;
        frame.map_err(|e| format!("frame {count}: {e}"))?;
    }
    Ok(count)
}
