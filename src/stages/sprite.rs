//! Stage: sprite sheets. Every frame of an animation at thumbnail size in
//! one PNG grid, plus the rectangles a 360° viewer or CSS needs to show
//! frame `i`. The layout is pure geometry, kept apart from pixel work.

use image::RgbaImage;
use serde::{Deserialize, Serialize};

/// A frame's place in the sheet, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// Where each frame goes in a sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Layout {
    pub frame_width: u32,
    pub frame_height: u32,
    pub columns: u32,
    pub rows: u32,
    pub padding: u32,
    /// Size of the whole sheet.
    pub width: u32,
    pub height: u32,
    /// One rectangle per frame, in frame order (row-major).
    pub frames: Vec<Rect>,
}

/// Lays `count` frames of `fw`x`fh` out in a grid: `columns` wide (default
/// ceil(sqrt(count))), `padding` pixels between cells, no outer margin.
///
/// The maths is done in `u64` and checked, so a huge padding or cell size
/// is an error naming the sheet's size, never a wrapped or panicking
/// product: the sheet must fit `u32` a side (what image buffers and PNG
/// headers hold).
pub fn layout(
    count: u32,
    fw: u32,
    fh: u32,
    columns: Option<u32>,
    padding: u32,
) -> Result<Layout, String> {
    let count = count.max(1);
    let auto = (f64::from(count).sqrt().ceil() as u32).max(1);
    let columns = columns.unwrap_or(auto).clamp(1, count);
    let rows = count.div_ceil(columns);
    // Each side is cells x size + gaps x padding; all factors fit u32, so
    // every product fits u64 and only the u32 conversion can fail.
    let side = |cells: u32, size: u32| {
        u64::from(cells) * u64::from(size) + u64::from(cells - 1) * u64::from(padding)
    };
    let (width, height) = (side(columns, fw), side(rows, fh));
    let (Ok(w), Ok(h)) = (u32::try_from(width), u32::try_from(height)) else {
        return Err(format!(
            "the sprite sheet would be {width}x{height} pixels ({columns} columns x {rows} rows \
             of {fw}x{fh} with {padding} px padding), over the {} px a side an image can have",
            u32::MAX
        ));
    };
    // Cell origins are at most the sheet's size less a cell, so they fit
    // u32 once computed in u64 (a cell plus padding alone may not).
    let origin =
        |cell: u32, size: u32| (u64::from(cell) * (u64::from(size) + u64::from(padding))) as u32;
    let frames = (0..count)
        .map(|i| Rect {
            x: origin(i % columns, fw),
            y: origin(i / columns, fh),
            w: fw,
            h: fh,
        })
        .collect();
    Ok(Layout {
        frame_width: fw,
        frame_height: fh,
        columns,
        rows,
        padding,
        width: w,
        height: h,
        frames,
    })
}

impl Layout {
    /// Bytes of the sheet's RGBA buffer, or `None` when that overflows `u64`.
    pub fn sheet_bytes(&self) -> Option<u64> {
        rgba_bytes(self.width, self.height)
    }
}

/// Bytes of a `width`x`height` RGBA buffer, or `None` on overflow.
pub fn rgba_bytes(width: u32, height: u32) -> Option<u64> {
    u64::from(width)
        .checked_mul(u64::from(height))?
        .checked_mul(4)
}

/// A transparent sheet for `layout`, or an error when its buffer cannot be
/// addressed on this machine. Callers size it against the memory budget
/// first; this only guards the arithmetic.
pub fn blank_sheet(layout: &Layout) -> Result<RgbaImage, String> {
    let bytes = layout
        .sheet_bytes()
        .and_then(|b| usize::try_from(b).ok())
        .ok_or_else(|| {
            format!(
                "a {}x{} sprite sheet is too large to address",
                layout.width, layout.height
            )
        })?;
    Ok(
        RgbaImage::from_raw(layout.width, layout.height, vec![0; bytes])
            .expect("the buffer has the sheet's size"),
    )
}

/// Draws one frame into every cell `cells` names (a gallery may list the
/// same frame twice).
pub fn place(sheet: &mut RgbaImage, frame: &RgbaImage, layout: &Layout, cells: &[usize]) {
    for &i in cells {
        if let Some(rect) = layout.frames.get(i) {
            image::imageops::replace(sheet, frame, i64::from(rect.x), i64::from(rect.y));
        }
    }
}

/// Draws the frames into a transparent sheet following `layout`.
pub fn compose(frames: &[RgbaImage], layout: &Layout) -> Result<RgbaImage, String> {
    let mut sheet = blank_sheet(layout)?;
    for (i, frame) in frames.iter().enumerate() {
        place(&mut sheet, frame, layout, &[i]);
    }
    Ok(sheet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_frames_make_a_four_by_four_grid() {
        let l = layout(16, 256, 200, None, 0).unwrap();
        assert_eq!((l.columns, l.rows, l.width, l.height), (4, 4, 1024, 800));
        assert_eq!(
            l.frames[5],
            Rect {
                x: 256,
                y: 200,
                w: 256,
                h: 200
            }
        );
    }

    #[test]
    fn padding_and_explicit_columns() {
        let l = layout(5, 10, 10, Some(2), 3).unwrap();
        assert_eq!((l.columns, l.rows, l.width, l.height), (2, 3, 23, 36));
        assert_eq!(
            l.frames[4],
            Rect {
                x: 0,
                y: 26,
                w: 10,
                h: 10
            }
        );
        let wide = layout(3, 10, 10, Some(8), 0).unwrap();
        assert_eq!((wide.columns, wide.rows), (3, 1));
    }

    #[test]
    fn non_square_counts() {
        let l = layout(10, 4, 4, None, 0).unwrap();
        assert_eq!((l.columns, l.rows), (4, 3));
        assert_eq!(l.frames.len(), 10);
    }

    #[test]
    fn compose_places_each_frame() {
        let frames: Vec<_> = (0..3)
            .map(|i| RgbaImage::from_pixel(2, 2, image::Rgba([i * 80, 0, 0, 255])))
            .collect();
        let l = layout(3, 2, 2, None, 1).unwrap();
        let sheet = compose(&frames, &l).unwrap();
        assert_eq!(sheet.dimensions(), (5, 5));
        assert_eq!(sheet.get_pixel(3, 0)[0], 80);
        assert_eq!(sheet.get_pixel(2, 0)[3], 0);
        assert_eq!(sheet.get_pixel(0, 3)[0], 160);
    }

    #[test]
    fn huge_padding_is_sized_without_overflow() {
        // The reported case: 16 frames of 256 with padding 100000 is a
        // 301024 px square sheet: it fits u32, but its buffer is ~362 GB,
        // which the caller compares with the memory budget.
        let l = layout(16, 256, 256, None, 100_000).unwrap();
        assert_eq!((l.width, l.height), (301_024, 301_024));
        assert_eq!(l.sheet_bytes(), Some(301_024u64 * 301_024 * 4));
        assert_eq!(
            l.frames[15],
            Rect {
                x: 300_768,
                y: 300_768,
                w: 256,
                h: 256
            }
        );
    }

    #[test]
    fn sides_past_u32_are_errors() {
        let err = layout(16, 256, 256, None, u32::MAX).unwrap_err();
        assert!(err.contains("sprite sheet would be"), "{err}");
        assert!(err.contains("x"), "{err}");
        let err = layout(1000, u32::MAX, 1, Some(1000), 0).unwrap_err();
        assert!(err.contains("1000 columns"), "{err}");
        // One column of u32::MAX wide cells still fits a side, whatever
        // the padding (cell plus padding alone would overflow u32).
        let tall = layout(2, u32::MAX, 1, Some(1), 7).unwrap();
        assert_eq!((tall.width, tall.height), (u32::MAX, 9));
        assert_eq!(tall.frames[1].y, 8);
    }

    #[test]
    fn buffer_sizes_are_checked() {
        assert_eq!(rgba_bytes(2, 3), Some(24));
        assert_eq!(rgba_bytes(u32::MAX, u32::MAX), None);
        assert_eq!(rgba_bytes(u32::MAX, 1), Some(u64::from(u32::MAX) * 4));
    }

    #[test]
    fn place_fills_every_listed_cell() {
        let l = layout(4, 2, 2, Some(2), 0).unwrap();
        let mut sheet = blank_sheet(&l).unwrap();
        let red = RgbaImage::from_pixel(2, 2, image::Rgba([255, 0, 0, 255]));
        place(&mut sheet, &red, &l, &[0, 3]);
        assert_eq!(sheet.get_pixel(1, 1)[0], 255);
        assert_eq!(sheet.get_pixel(3, 3)[0], 255);
        assert_eq!(sheet.get_pixel(2, 0)[3], 0);
    }
}
