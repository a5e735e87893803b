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
pub fn layout(count: u32, fw: u32, fh: u32, columns: Option<u32>, padding: u32) -> Layout {
    let count = count.max(1);
    let auto = (f64::from(count).sqrt().ceil() as u32).max(1);
    let columns = columns.unwrap_or(auto).clamp(1, count);
    let rows = count.div_ceil(columns);
    let frames = (0..count)
        .map(|i| Rect {
            x: (i % columns) * (fw + padding),
            y: (i / columns) * (fh + padding),
            w: fw,
            h: fh,
        })
        .collect();
    Layout {
        frame_width: fw,
        frame_height: fh,
        columns,
        rows,
        padding,
        width: columns * fw + (columns - 1) * padding,
        height: rows * fh + (rows - 1) * padding,
        frames,
    }
}

/// Draws the frames into a transparent sheet following `layout`.
pub fn compose(frames: &[RgbaImage], layout: &Layout) -> RgbaImage {
    let mut sheet = RgbaImage::new(layout.width, layout.height);
    for (frame, rect) in frames.iter().zip(&layout.frames) {
        image::imageops::replace(&mut sheet, frame, i64::from(rect.x), i64::from(rect.y));
    }
    sheet
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_frames_make_a_four_by_four_grid() {
        let l = layout(16, 256, 200, None, 0);
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
        let l = layout(5, 10, 10, Some(2), 3);
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
        let wide = layout(3, 10, 10, Some(8), 0);
        assert_eq!((wide.columns, wide.rows), (3, 1));
    }

    #[test]
    fn non_square_counts() {
        let l = layout(10, 4, 4, None, 0);
        assert_eq!((l.columns, l.rows), (4, 3));
        assert_eq!(l.frames.len(), 10);
    }

    #[test]
    fn compose_places_each_frame() {
        let frames: Vec<_> = (0..3)
            .map(|i| RgbaImage::from_pixel(2, 2, image::Rgba([i * 80, 0, 0, 255])))
            .collect();
        let l = layout(3, 2, 2, None, 1);
        let sheet = compose(&frames, &l);
        assert_eq!(sheet.dimensions(), (5, 5));
        assert_eq!(sheet.get_pixel(3, 0)[0], 80);
        assert_eq!(sheet.get_pixel(2, 0)[3], 0);
        assert_eq!(sheet.get_pixel(0, 3)[0], 160);
    }
}
