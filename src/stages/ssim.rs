//! Structural similarity (SSIM) and mean error of two images, for judging lossy outputs
//! (GIF frames) against their sources in tests and quality reports.
//!
//! Luma (BT.601) of each image composited over mid grey, 8x8 windows at a
//! stride of 4, the usual constants (K1 = 0.01, K2 = 0.03, L = 255).

use image::RgbaImage;

fn luma_over_grey(image: &RgbaImage) -> Vec<f64> {
    image
        .pixels()
        .map(|p| {
            let a = f64::from(p[3]) / 255.0;
            let y = 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]);
            y * a + 128.0 * (1.0 - a)
        })
        .collect()
}

/// Mean SSIM of two equally sized images (1.0 = identical).
///
/// # Panics
/// If the sizes differ.
pub fn mean_ssim(a: &RgbaImage, b: &RgbaImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions(), "SSIM needs equal sizes");
    let (w, h) = (a.width() as usize, a.height() as usize);
    let (la, lb) = (luma_over_grey(a), luma_over_grey(b));
    const WIN: usize = 8;
    const STEP: usize = 4;
    let c1 = (0.01f64 * 255.0).powi(2);
    let c2 = (0.03f64 * 255.0).powi(2);
    let (mut total, mut count) = (0.0, 0usize);
    let mut y = 0;
    while y + WIN <= h.max(WIN) {
        let mut x = 0;
        while x + WIN <= w.max(WIN) {
            let (mut sa, mut sb, mut saa, mut sbb, mut sab, mut n) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
            for yy in y..(y + WIN).min(h) {
                for xx in x..(x + WIN).min(w) {
                    let (va, vb) = (la[yy * w + xx], lb[yy * w + xx]);
                    sa += va;
                    sb += vb;
                    saa += va * va;
                    sbb += vb * vb;
                    sab += va * vb;
                    n += 1.0;
                }
            }
            let (ma, mb) = (sa / n, sb / n);
            let va = saa / n - ma * ma;
            let vb = sbb / n - mb * mb;
            let cov = sab / n - ma * mb;
            total += ((2.0 * ma * mb + c1) * (2.0 * cov + c2))
                / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            count += 1;
            x += STEP;
        }
        y += STEP;
    }
    total / count.max(1) as f64
}

/// Mean absolute difference per channel (0–255) of two equally sized images.
///
/// # Panics
/// If the sizes differ.
pub fn mean_abs_error(a: &RgbaImage, b: &RgbaImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions(), "error needs equal sizes");
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    sum as f64 / a.as_raw().len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    #[test]
    fn identical_is_one_and_noise_is_less() {
        let a = RgbaImage::from_fn(32, 32, |x, y| Rgba([(x * 8) as u8, (y * 8) as u8, 0, 255]));
        assert!((mean_ssim(&a, &a) - 1.0).abs() < 1e-9);
        let mut b = a.clone();
        for (i, p) in b.pixels_mut().enumerate() {
            p[0] = p[0].wrapping_add(if i % 2 == 0 { 40 } else { 0 });
        }
        let s = mean_ssim(&a, &b);
        assert!(s < 0.95 && s > 0.0, "{s}");
    }
}
