//! The quality floor of the videos (`video.av1.quality`,
//! `video.h264.quality`): a clip whose mean SSIM falls short of it at the
//! configured quantizer is encoded again at lower (better) quantizers until
//! it reaches it. Easy clips pass at once and cost one encoding; hard ones
//! (fine texture, sharp highlights) get the bytes they need.

use crate::config::{Config, ssim_target};
use crate::outputs::assetmap::Role;

/// A video's floor: its quantizer setting and the SSIM it must reach.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Floor {
    /// The quality key, for messages.
    pub key: &'static str,
    /// The quantizer key, for messages.
    pub knob: &'static str,
    /// The configured quantizer, tried first.
    pub configured: u8,
    /// The best (lowest) quantizer the search may go to.
    pub best: u8,
    /// The least mean SSIM.
    pub target: f64,
    /// SSIM gained per quantizer step below `configured` on typical
    /// clips: the first guess of how far to go before two encodings
    /// show the clip's own slope.
    pub slope: f64,
}

/// Most encodings after the first: the first guess, a correction, and a
/// step back up towards fewer bytes once the floor is bracketed.
const TRIES: u32 = 3;

/// The floor of a video role, if its quality setting asks for one.
///
/// The slopes are the curve's on the clips that need the floor most
/// (`SCENE=objects` and `fibres` of `benches/video_curve.sh`, README
/// "Video quality and speed"): at speed 7 rav1e gains 0.00016–0.00018 SSIM
/// per quantizer step below 120, OpenH264 0.0009–0.0010 per QP below 26
/// (smooth clips gain less, and rarely need the floor).
pub(super) fn floor(config: &Config, role: Role) -> Option<Floor> {
    let video = &config.video;
    let (key, knob, quality, configured, best, slope) = match role {
        Role::Webm => (
            "video.av1.quality",
            "video.av1.quantizer",
            video.av1.quality,
            video.av1.quantizer,
            // Below half the configured quantizer the bytes grow far
            // faster than the SSIM.
            video.av1.quantizer / 2,
            0.000_15,
        ),
        Role::Mp4 => (
            "video.h264.quality",
            "video.h264.qp",
            video.h264.quality,
            video.h264.qp,
            crate::config::H264Options::MIN_QP.min(video.h264.qp),
            0.0008,
        ),
        _ => return None,
    };
    (quality > 0).then(|| Floor {
        key,
        knob,
        configured,
        best,
        target: ssim_target(quality),
        slope,
    })
}

/// What the search settled on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Reached {
    pub floor: Floor,
    /// The quantizer the kept clip was made at.
    pub value: u8,
    /// Its mean SSIM (`None`: not measured, so the floor could not apply).
    pub ssim: Option<f64>,
    /// Whether it reaches the floor (else it is the best clip made).
    pub reached: bool,
}

/// Keeps `first` (made at `floor.configured`) when its SSIM reaches the
/// floor; otherwise makes clips at lower quantizers and keeps the one at
/// the highest quantizer that reaches it, or, if none does within
/// [`TRIES`], the best made. Each step is aimed from the SSIMs seen: the
/// slope between the last two clips (`floor.slope` before there are two),
/// overshooting by a quarter, so one correction is usually enough; once
/// the floor is bracketed, one step back up is interpolated. Which
/// quantizers are tried depends only on the SSIMs measured, so the same
/// clips give the same choice.
pub(super) fn reach<T, E>(
    floor: Floor,
    first: T,
    mut make: impl FnMut(u8) -> Result<T, E>,
    ssim: impl Fn(&T) -> Option<f64>,
) -> Result<(T, Reached), E> {
    let reached = |value, ssim: Option<f64>| Reached {
        floor,
        value,
        ssim,
        reached: ssim.is_none_or(|s| s >= floor.target),
    };
    let Some(first_ssim) = ssim(&first) else {
        return Ok((first, reached(floor.configured, None)));
    };
    if first_ssim >= floor.target || floor.best >= floor.configured {
        return Ok((first, reached(floor.configured, Some(first_ssim))));
    }
    // `short`: the lowest quantizer seen that falls short, with its SSIM
    // and clip (the best made while nothing reaches the floor); `above`
    // the highest that reaches it.
    let mut short = (floor.configured, first_ssim, first);
    let mut above: Option<(u8, f64, T)> = None;
    let mut previous: Option<(u8, f64)> = None;
    for _ in 0..TRIES {
        let (q_short, s_short) = (short.0, short.1);
        let next = match &above {
            None => {
                // SSIM per step from the last two points, if it rises.
                let slope = previous
                    .filter(|&(q, s)| q > q_short && s < s_short)
                    .map(|(q, s)| (s_short - s) / f64::from(q - q_short))
                    .unwrap_or(floor.slope);
                let steps = ((floor.target - s_short) / slope * 1.25).ceil();
                let room = f64::from(q_short - floor.best);
                q_short - steps.clamp(1.0, room) as u8
            }
            Some((q_above, s_above, _)) => {
                // Between a quantizer that reaches and one that does not:
                // the highest guess on the line through them that reaches.
                let span = f64::from(q_short - q_above);
                let up = ((s_above - floor.target) / (s_above - s_short) * span).floor();
                q_above + up.clamp(0.0, span - 1.0) as u8
            }
        };
        if above.as_ref().is_some_and(|a| next <= a.0) || next >= q_short {
            break;
        }
        let made = make(next)?;
        let Some(s) = ssim(&made) else {
            return Ok((made, reached(next, None)));
        };
        previous = Some((q_short, s_short));
        if s >= floor.target {
            above = Some((next, s, made));
        } else {
            short = (next, s, made);
        }
        if above.is_none() && short.0 == floor.best {
            break;
        }
    }
    Ok(match above {
        Some((q, s, made)) => (made, reached(q, Some(s))),
        None => (short.2, reached(short.0, Some(short.1))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn floor(target: f64) -> Floor {
        Floor {
            key: "video.av1.quality",
            knob: "video.av1.quantizer",
            configured: 120,
            best: 60,
            target,
            slope: 0.000_12,
        }
    }

    /// Runs the search on a clip whose SSIM at quantizer q is `curve(q)`:
    /// (the quantizer kept, whether it reached, the quantizers made).
    fn run(floor: Floor, curve: impl Fn(u8) -> f64) -> (u8, bool, Vec<u8>) {
        let mut made = vec![floor.configured];
        let (q, r) = reach(
            floor,
            floor.configured,
            |q| {
                made.push(q);
                Ok::<_, ()>(q)
            },
            |&q| Some(curve(q)),
        )
        .unwrap();
        assert_eq!(q, r.value);
        assert_eq!(r.ssim, Some(curve(q)));
        (q, r.reached, made)
    }

    #[test]
    fn a_clip_that_reaches_the_floor_is_made_once() {
        let (q, reached, made) = run(floor(0.96), |_| 0.97);
        assert_eq!((q, reached, made), (120, true, vec![120]));
    }

    #[test]
    fn a_short_clip_gets_the_highest_quantizer_found_that_reaches() {
        // SSIM rises 0.0002 a step below 120: the floor is at 95.
        let curve = |q: u8| 0.96 + f64::from(120 - q) * 0.0002;
        let (q, reached, made) = run(floor(0.965), curve);
        assert!(reached && curve(q) >= 0.965, "{made:?}");
        assert!((90..=95).contains(&q), "{q}, {made:?}");
        assert!(made.len() <= 1 + TRIES as usize, "{made:?}");
        // Every quantizer tried is new and within the range.
        let mut seen = made.clone();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), made.len());
        assert!(made.iter().all(|&m| (60..=120).contains(&m)));
    }

    #[test]
    fn the_first_guess_corrects_itself_on_a_flat_clip() {
        // Half the typical slope: the first guess falls short, the second
        // is aimed from the slope the two clips show.
        let curve = |q: u8| 0.96 + f64::from(120 - q) * 0.000_06;
        let (q, reached, made) = run(floor(0.962), curve);
        assert!(reached, "{made:?}");
        assert!(curve(q) >= 0.962 && q < 120 - 30, "{q} {made:?}");
    }

    #[test]
    fn a_floor_out_of_reach_keeps_the_best_clip_made() {
        let curve = |q: u8| 0.90 + f64::from(120 - q) * 0.0001;
        let (q, reached, made) = run(floor(0.99), curve);
        assert!(!reached);
        assert_eq!(q, *made.iter().min().unwrap());
        assert_eq!(q, 60, "{made:?}");
    }

    #[test]
    fn an_unmeasured_clip_is_kept_and_the_same_ssims_give_the_same_choice() {
        let (value, r) = reach(floor(0.99), 7, |_| Err(()), |_| None).unwrap();
        assert_eq!((value, r.value, r.ssim, r.reached), (7, 120, None, true));
        let curve = |q: u8| 0.95 + f64::from(120 - q) * 0.000_17;
        assert_eq!(run(floor(0.958), curve), run(floor(0.958), curve));
    }
}
