//! When each frame of an assembled animation is shown: the delays, play
//! count and play order that front matter writes (`image_delay_ms`,
//! `image_loop`, `image_pingpong` on the page image, `delay_ms` on a
//! gallery frame) over the defaults of `assetmill.yml` (`gif.delay_ms`,
//! `gif.loop`, `gif.pingpong`).
//!
//! One [`Timing`] shapes the GIF, the videos and the sprite atlases alike:
//! each frame lasts what browsers show for the GIF's stored delay, so the
//! three agree to the millisecond.
//!
//! A delay is judged by one rule wherever it is written
//! ([`crate::config::delay`]): the config's `gif.delay_ms` and front
//! matter's `image_delay_ms` and `delay_ms` accept the same values with the
//! same messages.

use crate::config::delay::delay_cs;
use crate::config::{GifOptions, Loop};
use crate::stages::decode::shown_ms;
use serde::Serialize;

/// What the pages wrote for one animation; `None` where nothing was.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Written {
    pub delay_ms: Option<u32>,
    #[serde(rename = "loop")]
    pub repeat: Option<Loop>,
    pub pingpong: Option<bool>,
    /// One per gallery frame, in gallery order: its `delay_ms`.
    pub holds: Vec<Option<u32>>,
}

impl Written {
    /// True when the pages set no timing, so the config alone decides.
    pub fn is_empty(&self) -> bool {
        self.delay_ms.is_none()
            && self.repeat.is_none()
            && self.pingpong.is_none()
            && self.holds.iter().all(Option::is_none)
    }
}

/// The timing an animation is made with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Timing {
    /// Indices into the gallery's frames in the order they are shown: the
    /// gallery, then with ping-pong the way back without its two ends
    /// (1 2 3 4 3 2, then again from 1).
    pub sequence: Vec<usize>,
    /// The GIF's delay of each shown frame, in hundredths of a second
    /// (milliseconds rounded up to the next 10 ms).
    pub delays_cs: Vec<u16>,
    /// How long each shown frame lasts in browsers (a GIF delay under 2
    /// hundredths is shown for 100 ms), which the videos and atlases use.
    pub shown_ms: Vec<u32>,
    #[serde(rename = "loop")]
    pub repeat: Loop,
    pub pingpong: bool,
}

/// How an animation plays, as the asset map and the atlases give it to
/// templates and viewers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Playback {
    /// How long each gallery frame is shown, in gallery order (ms).
    pub frame_ms: Vec<u32>,
    /// Gallery frame indices in the order shown (ping-pong adds the way back).
    pub order: Vec<usize>,
    #[serde(rename = "loop")]
    pub repeat: Loop,
    pub pingpong: bool,
    /// One loop's length (ms).
    pub duration_ms: u64,
}

impl Timing {
    /// `frames` frames with what the pages wrote over the config's defaults.
    pub fn resolve(written: &Written, frames: usize, gif: &GifOptions) -> Timing {
        let every = written.delay_ms.unwrap_or(gif.delay_ms);
        let pingpong = written.pingpong.unwrap_or(gif.pingpong);
        let mut sequence: Vec<usize> = (0..frames).collect();
        if pingpong && frames > 2 {
            sequence.extend((1..frames - 1).rev());
        }
        let delays_cs: Vec<u16> = sequence
            .iter()
            .map(|&i| delay_cs(written.holds.get(i).copied().flatten().unwrap_or(every)))
            .collect();
        Timing {
            shown_ms: delays_cs.iter().map(|&cs| shown_ms(cs)).collect(),
            sequence,
            delays_cs,
            repeat: written.repeat.unwrap_or(gif.repeat),
            pingpong,
        }
    }

    /// Every frame shown once, in order, for the config's delay and loop.
    pub fn uniform(frames: usize, gif: &GifOptions) -> Timing {
        let written = Written {
            pingpong: Some(false),
            ..Written::default()
        };
        Timing::resolve(&written, frames, gif)
    }

    /// One loop's length in milliseconds, as browsers play it.
    pub fn duration_ms(&self) -> u64 {
        self.shown_ms.iter().map(|&ms| u64::from(ms)).sum()
    }

    /// How it plays, for the asset map and atlases.
    pub fn playback(&self) -> Playback {
        Playback {
            frame_ms: self.shown_ms[..self.frames()].to_vec(),
            order: self.sequence.clone(),
            repeat: self.repeat,
            pingpong: self.pingpong,
            duration_ms: self.duration_ms(),
        }
    }

    /// How many gallery frames it has. The sequence starts with each of
    /// them once, in order, so position `i < frames()` is gallery frame `i`
    /// (and ping-pong's way back repeats their delays).
    pub fn frames(&self) -> usize {
        self.sequence.iter().max().map_or(0, |&m| m + 1)
    }

    /// How long gallery frame `i` is shown each time it comes up.
    pub fn frame_ms(&self, i: usize) -> Option<u32> {
        (i < self.frames()).then(|| self.shown_ms[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gif() -> GifOptions {
        GifOptions::default()
    }

    #[test]
    fn config_alone_gives_every_frame_once_at_its_delay() {
        let t = Timing::resolve(&Written::default(), 4, &gif());
        assert_eq!(t.sequence, [0, 1, 2, 3]);
        assert_eq!(t.delays_cs, [10; 4]);
        assert_eq!(t.shown_ms, [100; 4]);
        assert_eq!(t.repeat, Loop::Forever);
        assert_eq!(t.duration_ms(), 400);
    }

    #[test]
    fn pingpong_goes_back_without_repeating_the_ends() {
        let w = Written {
            pingpong: Some(true),
            ..Written::default()
        };
        assert_eq!(Timing::resolve(&w, 4, &gif()).sequence, [0, 1, 2, 3, 2, 1]);
        assert_eq!(Timing::resolve(&w, 2, &gif()).sequence, [0, 1]);
        assert_eq!(Timing::resolve(&w, 1, &gif()).sequence, [0]);
    }

    #[test]
    fn holds_override_the_page_delay_which_overrides_the_config() {
        let w = Written {
            delay_ms: Some(85),
            repeat: Some(Loop::Times(3)),
            pingpong: Some(true),
            holds: vec![Some(600), None, None],
        };
        let t = Timing::resolve(&w, 3, &gif());
        assert_eq!(t.sequence, [0, 1, 2, 1]);
        // 85 ms is stored as 9 hundredths, shown for 90 ms.
        assert_eq!(t.delays_cs, [60, 9, 9, 9]);
        assert_eq!(t.shown_ms, [600, 90, 90, 90]);
        assert_eq!(t.repeat, Loop::Times(3));
        assert_eq!(t.frame_ms(0), Some(600));
        assert_eq!(t.frame_ms(5), None);
    }

    #[test]
    fn browsers_show_tiny_delays_for_100_ms() {
        let w = Written {
            delay_ms: Some(10),
            ..Written::default()
        };
        let t = Timing::resolve(&w, 2, &gif());
        assert_eq!(t.delays_cs, [1, 1]);
        assert_eq!(t.shown_ms, [100, 100]);
    }
}
