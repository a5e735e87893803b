//! GIF: counting frames from the block structure, then decoding every frame
//! with the `gif` crate and compositing it at the cost of its own rectangle.
//!
//! image's `GifDecoder::into_frames` builds a full-screen RGBA buffer for
//! every frame, so 5000 frames of 1x1 on a 4000x4000 screen cost 80 G pixel
//! writes. Here the block structure is walked first (sub-blocks are skipped
//! by length, no LZW decoding), so frame count and sizes are judged against
//! the limits before any pixel is decoded; then one canvas is kept, each
//! frame is drawn into its (clipped) rectangle and disposed of in that
//! rectangle only. Every frame is still LZW-decoded in full, which is what
//! catches corrupt data.

use image::RgbaImage;
use std::io::Cursor;

/// What the block structure says, without decoding pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The logical screen.
    pub width: u16,
    pub height: u16,
    /// Image descriptors, i.e. frames.
    pub frames: u64,
    /// Sum of the frames' rectangle areas: what LZW decoding will produce.
    pub frame_pixels: u64,
    /// Largest frame width, height and area (not necessarily of the same
    /// frame).
    pub widest: u16,
    pub tallest: u16,
    pub largest: u64,
}

/// Walks a GIF's blocks up to the trailer, reading them from `reader` (the
/// file's bytes, or the file itself: nothing is kept but one block).
/// Linear in the file size: data sub-blocks are skipped by their length
/// byte.
pub fn walk(reader: impl std::io::Read) -> Result<Layout, String> {
    let mut r = Bytes {
        reader,
        pos: 0,
        block: Vec::new(),
    };
    let signature = r.take(6, "header")?;
    if signature != b"GIF87a" && signature != b"GIF89a" {
        return Err("not a GIF87a or GIF89a header".to_owned());
    }
    let screen = r.take(7, "logical screen descriptor")?;
    let mut layout = Layout {
        width: u16::from_le_bytes([screen[0], screen[1]]),
        height: u16::from_le_bytes([screen[2], screen[3]]),
        frames: 0,
        frame_pixels: 0,
        widest: 0,
        tallest: 0,
        largest: 0,
    };
    if screen[4] & 0x80 != 0 {
        let table = 3 << ((screen[4] & 7) + 1);
        r.take(table, "global colour table")?;
    }
    loop {
        let at = r.pos;
        match r.take(1, "block")?[0] {
            0x21 => {
                r.take(1, "extension label")?;
                r.skip_sub_blocks("extension")?;
            }
            0x2C => {
                let d = r.take(9, "image descriptor")?;
                let width = u16::from_le_bytes([d[4], d[5]]);
                let height = u16::from_le_bytes([d[6], d[7]]);
                let local = d[8];
                if local & 0x80 != 0 {
                    r.take(3 << ((local & 7) + 1), "local colour table")?;
                }
                r.take(1, "LZW code size")?;
                r.skip_sub_blocks("image data")?;
                let area = u64::from(width) * u64::from(height);
                layout.frames += 1;
                layout.frame_pixels = layout.frame_pixels.saturating_add(area);
                layout.largest = layout.largest.max(area);
                layout.widest = layout.widest.max(width);
                layout.tallest = layout.tallest.max(height);
            }
            0x3B => return Ok(layout),
            other => return Err(format!("unknown block type 0x{other:02X} at byte {at}")),
        }
    }
}

/// A reader taken one block (at most 768 bytes) at a time.
struct Bytes<R> {
    reader: R,
    pos: u64,
    block: Vec<u8>,
}

impl<R: std::io::Read> Bytes<R> {
    fn take(&mut self, n: usize, what: &str) -> Result<&[u8], String> {
        self.block.resize(n, 0);
        self.reader.read_exact(&mut self.block).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                format!("file ends inside the {what} at byte {}", self.pos)
            } else {
                format!("cannot read the {what} at byte {}: {e}", self.pos)
            }
        })?;
        self.pos += n as u64;
        Ok(&self.block)
    }

    fn skip_sub_blocks(&mut self, what: &str) -> Result<(), String> {
        loop {
            let len = self.take(1, what)?[0];
            if len == 0 {
                return Ok(());
            }
            self.take(usize::from(len), what)?;
        }
    }
}

/// A frame's placement and disposal, as its descriptor gives them.
#[derive(Debug, Clone, Copy)]
struct Placement {
    left: u32,
    top: u32,
    width: u32,
    height: u32,
    dispose: gif::DisposalMethod,
}

/// One screen-sized canvas onto which frames are drawn and disposed of,
/// each touching only its own rectangle (clipped to the screen).
struct Canvas {
    image: RgbaImage,
    /// The canvas under the current frame's rectangle, kept only when the
    /// frame is to be disposed of by restoring the previous state.
    saved: Vec<u8>,
}

impl Canvas {
    fn new(width: u32, height: u32) -> Self {
        Canvas {
            image: RgbaImage::new(width, height),
            saved: Vec::new(),
        }
    }

    /// The part of `p` inside the screen: x and y ranges, both empty when
    /// the frame lies wholly outside (so `x - p.left` never underflows).
    fn clip(&self, p: &Placement) -> (std::ops::Range<u32>, std::ops::Range<u32>) {
        let (w, h) = self.image.dimensions();
        let x1 = (p.left + p.width).min(w);
        let y1 = (p.top + p.height).min(h);
        if p.left >= x1 || p.top >= y1 {
            return (0..0, 0..0);
        }
        (p.left..x1, p.top..y1)
    }

    fn row_range(&self, y: u32, xs: &std::ops::Range<u32>) -> std::ops::Range<usize> {
        let w = self.image.width() as usize;
        let start = (y as usize * w + xs.start as usize) * 4;
        start..start + xs.len() * 4
    }

    /// Draws a frame's RGBA pixels (`p.width` x `p.height`): opaque pixels
    /// replace the canvas, transparent ones let it show through.
    fn draw(&mut self, p: &Placement, pixels: &[u8]) {
        let (xs, ys) = self.clip(p);
        self.saved.clear();
        if p.dispose == gif::DisposalMethod::Previous {
            for y in ys.clone() {
                let range = self.row_range(y, &xs);
                self.saved.extend_from_slice(&self.image.as_raw()[range]);
            }
        }
        let stride = p.width as usize * 4;
        for y in ys {
            let range = self.row_range(y, &xs);
            let from = (y - p.top) as usize * stride + (xs.start - p.left) as usize * 4;
            let src = &pixels[from..from + range.len()];
            let dst = &mut self.image.as_mut()[range];
            for (d, s) in dst.chunks_exact_mut(4).zip(src.chunks_exact(4)) {
                if s[3] != 0 {
                    d.copy_from_slice(s);
                }
            }
        }
    }

    /// Applies the frame's disposal, after it has been shown.
    fn dispose(&mut self, p: &Placement) {
        let (xs, ys) = self.clip(p);
        match p.dispose {
            gif::DisposalMethod::Background => {
                for y in ys {
                    let range = self.row_range(y, &xs);
                    self.image.as_mut()[range].fill(0);
                }
            }
            gif::DisposalMethod::Previous => {
                let mut from = 0;
                for y in ys {
                    let range = self.row_range(y, &xs);
                    let len = range.len();
                    self.image.as_mut()[range].copy_from_slice(&self.saved[from..from + len]);
                    from += len;
                }
            }
            gif::DisposalMethod::Keep | gif::DisposalMethod::Any => {}
        }
    }
}

/// Decodes every frame of a GIF whose [`walk`] has been judged against the
/// limits, calling `shown` with the composited screen after each frame and
/// that frame's delay in centiseconds, as stored.
/// `max_frames` bounds the frames decoded even if the decoder were to see
/// more than the walk did. Returns the number of frames.
pub fn composite(
    bytes: &[u8],
    layout: &Layout,
    max_frames: u64,
    mut shown: impl FnMut(&RgbaImage, u16),
) -> Result<u64, String> {
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    let mut decoder = options
        .read_info(Cursor::new(bytes))
        .map_err(|e| e.to_string())?;
    let mut canvas = Canvas::new(u32::from(layout.width), u32::from(layout.height));
    let mut pixels = Vec::new();
    let mut count = 0u64;
    while let Some(frame) = decoder
        .next_frame_info()
        .map_err(|e| format!("frame {}: {e}", count + 1))?
    {
        count += 1;
        if count > max_frames {
            return Err(format!("more than {max_frames} frames"));
        }
        let placement = Placement {
            left: u32::from(frame.left),
            top: u32::from(frame.top),
            width: u32::from(frame.width),
            height: u32::from(frame.height),
            dispose: frame.dispose,
        };
        let delay = frame.delay;
        pixels.resize(decoder.buffer_size(), 0);
        decoder
            .read_into_buffer(&mut pixels)
            .map_err(|e| format!("frame {count}: {e}"))?;
        canvas.draw(&placement, &pixels);
        shown(&canvas.image, delay);
        canvas.dispose(&placement);
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gif::{DisposalMethod, Encoder, Frame, Repeat};
    use image::AnimationDecoder;
    use image::codecs::gif::GifDecoder;

    /// A frame of `w`x`h` at (`left`, `top`) whose pixels are palette
    /// indices from `f`; index 3 is transparent.
    fn frame(
        left: u16,
        top: u16,
        w: u16,
        h: u16,
        dispose: DisposalMethod,
        f: impl Fn(u16, u16) -> u8,
    ) -> Frame<'static> {
        let buffer: Vec<u8> = (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .map(|(x, y)| f(x, y))
            .collect();
        Frame {
            left,
            top,
            width: w,
            height: h,
            dispose,
            transparent: Some(3),
            delay: 5,
            buffer: buffer.into(),
            ..Frame::default()
        }
    }

    fn gif_bytes(width: u16, height: u16, frames: &[Frame<'_>]) -> Vec<u8> {
        let palette = [255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9];
        let mut out = Vec::new();
        {
            let mut e = Encoder::new(&mut out, width, height, &palette).unwrap();
            e.set_repeat(Repeat::Infinite).unwrap();
            for f in frames {
                e.write_frame(f).unwrap();
            }
        }
        out
    }

    /// Offsets, clipping and all three disposals: every composited screen
    /// must equal what image's own (full-screen) decoder produces.
    #[test]
    fn every_composited_frame_matches_image() {
        let frames = [
            frame(0, 0, 12, 10, DisposalMethod::Keep, |x, y| {
                ((x + y) % 3) as u8
            }),
            frame(3, 2, 5, 4, DisposalMethod::Previous, |x, y| {
                ((x + 2 * y + 1) % 3) as u8
            }),
            frame(1, 1, 6, 6, DisposalMethod::Background, |x, y| {
                ((x * y) % 4) as u8
            }),
            // Partly off the screen: must be clipped, not panic.
            frame(9, 7, 8, 8, DisposalMethod::Keep, |x, y| ((x ^ y) % 4) as u8),
            frame(2, 0, 4, 3, DisposalMethod::Previous, |_, y| {
                (y % 2) as u8 * 3
            }),
            frame(0, 0, 12, 10, DisposalMethod::Any, |x, _| (x % 4) as u8),
        ];
        let bytes = gif_bytes(12, 10, &frames);
        let layout = walk(&bytes[..]).unwrap();
        assert_eq!(layout.frames, 6);
        assert_eq!((layout.width, layout.height), (12, 10));
        let mut ours = Vec::new();
        let n = composite(&bytes, &layout, 100, |c, _| ours.push(c.clone())).unwrap();
        assert_eq!(n, 6);
        let theirs: Vec<RgbaImage> = GifDecoder::new(Cursor::new(&bytes))
            .unwrap()
            .into_frames()
            .map(|f| f.unwrap().into_buffer())
            .collect();
        assert_eq!(theirs.len(), ours.len());
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert_eq!(a, b, "frame {i}");
        }
        // The disposals did something: frame 1 changed (7, 2) and was
        // restored after; frame 2's rectangle was cleared after it.
        assert_ne!(ours[1].get_pixel(7, 2), ours[0].get_pixel(7, 2));
        assert_eq!(ours[2].get_pixel(7, 2), ours[0].get_pixel(7, 2));
        assert_ne!(ours[2].get_pixel(1, 1).0, [0, 0, 0, 0]);
        assert_eq!(ours[3].get_pixel(1, 1).0, [0, 0, 0, 0]);
    }

    #[test]
    fn frames_partly_or_wholly_off_screen_are_clipped() {
        let frames = [
            frame(0, 0, 4, 4, DisposalMethod::Keep, |_, _| 1),
            frame(60000, 60000, 3, 3, DisposalMethod::Previous, |_, _| 0),
            // Beyond one edge only: rows in range, columns not.
            frame(100, 0, 3, 3, DisposalMethod::Previous, |_, _| 0),
            frame(0, 100, 3, 3, DisposalMethod::Background, |_, _| 0),
            frame(2, 2, 40, 40, DisposalMethod::Background, |_, _| 2),
        ];
        let bytes = gif_bytes(4, 4, &frames);
        let layout = walk(&bytes[..]).unwrap();
        assert_eq!((layout.widest, layout.tallest), (40, 40));
        let mut last = None;
        let n = composite(&bytes, &layout, 100, |c, _| last = Some(c.clone())).unwrap();
        assert_eq!(n, 5);
        let last = last.unwrap();
        assert_eq!(last.get_pixel(0, 0).0, [0, 255, 0, 255]);
        assert_eq!(last.get_pixel(3, 3).0, [0, 0, 255, 255]);
    }

    #[test]
    fn walk_reports_truncation_and_junk() {
        let bytes = gif_bytes(4, 4, &[frame(0, 0, 4, 4, DisposalMethod::Keep, |_, _| 1)]);
        let cut = walk(&bytes[..bytes.len() - 3]).unwrap_err();
        assert!(cut.contains("file ends inside"), "{cut}");
        let mut junk = bytes.clone();
        let trailer = junk.len() - 1;
        junk[trailer] = 0x99;
        junk.push(0x3B);
        let err = walk(&junk[..]).unwrap_err();
        assert!(err.contains("unknown block type 0x99"), "{err}");
    }

    #[test]
    fn frame_limit_stops_decoding() {
        let frames: Vec<_> = (0..5)
            .map(|_| frame(0, 0, 2, 2, DisposalMethod::Keep, |_, _| 1))
            .collect();
        let bytes = gif_bytes(2, 2, &frames);
        let layout = walk(&bytes[..]).unwrap();
        let err = composite(&bytes, &layout, 3, |_, _| {}).unwrap_err();
        assert!(err.contains("more than 3 frames"), "{err}");
    }
}
