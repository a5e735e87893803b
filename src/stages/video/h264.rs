//! The MP4 video: H.264 from OpenH264, muxed by [`super::mp4`].
//!
//! OpenH264 makes constrained baseline (no B-frames, CAVLC), which every
//! browser and hardware decoder plays. The settings aim at a deterministic,
//! constant-quality encode:
//!
//! - Constant QP. OpenH264 has no direct constant-QP setting: its
//!   "rate control off" mode takes the QP from a layer parameter
//!   (`iDLayerQp`) that the `openh264` crate neither sets nor exposes, so
//!   it would always be 26, whatever `qp` says. The quality mode with the QP range pinned to `min = max = qp` does give a
//!   constant QP: every frame and macroblock QP the rate control computes
//!   is clipped into that range (frame QP, the per-row "GOM" adjustment
//!   and adaptive quantisation alike). OpenH264 raises a minimum below 12
//!   to 12 in that mode (and treats 0 as "use its default range 12..42"),
//!   so `qp` below 12 is encoded at 12. The target bitrate then steers
//!   nothing; it keeps OpenH264's default. The tests read every slice
//!   header back and check its QP.
//! - No frame skipping, no scene-change or periodic key frames: one IDR
//!   picture at the start, P pictures after it. Adaptive quantisation and
//!   background detection (real-time tools that move QP or skip blocks)
//!   are off.
//! - One thread: the pipeline encodes several videos in parallel, and the
//!   output must not depend on scheduling.
//! - The VUI carries [`yuv::COLOUR`](super::yuv::COLOUR), the same code
//!   points as the container's `colr` box.
//! - The level is OpenH264's choice for the frame size at up to 60 frames
//!   a second (its maximum frame rate), so no GIF timing outgrows it.
//!
//! OpenH264's Annex-B output (start codes) becomes MP4 samples of 4-byte
//! length-prefixed NAL units; the SPS and PPS go into the `avcC` record
//! instead of the samples. Each pushed picture is one sample with its own
//! duration. The encoder has no lookahead or reordering, so every picture
//! comes out of the call that encodes it and `finish` only muxes.
//!
//! Each picture's NAL units also go through OpenH264's decoder, whose
//! output is handed back by [`VideoEncoder::take_shown`] for measuring
//! quality: decoding the very stream that is muxed, not trusting the
//! encoder's own reconstruction.

use super::encoder::VideoEncoder;
use super::mp4::{self, AvcTrack, Samples};
use super::yuv::{COLOUR, Colour, Picture};
use crate::config::H264Options;
use openh264::OpenH264API;
use openh264::Timestamp;
use openh264::decoder::{Decoder, DecoderConfig};
use openh264::encoder::{
    ColorPrimaries, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod,
    MatrixCoefficients, Profile, QpRange, RateControlMode, SpsPpsStrategy, TransferCharacteristics,
    UsageType, VuiConfig,
};
use openh264::formats::YUVSource;
use std::ffi::{c_int, c_void};

/// `ENCODER_OPTION_TRACE_LEVEL` and `WELS_LOG_QUIET` of OpenH264's
/// `codec_app_def.h` (part of its stable C ABI; `openh264-sys2`, which names
/// them, is not a direct dependency).
const ENCODER_OPTION_TRACE_LEVEL: c_int = 25;
const WELS_LOG_QUIET: c_int = 0;

/// OpenH264's frame rate ceiling (`MAX_FRAME_RATE`); the level is chosen
/// for it.
const LEVEL_FRAME_RATE: f32 = 60.0;

/// H.264 constrained baseline in MP4, one picture at a time.
pub struct Mp4Encoder {
    encoder: Encoder,
    width: u32,
    height: u32,
    sps: Option<Vec<u8>>,
    pps: Option<Vec<u8>>,
    samples: Samples,
    /// The sample being assembled (reused between pictures).
    sample: Vec<u8>,
    /// Presentation time of the next picture, in milliseconds.
    time_ms: u64,
    /// Decodes what was encoded, for [`VideoEncoder::take_shown`].
    decoder: Decoder,
    /// The NAL units (with start codes) of each picture encoded since the
    /// last `take_shown`, which decodes them.
    annex_b: Vec<Vec<u8>>,
}

impl Mp4Encoder {
    /// An encoder for pictures of `width` x `height` (even, at most
    /// 3840 x 2160 in either orientation, OpenH264's limit).
    pub fn new(width: u32, height: u32, options: H264Options) -> Result<Self, String> {
        if width == 0 || height == 0 || !width.is_multiple_of(2) || !height.is_multiple_of(2) {
            return Err(format!(
                "H.264 needs even, non-zero dimensions, not {width}x{height}"
            ));
        }
        if width.max(height) > 3840 || width.min(height) > 2160 {
            return Err(format!(
                "OpenH264 encodes at most 3840x2160 (or 2160x3840), not {width}x{height}"
            ));
        }
        if options.qp > H264Options::MAX_QP {
            return Err(H264Options::qp_refused());
        }
        // A library caller's QP below the minimum is coded at it, as
        // OpenH264's rate control does (the configuration refuses one).
        let qp = options.qp.max(H264Options::MIN_QP);
        let config = EncoderConfig::new()
            .usage_type(UsageType::CameraVideoRealTime)
            .profile(Profile::Baseline)
            .rate_control_mode(RateControlMode::Quality)
            .qp(QpRange::new(qp, qp))
            .skip_frames(false)
            .max_frame_rate(FrameRate::from_hz(LEVEL_FRAME_RATE))
            .intra_frame_period(IntraFramePeriod::from_num_frames(0))
            .scene_change_detect(false)
            .adaptive_quantization(false)
            .background_detection(false)
            .long_term_reference(false)
            .sps_pps_strategy(SpsPpsStrategy::ConstantId)
            .num_threads(1)
            .vui(vui(COLOUR)?);
        let mut encoder = Encoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(|e| format!("OpenH264 encoder: {e}"))?;
        // The crate silences OpenH264's log only after initialising it on
        // the first frame, and initialising warns (on stderr) that frame
        // skipping is off. The library never prints, so the log is
        // silenced before that: OpenH264 accepts the trace level before
        // initialisation, and nothing else depends on it.
        let mut quiet: c_int = WELS_LOG_QUIET;
        // SAFETY: the encoder exists (created above); TRACE_LEVEL reads one
        // integer through the pointer, which outlives the call.
        let status = unsafe {
            encoder.raw_api().set_option(
                ENCODER_OPTION_TRACE_LEVEL,
                (&raw mut quiet).cast::<c_void>(),
            )
        };
        if status != 0 {
            return Err(format!("OpenH264 refused to be quiet (status {status})"));
        }
        let decoder = Decoder::with_api_config(OpenH264API::from_source(), DecoderConfig::new())
            .map_err(|e| format!("OpenH264 decoder: {e}"))?;
        Ok(Mp4Encoder {
            encoder,
            width,
            height,
            sps: None,
            pps: None,
            samples: Samples::new(),
            sample: Vec::new(),
            time_ms: 0,
            decoder,
            annex_b: Vec::new(),
        })
    }
}

impl VideoEncoder for Mp4Encoder {
    fn push(&mut self, picture: &Picture, duration_ms: u32) -> Result<(), String> {
        if duration_ms == 0 {
            return Err("a video frame needs a duration above 0 ms".into());
        }
        let planes = Planes::new(picture, self.width, self.height)?;
        let frame = self.samples.len() + 1;
        let stream = self
            .encoder
            .encode_at(&planes, Timestamp::from_millis(self.time_ms))
            .map_err(|e| format!("OpenH264 failed on frame {frame}: {e}"))?;
        let sync = match stream.frame_type() {
            FrameType::IDR => true,
            FrameType::I | FrameType::P => false,
            FrameType::Skip => return Err(format!("OpenH264 skipped frame {frame}")),
            other => return Err(format!("OpenH264 returned a {other:?} frame {frame}")),
        };
        self.sample.clear();
        let mut annex_b = Vec::new();
        for layer in (0..stream.num_layers()).filter_map(|i| stream.layer(i)) {
            for nal in (0..layer.nal_count()).filter_map(|i| layer.nal_unit(i)) {
                annex_b.extend_from_slice(nal);
                let nal = strip_start_code(nal).ok_or_else(|| {
                    format!("OpenH264 wrote a NAL unit without start code in frame {frame}")
                })?;
                match nal[0] & 0x1f {
                    7 => keep_parameter_set(&mut self.sps, nal, "sequence")?,
                    8 => keep_parameter_set(&mut self.pps, nal, "picture")?,
                    _ => {
                        // NAL units are far below 4 GiB (a frame is at most
                        // 3840x2160).
                        self.sample
                            .extend_from_slice(&(nal.len() as u32).to_be_bytes());
                        self.sample.extend_from_slice(nal);
                    }
                }
            }
        }
        if self.sps.is_none() || self.pps.is_none() {
            return Err("OpenH264 wrote no parameter sets before the first picture".into());
        }
        self.samples
            .push(&self.sample, duration_ms, sync)
            .map_err(|e| format!("frame {frame}: {e}"))?;
        self.time_ms += u64::from(duration_ms);
        self.annex_b.push(annex_b);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), String> {
        Ok(())
    }

    /// No reordering: the decoder shows each picture as soon as it has its
    /// NAL units. A decoding failure only leaves the picture unmeasured;
    /// the stream itself was written.
    fn take_shown(&mut self) -> Vec<Option<Picture>> {
        let (width, height) = (self.width, self.height);
        std::mem::take(&mut self.annex_b)
            .iter()
            .map(|units| match self.decoder.decode(units) {
                Ok(Some(decoded)) => picture(&decoded, width, height),
                Ok(None) | Err(_) => None,
            })
            .collect()
    }

    fn finish(self: Box<Self>) -> Result<Vec<u8>, String> {
        let (Some(sps), Some(pps)) = (&self.sps, &self.pps) else {
            return Err("an MP4 needs at least one frame".into());
        };
        let track = AvcTrack {
            width: self.width,
            height: self.height,
            sps,
            pps,
            colour: COLOUR,
        };
        mp4::write(&track, &self.samples)
    }
}

/// A decoded picture as tightly packed planes of the video's size (`None`
/// if the decoder's picture has another size).
fn picture(decoded: &impl YUVSource, width: u32, height: u32) -> Option<Picture> {
    let (w, h) = (width as usize, height as usize);
    if decoded.dimensions() != (w, h) {
        return None;
    }
    let (sy, su, sv) = decoded.strides();
    let plane = |data: &[u8], stride: usize, w: usize, h: usize| -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(w * h);
        for row in 0..h {
            out.extend_from_slice(data.get(row * stride..)?.get(..w)?);
        }
        Some(out)
    };
    Some(Picture {
        width,
        height,
        y: plane(decoded.y(), sy, w, h)?,
        u: plane(decoded.u(), su, w / 2, h / 2)?,
        v: plane(decoded.v(), sv, w / 2, h / 2)?,
    })
}

/// A [`Picture`] as OpenH264's I420 input, checked against the encoder's
/// size so OpenH264 never reads past a plane.
struct Planes<'a>(&'a Picture);

impl<'a> Planes<'a> {
    fn new(picture: &'a Picture, width: u32, height: u32) -> Result<Self, String> {
        if (picture.width, picture.height) != (width, height) {
            return Err(format!(
                "a {}x{} picture given to a {width}x{height} video",
                picture.width, picture.height
            ));
        }
        let (w, h) = (width as usize, height as usize);
        let chroma = (w / 2) * (h / 2);
        if picture.y.len() != w * h || picture.u.len() != chroma || picture.v.len() != chroma {
            return Err(format!(
                "the planes of a {width}x{height} picture hold {}, {} and {} bytes",
                picture.y.len(),
                picture.u.len(),
                picture.v.len()
            ));
        }
        Ok(Planes(picture))
    }
}

impl YUVSource for Planes<'_> {
    fn dimensions(&self) -> (usize, usize) {
        (self.0.width as usize, self.0.height as usize)
    }

    fn strides(&self) -> (usize, usize, usize) {
        let w = self.0.width as usize;
        (w, w / 2, w / 2)
    }

    fn y(&self) -> &[u8] {
        &self.0.y
    }

    fn u(&self) -> &[u8] {
        &self.0.u
    }

    fn v(&self) -> &[u8] {
        &self.0.v
    }
}

/// The NAL unit after its Annex-B start code (two or more zero bytes and a
/// one), or `None` when there is none or nothing follows it.
fn strip_start_code(nal: &[u8]) -> Option<&[u8]> {
    let zeros = nal.iter().take_while(|&&b| b == 0).count();
    if zeros < 2 || nal.get(zeros) != Some(&1) {
        return None;
    }
    let rest = &nal[zeros + 1..];
    (!rest.is_empty()).then_some(rest)
}

/// Keeps the first parameter set of its kind; OpenH264 repeats it before
/// every IDR picture, and a different one could not be described by the
/// single `avcC` record.
fn keep_parameter_set(slot: &mut Option<Vec<u8>>, nal: &[u8], kind: &str) -> Result<(), String> {
    match slot {
        None => {
            *slot = Some(nal.to_vec());
            Ok(())
        }
        Some(kept) if kept == nal => Ok(()),
        Some(_) => Err(format!(
            "OpenH264 changed the {kind} parameter set mid-stream"
        )),
    }
}

/// The VUI colour description for `colour`'s H.273 code points; an error
/// for one the `openh264` crate cannot write.
fn vui(colour: Colour) -> Result<VuiConfig, String> {
    let unsupported = |what: &str, code: u8| format!("OpenH264 cannot tag {what} {code}");
    let primaries = primaries(colour.primaries)
        .ok_or_else(|| unsupported("colour primaries", colour.primaries))?;
    let transfer = transfer(colour.transfer)
        .ok_or_else(|| unsupported("transfer characteristics", colour.transfer))?;
    let matrix =
        matrix(colour.matrix).ok_or_else(|| unsupported("matrix coefficients", colour.matrix))?;
    Ok(VuiConfig::new()
        .color_primaries(primaries)
        .transfer_characteristics(transfer)
        .matrix_coefficients(matrix)
        .full_range(colour.full_range))
}

fn primaries(code: u8) -> Option<ColorPrimaries> {
    Some(match code {
        1 => ColorPrimaries::Bt709,
        2 => ColorPrimaries::Unspecified,
        4 => ColorPrimaries::Bt470M,
        5 => ColorPrimaries::Bt470BG,
        6 => ColorPrimaries::Smpte170M,
        7 => ColorPrimaries::Smpte240M,
        8 => ColorPrimaries::Film,
        9 => ColorPrimaries::Bt2020,
        _ => return None,
    })
}

fn transfer(code: u8) -> Option<TransferCharacteristics> {
    Some(match code {
        1 => TransferCharacteristics::Bt709,
        2 => TransferCharacteristics::Unspecified,
        4 => TransferCharacteristics::Bt470M,
        5 => TransferCharacteristics::Bt470Bg,
        6 => TransferCharacteristics::Smpte170M,
        7 => TransferCharacteristics::Smpte240M,
        8 => TransferCharacteristics::Linear,
        13 => TransferCharacteristics::Srgb,
        14 => TransferCharacteristics::Bt2020_10,
        15 => TransferCharacteristics::Bt2020_12,
        16 => TransferCharacteristics::Smpte2084,
        18 => TransferCharacteristics::Hlg,
        _ => return None,
    })
}

fn matrix(code: u8) -> Option<MatrixCoefficients> {
    Some(match code {
        0 => MatrixCoefficients::Identity,
        1 => MatrixCoefficients::Bt709,
        2 => MatrixCoefficients::Unspecified,
        4 => MatrixCoefficients::Fcc,
        5 => MatrixCoefficients::Bt470Bg,
        6 => MatrixCoefficients::Smpte170M,
        7 => MatrixCoefficients::Smpte240M,
        8 => MatrixCoefficients::Ycgco,
        9 => MatrixCoefficients::Bt2020Ncl,
        10 => MatrixCoefficients::Bt2020Cl,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::video::yuv;
    use crate::testsupport::h264::{
        decode, nal_units, parameter_sets, parse_pps, parse_sps, slice_qp,
    };
    use crate::testsupport::mp4 as read;
    use image::{Rgba, RgbaImage};

    const DURATIONS: [u32; 4] = [100, 40, 250, 70];

    /// `count` frames of a gradient with a red disc moving right and a
    /// blue square moving down.
    fn frames(count: u32, width: u32, height: u32) -> Vec<Picture> {
        (0..count)
            .map(|i| {
                let image = RgbaImage::from_fn(width, height, |x, y| {
                    let (cx, cy) = (10 + i * 9, height / 2);
                    let (dx, dy) = (x as i32 - cx as i32, y as i32 - cy as i32);
                    let (sx, sy) = (width * 2 / 3, 4 + i * 7);
                    if dx * dx + dy * dy < 80 {
                        Rgba([220, 40, 30, 255])
                    } else if (sx..sx + 12).contains(&x) && (sy..sy + 12).contains(&y) {
                        Rgba([30, 60, 200, 255])
                    } else {
                        let g = (x * 255 / width) as u8;
                        Rgba([g, 160, 255 - g / 2, 255])
                    }
                });
                yuv::from_rgba(&image, [0; 3]).unwrap()
            })
            .collect()
    }

    fn encode(frames: &[Picture], durations: &[u32], qp: u8) -> Vec<u8> {
        let (w, h) = (frames[0].width, frames[0].height);
        let mut encoder: Box<dyn VideoEncoder> = Box::new(
            Mp4Encoder::new(
                w,
                h,
                H264Options {
                    qp,
                    ..H264Options::default()
                },
            )
            .unwrap(),
        );
        for (frame, &duration) in frames.iter().zip(durations) {
            encoder.push(frame, duration).unwrap();
        }
        encoder.finish().unwrap()
    }

    fn luma_error(a: &Picture, b: &Picture) -> f64 {
        let sum: u64 =
            a.y.iter()
                .zip(&b.y)
                .map(|(&p, &q)| u64::from(p.abs_diff(q)))
                .sum();
        sum as f64 / a.y.len() as f64
    }

    #[test]
    fn the_file_has_fast_start_exact_timing_and_the_colour_tags() {
        let file = encode(&frames(4, 64, 48), &DURATIONS, 26);
        let kinds: Vec<[u8; 4]> = read::boxes(&file).iter().map(|b| b.kind).collect();
        assert_eq!(kinds, [*b"ftyp", *b"moov", *b"mdat"]);
        let stts = read::table(read::stbl(&file, "stts").unwrap().payload, 0, 2);
        assert_eq!(stts, [[1, 100], [1, 40], [1, 250], [1, 70]]);
        let mdhd = read::find(&file, &["moov", "trak", "mdia", "mdhd"]).unwrap();
        assert_eq!(read::u32_at(mdhd.payload, 16), 460);
        let mvhd = read::find(&file, &["moov", "mvhd"]).unwrap();
        assert_eq!(read::u32_at(mvhd.payload, 16), 460);
        let stss = read::table(read::stbl(&file, "stss").unwrap().payload, 0, 1);
        assert_eq!(stss, [[1]], "one IDR picture, at the start");

        // avcC copies profile, constraints and level from the SPS:
        // constrained baseline is profile 66 with constraint_set1.
        let (sps_nal, _) = parameter_sets(&file);
        let avcc = read::find(
            &file,
            &[
                "moov", "trak", "mdia", "minf", "stbl", "stsd", "avc1", "avcC",
            ],
        )
        .unwrap()
        .payload;
        let sps = parse_sps(&sps_nal);
        assert_eq!(avcc[1..4], [sps.profile, sps.constraints, sps.level]);
        assert_eq!(sps.profile, 66);
        assert_ne!(sps.constraints & 0x40, 0, "constraint_set1: constrained");
        assert!((10..=52).contains(&sps.level), "level {}", sps.level);
        assert_eq!(sps.size, (64, 48));
        // The bitstream and the container carry the same colour.
        assert_eq!(sps.colour, Some(COLOUR));
        let colr = read::find(
            &file,
            &[
                "moov", "trak", "mdia", "minf", "stbl", "stsd", "avc1", "colr",
            ],
        )
        .unwrap()
        .payload;
        let c = COLOUR;
        assert_eq!(
            colr,
            [
                b"nclx".as_slice(),
                &[0, c.primaries, 0, c.transfer, 0, c.matrix],
                &[u8::from(c.full_range) << 7]
            ]
            .concat()
        );

        // Samples hold slices only: the parameter sets live in avcC.
        for (sample, _) in read::samples(&file) {
            for nal in nal_units(sample) {
                assert!(matches!(nal[0] & 0x1f, 1 | 5), "NAL type {}", nal[0] & 0x1f);
            }
        }
    }

    #[test]
    fn every_frame_decodes_close_to_its_input() {
        let input = frames(4, 64, 48);
        let file = encode(&input, &DURATIONS, 26);
        let decoded = decode(&file);
        assert_eq!(decoded.len(), 4);
        for (i, (a, b)) in input.iter().zip(&decoded).enumerate() {
            assert_eq!((b.width, b.height), (64, 48));
            let error = luma_error(a, b);
            assert!(error < 2.0, "frame {i}: mean luma error {error:.2}");
            // Each frame is nearer its own input than the others' (the
            // shapes move), so frames are neither dropped nor reordered.
            for (j, other) in input.iter().enumerate() {
                if j != i {
                    assert!(luma_error(other, b) > error * 2.0, "frame {i} vs {j}");
                }
            }
        }
    }

    #[test]
    fn every_slice_is_coded_at_the_requested_qp() {
        let input = frames(4, 64, 48);
        // Below OpenH264's minimum, 0 and 5 are coded at 12.
        for (qp, expected) in [(0, 12), (5, 12), (20, 20), (33, 33), (51, 51)] {
            let file = encode(&input, &DURATIONS, qp);
            let (sps, pps) = parameter_sets(&file);
            let (sps, pps) = (parse_sps(&sps), parse_pps(&pps));
            for (i, (sample, _)) in read::samples(&file).iter().enumerate() {
                for nal in nal_units(sample) {
                    assert_eq!(slice_qp(nal, &sps, &pps), expected, "qp {qp}, frame {i}");
                }
            }
        }
    }

    #[test]
    fn the_same_input_gives_the_same_bytes() {
        let input = frames(4, 64, 48);
        assert_eq!(
            encode(&input, &DURATIONS, 26),
            encode(&input, &DURATIONS, 26)
        );
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let options = H264Options::default();
        for (w, h) in [
            (0, 48),
            (64, 0),
            (63, 48),
            (64, 47),
            (3842, 100),
            (2162, 2162),
        ] {
            assert!(Mp4Encoder::new(w, h, options).is_err(), "{w}x{h}");
        }
        assert!(Mp4Encoder::new(2160, 3840, options).is_ok());
        assert!(
            Mp4Encoder::new(
                64,
                48,
                H264Options {
                    qp: 52,
                    ..H264Options::default()
                }
            )
            .is_err()
        );

        let input = frames(1, 64, 48);
        let other = frames(1, 66, 48);
        let mut encoder = Box::new(Mp4Encoder::new(64, 48, options).unwrap());
        assert!(encoder.push(&other[0], 40).unwrap_err().contains("66x48"));
        assert!(encoder.push(&input[0], 0).is_err());
        let mut short = input[0].clone();
        short.u.pop();
        assert!(encoder.push(&short, 40).unwrap_err().contains("planes"));
        let mut long = input[0].clone();
        long.y.push(0);
        assert!(encoder.push(&long, 40).is_err());
        // Nothing was encoded yet: no frames, no file.
        assert!(encoder.finish().unwrap_err().contains("at least one frame"));

        // After errors the encoder still works.
        let mut encoder = Box::new(Mp4Encoder::new(64, 48, options).unwrap());
        assert!(encoder.push(&other[0], 40).is_err());
        encoder.push(&input[0], 40).unwrap();
        let file = encoder.finish().unwrap();
        assert_eq!(decode(&file).len(), 1);
    }

    #[test]
    fn colour_code_points_map_to_the_same_vui_values() {
        // Each mapping gives back the code it was asked for.
        let mut mapped = [0; 3];
        for code in 0..=255u8 {
            for (i, value) in [
                primaries(code).map(ColorPrimaries::as_u8),
                transfer(code).map(TransferCharacteristics::as_u8),
                matrix(code).map(MatrixCoefficients::as_u8),
            ]
            .into_iter()
            .enumerate()
            {
                if let Some(value) = value {
                    assert_eq!(value, code);
                    mapped[i] += 1;
                }
            }
        }
        // Every variant the crate has is reachable.
        assert_eq!(mapped, [8, 12, 10]);
        assert!(vui(COLOUR).is_ok());
        assert!(
            vui(Colour {
                primaries: 3,
                ..COLOUR
            })
            .is_err()
        );
        assert!(
            vui(Colour {
                transfer: 3,
                ..COLOUR
            })
            .is_err()
        );
        assert!(
            vui(Colour {
                matrix: 3,
                ..COLOUR
            })
            .is_err()
        );
    }

    #[test]
    fn start_codes_are_stripped() {
        assert_eq!(
            strip_start_code(&[0, 0, 0, 1, 0x65, 9]),
            Some(&[0x65, 9][..])
        );
        assert_eq!(strip_start_code(&[0, 0, 1, 0x41]), Some(&[0x41][..]));
        assert_eq!(strip_start_code(&[0, 1, 0x41]), None);
        assert_eq!(strip_start_code(&[0, 0, 0, 1]), None);
        assert_eq!(strip_start_code(&[0x41]), None);
        assert_eq!(strip_start_code(&[]), None);
    }

    /// ffprobe, when installed (under CI it must be), reads the file
    /// without a single warning and sees what the site's `<video>` gets.
    #[test]
    fn ffprobe_reads_the_file_without_warnings() {
        let Some(ffprobe) = crate::testsupport::tool("ffprobe") else {
            return;
        };
        let file = encode(&frames(4, 64, 48), &DURATIONS, 26);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clip.mp4");
        std::fs::write(&path, &file).unwrap();
        let (doc, stderr) = crate::testsupport::media::ffprobe_json(&ffprobe, &path);
        assert_eq!(stderr, "", "ffprobe warned");
        let stream = &doc["streams"][0];
        assert_eq!(doc["streams"].as_array().unwrap().len(), 1);
        assert_eq!(stream["codec_name"], "h264");
        assert_eq!(stream["profile"], "Constrained Baseline");
        assert_eq!(
            (stream["width"].as_u64(), stream["height"].as_u64()),
            (Some(64), Some(48))
        );
        assert_eq!(stream["pix_fmt"], "yuv420p");
        assert_eq!(stream["color_range"], "tv");
        assert_eq!(stream["color_space"], "bt709");
        assert_eq!(stream["color_primaries"], "bt709");
        assert_eq!(stream["color_transfer"], "iec61966-2-1");
        assert_eq!(stream["nb_frames"], "4");
        assert_eq!(doc["format"]["duration"], "0.460000");
        let frames = doc["frames"].as_array().unwrap();
        let durations: Vec<&str> = frames
            .iter()
            // ffprobe 6 renamed pkt_duration_time to duration_time.
            .map(|f| {
                let d = &f["duration_time"];
                d.as_str().or(f["pkt_duration_time"].as_str()).unwrap()
            })
            .collect();
        assert_eq!(durations, ["0.100000", "0.040000", "0.250000", "0.070000"]);
        let starts: Vec<&str> = frames
            .iter()
            .map(|f| f["pts_time"].as_str().unwrap())
            .collect();
        assert_eq!(starts, ["0.000000", "0.100000", "0.140000", "0.390000"]);
        assert_eq!(frames[0]["key_frame"], 1);
        // Fast start: moov is read before mdat.
        let moov = file.windows(4).position(|w| w == b"moov").unwrap();
        let mdat = file.windows(4).position(|w| w == b"mdat").unwrap();
        assert!(moov < mdat);
    }
}
