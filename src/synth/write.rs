//! Encoding synthetic images in the format their name asks for, written
//! through the output folder's checks.

use crate::error::{Error, Result};
use crate::outputs::output::OutDir;
use crate::stages::decode::format_for_extension;
use image::codecs::gif::{GifEncoder, Repeat};
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{Delay, DynamicImage, Frame, ImageFormat, RgbaImage};

/// Writes `image` (or, for a `.gif` name with `animation` given, those
/// frames) at `rel` in `out`, returning the bytes written. Opaque renders
/// are stored without an alpha channel, as real atlas frames are.
pub(super) fn write_image(
    out: &OutDir,
    rel: &str,
    image: &RgbaImage,
    alpha: bool,
    animation: Option<&[RgbaImage]>,
) -> Result<u64> {
    let path = out.path(rel)?;
    let format = format_for_extension(&path).ok_or_else(|| Error::Encode {
        path: path.clone(),
        message: "cannot render this file type".into(),
    })?;
    let encode_err = |e: image::ImageError| Error::Encode {
        path: path.clone(),
        message: e.to_string(),
    };
    let dynamic = if alpha && format != ImageFormat::Jpeg {
        DynamicImage::ImageRgba8(image.clone())
    } else {
        DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(image.clone()).to_rgb8())
    };
    let mut bytes = Vec::new();
    match format {
        ImageFormat::Png => {
            let encoder = PngEncoder::new_with_quality(
                &mut bytes,
                CompressionType::Best,
                FilterType::Adaptive,
            );
            dynamic.write_with_encoder(encoder).map_err(encode_err)?;
        }
        ImageFormat::Gif => {
            let frames = animation.unwrap_or(std::slice::from_ref(image));
            let mut encoder = GifEncoder::new_with_speed(&mut bytes, 10);
            encoder.set_repeat(Repeat::Infinite).map_err(encode_err)?;
            let delay = Delay::from_numer_denom_ms(100, 1);
            for frame in frames {
                encoder
                    .encode_frame(Frame::from_parts(frame.clone(), 0, 0, delay))
                    .map_err(encode_err)?;
            }
        }
        other => dynamic
            .write_to(&mut std::io::Cursor::new(&mut bytes), other)
            .map_err(encode_err)?,
    }
    // Through the output folder: a temp file and a rename, never through a
    // linked folder that leads out of it.
    out.write(rel, &bytes)?;
    Ok(bytes.len() as u64)
}
