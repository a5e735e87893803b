//! Synthetic turntable renders turning about the vertical axis, as an
//! anatomy atlas's rotation frames are. Two scenes ([`SceneKind`]):
//!
//! - **muscle**: one shaded, muscle-like body, a union of a few tilted
//!   ellipsoids (a belly and two tapering tendons, bent so the rotation is
//!   visible), Lambert plus Blinn–Phong shading with fibre-like striations.
//! - **objects**: several separate objects of different hues on a ring
//!   around the axis, glossy, with a fine ripple in their surface normals
//!   that breaks the highlights of a white key light and a tinted back
//!   light into fine specular detail: many hues, steep highlights and
//!   high-frequency texture at once, the hard case for a GIF palette.
//! - **fibres**: the muscle with its fibres drawn as a real render shows
//!   them: dark, thin stripes a few pixels apart (about 4 px at 600 px)
//!   across the whole body, turning with it, under a hard, glossy
//!   highlight. Fine periodic texture that moves is the hard case for the
//!   video encoders (motion search cannot follow stripes that alias) and
//!   for a palette (the highlight's ramp over dark and light stripes).
//!
//! All are ray-traced analytically with an orthographic camera: each sample
//! solves one quadratic per ellipsoid, which is fast enough for hundreds of
//! 600 px frames. Edges are 3x3 supersampled. Everything derives from the
//! seed with a splitmix64 generator, so output is bit-for-bit reproducible.

use image::{Rgba, RgbaImage};

/// What a synthetic rotation shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SceneKind {
    /// One muscle-like body with soft fibres (the default).
    #[default]
    Muscle,
    /// Several glossy objects of different hues with fine specular detail.
    Objects,
    /// The muscle with dense, high-contrast fibres and a hard highlight.
    Fibres,
}

/// Parameters of one synthetic rotation sequence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenderParams {
    pub width: u32,
    pub height: u32,
    /// Transparent background (antialiased alpha at the silhouette).
    pub alpha: bool,
    pub seed: u64,
    pub scene: SceneKind,
}

type V3 = [f32; 3];

/// One ellipsoid of the body, in object space (y up, unit ≈ half frame).
#[derive(Debug, Clone, Copy)]
struct Ellipsoid {
    center: V3,
    radii: V3,
    /// Tilt about the z axis, radians.
    tilt: f32,
}

/// A body and its colour, drawn from the seed.
struct Scene {
    parts: Vec<Ellipsoid>,
    tint: V3,
    phase: f32,
    /// One glossy material per part for [`SceneKind::Objects`]; empty for
    /// the muscle.
    glossy: Vec<Glossy>,
    /// Fibre stripes: spatial frequency along each object axis (radians
    /// per unit, 1 unit being about half the frame) and depth (0 none, 1
    /// black troughs).
    fibre_frequency: V3,
    fibre_depth: f32,
    /// Blinn–Phong exponent and strength of the key light's highlight.
    shininess: f32,
    specular: f32,
}

/// The material of one object in [`SceneKind::Objects`].
#[derive(Debug, Clone, Copy)]
struct Glossy {
    tint: V3,
    shininess: f32,
    specular: f32,
    /// Spatial frequency and strength of the ripple in the normal.
    ripple: f32,
    ripple_amount: f32,
    phase: V3,
}

/// An sRGB-ish colour for a hue (0–1), saturation and value.
fn hsv(h: f32, s: f32, v: f32) -> V3 {
    let h6 = (h.rem_euclid(1.0)) * 6.0;
    let f = |n: f32| {
        let k = (n + h6) % 6.0;
        v - v * s * k.min(4.0 - k).clamp(0.0, 1.0)
    };
    [f(5.0), f(3.0), f(1.0)]
}

fn splitmix(state: &mut u64) -> f32 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32
}

impl Scene {
    fn new(seed: u64, kind: SceneKind) -> Scene {
        match kind {
            SceneKind::Muscle => Scene::muscle(seed),
            SceneKind::Objects => Scene::objects(seed),
            SceneKind::Fibres => Scene {
                // About 4 px a period at 600 px: 1 unit is 294 px, so
                // 2π / (4 / 294) ≈ 460 across the stripes.
                fibre_frequency: [360.0, 290.0, 40.0],
                fibre_depth: 0.55,
                shininess: 90.0,
                specular: 0.75,
                ..Scene::muscle(seed)
            },
        }
    }

    /// Four to six objects on a ring about the axis, at different heights,
    /// each its own hue.
    fn objects(seed: u64) -> Scene {
        let mut s = seed;
        let mut r = |lo: f32, hi: f32| lo + (hi - lo) * splitmix(&mut s);
        let count = r(5.0, 9.0) as usize;
        let start = r(0.0, std::f32::consts::TAU);
        let hue = r(0.0, 1.0);
        let mut parts = Vec::with_capacity(count);
        let mut glossy = Vec::with_capacity(count);
        for i in 0..count {
            let around = start + std::f32::consts::TAU * i as f32 / count as f32 + r(-0.2, 0.2);
            // Inside the frame whatever the angle: the ring plus the largest
            // radius (0.4 + 0.3 * 1.4) across, 0.2 + 0.42 up.
            let ring = r(0.25, 0.4);
            let size = r(0.2, 0.3);
            parts.push(Ellipsoid {
                center: [ring * around.cos(), r(-0.2, 0.2), ring * around.sin()],
                radii: [size * r(0.8, 1.15), size * r(0.9, 1.4), size * r(0.8, 1.15)],
                tilt: r(-0.6, 0.6),
            });
            glossy.push(Glossy {
                tint: hsv(hue + i as f32 / count as f32, r(0.45, 0.85), r(0.55, 0.9)),
                shininess: r(100.0, 400.0),
                specular: r(0.5, 0.9),
                ripple: r(70.0, 130.0),
                ripple_amount: r(0.1, 0.22),
                phase: [r(0.0, 6.3), r(0.0, 6.3), r(0.0, 6.3)],
            });
        }
        Scene {
            parts,
            tint: [0.0; 3],
            phase: 0.0,
            glossy,
            fibre_frequency: [0.0; 3],
            fibre_depth: 0.0,
            shininess: 0.0,
            specular: 0.0,
        }
    }

    fn muscle(seed: u64) -> Scene {
        let mut s = seed;
        let mut r = |lo: f32, hi: f32| lo + (hi - lo) * splitmix(&mut s);
        let bend = r(0.15, 0.45);
        let belly = Ellipsoid {
            center: [r(-0.08, 0.08), r(-0.05, 0.1), 0.0],
            radii: [r(0.22, 0.3), r(0.45, 0.55), r(0.17, 0.24)],
            tilt: r(-0.15, 0.15),
        };
        let upper = Ellipsoid {
            center: [
                belly.center[0] + 0.12,
                belly.center[1] + 0.42,
                r(-0.05, 0.05),
            ],
            radii: [r(0.07, 0.1), r(0.3, 0.36), r(0.06, 0.09)],
            tilt: -bend,
        };
        let lower = Ellipsoid {
            center: [
                belly.center[0] - 0.1,
                belly.center[1] - 0.45,
                r(-0.06, 0.06),
            ],
            radii: [r(0.06, 0.09), r(0.28, 0.34), r(0.07, 0.1)],
            tilt: bend * 0.7,
        };
        let head = Ellipsoid {
            center: [
                belly.center[0] + r(0.12, 0.2),
                belly.center[1] + r(-0.05, 0.2),
                r(0.08, 0.14),
            ],
            radii: [r(0.12, 0.16), r(0.25, 0.32), r(0.1, 0.14)],
            tilt: r(-0.3, 0.3),
        };
        let tint = [r(0.72, 0.86), r(0.18, 0.32), r(0.2, 0.3)];
        Scene {
            parts: vec![belly, upper, lower, head],
            tint,
            phase: r(0.0, std::f32::consts::TAU),
            glossy: Vec::new(),
            fibre_frequency: [38.0, 31.0, 4.0],
            fibre_depth: 0.16,
            shininess: 40.0,
            specular: 0.45,
        }
    }

    /// Shades an orthographic ray through (x, y) of a body turned by
    /// `angle`; `None` when it misses.
    fn shade(&self, x: f32, y: f32, cos: f32, sin: f32) -> Option<V3> {
        // Ray in object space: rotate origin and direction by -angle about y.
        let origin = [x * cos - 2.0 * sin, y, x * sin + 2.0 * cos];
        let dir = [sin, 0.0, -cos];
        let mut best: Option<(f32, V3, V3, usize)> = None;
        for (i, e) in self.parts.iter().enumerate() {
            if let Some((t, p, n)) = intersect(e, origin, dir)
                && best.is_none_or(|(bt, _, _, _)| t < bt)
            {
                best = Some((t, p, n, i));
            }
        }
        let (_, p, n, part) = best?;
        if let Some(material) = self.glossy.get(part) {
            return Some(shade_glossy(material, p, n, cos, sin));
        }
        // Normal back to camera space (rotate by +angle about y).
        let n = [n[0] * cos + n[2] * sin, n[1], -n[0] * sin + n[2] * cos];
        let light = normalize([-0.45, 0.6, 0.66]);
        let diffuse = dot(n, light).max(0.0);
        let half = normalize([light[0], light[1], light[2] + 1.0]);
        let specular = dot(n, half).max(0.0).powf(self.shininess) * self.specular;
        let rim = (1.0 - n[2].max(0.0)).powi(3) * 0.15;
        // Fibres run along the body and turn with it.
        let f = self.fibre_frequency;
        let wave = (p[0] * f[0] + p[2] * f[1] + p[1] * f[2] + self.phase).sin();
        let fibre = 1.0 - self.fibre_depth * 0.5 * (1.0 - wave);
        let light_amount = (0.22 + 0.78 * diffuse) * fibre;
        Some(std::array::from_fn(|c| {
            (self.tint[c] * light_amount + specular + rim * [0.6, 0.7, 0.9][c]).min(1.0)
        }))
    }
}

/// A glossy object: the normal rippled in object space (so the ripples turn
/// with the object), a white key light and a cool back light, each with a
/// steep Blinn–Phong highlight.
fn shade_glossy(m: &Glossy, p: V3, n: V3, cos: f32, sin: f32) -> V3 {
    let w = |a: f32, b: f32, ph: f32| (a * m.ripple + b * m.ripple * 0.37 + ph).sin();
    let n = normalize([
        n[0] + m.ripple_amount * w(p[1], p[2], m.phase[0]),
        n[1] + m.ripple_amount * w(p[2], p[0], m.phase[1]),
        n[2] + m.ripple_amount * w(p[0], p[1], m.phase[2]),
    ]);
    let n = [n[0] * cos + n[2] * sin, n[1], -n[0] * sin + n[2] * cos];
    let key = normalize([-0.45, 0.6, 0.66]);
    let back = normalize([0.7, 0.25, -0.35]);
    let highlight = |light: V3| {
        let half = normalize([light[0], light[1], light[2] + 1.0]);
        dot(n, half).max(0.0).powf(m.shininess) * m.specular
    };
    let diffuse = 0.18 + 0.72 * dot(n, key).max(0.0) + 0.25 * dot(n, back).max(0.0);
    let (white, cool) = (highlight(key), highlight(back) * 0.8);
    let back_colour = [0.55, 0.75, 1.0];
    std::array::from_fn(|c| (m.tint[c] * diffuse + white + cool * back_colour[c]).min(1.0))
}

fn dot(a: V3, b: V3) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn normalize(v: V3) -> V3 {
    let l = dot(v, v).sqrt();
    [v[0] / l, v[1] / l, v[2] / l]
}

/// Nearest hit of a ray with a tilted ellipsoid: distance, point and
/// normal, in object space.
fn intersect(e: &Ellipsoid, origin: V3, dir: V3) -> Option<(f32, V3, V3)> {
    let (c, s) = (e.tilt.cos(), e.tilt.sin());
    let to_local = |v: V3| [v[0] * c + v[1] * s, -v[0] * s + v[1] * c, v[2]];
    let o = to_local([
        origin[0] - e.center[0],
        origin[1] - e.center[1],
        origin[2] - e.center[2],
    ]);
    let d = to_local(dir);
    let os = [o[0] / e.radii[0], o[1] / e.radii[1], o[2] / e.radii[2]];
    let ds = [d[0] / e.radii[0], d[1] / e.radii[1], d[2] / e.radii[2]];
    let a = dot(ds, ds);
    let b = 2.0 * dot(os, ds);
    let k = dot(os, os) - 1.0;
    let disc = b * b - 4.0 * a * k;
    if disc < 0.0 {
        return None;
    }
    let t = (-b - disc.sqrt()) / (2.0 * a);
    let local = [o[0] + t * d[0], o[1] + t * d[1], o[2] + t * d[2]];
    let grad = [
        local[0] / (e.radii[0] * e.radii[0]),
        local[1] / (e.radii[1] * e.radii[1]),
        local[2] / (e.radii[2] * e.radii[2]),
    ];
    // Gradient back to object space (inverse tilt).
    let n = normalize([
        grad[0] * c - grad[1] * s,
        grad[0] * s + grad[1] * c,
        grad[2],
    ]);
    let p = [
        origin[0] + t * dir[0],
        origin[1] + t * dir[1],
        origin[2] + t * dir[2],
    ];
    Some((t, p, n))
}

/// Renders frame `index` (0-based) of a `count`-frame turntable rotation.
pub fn render_frame(params: &RenderParams, index: u32, count: u32) -> RgbaImage {
    let angle = std::f32::consts::TAU * (index % count.max(1)) as f32 / count.max(1) as f32;
    render(params, angle)
}

/// Renders a single still in the same style (a three-quarter view).
pub fn render_still(params: &RenderParams) -> RgbaImage {
    render(params, 0.8)
}

const SAMPLES: u32 = 3;

fn render(params: &RenderParams, angle: f32) -> RgbaImage {
    let scene = Scene::new(params.seed, params.scene);
    let (w, h) = (params.width, params.height);
    let scale = 2.0 / w.min(h) as f32 * 0.98;
    let (cos, sin) = (angle.cos(), angle.sin());
    // Nothing lies outside this radius, whatever the angle.
    let reach = match params.scene {
        SceneKind::Muscle | SceneKind::Fibres => 1.0,
        SceneKind::Objects => 1.2,
    };
    RgbaImage::from_fn(w, h, |px, py| {
        let background = {
            let g = 0.97 - 0.17 * py as f32 / h as f32;
            [g, g, g * 1.01]
        };
        let mut colour = [0.0f32; 3];
        let mut covered = 0u32;
        for sy in 0..SAMPLES {
            for sx in 0..SAMPLES {
                let x = ((px as f32 + (sx as f32 + 0.5) / SAMPLES as f32) - w as f32 / 2.0) * scale;
                let y = (h as f32 / 2.0 - (py as f32 + (sy as f32 + 0.5) / SAMPLES as f32)) * scale;
                let hit = if x * x + y * y < reach * reach {
                    scene.shade(x, y, cos, sin)
                } else {
                    None
                };
                match hit {
                    Some(c) => {
                        covered += 1;
                        (0..3).for_each(|i| colour[i] += c[i]);
                    }
                    None if !params.alpha => (0..3).for_each(|i| colour[i] += background[i]),
                    None => {}
                }
            }
        }
        let n = SAMPLES * SAMPLES;
        let (divisor, alpha) = if params.alpha {
            (covered.max(1) as f32, (covered * 255 + n / 2) / n)
        } else {
            (n as f32, 255)
        };
        let to8 = |v: f32| (v / divisor * 255.0).round().clamp(0.0, 255.0) as u8;
        Rgba([to8(colour[0]), to8(colour[1]), to8(colour[2]), alpha as u8])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(alpha: bool) -> RenderParams {
        RenderParams {
            width: 96,
            height: 96,
            alpha,
            seed: 7,
            scene: SceneKind::Muscle,
        }
    }

    #[test]
    fn deterministic_and_turning() {
        let p = params(false);
        let a = render_frame(&p, 3, 16);
        assert_eq!(a.dimensions(), (96, 96));
        assert_eq!(a, render_frame(&p, 3, 16));
        assert_ne!(a, render_frame(&p, 4, 16));
        assert_eq!(render_frame(&p, 0, 16), render_frame(&p, 16, 16));
        assert_ne!(a, render_frame(&RenderParams { seed: 8, ..p }, 3, 16));
    }

    #[test]
    fn opaque_frames_have_gradients() {
        let image = render_frame(
            &RenderParams {
                width: 256,
                height: 256,
                ..params(false)
            },
            2,
            16,
        );
        assert!(image.pixels().all(|p| p[3] == 255));
        let colours: std::collections::HashSet<[u8; 3]> =
            image.pixels().map(|p| [p[0], p[1], p[2]]).collect();
        assert!(colours.len() > 500, "{} colours", colours.len());
    }

    #[test]
    fn alpha_frames_have_transparent_corners_and_soft_edges() {
        for i in 0..16 {
            let image = render_frame(&params(true), i, 16);
            for (x, y) in [(0, 0), (95, 0), (0, 95), (95, 95)] {
                assert_eq!(image.get_pixel(x, y)[3], 0);
            }
            assert!(image.pixels().any(|p| p[3] == 255));
            assert!(image.pixels().any(|p| p[3] > 0 && p[3] < 255));
            // The body stays inside the frame: the border is background.
            let border = (0..96).all(|k| {
                [(k, 0), (k, 95), (0, k), (95, k)]
                    .iter()
                    .all(|&(x, y)| image.get_pixel(x, y)[3] == 0)
            });
            assert!(border, "frame {i} touches the border");
        }
    }

    #[test]
    fn fibres_are_stripes_a_few_pixels_apart_that_turn() {
        let p = RenderParams {
            width: 600,
            height: 600,
            scene: SceneKind::Fibres,
            ..params(false)
        };
        let frame = render_frame(&p, 2, 16);
        // Along the middle row, inside the body: luma rises and falls
        // about every 4 px (a period of 3 to 6 px), with deep troughs.
        let luma = |x: u32| {
            let q = frame.get_pixel(x, 300);
            0.2126 * f32::from(q[0]) + 0.7152 * f32::from(q[1]) + 0.0722 * f32::from(q[2])
        };
        let body: Vec<f32> = (0..600)
            .filter(|&x| {
                let q = frame.get_pixel(x, 300);
                q[0] > q[2].saturating_add(8)
            })
            .map(luma)
            .collect();
        assert!(body.len() > 100, "{} body pixels on the row", body.len());
        let peaks = body
            .windows(3)
            .filter(|w| w[1] > w[0] && w[1] >= w[2])
            .count();
        let period = body.len() as f32 / peaks as f32;
        assert!((3.0..=6.0).contains(&period), "a stripe every {period} px");
        let (lo, hi) = body
            .iter()
            .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        assert!(hi - lo > 60.0, "stripes from {lo} to {hi}");
        // The stripes move as the body turns.
        assert_ne!(frame, render_frame(&p, 3, 16));
        // The muscle scene keeps its soft fibres: fewer, shallower peaks.
        let muscle = render_frame(
            &RenderParams {
                scene: SceneKind::Muscle,
                ..p
            },
            2,
            16,
        );
        assert_ne!(frame, muscle);
    }
}
