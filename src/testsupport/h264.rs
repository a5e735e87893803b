//! An H.264 reader, for checking the encoder's files
//! (`stages::video::h264`): the parameter sets of the avcC record, the NAL
//! units of each sample, the fields of a constrained baseline SPS and PPS
//! and each slice's QP, read bit by bit from the bitstream; and OpenH264's
//! own decoder over the samples. It panics on what a correct file never
//! holds.

use super::mp4 as read;
use crate::stages::video::Picture;
use crate::stages::video::yuv::Colour;
use openh264::formats::YUVSource;

/// The SPS and PPS of the file's avcC record.
pub fn parameter_sets(file: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let avcc = read::find(
        file,
        &[
            "moov", "trak", "mdia", "minf", "stbl", "stsd", "avc1", "avcC",
        ],
    )
    .expect("avcC")
    .payload;
    assert_eq!((avcc[0], avcc[4], avcc[5]), (1, 0xff, 0xe1));
    let sps_len = read::u16_at(avcc, 6) as usize;
    let sps = avcc[8..8 + sps_len].to_vec();
    let rest = &avcc[8 + sps_len..];
    assert_eq!(rest[0], 1, "one PPS");
    let pps_len = read::u16_at(rest, 1) as usize;
    assert_eq!(rest.len(), 3 + pps_len);
    (sps, rest[3..].to_vec())
}

/// The NAL units of a length-prefixed sample.
pub fn nal_units(sample: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < sample.len() {
        let len = read::u32_at(sample, at) as usize;
        out.push(&sample[at + 4..at + 4 + len]);
        at += 4 + len;
    }
    assert_eq!(at, sample.len(), "lengths cover the sample exactly");
    out
}

/// NAL units with start codes, as a decoder reads a stream.
pub fn annex_b(nals: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for nal in nals {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(nal);
    }
    out
}

/// Decodes every sample with OpenH264's decoder, parameter sets first.
pub fn decode(file: &[u8]) -> Vec<Picture> {
    use openh264::decoder::Decoder;
    let (sps, pps) = parameter_sets(file);
    let mut decoder = Decoder::new().unwrap();
    let copy = |yuv: &openh264::decoder::DecodedYUV| {
        let (w, h) = yuv.dimensions();
        let (sy, su, sv) = yuv.strides();
        let rows = |plane: &[u8], stride, w, h| -> Vec<u8> {
            (0..h)
                .flat_map(|r| plane[r * stride..r * stride + w].to_vec())
                .collect()
        };
        Picture {
            width: w as u32,
            height: h as u32,
            y: rows(yuv.y(), sy, w, h),
            u: rows(yuv.u(), su, w / 2, h / 2),
            v: rows(yuv.v(), sv, w / 2, h / 2),
        }
    };
    assert!(decoder.decode(&annex_b(&[&sps, &pps])).unwrap().is_none());
    let mut out = Vec::new();
    for (sample, _) in read::samples(file) {
        if let Some(yuv) = decoder.decode(&annex_b(&nal_units(sample))).unwrap() {
            out.push(copy(&yuv));
        }
    }
    for yuv in decoder.flush_remaining().unwrap() {
        out.push(copy(&yuv));
    }
    out
}

/// Exp-Golomb reader over a NAL unit's payload, emulation prevention
/// bytes removed.
struct Bits {
    data: Vec<u8>,
    at: usize,
}

impl Bits {
    fn new(nal: &[u8]) -> Bits {
        let mut data = Vec::with_capacity(nal.len());
        let mut zeros = 0;
        for &b in &nal[1..] {
            if zeros >= 2 && b == 3 {
                zeros = 0;
                continue;
            }
            zeros = if b == 0 { zeros + 1 } else { 0 };
            data.push(b);
        }
        Bits { data, at: 0 }
    }

    fn u(&mut self, n: usize) -> u32 {
        let mut v = 0;
        for _ in 0..n {
            let bit = (self.data[self.at / 8] >> (7 - self.at % 8)) & 1;
            v = v << 1 | u32::from(bit);
            self.at += 1;
        }
        v
    }

    fn flag(&mut self) -> bool {
        self.u(1) == 1
    }

    fn ue(&mut self) -> u32 {
        let mut zeros = 0;
        while self.u(1) == 0 {
            zeros += 1;
        }
        (1 << zeros) - 1 + self.u(zeros)
    }

    fn se(&mut self) -> i32 {
        let k = self.ue() as i32;
        if k % 2 == 1 { (k + 1) / 2 } else { -k / 2 }
    }
}

/// The fields of a constrained baseline SPS that the tests check or a
/// slice header depends on.
#[derive(Debug)]
pub struct Sps {
    pub profile: u8,
    pub constraints: u8,
    pub level: u8,
    log2_max_frame_num: usize,
    poc_type: u32,
    log2_max_poc_lsb: usize,
    pub size: (u32, u32),
    pub colour: Option<Colour>,
}

/// Reads a (baseline) SPS NAL unit.
pub fn parse_sps(nal: &[u8]) -> Sps {
    assert_eq!(nal[0] & 0x1f, 7);
    let mut b = Bits::new(nal);
    let (profile, constraints, level) = (b.u(8) as u8, b.u(8) as u8, b.u(8) as u8);
    assert_eq!(profile, 66, "baseline has no chroma or bit depth fields");
    b.ue(); // sps id
    let log2_max_frame_num = b.ue() as usize + 4;
    let poc_type = b.ue();
    let mut log2_max_poc_lsb = 0;
    match poc_type {
        0 => log2_max_poc_lsb = b.ue() as usize + 4,
        2 => {}
        other => panic!("picture order count type {other}"),
    }
    b.ue(); // max reference frames
    b.flag(); // gaps allowed
    let (w_mbs, h_mbs) = (b.ue() + 1, b.ue() + 1);
    assert!(b.flag(), "frames only");
    b.flag(); // direct 8x8 inference
    let mut crop = [0; 4];
    if b.flag() {
        crop = [b.ue(), b.ue(), b.ue(), b.ue()];
    }
    let size = (
        w_mbs * 16 - 2 * (crop[0] + crop[1]),
        h_mbs * 16 - 2 * (crop[2] + crop[3]),
    );
    let mut colour = None;
    if b.flag() {
        if b.flag() && b.u(8) == 255 {
            b.u(32); // extended sample aspect ratio
        }
        if b.flag() {
            b.flag(); // overscan appropriate
        }
        if b.flag() {
            b.u(3); // video format
            let full_range = b.flag();
            if b.flag() {
                colour = Some(Colour {
                    primaries: b.u(8) as u8,
                    transfer: b.u(8) as u8,
                    matrix: b.u(8) as u8,
                    full_range,
                });
            }
        }
    }
    Sps {
        profile,
        constraints,
        level,
        log2_max_frame_num,
        poc_type,
        log2_max_poc_lsb,
        size,
        colour,
    }
}

/// The PPS fields a baseline slice header depends on, and its initial
/// QP.
pub struct Pps {
    pic_init_qp: i32,
    bottom_field_pic_order: bool,
    redundant_pic_cnt: bool,
}

/// Reads a PPS NAL unit of the kind a baseline stream has.
pub fn parse_pps(nal: &[u8]) -> Pps {
    assert_eq!(nal[0] & 0x1f, 8);
    let mut b = Bits::new(nal);
    b.ue(); // pps id
    b.ue(); // sps id
    assert!(!b.flag(), "CAVLC");
    let bottom_field_pic_order = b.flag();
    assert_eq!(b.ue(), 0, "one slice group");
    b.ue(); // reference indices, list 0
    b.ue(); // and list 1
    assert!(!b.flag(), "no weighted prediction");
    assert_eq!(b.u(2), 0, "no weighted bi-prediction");
    let pic_init_qp = 26 + b.se();
    b.se(); // pic_init_qs
    b.se(); // chroma QP offset
    b.flag(); // deblocking control present
    b.flag(); // constrained intra prediction
    let redundant_pic_cnt = b.flag();
    Pps {
        pic_init_qp,
        bottom_field_pic_order,
        redundant_pic_cnt,
    }
}

/// The slice QP of a (baseline, CAVLC) slice NAL unit.
pub fn slice_qp(nal: &[u8], sps: &Sps, pps: &Pps) -> i32 {
    let (ref_idc, kind) = (nal[0] >> 5 & 3, nal[0] & 0x1f);
    assert!(kind == 1 || kind == 5, "slice NAL unit, not {kind}");
    let mut b = Bits::new(nal);
    b.ue(); // first macroblock
    let slice_type = b.ue() % 5;
    assert!(
        slice_type == 0 || slice_type == 2,
        "P or I, not {slice_type}"
    );
    b.ue(); // pps id
    b.u(sps.log2_max_frame_num);
    if kind == 5 {
        b.ue(); // IDR picture id
    }
    if sps.poc_type == 0 {
        b.u(sps.log2_max_poc_lsb);
        if pps.bottom_field_pic_order {
            b.se();
        }
    }
    if pps.redundant_pic_cnt {
        b.ue();
    }
    if slice_type == 0 {
        if b.flag() {
            b.ue(); // active reference count override
        }
        if b.flag() {
            // Reference list modification.
            loop {
                match b.ue() {
                    3 => break,
                    _ => {
                        b.ue();
                    }
                }
            }
        }
    }
    if ref_idc != 0 {
        if kind == 5 {
            b.u(2); // no output of prior pictures, long-term reference
        } else if b.flag() {
            // Adaptive reference picture marking.
            loop {
                match b.ue() {
                    0 => break,
                    3 => {
                        b.ue();
                        b.ue();
                    }
                    _ => {
                        b.ue();
                    }
                }
            }
        }
    }
    pps.pic_init_qp + b.se()
}
