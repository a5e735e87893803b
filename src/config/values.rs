//! The value types written in `assetmill.yml`, each with its parser and
//! its written form: [`Loop`] (`forever` or a play count), [`ByteSize`]
//! (`1 GiB`, `400 KB` or bytes) and [`Rgb`] (`#rrggbb`). They serialize as
//! they are written, so a value read back means the same. Also the one
//! scale of the quality settings ([`ssim_target`]).

use serde::{Deserialize, Deserializer, Serialize};

/// How many times an animation plays. Written (and serialized) as
/// `forever` or a play count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loop {
    /// Loop forever (`loop: forever`). The default.
    Forever,
    /// Play this many times in total (`loop: 3`).
    Times(u16),
}

impl Serialize for Loop {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Loop::Forever => s.serialize_str("forever"),
            Loop::Times(n) => s.serialize_u16(*n),
        }
    }
}

impl std::fmt::Display for Loop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Loop::Forever => f.write_str("forever"),
            Loop::Times(n) => write!(f, "{n}"),
        }
    }
}

impl<'de> Deserialize<'de> for Loop {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Count(u16),
            Word(String),
        }
        match Raw::deserialize(d)? {
            Raw::Count(n) if n > 0 => Ok(Loop::Times(n)),
            Raw::Word(w) if w == "forever" || w == "infinite" => Ok(Loop::Forever),
            _ => Err(serde::de::Error::custom(
                "loop must be `forever` or a play count from 1 to 65535",
            )),
        }
    }
}

/// A size in bytes, written as an integer or as a number with a unit
/// (`B`, `KB`, `MB`, `GB` are powers of 1000; `KiB`, `MiB`, `GiB` of 1024).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(into = "u64")]
pub struct ByteSize(pub u64);

impl From<ByteSize> for u64 {
    fn from(size: ByteSize) -> u64 {
        size.0
    }
}

impl std::str::FromStr for ByteSize {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let number: f64 = number
            .parse()
            .map_err(|_| format!("`{text}` is not a size (e.g. 1048576, \"400 KB\", \"1 GiB\")"))?;
        let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kb" | "k" => 1_000,
            "mb" | "m" => 1_000_000,
            "gb" | "g" => 1_000_000_000,
            "kib" => 1 << 10,
            "mib" => 1 << 20,
            "gib" => 1 << 30,
            other => return Err(format!("unknown size unit `{other}` in `{text}`")),
        };
        let bytes = number * scale as f64;
        if !bytes.is_finite() || bytes >= u64::MAX as f64 {
            return Err(format!("`{text}` is too large"));
        }
        Ok(ByteSize(bytes.round() as u64))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bytes(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Bytes(n) => Ok(ByteSize(n)),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

impl std::fmt::Display for ByteSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = self.0 as f64;
        if self.0 >= 1 << 30 {
            write!(f, "{:.1} GiB", b / f64::from(1u32 << 30))
        } else if self.0 >= 1 << 20 {
            write!(f, "{:.1} MiB", b / f64::from(1u32 << 20))
        } else if self.0 >= 1 << 10 {
            write!(f, "{:.1} KiB", b / 1024.0)
        } else {
            write!(f, "{} B", self.0)
        }
    }
}

/// An opaque colour, written `#rrggbb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub [u8; 3]);

impl std::fmt::Display for Rgb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [r, g, b] = self.0;
        write!(f, "#{r:02x}{g:02x}{b:02x}")
    }
}

impl Serialize for Rgb {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rgb {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let hex = text.strip_prefix('#').unwrap_or("");
        let channel = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
        match (hex.len(), channel(0), channel(2), channel(4)) {
            (6, Some(r), Some(g), Some(b)) => Ok(Rgb([r, g, b])),
            _ => Err(serde::de::Error::custom(format!(
                "`{text}` is not a colour: write it as #rrggbb, e.g. #ffffff"
            ))),
        }
    }
}

/// The mean SSIM a quality setting asks for (`gif.quality`,
/// `video.av1.quality`, `video.h264.quality`): 0.9 + quality/1000, so 90
/// asks for 0.99 and 100 for a perfect copy. Above 100 counts as 100.
pub fn ssim_target(quality: u8) -> f64 {
    0.9 + f64::from(quality.min(100)) / 1000.0
}
