//! Reading the configuration: the file named by `--config`, else
//! `assetmill.yml` if present, else the defaults; relative folders taken
//! from the file's own folder; the command-line overrides last. A parse
//! error names the file and line.

use super::{Config, DEFAULT_CONFIG_FILE, Location, Overrides};
use crate::error::{Error, Result};
use crate::outputs::diagnostics::Diagnostic;
use std::path::Path;

impl Config {
    /// Parses a configuration file's text. Relative folders in it are taken
    /// relative to `base` (the file's own folder).
    pub fn from_yaml(text: &str, file: &Path, base: &Path) -> Result<Config> {
        let mut options = serde_saphyr::Options::default();
        options.strict_booleans = true;
        options.with_snippet = false;
        let mut config: Config = if text.trim().is_empty() {
            Config::default()
        } else {
            serde_saphyr::from_str_with_options(text, options).map_err(|e| {
                let at = e
                    .location()
                    .map(|l| format!("line {}: ", l.line()))
                    .unwrap_or_default();
                Error::Config {
                    path: file.to_owned(),
                    message: format!("{at}{}", e.without_snippet()),
                }
            })?
        };
        let data_copy = config.asset_map.data_copy.as_mut();
        for dir in [&mut config.content, &mut config.images, &mut config.out]
            .into_iter()
            .chain(data_copy)
        {
            if dir.is_relative() && !base.as_os_str().is_empty() {
                *dir = base.join(&*dir);
            }
        }
        config.validate(file)?;
        config.file = Some(file.to_owned());
        config.remarks = config.remarks(file);
        Ok(config)
    }

    /// Loads `explicit` if given (it must exist), else `assetmill.yml` in the
    /// working directory if present, else the defaults; then applies the
    /// command-line overrides.
    pub fn load(explicit: Option<&Path>, overrides: &Overrides) -> Result<Config> {
        let default_file = Path::new(DEFAULT_CONFIG_FILE);
        let file = match explicit {
            Some(path) => Some(path),
            None if default_file.is_file() => Some(default_file),
            None => None,
        };
        let mut config = match file {
            Some(path) => {
                let text = crate::fsread::read_regular(path, 1 << 20)
                    .map_err(|e| e.to_string())
                    .and_then(|b| String::from_utf8(b).map_err(|_| "not UTF-8 text".into()))
                    .map_err(|e| Error::Config {
                        path: path.to_owned(),
                        message: format!("cannot read configuration: {e}"),
                    })?;
                let base = path.parent().unwrap_or(Path::new(""));
                Config::from_yaml(&text, path, base)?
            }
            None => Config::default(),
        };
        if let Some(dir) = &overrides.content {
            config.content = dir.clone();
        }
        if let Some(dir) = &overrides.images {
            config.images = dir.clone();
        }
        if let Some(dir) = &overrides.out {
            config.out = dir.clone();
        }
        if let Some(url) = &overrides.remote_cache {
            Location::parse(url).map_err(|message| Error::Config {
                path: "--remote-cache".into(),
                message,
            })?;
            config.remote_cache.url = Some(url.clone());
        }
        if let Some(mode) = overrides.remote_cache_mode {
            config.remote_cache.mode = mode;
        }
        Ok(config)
    }

    /// What the file's accepted values will do that its writer may not
    /// expect, located at the file.
    fn remarks(&self, file: &Path) -> Vec<Diagnostic> {
        let delay = super::delay::delay("gif.delay_ms", &self.gif.delay_ms.to_string());
        let remark = delay.ok().and_then(|d| d.remark);
        remark
            .map(|(severity, message)| Diagnostic::new(severity, file, None, message))
            .into_iter()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{
        BudgetLevel, Budgets, ByteSize, Format, Loop, Rgb, SizeLimit, StillFormat, StillQuality,
    };
    use crate::outputs::assetmap::Role;
    use std::path::PathBuf;

    fn parse(text: &str) -> Result<Config> {
        Config::from_yaml(text, Path::new("assetmill.yml"), Path::new(""))
    }

    #[test]
    fn empty_file_means_defaults() {
        let defaults = Config {
            file: Some(PathBuf::from("assetmill.yml")),
            ..Config::default()
        };
        assert_eq!(parse("").unwrap(), defaults);
        assert_eq!(parse("# nothing\n").unwrap(), defaults);
    }

    #[test]
    fn sections_override_single_keys() {
        let c = parse("images: assets/images\nthumbs:\n  width: 128\ngif:\n  loop: 3\n").unwrap();
        assert_eq!(c.images, PathBuf::from("assets/images"));
        assert_eq!(c.thumbs.width, 128);
        assert_eq!(c.thumbs.suffix, "-thumb");
        assert_eq!(c.gif.repeat, Loop::Times(3));
        assert_eq!(c.gif.width, 480);
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = parse("thumbs:\n  widht: 100\n").unwrap_err().to_string();
        assert!(err.contains("widht"), "{err}");
        assert!(err.starts_with("assetmill.yml: line 2"), "{err}");
        let err = parse("imgs: x\n").unwrap_err().to_string();
        assert!(err.contains("imgs"), "{err}");
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let err = parse("gif:\n  quality: 0\n").unwrap_err().to_string();
        assert!(err.contains("gif.quality"), "{err}");
        assert!(parse("gif:\n  loop: sometimes\n").is_err());
        let err = parse("stills:\n  paths: [\"figures/[\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("stills.paths: `figures/[` is not a glob"),
            "{err}"
        );
        for (yaml, key) in [
            (
                "stills:\n  quality: 0\n",
                "stills.quality must be from 1 to 100",
            ),
            ("stills:\n  quality: {ssim: 1.5}\n", "stills.quality.ssim"),
            ("stills:\n  widths: [0]\n", "stills.widths"),
            (
                "stills:\n  formats: [webp, webp]\n",
                "stills.formats lists a format twice",
            ),
            ("stills:\n  avif:\n    speed: 11\n", "stills.avif.speed"),
            (
                "stills:\n  formats: [heic]\n",
                "line 2: unknown variant `heic`, expected one of webp, avif, original",
            ),
        ] {
            let err = parse(yaml).unwrap_err().to_string();
            assert!(err.contains(key), "{yaml}: {err}");
        }
        let all =
            parse("stills:\n  formats: [avif, original, webp]\n  avif: {speed: 3}\n").unwrap();
        assert_eq!(
            all.stills.formats,
            [StillFormat::Avif, StillFormat::Original, StillFormat::Webp]
        );
        assert_eq!(all.stills.avif.speed, 3);
        let target = parse("stills:\n  quality: {ssim: 0.99}\n").unwrap();
        assert_eq!(target.stills.quality, StillQuality::Target { ssim: 0.99 });
        for section in ["av1", "h264"] {
            let err = parse(&format!("video:\n  {section}:\n    quality: 101\n"))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!("video.{section}.quality must be from 0")),
                "{err}"
            );
            let off = parse(&format!("video:\n  {section}:\n    quality: 0\n")).unwrap();
            assert_eq!((off.video.av1.quality.min(off.video.h264.quality)), 0);
        }
    }

    #[test]
    fn sizes_read_as_bytes_or_with_units() {
        let c = parse("limits:\n  max_memory: \"512 MiB\"\n").unwrap();
        assert_eq!(c.limits.max_memory, ByteSize(512 << 20));
        let c = parse("limits:\n  max_memory: 100000000\n").unwrap();
        assert_eq!(c.limits.max_memory, ByteSize(100_000_000));
        assert_eq!("1.5 MB".parse(), Ok(ByteSize(1_500_000)));
        assert_eq!("400 KB".parse(), Ok(ByteSize(400_000)));
        assert!("12 parsecs".parse::<ByteSize>().is_err());
        assert!("".parse::<ByteSize>().is_err());
        assert!("1e400 GB".parse::<ByteSize>().is_err());
        let err = parse("limits:\n  max_memory: 1000\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("limits.max_memory"), "{err}");
    }

    #[test]
    fn video_work_has_a_positive_bound() {
        assert_eq!(Config::default().limits.max_video_pixels, 100_000_000);
        let c = parse("limits:\n  max_video_pixels: 5000000000\n").unwrap();
        assert_eq!(c.limits.max_video_pixels, 5_000_000_000);
        let err = parse("limits:\n  max_video_pixels: 0\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("limits.max_video_pixels"), "{err}");
    }

    #[test]
    fn a_config_delay_is_judged_by_the_front_matter_rule() {
        let err = parse("gif:\n  delay_ms: 0\n").unwrap_err().to_string();
        assert!(
            err.contains("`gif.delay_ms` must be a whole number of milliseconds from 1 to 655350"),
            "{err}"
        );
        assert!(err.starts_with("assetmill.yml: line 2: "), "{err}");
        let c = parse("gif:\n  delay_ms: 80\n").unwrap();
        assert_eq!((c.gif.delay_ms, c.remarks.len()), (80, 0));
        let c = parse("gif:\n  delay_ms: 5\n").unwrap();
        assert_eq!(c.gif.delay_ms, 5);
        assert_eq!(
            c.remarks[0].severity,
            crate::outputs::diagnostics::Severity::Warning
        );
        assert_eq!(c.remarks[0].file, Path::new("assetmill.yml"));
    }

    #[test]
    fn video_section() {
        let c =
            parse("video:\n  formats: [mp4]\n  background: \"#0a0B0c\"\n  av1:\n    speed: 9\n")
                .unwrap();
        assert_eq!(c.video.formats, vec![Format::Mp4]);
        assert_eq!(c.video.background, Rgb([10, 11, 12]));
        assert_eq!(c.video.av1.speed, 9);
        assert_eq!(c.video.h264, Default::default());
        assert!(
            parse("video:\n  formats: []\n")
                .unwrap()
                .video
                .formats
                .is_empty()
        );
        for (bad, says) in [
            ("video:\n  formats: [webm, webm]\n", "twice"),
            ("video:\n  formats: [avi]\n", "avi"),
            ("video:\n  background: white\n", "#rrggbb"),
            ("video:\n  background: \"#fffff\"\n", "#rrggbb"),
            ("video:\n  av1:\n    speed: 11\n", "video.av1.speed"),
            ("video:\n  h264:\n    qp: 52\n", "video.h264.qp"),
        ] {
            let err = parse(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn budgets_section() {
        let c = parse(
            "budgets:\n  gif: 400 KB\n  webm: 150000\n  mp4: \"1.5 MB\"\n  level: warn\n  \
             fit: true\n  pages:\n    \"muscles/biceps brachii.md\": { gif: 1 MiB }\n",
        )
        .unwrap();
        let b = &c.budgets;
        assert_eq!(b.get(Role::Gif).map(|l| l.bytes), Some(ByteSize(400_000)));
        assert_eq!(b.get(Role::Webm).map(|l| l.bytes), Some(ByteSize(150_000)));
        assert_eq!(b.get(Role::Mp4).map(|l| l.bytes), Some(ByteSize(1_500_000)));
        assert_eq!(b.get(Role::Sprite), None);
        assert_eq!(b.get(Role::SpriteMap), None);
        assert_eq!((b.level, b.fit), (BudgetLevel::Warn, true));
        let page = &b.pages["muscles/biceps brachii.md"];
        assert_eq!(
            page.get(Role::Gif).map(|l| l.bytes),
            Some(ByteSize(1 << 20))
        );
        assert_eq!(page.get(Role::Webm), None);
        assert_eq!(parse("").unwrap().budgets, Budgets::default());
        assert_eq!(Budgets::default().level, BudgetLevel::Error);
        for (bad, says) in [
            (
                "budgets:\n  gif: 0\n",
                "budgets.gif must be at least 1 byte",
            ),
            ("budgets:\n  png: 1 MB\n", "png"),
            ("budgets:\n  gif: 3 parsecs\n", "parsecs"),
            ("budgets:\n  level: fatal\n", "fatal"),
            ("budgets:\n  fit: yes\n", "boolean"),
            (
                "budgets:\n  pages:\n    a.md: { gif: 0 KB }\n",
                "budgets.pages.\"a.md\".gif",
            ),
            ("budgets:\n  pages:\n    a.md: { sprites: 1 }\n", "sprites"),
            (
                "budgets:\n  pages:\n    ../a.md: { gif: 1 }\n",
                "relative to the content",
            ),
            (
                "budgets:\n  pages:\n    /a.md: { gif: 1 }\n",
                "relative to the content",
            ),
        ] {
            let err = parse(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn size_limits_speak_in_their_own_unit() {
        let limit = |text: &str| SizeLimit {
            bytes: text.parse().unwrap(),
            written: text.to_owned(),
        };
        assert_eq!(limit("400 KB").describe(), "400 KB");
        assert_eq!(limit("400 KB").show(400_001), "400.0 KB (400001 bytes)");
        assert_eq!(limit("1.5MiB").show(3 << 20), "3.0 MiB (3145728 bytes)");
        assert_eq!(limit("5000").describe(), "5000 bytes");
        assert_eq!(limit("5000 B").show(6000), "6000 bytes");
        let c = parse("budgets:\n  thumb: 20000\n").unwrap();
        let thumb = c.budgets.thumb.unwrap();
        assert_eq!(
            (thumb.describe(), thumb.show(20001)),
            ("20000 bytes".into(), "20001 bytes".into())
        );
    }

    #[test]
    fn relative_dirs_follow_the_config_file() {
        let c =
            Config::from_yaml("out: build\n", Path::new("site/a.yml"), Path::new("site")).unwrap();
        assert_eq!(c.out, PathBuf::from("site/build"));
        assert_eq!(c.content, PathBuf::from("site/content"));
    }
}
