//! A small ISO-BMFF (MP4) writer for one H.264 video track, the container
//! of [`super::h264`].
//!
//! The whole file is built in memory: `ftyp`, then `moov`, then `mdat`.
//! The movie box comes first ("fast start"), so a browser can start
//! playing after the first bytes arrive instead of seeking to the end; the
//! chunk offset is therefore computed from the size of everything before
//! the media data, and `co64` is only used when that offset does not fit
//! in 32 bits.
//!
//! Timing is in milliseconds (timescale 1000) and every sample keeps its
//! own duration, the last one included: `stts` stores the run-length of the
//! per-sample durations, and the track lasts their exact sum, so variable
//! GIF delays survive exactly. There are no B-frames (decode order is
//! presentation order), hence no `ctts` and no edit list.
//!
//! The sample entry is `avc1` with its `avcC` record (4-byte NAL lengths),
//! a `colr` box (`nclx`) carrying the same H.273 code points as the
//! bitstream's VUI, and a square-pixel `pasp`. All samples sit in one chunk.
//! Nothing depends on the clock or the machine: creation and modification
//! times are zero, so the same samples give the same bytes.

use super::yuv::Colour;

/// Ticks per second of the movie and the media: durations are milliseconds.
pub const TIMESCALE: u32 = 1000;

/// An upper bound on the sample count that keeps every box inside `moov`
/// far below 4 GiB (the sample tables cost at most 16 bytes a sample), so
/// their 32-bit sizes cannot overflow. 2^26 samples of 1 ms is 18 hours.
const MAX_SAMPLES: usize = 1 << 26;

/// The video track: its size, H.264 parameter sets and colour.
#[derive(Debug, Clone, Copy)]
pub struct AvcTrack<'a> {
    pub width: u32,
    pub height: u32,
    /// The sequence parameter set, one NAL unit without start code.
    pub sps: &'a [u8],
    /// The picture parameter set, one NAL unit without start code.
    pub pps: &'a [u8],
    pub colour: Colour,
}

/// The samples of the track in decode order: their bytes (length-prefixed
/// NAL units) back to back, as they will sit in `mdat`, and their sizes,
/// durations and sync flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Samples {
    data: Vec<u8>,
    sizes: Vec<u32>,
    durations: Vec<u32>,
    /// 1-based numbers of the sync (IDR) samples.
    sync: Vec<u32>,
    total: u32,
}

impl Samples {
    pub fn new() -> Self {
        Samples::default()
    }

    /// Appends one sample shown for `duration_ms` (> 0) milliseconds.
    /// `sync` marks a random access point (an IDR picture).
    pub fn push(&mut self, sample: &[u8], duration_ms: u32, sync: bool) -> Result<(), String> {
        if sample.is_empty() {
            return Err("an MP4 sample cannot be empty".into());
        }
        if duration_ms == 0 {
            return Err("an MP4 sample needs a duration above 0 ms".into());
        }
        if self.sizes.len() >= MAX_SAMPLES {
            return Err(format!("an MP4 track holds at most {MAX_SAMPLES} samples"));
        }
        let size = u32::try_from(sample.len())
            .map_err(|_| format!("an MP4 sample of {} bytes is too large", sample.len()))?;
        let total = self
            .total
            .checked_add(duration_ms)
            .ok_or("the video lasts longer than 2^32 ms (49 days)")?;
        self.data.extend_from_slice(sample);
        self.sizes.push(size);
        self.durations.push(duration_ms);
        if sync {
            // At most MAX_SAMPLES samples, so the number fits.
            self.sync.push(self.sizes.len() as u32);
        }
        self.total = total;
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.sizes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sizes.is_empty()
    }

    /// The sum of all durations, in milliseconds.
    pub fn duration_ms(&self) -> u32 {
        self.total
    }
}

/// The complete MP4 file: `ftyp`, `moov`, `mdat`.
pub fn write(track: &AvcTrack, samples: &Samples) -> Result<Vec<u8>, String> {
    if samples.is_empty() {
        return Err("an MP4 needs at least one frame".into());
    }
    if samples.sync.first() != Some(&1) {
        return Err("the first MP4 sample must be a sync sample (an IDR picture)".into());
    }
    let (width, height) = match (u16::try_from(track.width), u16::try_from(track.height)) {
        (Ok(w), Ok(h)) if w > 0 && h > 0 => (w, h),
        _ => {
            return Err(format!(
                "an MP4 video cannot be {}x{}",
                track.width, track.height
            ));
        }
    };
    let avcc = avc_config(track.sps, track.pps)?;

    let ftyp = ftyp();
    let mdat_header = mdat_header(samples.data.len() as u64);
    // The moov box's size does not depend on the offset's value, only on
    // whether it fits 32 bits (stco) or not (co64: the one chunk offset
    // takes 8 bytes instead of 4).
    let narrow = movie(width, height, &avcc, track.colour, samples, 0);
    let mut data_start = (ftyp.len() + narrow.len() + mdat_header.len()) as u64;
    if data_start > u64::from(u32::MAX) {
        data_start += 4;
    }
    let moov = movie(width, height, &avcc, track.colour, samples, data_start);
    debug_assert_eq!(
        (ftyp.len() + moov.len() + mdat_header.len()) as u64,
        data_start
    );

    let mut out = Vec::with_capacity(data_start as usize + samples.data.len());
    out.extend_from_slice(&ftyp);
    out.extend_from_slice(&moov);
    out.extend_from_slice(&mdat_header);
    out.extend_from_slice(&samples.data);
    Ok(out)
}

/// An `AVCDecoderConfigurationRecord` (ISO/IEC 14496-15, 5.3.3.1) with one
/// SPS, one PPS and 4-byte NAL unit lengths.
pub fn avc_config(sps: &[u8], pps: &[u8]) -> Result<Vec<u8>, String> {
    if sps.len() < 4 || sps[0] & 0x1f != 7 {
        return Err("the avcC record needs a sequence parameter set".into());
    }
    if pps.len() < 2 || pps[0] & 0x1f != 8 {
        return Err("the avcC record needs a picture parameter set".into());
    }
    let (profile, compatibility, level) = (sps[1], sps[2], sps[3]);
    // High profiles append chroma and bit-depth fields to the record; the
    // encoder makes constrained baseline, so they are not written.
    if matches!(profile, 100 | 110 | 122 | 144) {
        return Err(format!(
            "H.264 profile {profile} needs the extended avcC record"
        ));
    }
    let (Ok(sps_len), Ok(pps_len)) = (u16::try_from(sps.len()), u16::try_from(pps.len())) else {
        return Err("an H.264 parameter set longer than 65535 bytes".into());
    };
    let mut out = vec![1, profile, compatibility, level];
    out.push(0xfc | 3); // reserved bits, lengthSizeMinusOne = 3
    out.push(0xe0 | 1); // reserved bits, one SPS
    out.extend_from_slice(&sps_len.to_be_bytes());
    out.extend_from_slice(sps);
    out.push(1); // one PPS
    out.extend_from_slice(&pps_len.to_be_bytes());
    out.extend_from_slice(pps);
    Ok(out)
}

fn ftyp() -> Vec<u8> {
    let mut out = Vec::new();
    boxed(&mut out, b"ftyp", |b| {
        b.extend_from_slice(b"isom");
        be32(b, 0x200); // minor version, as ffmpeg writes it
        for brand in [b"isom", b"iso2", b"avc1", b"mp41"] {
            b.extend_from_slice(brand);
        }
    });
    out
}

/// The `mdat` header for `len` bytes of media data: 8 bytes, or 16 with a
/// 64-bit size when the box would not fit in 4 GiB.
fn mdat_header(len: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    if len + 8 <= u64::from(u32::MAX) {
        be32(&mut out, (len + 8) as u32);
        out.extend_from_slice(b"mdat");
    } else {
        be32(&mut out, 1);
        out.extend_from_slice(b"mdat");
        out.extend_from_slice(&(len + 16).to_be_bytes());
    }
    out
}

/// The `moov` box, with the media data starting at byte `data_start` of
/// the file.
fn movie(
    width: u16,
    height: u16,
    avcc: &[u8],
    colour: Colour,
    samples: &Samples,
    data_start: u64,
) -> Vec<u8> {
    let duration = samples.total;
    let mut out = Vec::new();
    boxed(&mut out, b"moov", |moov| {
        full_box(moov, b"mvhd", 0, 0, |b| {
            be32(b, 0); // creation time
            be32(b, 0); // modification time
            be32(b, TIMESCALE);
            be32(b, duration);
            be32(b, 0x0001_0000); // rate 1.0
            be16(b, 0x0100); // volume 1.0
            b.extend_from_slice(&[0; 10]); // reserved
            matrix(b);
            b.extend_from_slice(&[0; 24]); // pre_defined
            be32(b, 2); // next track ID
        });
        boxed(moov, b"trak", |trak| {
            // Flags: track enabled (1) and in movie (2).
            full_box(trak, b"tkhd", 0, 3, |b| {
                be32(b, 0); // creation time
                be32(b, 0); // modification time
                be32(b, 1); // track ID
                be32(b, 0); // reserved
                be32(b, duration); // in the movie's timescale, the same
                b.extend_from_slice(&[0; 8]); // reserved
                be16(b, 0); // layer
                be16(b, 0); // alternate group
                be16(b, 0); // volume (not audio)
                be16(b, 0); // reserved
                matrix(b);
                be32(b, u32::from(width) << 16); // 16.16 fixed point
                be32(b, u32::from(height) << 16);
            });
            boxed(trak, b"mdia", |mdia| {
                full_box(mdia, b"mdhd", 0, 0, |b| {
                    be32(b, 0); // creation time
                    be32(b, 0); // modification time
                    be32(b, TIMESCALE);
                    be32(b, duration);
                    be16(b, 0x55c4); // language "und", packed ISO-639-2/T
                    be16(b, 0); // pre_defined
                });
                full_box(mdia, b"hdlr", 0, 0, |b| {
                    be32(b, 0); // pre_defined
                    b.extend_from_slice(b"vide");
                    b.extend_from_slice(&[0; 12]); // reserved
                    b.extend_from_slice(b"VideoHandler\0");
                });
                boxed(mdia, b"minf", |minf| {
                    full_box(minf, b"vmhd", 0, 1, |b| {
                        be16(b, 0); // graphics mode: copy
                        b.extend_from_slice(&[0; 6]); // opcolor
                    });
                    boxed(minf, b"dinf", |dinf| {
                        full_box(dinf, b"dref", 0, 0, |b| {
                            be32(b, 1); // entry count
                            // Flag 1: the media data is in this file.
                            full_box(b, b"url ", 0, 1, |_| {});
                        });
                    });
                    boxed(minf, b"stbl", |stbl| {
                        sample_description(stbl, width, height, avcc, colour);
                        sample_tables(stbl, samples, data_start);
                    });
                });
            });
        });
    });
    out
}

/// `stsd` with the one `avc1` sample entry.
fn sample_description(out: &mut Vec<u8>, width: u16, height: u16, avcc: &[u8], colour: Colour) {
    full_box(out, b"stsd", 0, 0, |stsd| {
        be32(stsd, 1); // entry count
        boxed(stsd, b"avc1", |b| {
            b.extend_from_slice(&[0; 6]); // reserved
            be16(b, 1); // data reference index
            be16(b, 0); // pre_defined
            be16(b, 0); // reserved
            b.extend_from_slice(&[0; 12]); // pre_defined
            be16(b, width);
            be16(b, height);
            be32(b, 0x0048_0000); // 72 dpi horizontally
            be32(b, 0x0048_0000); // and vertically
            be32(b, 0); // reserved
            be16(b, 1); // frame count
            b.extend_from_slice(&[0; 32]); // compressor name (empty)
            be16(b, 0x0018); // depth: colour, no alpha
            be16(b, 0xffff); // pre_defined = -1
            boxed(b, b"avcC", |c| c.extend_from_slice(avcc));
            boxed(b, b"colr", |c| {
                c.extend_from_slice(b"nclx");
                be16(c, u16::from(colour.primaries));
                be16(c, u16::from(colour.transfer));
                be16(c, u16::from(colour.matrix));
                c.push(u8::from(colour.full_range) << 7);
            });
            boxed(b, b"pasp", |c| {
                be32(c, 1); // square pixels
                be32(c, 1);
            });
        });
    });
}

/// `stts`, `stss`, `stsc`, `stsz` and the chunk offsets. All samples are
/// one chunk, starting at `data_start`.
fn sample_tables(out: &mut Vec<u8>, samples: &Samples, data_start: u64) {
    let runs = runs(&samples.durations);
    full_box(out, b"stts", 0, 0, |b| {
        be32(b, runs.len() as u32);
        for (count, delta) in runs {
            be32(b, count);
            be32(b, delta);
        }
    });
    full_box(out, b"stss", 0, 0, |b| {
        be32(b, samples.sync.len() as u32);
        for &number in &samples.sync {
            be32(b, number);
        }
    });
    full_box(out, b"stsc", 0, 0, |b| {
        be32(b, 1); // entry count
        be32(b, 1); // first chunk
        be32(b, samples.len() as u32); // samples per chunk
        be32(b, 1); // sample description index
    });
    full_box(out, b"stsz", 0, 0, |b| {
        be32(b, 0); // sizes differ: one per sample follows
        be32(b, samples.len() as u32);
        for &size in &samples.sizes {
            be32(b, size);
        }
    });
    chunk_offsets(out, &[data_start]);
}

/// `stco` when every offset fits in 32 bits, `co64` otherwise.
fn chunk_offsets(out: &mut Vec<u8>, offsets: &[u64]) {
    if offsets.iter().all(|&o| o <= u64::from(u32::MAX)) {
        full_box(out, b"stco", 0, 0, |b| {
            be32(b, offsets.len() as u32);
            for &offset in offsets {
                be32(b, offset as u32);
            }
        });
    } else {
        full_box(out, b"co64", 0, 0, |b| {
            be32(b, offsets.len() as u32);
            for &offset in offsets {
                b.extend_from_slice(&offset.to_be_bytes());
            }
        });
    }
}

/// Run-length encoding of `values`: (count, value) pairs.
fn runs(values: &[u32]) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for &value in values {
        match out.last_mut() {
            Some((count, last)) if *last == value => *count += 1,
            _ => out.push((1, value)),
        }
    }
    out
}

/// The identity transformation matrix (16.16, with w in 2.30).
fn matrix(out: &mut Vec<u8>) {
    for value in [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
        be32(out, value);
    }
}

/// Appends a box of type `kind` whose payload `body` writes.
fn boxed(out: &mut Vec<u8>, kind: &[u8; 4], body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(kind);
    body(out);
    // Boxes inside moov stay far below 4 GiB (see MAX_SAMPLES); mdat is
    // written by mdat_header.
    let size = u32::try_from(out.len() - start).expect("box sizes are bounded by MAX_SAMPLES");
    out[start..start + 4].copy_from_slice(&size.to_be_bytes());
}

/// Appends a full box (with version and flags).
fn full_box(
    out: &mut Vec<u8>,
    kind: &[u8; 4],
    version: u8,
    flags: u32,
    body: impl FnOnce(&mut Vec<u8>),
) {
    boxed(out, kind, |b| {
        be32(b, u32::from(version) << 24 | (flags & 0x00ff_ffff));
        body(b);
    });
}

fn be16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_be_bytes());
}

fn be32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::video::yuv::COLOUR;
    use crate::testsupport::mp4::{self as read, *};

    // A baseline SPS and PPS shaped like OpenH264's (the bytes after the
    // level do not matter to the container).
    const SPS: &[u8] = &[0x67, 0x42, 0xc0, 0x0b, 0x8c, 0x8d, 0x40];
    const PPS: &[u8] = &[0x68, 0xce, 0x3c, 0x80];

    fn track() -> AvcTrack<'static> {
        AvcTrack {
            width: 64,
            height: 48,
            sps: SPS,
            pps: PPS,
            colour: COLOUR,
        }
    }

    /// Samples with distinct bytes, so a wrong offset shows.
    fn samples(durations: &[u32], sync: &[bool]) -> Samples {
        let mut samples = Samples::new();
        for (i, (&d, &s)) in durations.iter().zip(sync).enumerate() {
            let bytes: Vec<u8> = (0..10 + i * 7).map(|j| (i * 31 + j) as u8).collect();
            samples.push(&bytes, d, s).unwrap();
        }
        samples
    }

    fn kinds(data: &[u8]) -> Vec<String> {
        boxes(data)
            .iter()
            .map(|b| String::from_utf8_lossy(&b.kind).into_owned())
            .collect()
    }

    #[test]
    fn boxes_come_in_fast_start_order_and_nest_exactly() {
        let file = write(&track(), &samples(&[40; 3], &[true, false, false])).unwrap();
        // boxes() asserts that every size fits its parent exactly.
        assert_eq!(kinds(&file), ["ftyp", "moov", "mdat"]);
        let ftyp = find(&file, &["ftyp"]).unwrap().payload;
        assert_eq!(ftyp, b"isom\0\0\x02\0isomiso2avc1mp41");
        let moov = find(&file, &["moov"]).unwrap().payload;
        assert_eq!(kinds(moov), ["mvhd", "trak"]);
        let trak = find(&file, &["moov", "trak"]).unwrap().payload;
        assert_eq!(kinds(trak), ["tkhd", "mdia"]);
        let mdia = find(&file, &["moov", "trak", "mdia"]).unwrap().payload;
        assert_eq!(kinds(mdia), ["mdhd", "hdlr", "minf"]);
        let minf = find(&file, &["moov", "trak", "mdia", "minf"])
            .unwrap()
            .payload;
        assert_eq!(kinds(minf), ["vmhd", "dinf", "stbl"]);
        let stbl = find(&file, &["moov", "trak", "mdia", "minf", "stbl"])
            .unwrap()
            .payload;
        assert_eq!(
            kinds(stbl),
            ["stsd", "stts", "stss", "stsc", "stsz", "stco"]
        );
        let avc1 = find(
            &file,
            &["moov", "trak", "mdia", "minf", "stbl", "stsd", "avc1"],
        )
        .unwrap();
        assert_eq!(kinds(&avc1.payload[78..]), ["avcC", "colr", "pasp"]);
        let url = find(
            &file,
            &["moov", "trak", "mdia", "minf", "dinf", "dref", "url "],
        )
        .unwrap();
        assert_eq!(url.payload, [0, 0, 0, 1], "self-contained");
        let hdlr = find(&file, &["moov", "trak", "mdia", "hdlr"])
            .unwrap()
            .payload;
        assert_eq!(&hdlr[8..12], b"vide");
        let vmhd = find(&file, &["moov", "trak", "mdia", "minf", "vmhd"])
            .unwrap()
            .payload;
        assert_eq!(vmhd, [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn uneven_durations_survive_in_stts_and_sum_to_every_duration_field() {
        let durations = [100, 40, 40, 250, 70, 70, 70];
        let file = write(&track(), &samples(&durations, &[true; 7])).unwrap();
        let stts = table(stbl(&file, "stts").unwrap().payload, 0, 2);
        assert_eq!(stts, [vec![1, 100], vec![2, 40], vec![1, 250], vec![3, 70]]);
        let total = 640;
        let mvhd = find(&file, &["moov", "mvhd"]).unwrap().payload;
        assert_eq!((u32_at(mvhd, 12), u32_at(mvhd, 16)), (1000, total));
        let mdhd = find(&file, &["moov", "trak", "mdia", "mdhd"])
            .unwrap()
            .payload;
        assert_eq!((u32_at(mdhd, 12), u32_at(mdhd, 16)), (1000, total));
        let tkhd = find(&file, &["moov", "trak", "tkhd"]).unwrap().payload;
        assert_eq!(u32_at(tkhd, 0), 3, "version 0, enabled and in movie");
        assert_eq!(u32_at(tkhd, 12), 1, "track ID");
        assert_eq!(u32_at(tkhd, 20), total);
        assert_eq!((u32_at(tkhd, 76), u32_at(tkhd, 80)), (64 << 16, 48 << 16));
        // Creation and modification times are zero everywhere.
        for header in [mvhd, mdhd, tkhd] {
            assert_eq!((u32_at(header, 4), u32_at(header, 8)), (0, 0));
        }
        let read: Vec<u32> = read::samples(&file).iter().map(|s| s.1).collect();
        assert_eq!(read, durations);
    }

    #[test]
    fn sample_bytes_sizes_and_sync_samples_read_back() {
        let sync = [true, false, false, true, false];
        let input = samples(&[30, 30, 30, 30, 30], &sync);
        let file = write(&track(), &input).unwrap();
        let read = read::samples(&file);
        assert_eq!(read.len(), 5);
        let mut at = 0;
        for (i, (bytes, _)) in read.iter().enumerate() {
            assert_eq!(bytes.len(), 10 + i * 7);
            assert_eq!(*bytes, &input.data[at..at + bytes.len()]);
            at += bytes.len();
        }
        let stss = table(stbl(&file, "stss").unwrap().payload, 0, 1);
        assert_eq!(stss, [vec![1], vec![4]]);
        // The only chunk starts right after the mdat header, and mdat is
        // the last box.
        let mdat = boxes(&file).pop().unwrap();
        let stco = table(stbl(&file, "stco").unwrap().payload, 0, 1);
        assert_eq!(stco, [vec![mdat.offset as u32 + 8]]);
        assert_eq!(mdat.payload, input.data);
    }

    #[test]
    fn the_sample_entry_describes_size_colour_and_parameter_sets() {
        let file = write(&track(), &samples(&[50], &[true])).unwrap();
        let entry = find(
            &file,
            &["moov", "trak", "mdia", "minf", "stbl", "stsd", "avc1"],
        )
        .unwrap()
        .payload;
        assert_eq!(u16_at(entry, 6), 1, "data reference index");
        assert_eq!((u16_at(entry, 24), u16_at(entry, 26)), (64, 48));
        assert_eq!(
            (u32_at(entry, 28), u32_at(entry, 32)),
            (0x48_0000, 0x48_0000)
        );
        assert_eq!(u16_at(entry, 40), 1, "frame count");
        assert_eq!((u16_at(entry, 74), u16_at(entry, 76)), (0x18, 0xffff));
        let inner = &entry[78..];
        let avcc = find(inner, &["avcC"]).unwrap().payload;
        let mut expected = vec![1, 0x42, 0xc0, 0x0b, 0xff, 0xe1, 0, 7];
        expected.extend_from_slice(SPS);
        expected.extend_from_slice(&[1, 0, 4]);
        expected.extend_from_slice(PPS);
        assert_eq!(avcc, expected);
        let colr = find(inner, &["colr"]).unwrap().payload;
        assert_eq!(&colr[..4], b"nclx");
        assert_eq!(
            (u16_at(colr, 4), u16_at(colr, 6), u16_at(colr, 8), colr[10]),
            (
                u16::from(COLOUR.primaries),
                u16::from(COLOUR.transfer),
                u16::from(COLOUR.matrix),
                u8::from(COLOUR.full_range) << 7
            )
        );
        assert_eq!(colr.len(), 11);
        let pasp = find(inner, &["pasp"]).unwrap().payload;
        assert_eq!(pasp, [0, 0, 0, 1, 0, 0, 0, 1]);
        // Full range sets the flag's top bit.
        let full = AvcTrack {
            colour: Colour {
                full_range: true,
                ..COLOUR
            },
            ..track()
        };
        let file = write(&full, &samples(&[50], &[true])).unwrap();
        let colr = stbl(&file, "stsd").unwrap().payload;
        let at = colr.windows(4).position(|w| w == b"nclx").unwrap();
        assert_eq!(colr[at + 10], 0x80);
    }

    #[test]
    fn chunk_offsets_and_mdat_grow_to_64_bits_only_when_needed() {
        let mut narrow = Vec::new();
        chunk_offsets(&mut narrow, &[8, u64::from(u32::MAX)]);
        assert_eq!(&narrow[4..8], b"stco");
        assert_eq!(narrow.len(), 16 + 2 * 4);
        let mut wide = Vec::new();
        chunk_offsets(&mut wide, &[8, 1 << 33]);
        assert_eq!(&wide[4..8], b"co64");
        assert_eq!(wide.len(), 16 + 2 * 8);
        assert_eq!(&wide[24..32], &(1u64 << 33).to_be_bytes());

        assert_eq!(mdat_header(100), [0, 0, 0, 108, b'm', b'd', b'a', b't']);
        let big = mdat_header(1 << 32);
        assert_eq!(&big[..8], [0, 0, 0, 1, b'm', b'd', b'a', b't']);
        assert_eq!(&big[8..], &((1u64 << 32) + 16).to_be_bytes());
    }

    #[test]
    fn runs_compress_repeats_only() {
        assert_eq!(runs(&[]), []);
        assert_eq!(runs(&[5]), [(1, 5)]);
        assert_eq!(runs(&[5, 5, 6, 5]), [(2, 5), (1, 6), (1, 5)]);
    }

    #[test]
    fn the_same_samples_give_the_same_bytes() {
        let a = write(&track(), &samples(&[10, 20, 30], &[true, false, false])).unwrap();
        let b = write(&track(), &samples(&[10, 20, 30], &[true, false, false])).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn bad_input_is_an_error() {
        let mut s = Samples::new();
        assert!(
            write(&track(), &s)
                .unwrap_err()
                .contains("at least one frame")
        );
        assert!(s.push(&[], 10, true).is_err());
        assert!(s.push(&[1], 0, true).is_err());
        s.push(&[1], u32::MAX - 5, true).unwrap();
        assert!(s.push(&[1], 6, false).unwrap_err().contains("49 days"));
        assert_eq!((s.len(), s.duration_ms()), (1, u32::MAX - 5));

        let no_idr = samples(&[10, 10], &[false, true]);
        assert!(write(&track(), &no_idr).unwrap_err().contains("sync"));
        let ok = samples(&[10], &[true]);
        for bad in [
            AvcTrack {
                width: 0,
                ..track()
            },
            AvcTrack {
                height: 70_000,
                ..track()
            },
            AvcTrack {
                sps: PPS,
                ..track()
            },
            AvcTrack {
                pps: SPS,
                ..track()
            },
            AvcTrack {
                sps: &SPS[..3],
                ..track()
            },
            AvcTrack {
                sps: &[0x67, 100, 0, 40],
                ..track()
            },
        ] {
            assert!(write(&bad, &ok).is_err(), "{bad:?}");
        }
    }
}
