//! Writing synthetic images in the format their name asks for.

use crate::decode::format_for_extension;
use crate::error::{Error, Result};
use image::codecs::gif::{GifEncoder, Repeat};
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{Delay, DynamicImage, Frame, ImageFormat, RgbaImage};
use std::io::{BufWriter, Write};
use std::path::Path;

pub(super) fn create_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(dir) => std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e)),
        None => Ok(()),
    }
}

/// Writes `image` (or, for a `.gif` name with `animation` given, those
/// frames) at `path`, returning the bytes written. Opaque renders are
/// stored without an alpha channel, as real atlas frames are.
pub(super) fn write_image(
    path: &Path,
    image: &RgbaImage,
    alpha: bool,
    animation: Option<&[RgbaImage]>,
) -> Result<u64> {
    create_parent(path)?;
    let format = format_for_extension(path).ok_or_else(|| Error::Encode {
        path: path.to_owned(),
        message: "cannot render this file type".into(),
    })?;
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut out = BufWriter::new(file);
    let encode_err = |e: image::ImageError| Error::Encode {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let dynamic = if alpha && format != ImageFormat::Jpeg {
        DynamicImage::ImageRgba8(image.clone())
    } else {
        DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(image.clone()).to_rgb8())
    };
    match format {
        ImageFormat::Png => {
            let encoder =
                PngEncoder::new_with_quality(&mut out, CompressionType::Best, FilterType::Adaptive);
            dynamic.write_with_encoder(encoder).map_err(encode_err)?;
        }
        ImageFormat::Gif => {
            let frames = animation.unwrap_or(std::slice::from_ref(image));
            let mut encoder = GifEncoder::new_with_speed(&mut out, 10);
            encoder.set_repeat(Repeat::Infinite).map_err(encode_err)?;
            let delay = Delay::from_numer_denom_ms(100, 1);
            for frame in frames {
                encoder
                    .encode_frame(Frame::from_parts(frame.clone(), 0, 0, delay))
                    .map_err(encode_err)?;
            }
        }
        other => dynamic.write_to(&mut out, other).map_err(encode_err)?,
    }
    out.flush().map_err(|e| Error::io(path, e))?;
    drop(out);
    let bytes = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    Ok(bytes)
}
