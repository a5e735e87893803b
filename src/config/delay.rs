//! The one rule for a written delay: the config's `gif.delay_ms` and front
//! matter's `image_delay_ms` and `delay_ms` accept the same values with
//! the same messages, and the same notes about how GIF stores them. It
//! lives with the configuration's values because the configuration is the
//! lowest layer that reads one; the pages' reader and the plan take it
//! from here.

use crate::outputs::diagnostics::Severity;
use serde::{Deserialize, Deserializer};

/// The longest delay a GIF can store: 65,535 hundredths of a second.
pub const MAX_DELAY_MS: u32 = 655_350;

/// A written delay that the rule accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delay {
    pub ms: u32,
    /// What the writer should know about how it plays: a note when it is
    /// rounded, a warning when browsers will not show it as written.
    pub remark: Option<(Severity, String)>,
}

/// The rule for a delay written under `key` (`gif.delay_ms`,
/// `image_delay_ms`, `delay_ms`) as `written`: a whole number of
/// milliseconds from 1 to [`MAX_DELAY_MS`]. GIF stores hundredths of a
/// second, so a delay that is not a multiple of 10 is rounded up (a note
/// says so), and one under 20 ms is shown by browsers for 100 ms (a
/// warning says so). `Err` is the message for a delay it refuses.
pub fn delay(key: &str, written: &str) -> Result<Delay, String> {
    let ms = match whole_number(written) {
        Some(ms) if (1..=MAX_DELAY_MS).contains(&ms) => ms,
        _ => return Err(delay_refused(key, &format!("`{written}`"))),
    };
    let stored = u32::from(delay_cs(ms)) * 10;
    let remark = if stored < 20 {
        Some((
            Severity::Warning,
            format!(
                "`{key}: {ms}`: browsers show a GIF frame delayed by less than 20 ms for 100 ms, \
                 and the videos and atlas follow the GIF; write 20 or more"
            ),
        ))
    } else if stored != ms {
        Some((
            Severity::Note,
            format!(
                "`{key}: {ms}` is stored as {stored} ms: GIF delays are whole hundredths of a \
                 second, so delays are rounded up to the next 10 ms"
            ),
        ))
    } else {
        None
    };
    Ok(Delay { ms, remark })
}

/// The message for a delay under `key` that the rule refuses, having
/// `found` (`` `0` ``, "a list", …).
pub fn delay_refused(key: &str, found: &str) -> String {
    format!(
        "`{key}` must be a whole number of milliseconds from 1 to {MAX_DELAY_MS}, like \
         `{key}: 80`; found {found}"
    )
}

/// A whole number written with ASCII digits only (no sign, no `1e3`, no
/// `80.0`), as timing values are written.
pub fn whole_number(text: &str) -> Option<u32> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The GIF delay, in centiseconds, for a delay in milliseconds (rounded up).
pub fn delay_cs(delay_ms: u32) -> u16 {
    u16::try_from(delay_ms.div_ceil(10)).unwrap_or(u16::MAX)
}

/// `gif.delay_ms`, judged by the rule front matter's delays follow, from
/// the scalar as written (so `80.0` or `-5` get the rule's message too).
pub(super) fn deserialize_delay<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<u32, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Text(String),
        Whole(u64),
        Signed(i64),
        Real(f64),
        Switch(bool),
        Nothing(()),
        Other(serde::de::IgnoredAny),
    }
    let key = "gif.delay_ms";
    let text = match Written::deserialize(d)? {
        Written::Text(t) => t,
        Written::Whole(n) => n.to_string(),
        Written::Signed(n) => n.to_string(),
        Written::Real(x) => format!("{x:?}"),
        Written::Switch(b) => b.to_string(),
        Written::Nothing(()) => String::new(),
        Written::Other(_) => {
            return Err(serde::de::Error::custom(delay_refused(
                key,
                "a list or mapping",
            )));
        }
    };
    delay(key, &text)
        .map(|delay| delay.ms)
        .map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_judges_every_written_delay() {
        for bad in [
            "0",
            "-5",
            "80.0",
            "1e3",
            "fast",
            "",
            "655351",
            "99999999999",
        ] {
            let err = delay("gif.delay_ms", bad).unwrap_err();
            assert_eq!(
                err,
                format!(
                    "`gif.delay_ms` must be a whole number of milliseconds from 1 to 655350, \
                     like `gif.delay_ms: 80`; found `{bad}`"
                )
            );
        }
        assert_eq!(
            delay("delay_ms", " 80 ").unwrap(),
            Delay {
                ms: 80,
                remark: None
            }
        );
        assert_eq!(delay("delay_ms", "655350").unwrap().ms, MAX_DELAY_MS);
        let rounded = delay("image_delay_ms", "85").unwrap();
        assert_eq!(rounded.ms, 85);
        let (severity, message) = rounded.remark.unwrap();
        assert_eq!(severity, Severity::Note);
        assert!(
            message.starts_with("`image_delay_ms: 85` is stored as 90 ms"),
            "{message}"
        );
        for tiny in ["1", "10", "11"] {
            let d = delay("gif.delay_ms", tiny).unwrap();
            let (severity, message) = d.remark.unwrap();
            // 11 ms is stored as 2 hundredths: shown as written.
            if tiny == "11" {
                assert_eq!(severity, Severity::Note, "{message}");
            } else {
                assert_eq!(severity, Severity::Warning, "{message}");
                assert!(message.contains("for 100 ms"), "{message}");
            }
        }
    }
}
