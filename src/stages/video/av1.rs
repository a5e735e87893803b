//! The WebM video: AV1 encoded by rav1e, muxed by [`super::webm`].
//!
//! rav1e is configured for 8-bit 4:2:0 with the colour tags of
//! [`yuv::COLOUR`], a constant quantizer and one of its speed presets.
//! Frames are sent as they arrive and finished packets are drained after
//! each one, so memory stays at rav1e's own lookahead plus the compressed
//! output.
//!
//! Threads: no pool of rav1e's own (threads 0, no pool), so its rayon work
//! runs on whichever pool calls [`VideoEncoder::push`] and
//! [`VideoEncoder::finish`] — the pipeline's — instead of adding threads
//! beside it. rav1e's decisions do not depend on the thread count, so the
//! bytes are the same on any pool (tested).
//!
//! Timing: rav1e's packets carry no timestamps, only the number of the
//! input frame they show. AV1 has no reordering at the container level (a
//! temporal unit shows exactly one frame; hidden frames travel inside the
//! unit of the next shown one), so packets must come in input order; that
//! is checked, and each packet gets the duration its input frame was
//! pushed with.
//!
//! Each packet of a shown frame carries rav1e's reconstruction of it: the
//! picture every AV1 decoder shows (decoding is exactly specified), handed
//! back by [`VideoEncoder::take_shown`] for measuring quality.

use super::encoder::VideoEncoder;
use super::webm::{self, VideoTrack};
use super::yuv::{self, Colour, Picture};
use crate::config::Av1Options;
use rav1e::prelude::{
    ChromaSampling, ColorDescription, ColorPrimaries, Config, Context, EncoderConfig,
    EncoderStatus, Frame, FrameType, MatrixCoefficients, Packet, PixelRange, Rational,
    SpeedSettings, TransferCharacteristics,
};
use std::collections::VecDeque;
use std::str::FromStr;
use std::sync::Arc;

/// The SIMD level rav1e encodes with on this machine, as rav1e names its
/// CPU feature level (`AVX2`, `SSE4_1`, `NEON`, ...), or `None` when this
/// build of rav1e has no assembly: pure Rust, about 4-5x slower, the same
/// bytes. x86-64 needs `--features asm` (and nasm) for the assembly;
/// aarch64 has it by default. `RAV1E_CPU_TARGET` can lower the level.
pub fn simd() -> Option<String> {
    use rav1e::config::CpuFeatureLevel;
    let level = CpuFeatureLevel::default();
    (level != CpuFeatureLevel::RUST).then(|| format!("{level:?}"))
}

/// What to do when [`simd`] is `None`, in one line.
pub const SIMD_FIX: &str = "install nasm (2.14.02 or newer) and build with `--features asm`, \
     e.g. `cargo install assetmill --features asm`";

/// Whether rav1e, the AV1 encoder, runs with SIMD on this machine (the
/// same bytes either way, 4-5x the speed with it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Av1Simd {
    /// rav1e's CPU feature level (`AVX2`, `SSE4_1`, `NEON`, ...), or
    /// `null`: this assetmill's rav1e has no assembly.
    pub simd: Option<String>,
    /// When `simd` is `null`: how to get it, in one line.
    pub fix: Option<&'static str>,
}

impl Default for Av1Simd {
    /// This machine's.
    fn default() -> Self {
        let simd = simd();
        Av1Simd {
            fix: simd.is_none().then_some(SIMD_FIX),
            simd,
        }
    }
}

/// No keyframe is forced within this many frames: a clip of up to this
/// many frames (the default `limits.max_frames`) has one, at the start,
/// unless rav1e's scene detection asks for another.
const MAX_KEY_FRAME_INTERVAL: u64 = 1000;

/// Frames rav1e holds at once with `options`: its lookahead (10 to 40
/// frames by speed preset) and about 18 more being reordered and
/// referenced. Measured by peak RSS against frame count: 26 frames at
/// speed 9, 35 at speed 7, 48 at speed 4; 20 more keeps above that.
pub fn frames_held(options: Av1Options) -> u64 {
    let lookahead = SpeedSettings::from_preset(options.speed).rdo_lookahead_frames;
    lookahead as u64 + 20
}

/// Matroska codec ID of AV1.
const CODEC_ID: &str = "V_AV1";

// AV1 OBU types (AV1 specification, 6.2.2).
const OBU_SEQUENCE_HEADER: u8 = 1;
const OBU_TEMPORAL_DELIMITER: u8 = 2;
const OBU_FRAME_HEADER: u8 = 3;
const OBU_FRAME: u8 = 6;
const OBU_REDUNDANT_FRAME_HEADER: u8 = 7;
const OBU_PADDING: u8 = 15;

/// Encodes pictures to AV1 and returns them as a WebM file.
pub struct WebmEncoder {
    context: Context<u8>,
    width: u32,
    height: u32,
    /// Durations of the frames sent and not yet muxed, oldest first; the
    /// front one is input frame `next_frame`'s.
    durations: VecDeque<u32>,
    next_frame: u64,
    /// The first packet's Sequence Header OBU, for CodecPrivate; all later
    /// ones must be identical to it.
    sequence_header: Option<Vec<u8>>,
    muxer: webm::Muxer,
    /// Reconstructions of the frames muxed since the last `take_shown`.
    shown: Vec<Option<Arc<Frame<u8>>>>,
    flushed: bool,
}

impl WebmEncoder {
    /// An encoder for `width` x `height` pictures (even, non-zero).
    pub fn new(width: u32, height: u32, options: Av1Options) -> Result<Self, String> {
        Self::adjusted(width, height, options, |_| {})
    }

    /// [`Self::new`] with rav1e's configuration changed by `adjust` before
    /// the encoder starts: for measuring other settings
    /// (`benches/av1_tune.rs`), not for the pipeline.
    pub fn adjusted(
        width: u32,
        height: u32,
        options: Av1Options,
        adjust: impl FnOnce(&mut EncoderConfig),
    ) -> Result<Self, String> {
        if yuv::video_size(width, height) != Some((width, height)) {
            return Err(format!(
                "AV1 4:2:0 needs even, non-zero dimensions, not {width}x{height}"
            ));
        }
        let (color_description, pixel_range) = rav1e_colour(yuv::COLOUR)?;
        let mut encoder = EncoderConfig {
            width: width as usize,
            height: height as usize,
            bit_depth: 8,
            chroma_sampling: ChromaSampling::Cs420,
            pixel_range,
            color_description: Some(color_description),
            // Milliseconds, like the durations. rav1e uses it only as a
            // frame rate (1000 fps) for level-style limits: above about
            // 588,000 pixels per frame it then asks for at least two tiles.
            time_base: Rational::new(1, 1000),
            max_key_frame_interval: MAX_KEY_FRAME_INTERVAL,
            quantizer: usize::from(options.quantizer),
            speed_settings: SpeedSettings::from_preset(options.speed),
            ..EncoderConfig::default()
        };
        adjust(&mut encoder);
        // No with_threads / thread pool: see the module documentation.
        let config = Config::new().with_encoder_config(encoder);
        let context = config
            .new_context()
            .map_err(|e| format!("rav1e configuration: {e}"))?;
        Ok(WebmEncoder {
            context,
            width,
            height,
            durations: VecDeque::new(),
            next_frame: 0,
            sequence_header: None,
            muxer: webm::Muxer::new(),
            shown: Vec::new(),
            flushed: false,
        })
    }

    /// Muxes every packet rav1e has ready; with `flushing`, until the end.
    fn drain(&mut self, flushing: bool) -> Result<(), String> {
        loop {
            match self.context.receive_packet() {
                Ok(packet) => self.mux(packet)?,
                // A frame was encoded without a packet yet (a hidden frame
                // that goes out with the next shown one).
                Err(EncoderStatus::Encoded) => {}
                Err(EncoderStatus::NeedMoreData) if !flushing => return Ok(()),
                Err(EncoderStatus::LimitReached) if flushing => return Ok(()),
                Err(e) => return Err(format!("rav1e: {e}")),
            }
        }
    }

    fn mux(&mut self, packet: Packet<u8>) -> Result<(), String> {
        if packet.input_frameno != self.next_frame {
            return Err(format!(
                "rav1e returned frame {} when frame {} was next: packets out of display order",
                packet.input_frameno, self.next_frame
            ));
        }
        let duration = self
            .durations
            .pop_front()
            .ok_or("rav1e returned more frames than it was given")?;
        self.next_frame += 1;

        // The Matroska AV1 mapping: no Temporal Delimiter, Redundant Frame
        // Header or Padding OBUs in a Block; the Sequence Header OBUs stay
        // (a keyframe Block must have one), identical to CodecPrivate's.
        let mut block = Vec::with_capacity(packet.data.len());
        let mut has_sequence_header = false;
        let mut has_frame_header = false;
        for obu in obus(&packet.data)? {
            match obu.kind {
                OBU_TEMPORAL_DELIMITER | OBU_REDUNDANT_FRAME_HEADER | OBU_PADDING => continue,
                OBU_SEQUENCE_HEADER => {
                    has_sequence_header = true;
                    match &self.sequence_header {
                        None => self.sequence_header = Some(obu.bytes.to_vec()),
                        Some(first) if first == obu.bytes => {}
                        Some(_) => return Err("rav1e changed its sequence header".into()),
                    }
                }
                OBU_FRAME_HEADER | OBU_FRAME => has_frame_header = true,
                _ => {}
            }
            block.extend_from_slice(obu.bytes);
        }
        if !has_frame_header {
            return Err(format!(
                "rav1e packet for frame {} has no frame header",
                packet.input_frameno
            ));
        }
        // A key frame without its Sequence Header is not marked as a
        // keyframe (the mapping's rule); rav1e writes one with each.
        let keyframe = packet.frame_type == FrameType::KEY && has_sequence_header;
        self.muxer.push(&block, keyframe, duration)?;
        self.shown.push(packet.rec);
        Ok(())
    }
}

/// The visible `w` x `h` of plane `i` of a rav1e frame (whose planes are
/// padded, and allocated to a multiple of 8), tightly packed.
pub(crate) fn visible(frame: &Frame<u8>, i: usize, w: usize, h: usize) -> Vec<u8> {
    let plane = &frame.planes[i];
    let stride = plane.cfg.stride;
    let data = plane.data_origin();
    (0..h)
        .flat_map(|row| &data[row * stride..][..w])
        .copied()
        .collect()
}

/// The visible `width` x `height` of a rav1e 4:2:0 frame as a picture.
fn picture(frame: &Frame<u8>, width: u32, height: u32) -> Picture {
    let (w, h) = (width as usize, height as usize);
    let plane = |i: usize, w: usize, h: usize| visible(frame, i, w, h);
    Picture {
        width,
        height,
        y: plane(0, w, h),
        u: plane(1, w / 2, h / 2),
        v: plane(2, w / 2, h / 2),
    }
}

impl VideoEncoder for WebmEncoder {
    fn push(&mut self, picture: &Picture, duration_ms: u32) -> Result<(), String> {
        let (w, h) = (self.width as usize, self.height as usize);
        if (picture.width, picture.height) != (self.width, self.height)
            || picture.y.len() != w * h
            || picture.u.len() != w / 2 * (h / 2)
            || picture.v.len() != w / 2 * (h / 2)
        {
            return Err(format!(
                "a {}x{} picture for a {w}x{h} video",
                picture.width, picture.height
            ));
        }
        if duration_ms == 0 {
            return Err("a video frame must last at least 1 ms".into());
        }
        if self.flushed {
            return Err("a frame pushed after the encoder was flushed".into());
        }
        let mut frame = self.context.new_frame();
        frame.planes[0].copy_from_raw_u8(&picture.y, w, 1);
        frame.planes[1].copy_from_raw_u8(&picture.u, w / 2, 1);
        frame.planes[2].copy_from_raw_u8(&picture.v, w / 2, 1);
        self.context
            .send_frame(frame)
            .map_err(|e| format!("rav1e: {e}"))?;
        self.durations.push_back(duration_ms);
        self.drain(false)
    }

    fn flush(&mut self) -> Result<(), String> {
        if !self.flushed {
            self.flushed = true;
            self.context.flush();
            self.drain(true)?;
        }
        Ok(())
    }

    fn take_shown(&mut self) -> Vec<Option<Picture>> {
        let (width, height) = (self.width, self.height);
        std::mem::take(&mut self.shown)
            .into_iter()
            .map(|rec| rec.map(|rec| picture(&rec, width, height)))
            .collect()
    }

    fn finish(mut self: Box<Self>) -> Result<Vec<u8>, String> {
        self.flush()?;
        if !self.durations.is_empty() {
            return Err(format!(
                "rav1e returned {} of {} frames",
                self.next_frame,
                self.next_frame + self.durations.len() as u64
            ));
        }
        // The Matroska CodecPrivate: rav1e's 4-byte AV1CodecConfigurationRecord
        // header, then the Sequence Header OBU (its configOBUs), which some
        // players need before the first Block.
        let sequence_header = self
            .sequence_header
            .as_deref()
            .ok_or("rav1e wrote no sequence header")?;
        let codec_private = [
            self.context.container_sequence_header(),
            sequence_header.to_vec(),
        ]
        .concat();
        let track = VideoTrack {
            codec_id: CODEC_ID,
            codec_private: &codec_private,
            width: self.width,
            height: self.height,
            colour: yuv::COLOUR,
        };
        self.muxer.finish(&track)
    }
}

/// rav1e's colour description and range for `colour`, found by code point
/// among rav1e's own variants, so [`yuv::COLOUR`] is the only place the
/// values are written.
pub(crate) fn rav1e_colour(colour: Colour) -> Result<(ColorDescription, PixelRange), String> {
    fn parsed<E: FromStr>(names: &[&str]) -> impl Iterator<Item = E> {
        names.iter().filter_map(|name| name.parse().ok())
    }
    let description = ColorDescription {
        color_primaries: yuv::by_code(
            colour.primaries,
            parsed(&ColorPrimaries::variants()),
            |p: ColorPrimaries| p as u8,
            "rav1e",
        )?,
        transfer_characteristics: yuv::by_code(
            colour.transfer,
            parsed(&TransferCharacteristics::variants()),
            |t: TransferCharacteristics| t as u8,
            "rav1e",
        )?,
        matrix_coefficients: yuv::by_code(
            colour.matrix,
            parsed(&MatrixCoefficients::variants()),
            |m: MatrixCoefficients| m as u8,
            "rav1e",
        )?,
    };
    let range = if colour.full_range {
        PixelRange::Full
    } else {
        PixelRange::Limited
    };
    Ok((description, range))
}

/// One OBU: its type and its bytes (header, size field and payload).
struct Obu<'a> {
    kind: u8,
    bytes: &'a [u8],
}

/// Splits `data` (low-overhead bitstream format) into OBUs.
fn obus(mut data: &[u8]) -> Result<Vec<Obu<'_>>, String> {
    let mut out = Vec::new();
    while let Some(&header) = data.first() {
        if header & 0x80 != 0 {
            return Err("AV1 OBU with the forbidden bit set".into());
        }
        let kind = (header >> 3) & 0x0f;
        let header_len = if header & 0x04 != 0 { 2 } else { 1 };
        let has_size = header & 0x02 != 0;
        let (payload_len, size_len) = if has_size {
            leb128(data.get(header_len..).unwrap_or_default())?
        } else {
            // Without a size field the OBU fills the rest.
            (data.len().saturating_sub(header_len), 0)
        };
        let len = header_len + size_len + payload_len;
        if len > data.len() {
            return Err("truncated AV1 OBU".into());
        }
        out.push(Obu {
            kind,
            bytes: &data[..len],
        });
        data = &data[len..];
    }
    Ok(out)
}

/// An unsigned LEB128 value (at most 8 bytes, below 2^32) and its length.
fn leb128(bytes: &[u8]) -> Result<(usize, usize), String> {
    let mut value: u64 = 0;
    for (i, &byte) in bytes.iter().take(8).enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return usize::try_from(value)
                .ok()
                .filter(|_| value <= u64::from(u32::MAX))
                .map(|v| (v, i + 1))
                .ok_or_else(|| "AV1 OBU size out of range".into());
        }
    }
    Err("bad AV1 OBU size".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testsupport::webm::{blocks, elements};
    use crate::testsupport::{media, tool};
    use image::{Rgba, RgbaImage};
    use webm_iterable::matroska_spec::{Master, MatroskaSpec as Mkv};

    const DURATIONS: [u32; 4] = [100, 40, 250, 70];

    /// Frame `i` of a small animation: a gradient with a red square moving
    /// right and a blue disc moving down.
    fn rgba(i: u32, width: u32, height: u32) -> RgbaImage {
        RgbaImage::from_fn(width, height, |x, y| {
            let (sx, sy) = (4 + i * 9, 8);
            let (cx, cy, r) = (width as i64 * 2 / 3, 6 + i as i64 * 7, 9i64);
            let (dx, dy) = (x as i64 - cx, y as i64 - cy);
            if x >= sx && x < sx + 14 && y >= sy && y < sy + 14 {
                Rgba([220, 30, 40, 255])
            } else if dx * dx + dy * dy <= r * r {
                Rgba([30, 60, 210, 255])
            } else {
                let g = (60 + x * 120 / width + y * 60 / height) as u8;
                Rgba([g, g / 2 + 60, 255 - g, 255])
            }
        })
    }

    fn pictures(count: u32, width: u32, height: u32) -> Vec<Picture> {
        (0..count)
            .map(|i| yuv::from_rgba(&rgba(i, width, height), [0; 3]).unwrap())
            .collect()
    }

    fn encode(pictures: &[Picture], durations: &[u32], options: Av1Options) -> Vec<u8> {
        let (w, h) = (pictures[0].width, pictures[0].height);
        let mut encoder: Box<dyn VideoEncoder> = Box::new(WebmEncoder::new(w, h, options).unwrap());
        for (picture, &duration) in pictures.iter().zip(durations) {
            encoder.push(picture, duration).unwrap();
        }
        encoder.finish().unwrap()
    }

    const FAST: Av1Options = Av1Options {
        speed: 10,
        quantizer: 80,
        quality: 0,
    };

    #[test]
    fn the_webm_has_the_track_timing_and_colour_tags() {
        let file = encode(&pictures(4, 64, 48), &DURATIONS, FAST);
        let elements = elements(&file);
        let has = |tag: Mkv| elements.iter().any(|(_, t)| *t == tag);
        assert!(has(Mkv::DocType("webm".into())));
        assert!(has(Mkv::Duration(460.0)));
        assert!(has(Mkv::CodecID("V_AV1".into())));
        assert!(has(Mkv::PixelWidth(64)) && has(Mkv::PixelHeight(48)));
        assert!(has(Mkv::MatrixCoefficients(1)));
        assert!(has(Mkv::Range(1)));
        assert!(has(Mkv::TransferCharacteristics(13)));
        assert!(has(Mkv::Primaries(1)));

        // CodecPrivate: the av1C header (marker and version 1, then
        // profile 0 / 8-bit / 4:2:0 bits), then one Sequence Header OBU.
        let private = elements
            .iter()
            .find_map(|(_, t)| match t {
                Mkv::CodecPrivate(p) => Some(p.clone()),
                _ => None,
            })
            .unwrap();
        assert_eq!(private[0], 0x81);
        assert_eq!(private[2] & 0x7f, 0x0c, "8-bit 4:2:0, not monochrome");
        let config_obus = obus(&private[4..]).unwrap();
        assert_eq!(config_obus.len(), 1);
        assert_eq!(config_obus[0].kind, OBU_SEQUENCE_HEADER);

        // Blocks (every frame a BlockGroup): timestamps from the
        // durations, each with its duration, only the first a keyframe (no
        // ReferenceBlock; the others refer back); no Temporal Delimiters;
        // the keyframe has the same Sequence Header.
        let blocks = blocks(&file);
        let times: Vec<_> = blocks.iter().map(|b| b.0).collect();
        assert_eq!(times, [0, 100, 140, 390]);
        assert!(blocks.iter().all(|b| b.1.is_none_or(|r| r < 0)));
        let keys: Vec<_> = blocks.iter().map(|b| b.1.is_none()).collect();
        assert_eq!(keys, [true, false, false, false]);
        let durations: Vec<_> = blocks.iter().map(|b| b.2).collect();
        assert_eq!(durations, [100, 40, 250, 70].map(Some));
        for (i, (_, _, _, data)) in blocks.iter().enumerate() {
            let obus = obus(data).unwrap();
            assert!(obus.iter().all(|o| o.kind != OBU_TEMPORAL_DELIMITER), "{i}");
            let headers: Vec<_> = obus
                .iter()
                .filter(|o| o.kind == OBU_SEQUENCE_HEADER)
                .map(|o| o.bytes)
                .collect();
            if i == 0 {
                assert_eq!(headers, [config_obus[0].bytes]);
            }
        }
        let cue_times: Vec<_> = elements
            .iter()
            .filter_map(|(_, t)| match t {
                Mkv::CueTime(t) => Some(*t),
                _ => None,
            })
            .collect();
        assert_eq!(cue_times, [0]);
        assert!(
            elements
                .iter()
                .any(|(_, t)| matches!(t, Mkv::Cluster(Master::Start)))
        );
    }

    #[test]
    fn bytes_do_not_depend_on_the_callers_thread_count() {
        let pictures = pictures(6, 128, 96);
        let durations = [50, 60, 70, 80, 90, 100];
        let options = Av1Options {
            speed: 6,
            quantizer: 110,
            quality: 0,
        };
        let on = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| encode(&pictures, &durations, options))
        };
        let one = on(1);
        assert_eq!(one, on(2));
        assert_eq!(one, encode(&pictures, &durations, options));
    }

    #[test]
    fn colour_tags_come_from_the_shared_constant() {
        let (description, range) = rav1e_colour(yuv::COLOUR).unwrap();
        assert_eq!(description.color_primaries as u8, yuv::COLOUR.primaries);
        assert_eq!(
            description.transfer_characteristics as u8,
            yuv::COLOUR.transfer
        );
        assert_eq!(description.matrix_coefficients as u8, yuv::COLOUR.matrix);
        assert_eq!(range == PixelRange::Full, yuv::COLOUR.full_range);
        assert_eq!(
            description.transfer_characteristics,
            TransferCharacteristics::SRGB
        );
        let unknown = Colour {
            primaries: 3, // reserved in H.273
            ..yuv::COLOUR
        };
        assert!(rav1e_colour(unknown).is_err());
    }

    #[test]
    fn wrong_pictures_and_sizes_are_errors() {
        assert!(WebmEncoder::new(63, 48, FAST).is_err());
        assert!(WebmEncoder::new(64, 0, FAST).is_err());
        let mut encoder = WebmEncoder::new(64, 48, FAST).unwrap();
        let other = &pictures(1, 32, 32)[0];
        assert!(encoder.push(other, 100).is_err());
        let right = &pictures(1, 64, 48)[0];
        assert!(encoder.push(right, 0).is_err());
    }

    #[test]
    fn obus_are_split_by_their_size_fields() {
        // Temporal delimiter, then a padding OBU with a 2-byte LEB128 size
        // of 130, then an OBU without a size field filling the rest.
        let mut data = vec![0x12, 0x00, 0x7a, 0x82, 0x01];
        data.extend([0xaa; 130]);
        data.extend([0x30, 1, 2, 3]);
        let obus = obus(&data).unwrap();
        let kinds: Vec<_> = obus.iter().map(|o| (o.kind, o.bytes.len())).collect();
        assert_eq!(kinds, [(2, 2), (15, 133), (6, 4)]);
        assert!(super::obus(&[0x12, 0x05, 0]).is_err(), "truncated");
        assert!(super::obus(&[0x92, 0x00]).is_err(), "forbidden bit");
    }

    fn write_temp(bytes: &[u8]) -> tempfile::NamedTempFile {
        let file = tempfile::Builder::new().suffix(".webm").tempfile().unwrap();
        std::fs::write(file.path(), bytes).unwrap();
        file
    }

    #[test]
    fn ffprobe_reads_every_frame_duration_and_colour_tag_without_warnings() {
        let Some(ffprobe) = tool("ffprobe") else {
            return;
        };
        let file = write_temp(&encode(&pictures(4, 64, 48), &DURATIONS, FAST));
        let (json, stderr) = media::ffprobe_json(&ffprobe, file.path());
        assert!(stderr.is_empty(), "{stderr}");
        let stream = &json["streams"][0];
        assert_eq!(stream["codec_name"], "av1");
        assert_eq!(stream["width"], 64);
        assert_eq!(stream["height"], 48);
        assert_eq!(stream["color_range"], "tv");
        assert_eq!(stream["color_space"], "bt709");
        assert_eq!(stream["color_primaries"], "bt709");
        assert_eq!(stream["color_transfer"], "iec61966-2-1");
        let seconds = |v: &serde_json::Value| v.as_str().unwrap().parse::<f64>().unwrap();
        assert_eq!(seconds(&json["format"]["duration"]), 0.46);

        let frames = json["frames"].as_array().unwrap();
        assert_eq!(frames.len(), 4);
        let mut start = 0;
        for (frame, &duration) in frames.iter().zip(&DURATIONS) {
            // ffprobe 5 says pkt_duration_time, later versions duration_time.
            let shown = frame
                .get("duration_time")
                .or_else(|| frame.get("pkt_duration_time"))
                .unwrap_or_else(|| panic!("no duration in {frame}"));
            assert_eq!(seconds(shown), f64::from(duration) / 1000.0, "{frame}");
            assert_eq!(seconds(&frame["pts_time"]), f64::from(start) / 1000.0);
            start += duration;
        }
    }

    fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
        assert_eq!(a.len(), b.len());
        let sum: u64 = a
            .iter()
            .zip(b)
            .map(|(&x, &y)| u64::from(x.abs_diff(y)))
            .sum();
        sum as f64 / a.len() as f64
    }

    #[test]
    fn ffmpeg_decodes_frames_close_to_the_input() {
        let Some(ffmpeg) = tool("ffmpeg") else {
            return;
        };
        let pictures = pictures(4, 64, 48);
        let options = Av1Options {
            speed: 8,
            quantizer: 80,
            quality: 0,
        };
        let file = write_temp(&encode(&pictures, &DURATIONS, options));
        // ffmpeg succeeds, says nothing at error level and gives whole
        // 64x48 4:2:0 frames, one per frame stored.
        let decoded = media::decode(&ffmpeg, file.path(), 64, 48);
        assert_eq!(decoded.len(), pictures.len());
        for (i, decoded) in decoded.iter().enumerate() {
            let source = &pictures[i];
            let luma_error = mean_abs_diff(&decoded.y, &source.y);
            assert!(luma_error < 3.0, "frame {i}: luma error {luma_error}");
            assert!(mean_abs_diff(&decoded.u, &source.u) < 3.0, "frame {i}: Cb");
            assert!(mean_abs_diff(&decoded.v, &source.v) < 3.0, "frame {i}: Cr");
            // And it is this frame, not a neighbour: the shapes moved.
            for (j, other) in pictures.iter().enumerate() {
                if j != i {
                    let error = mean_abs_diff(&decoded.y, &other.y);
                    assert!(error > luma_error * 2.0, "frame {i} looks like {j}");
                }
            }
        }
    }
}
