//! The WebM container: one video track, written whole in memory.
//!
//! [`Muxer`] takes encoded frames in display order, each with its own
//! duration, and [`Muxer::finish`] lays out the file:
//!
//! ```text
//! EBML header   DocType webm, DocTypeVersion 4 (Colour), DocTypeReadVersion 2
//! Segment       known size
//!   SeekHead    positions of Info, Tracks and Cues
//!   Info        TimestampScale 1 ms, Duration = the sum of all durations
//!   Tracks      one video TrackEntry with its Colour tags
//!   Cues        one CuePoint per keyframe
//!   Cluster...  a BlockGroup per frame: Block, BlockDuration, ReferenceBlock
//! ```
//!
//! Timestamps count milliseconds, so each frame starts at exactly the sum
//! of the durations before it and variable frame timing survives as is.
//! Every frame is a BlockGroup carrying its own BlockDuration, the last one
//! included, so it shows for as long as the GIF frame did and the file
//! lasts exactly one loop. (With SimpleBlocks only the timestamps would
//! carry the timing: readers such as ffprobe then report no duration for
//! all but the last frame. The BlockGroup costs 8 to 12 bytes per frame.)
//! A BlockGroup without ReferenceBlock is a keyframe; the others refer to
//! the previous frame.
//!
//! The Cues come before the Clusters (as in WebM for DASH): a browser that
//! loops or seeks finds the index in the first bytes instead of asking for
//! the end of the file. Everything is in memory, so their positions are
//! simply computed; only SeekHead and Cues sizes depend on the positions
//! they hold, which [`Muxer::finish`] settles by iterating to a fixed point.
//!
//! Elements are serialised by `webm-iterable` (its `WebmWriter`): it knows
//! every Matroska element's ID, type and place in the tree, picks the
//! integer and size encodings and rejects an element written under the
//! wrong parent, and its reader checks the output in the tests. What is
//! left here is the layout. No dates and no random UIDs are written: the
//! same frames give the same bytes.

use super::yuv::Colour;
use webm_iterable::WebmWriter;
use webm_iterable::WriteOptions;
use webm_iterable::matroska_spec::{Block, EbmlTag, Master, MatroskaSpec as Mkv};

/// Nanoseconds per timestamp tick: timestamps and durations are in ms.
const TIMESTAMP_SCALE_NS: u64 = 1_000_000;
const TRACK_NUMBER: u64 = 1;
/// Fixed rather than random, for reproducible bytes (a TrackUID only needs
/// to be unique within its file).
const TRACK_UID: u64 = 1;
/// Matroska TrackType for video.
const TRACK_TYPE_VIDEO: u64 = 1;
const APP: &str = "assetmill";

/// The track's codec, size and colour, known once the encoder has started.
#[derive(Debug, Clone)]
pub struct VideoTrack<'a> {
    /// Matroska CodecID, e.g. `V_AV1`.
    pub codec_id: &'a str,
    pub codec_private: &'a [u8],
    pub width: u32,
    pub height: u32,
    pub colour: Colour,
}

struct Cluster {
    timestamp: u64,
    children: Vec<Mkv>,
}

/// Collects frames into Clusters; see the module documentation.
#[derive(Default)]
pub struct Muxer {
    /// The closed Clusters, serialised back to back.
    clusters: Vec<u8>,
    cluster: Option<Cluster>,
    /// (timestamp, offset of its Cluster in `clusters`) for each keyframe.
    cues: Vec<(u64, u64)>,
    /// Timestamp of the last frame written (for ReferenceBlock).
    previous: Option<u64>,
    /// Where the next frame starts: the sum of all durations so far, in ms.
    end: u64,
}

impl Muxer {
    pub fn new() -> Self {
        Muxer::default()
    }

    /// Adds the next frame in display order: `data` is what goes in the
    /// Block, shown for `duration_ms` milliseconds (> 0). The first frame
    /// must be a keyframe.
    ///
    /// The frame goes in the open Cluster, or in a new one when it is a
    /// keyframe (so every keyframe starts a Cluster, which its CuePoint
    /// names) or when its offset from the Cluster's timestamp would not fit
    /// a block's 16-bit relative timestamp.
    pub fn push(&mut self, data: &[u8], keyframe: bool, duration_ms: u32) -> Result<(), String> {
        if duration_ms == 0 {
            return Err("a video frame must last at least 1 ms".into());
        }
        let timestamp = self.end;
        let reference = match (keyframe, self.previous) {
            (true, _) => None,
            (false, Some(previous)) => Some(previous as i64 - timestamp as i64),
            (false, None) => return Err("the first video frame must be a keyframe".into()),
        };
        let new_cluster = match &self.cluster {
            None => true,
            Some(cluster) => keyframe || timestamp - cluster.timestamp > i16::MAX as u64,
        };
        if new_cluster {
            self.close_cluster()?;
            if keyframe {
                self.cues.push((timestamp, self.clusters.len() as u64));
            }
            self.cluster = Some(Cluster {
                timestamp,
                children: vec![Mkv::Timestamp(timestamp)],
            });
        }
        let cluster = self.cluster.as_mut().expect("a cluster is open");
        let relative = i16::try_from(timestamp - cluster.timestamp)
            .expect("a new cluster starts before the offset overflows");
        let mut group = vec![
            Block::new_uncheked(TRACK_NUMBER, relative, false, None, data).into(),
            Mkv::BlockDuration(u64::from(duration_ms)),
        ];
        group.extend(reference.map(Mkv::ReferenceBlock));
        cluster.children.push(Mkv::BlockGroup(Master::Full(group)));
        self.previous = Some(timestamp);
        self.end += u64::from(duration_ms);
        Ok(())
    }

    fn close_cluster(&mut self) -> Result<(), String> {
        if let Some(cluster) = self.cluster.take() {
            let bytes = segment_child(&Mkv::Cluster(Master::Full(cluster.children)))?;
            if self.clusters.is_empty() {
                self.clusters = bytes;
            } else {
                self.clusters.extend_from_slice(&bytes);
            }
        }
        Ok(())
    }

    /// Returns the whole file.
    pub fn finish(mut self, track: &VideoTrack) -> Result<Vec<u8>, String> {
        if self.previous.is_none() {
            return Err("a video needs at least one frame".into());
        }
        self.close_cluster()?;

        let info = segment_child(&info(self.end as f64))?;
        let tracks = segment_child(&tracks(track))?;
        // SeekHead and Cues hold positions that depend on their own sizes
        // (positions are written in as few bytes as they need). Sizes only
        // grow with the positions, so starting from zero this settles after
        // a step or two.
        let (mut seek_len, mut cues_len) = (0, 0);
        for _ in 0..16 {
            let info_at = seek_len as u64;
            let tracks_at = info_at + info.len() as u64;
            let cues_at = tracks_at + tracks.len() as u64;
            let clusters_at = cues_at + cues_len as u64;
            let seek_head = segment_child(&seek_head(&[
                (Mkv::Info(Master::Start), info_at),
                (Mkv::Tracks(Master::Start), tracks_at),
                (Mkv::Cues(Master::Start), cues_at),
            ]))?;
            let cues = segment_child(&cues(&self.cues, clusters_at))?;
            if (seek_head.len(), cues.len()) == (seek_len, cues_len) {
                let body = [&seek_head[..], &info, &tracks, &cues, &self.clusters].concat();
                let mut writer = WebmWriter::new(Vec::with_capacity(body.len() + 64));
                writer.write(&ebml_header()).map_err(writer_error)?;
                // The Segment's children are already serialised: it is
                // written as an element with that body, so of known size.
                writer
                    .write_raw(Mkv::Segment(Master::Start).get_id(), &body)
                    .map_err(writer_error)?;
                return writer.into_inner().map_err(writer_error);
            }
            (seek_len, cues_len) = (seek_head.len(), cues.len());
        }
        Err("the WebM layout did not settle".into())
    }
}

fn writer_error(e: impl std::fmt::Display) -> String {
    format!("writing the WebM: {e}")
}

/// Serialises `tag`, a child of the Segment, on its own, so the Segment
/// can be laid out from its children's sizes.
fn segment_child(tag: &Mkv) -> Result<Vec<u8>, String> {
    // The writer checks that each element sits under its parent, so a
    // Segment is opened first. Of unknown size, it leaves nothing pending
    // and its header is the ID then an 8-byte "unknown" size, cut off here.
    let mut writer = WebmWriter::new(Vec::new());
    writer
        .write_advanced(
            &Mkv::Segment(Master::Start),
            WriteOptions::is_unknown_sized_element(),
        )
        .map_err(writer_error)?;
    writer.write(tag).map_err(writer_error)?;
    let mut bytes = writer.into_inner().map_err(writer_error)?;
    let mut header = id_bytes(&Mkv::Segment(Master::Start));
    header.extend_from_slice(&[0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    if !bytes.starts_with(&header) {
        return Err(writer_error("unexpected Segment header"));
    }
    bytes.drain(..header.len());
    Ok(bytes)
}

/// An element's ID as stored (in SeekID): its big-endian bytes.
fn id_bytes(tag: &Mkv) -> Vec<u8> {
    let id = tag.get_id().to_be_bytes();
    id.iter().skip_while(|&&b| b == 0).copied().collect()
}

fn ebml_header() -> Mkv {
    Mkv::Ebml(Master::Full(vec![
        Mkv::EbmlVersion(1),
        Mkv::EbmlReadVersion(1),
        Mkv::EbmlMaxIdLength(4),
        Mkv::EbmlMaxSizeLength(8),
        Mkv::DocType("webm".into()),
        // Version 4 for the Colour elements; players of version 2 can read
        // the file (they skip what they do not know).
        Mkv::DocTypeVersion(4),
        Mkv::DocTypeReadVersion(2),
    ]))
}

fn seek_head(entries: &[(Mkv, u64)]) -> Mkv {
    Mkv::SeekHead(Master::Full(
        entries
            .iter()
            .map(|(tag, position)| {
                Mkv::Seek(Master::Full(vec![
                    Mkv::SeekID(id_bytes(tag)),
                    Mkv::SeekPosition(*position),
                ]))
            })
            .collect(),
    ))
}

fn info(duration_ms: f64) -> Mkv {
    Mkv::Info(Master::Full(vec![
        Mkv::TimestampScale(TIMESTAMP_SCALE_NS),
        Mkv::Duration(duration_ms),
        Mkv::MuxingApp(APP.into()),
        Mkv::WritingApp(APP.into()),
    ]))
}

fn tracks(track: &VideoTrack) -> Mkv {
    let colour = track.colour;
    Mkv::Tracks(Master::Full(vec![Mkv::TrackEntry(Master::Full(vec![
        Mkv::TrackNumber(TRACK_NUMBER),
        Mkv::TrackUID(TRACK_UID),
        Mkv::TrackType(TRACK_TYPE_VIDEO),
        Mkv::FlagLacing(0),
        Mkv::CodecID(track.codec_id.into()),
        Mkv::CodecPrivate(track.codec_private.to_vec()),
        Mkv::Video(Master::Full(vec![
            Mkv::PixelWidth(track.width.into()),
            Mkv::PixelHeight(track.height.into()),
            Mkv::Colour(Master::Full(vec![
                Mkv::MatrixCoefficients(colour.matrix.into()),
                // 1 = broadcast (limited), 2 = full.
                Mkv::Range(if colour.full_range { 2 } else { 1 }),
                Mkv::TransferCharacteristics(colour.transfer.into()),
                Mkv::Primaries(colour.primaries.into()),
            ])),
        ])),
    ]))]))
}

/// `cues` holds (timestamp, offset among the Clusters); the Clusters start
/// at `clusters_at` in the Segment.
fn cues(cues: &[(u64, u64)], clusters_at: u64) -> Mkv {
    Mkv::Cues(Master::Full(
        cues.iter()
            .map(|&(time, offset)| {
                Mkv::CuePoint(Master::Full(vec![
                    Mkv::CueTime(time),
                    Mkv::CueTrackPositions(Master::Full(vec![
                        Mkv::CueTrack(TRACK_NUMBER),
                        Mkv::CueClusterPosition(clusters_at + offset),
                    ])),
                ]))
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testsupport::webm::{blocks, elements, segment_data_start};

    fn track() -> VideoTrack<'static> {
        VideoTrack {
            codec_id: "V_TEST",
            codec_private: &[1, 2, 3],
            width: 64,
            height: 48,
            colour: crate::stages::video::yuv::COLOUR,
        }
    }

    /// Frame `i`'s stand-in data, growing so positions need several bytes.
    fn data(i: usize) -> Vec<u8> {
        vec![i as u8; 3 + 100 * i]
    }

    fn mux(frames: &[(bool, u32)]) -> Vec<u8> {
        let mut muxer = Muxer::new();
        for (i, &(keyframe, duration)) in frames.iter().enumerate() {
            muxer.push(&data(i), keyframe, duration).unwrap();
        }
        muxer.finish(&track()).unwrap()
    }

    #[test]
    fn header_info_and_track_are_written() {
        let file = mux(&[(true, 100), (false, 40)]);
        let elements = elements(&file);
        let find = |f: &dyn Fn(&Mkv) -> bool| elements.iter().any(|(_, t)| f(t));
        assert!(find(&|t| *t == Mkv::DocType("webm".into())));
        assert!(find(&|t| *t == Mkv::DocTypeVersion(4)));
        assert!(find(&|t| *t == Mkv::DocTypeReadVersion(2)));
        assert!(find(&|t| *t == Mkv::TimestampScale(1_000_000)));
        assert!(find(&|t| *t == Mkv::Duration(140.0)));
        assert!(find(&|t| *t == Mkv::MuxingApp("assetmill".into())));
        assert!(find(&|t| *t == Mkv::WritingApp("assetmill".into())));
        assert!(find(&|t| *t == Mkv::CodecID("V_TEST".into())));
        assert!(find(&|t| *t == Mkv::CodecPrivate(vec![1, 2, 3])));
        assert!(find(&|t| *t == Mkv::TrackUID(TRACK_UID)));
        assert!(find(&|t| *t == Mkv::FlagLacing(0)));
        assert!(find(&|t| *t == Mkv::PixelWidth(64)));
        assert!(find(&|t| *t == Mkv::PixelHeight(48)));
        assert!(!find(&|t| matches!(
            t,
            Mkv::DateUTC(_) | Mkv::SegmentUID(_)
        )));
        // The Segment's size is known (not the all-ones "unknown" value) and
        // runs to the end of the file.
        let segment_at = elements
            .iter()
            .find(|(_, t)| matches!(t, Mkv::Segment(Master::Start)))
            .unwrap()
            .0;
        let data_at = segment_data_start(&file);
        let size = &file[segment_at + 4..data_at];
        assert_ne!(size, [0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        let mut value = u64::from(size[0] & (0xff >> size.len()));
        for &b in &size[1..] {
            value = value << 8 | u64::from(b);
        }
        assert_eq!(size[0].leading_zeros() as usize + 1, size.len());
        assert_eq!(value as usize, file.len() - data_at);
    }

    #[test]
    fn blocks_carry_exact_timestamps_durations_and_references() {
        let file = mux(&[(true, 100), (false, 40), (false, 250), (false, 70)]);
        let blocks = blocks(&file);
        let summary: Vec<_> = blocks.iter().map(|b| (b.0, b.1, b.2)).collect();
        assert_eq!(
            summary,
            [
                (0, None, Some(100)),
                (100, Some(-100), Some(40)),
                (140, Some(-40), Some(250)),
                (390, Some(-250), Some(70))
            ]
        );
        for (i, block) in blocks.iter().enumerate() {
            assert_eq!(block.3, data(i), "frame {i} data");
        }
    }

    #[test]
    fn a_single_frame_is_a_keyframe_with_its_duration() {
        let file = mux(&[(true, 500)]);
        assert_eq!(blocks(&file), [(0, None, Some(500), data(0))]);
        assert!(
            elements(&file)
                .iter()
                .any(|(_, t)| *t == Mkv::Duration(500.0))
        );
    }

    #[test]
    fn seek_head_and_cues_point_at_their_elements() {
        // Long durations: clusters split on the 16-bit offset as well as on
        // keyframes, and positions need more than one byte.
        let mut frames = vec![(true, 20_000); 3];
        frames.extend([(false, 20_000); 4]);
        frames.push((true, 30));
        frames.extend([(false, 20_000); 3]);
        let file = mux(&frames);
        let elements = elements(&file);
        let start = segment_data_start(&file);
        let at = |position: u64| {
            elements
                .iter()
                .find(|(offset, _)| *offset == start + position as usize)
                .map(|(_, t)| t.get_id())
        };
        let mut seek_ids = Vec::new();
        let mut id = None;
        for (_, tag) in &elements {
            match tag {
                Mkv::SeekID(bytes) => id = Some(bytes.clone()),
                Mkv::SeekPosition(p) => {
                    let target = at(*p).expect("SeekPosition lands on an element");
                    assert_eq!(id_bytes_of(target), id.take().unwrap());
                    seek_ids.push(target);
                }
                _ => {}
            }
        }
        let id_of = |t: Mkv| t.get_id();
        assert_eq!(
            seek_ids,
            [
                id_of(Mkv::Info(Master::Start)),
                id_of(Mkv::Tracks(Master::Start)),
                id_of(Mkv::Cues(Master::Start))
            ]
        );

        // A CuePoint per keyframe, each at a Cluster starting with it.
        let cue_times: Vec<_> = elements
            .iter()
            .filter_map(|(_, t)| match t {
                Mkv::CueTime(t) => Some(*t),
                _ => None,
            })
            .collect();
        let cue_positions: Vec<_> = elements
            .iter()
            .filter_map(|(_, t)| match t {
                Mkv::CueClusterPosition(p) => Some(*p),
                _ => None,
            })
            .collect();
        assert_eq!(cue_times, [0, 20_000, 40_000, 140_000]);
        for (time, position) in cue_times.iter().zip(&cue_positions) {
            assert_eq!(at(*position), Some(id_of(Mkv::Cluster(Master::Start))));
            let i = elements
                .iter()
                .position(|(offset, _)| *offset == start + *position as usize)
                .unwrap();
            assert_eq!(elements[i + 1].1, Mkv::Timestamp(*time));
        }

        // Cues precede the Clusters; every block offset fits an i16.
        let first = |f: fn(&Mkv) -> bool| elements.iter().position(|(_, t)| f(t)).unwrap();
        assert!(first(|t| matches!(t, Mkv::Cues(_))) < first(|t| matches!(t, Mkv::Cluster(_))));
        let blocks = blocks(&file);
        let mut expected = 0;
        for (i, block) in blocks.iter().enumerate() {
            assert_eq!(block.0, expected, "block {i}");
            expected += frames[i].1 as u64;
        }
        let clusters = elements
            .iter()
            .filter(|(_, t)| matches!(t, Mkv::Cluster(Master::Start)))
            .count();
        assert!(clusters > cue_times.len(), "split on the i16 limit too");
    }

    fn id_bytes_of(id: u64) -> Vec<u8> {
        id.to_be_bytes()
            .iter()
            .skip_while(|&&b| b == 0)
            .copied()
            .collect()
    }

    #[test]
    fn same_frames_give_the_same_bytes() {
        let frames = [(true, 100), (false, 40), (true, 250), (false, 70)];
        assert_eq!(mux(&frames), mux(&frames));
    }

    #[test]
    fn bad_input_is_an_error() {
        let mut muxer = Muxer::new();
        assert!(muxer.push(&[1], false, 10).is_err(), "first not key");
        assert!(muxer.push(&[1], true, 0).is_err(), "zero duration");
        assert!(Muxer::new().finish(&track()).is_err(), "no frames");
    }
}
