//! A Matroska reader, for checking the WebM muxer (`stages::video::webm`)
//! and the AV1 encoder's files: every element with its offset, as
//! `webm-iterable`'s reader parses it, and the blocks with their timing. It
//! panics on what a correct file never holds.

use webm_iterable::WebmIterator;
use webm_iterable::matroska_spec::{Block, Master, MatroskaSpec as Mkv};

/// Every element of `file` with its byte offset, masters as Start/End.
pub fn elements(file: &[u8]) -> Vec<(usize, Mkv)> {
    let mut reader = WebmIterator::new(file, &[]);
    let mut out = Vec::new();
    while let Some(tag) = reader.next() {
        let tag = tag.expect("the WebM parses");
        out.push((reader.last_emitted_tag_offset(), tag));
    }
    out
}

/// The offset of the Segment's data: positions count from there.
pub fn segment_data_start(file: &[u8]) -> usize {
    let elements = elements(file);
    let (segment, _) = elements
        .iter()
        .find(|(_, t)| matches!(t, Mkv::Segment(Master::Start)))
        .expect("a Segment");
    // The first child follows the Segment's header.
    elements
        .iter()
        .find(|(at, _)| at > segment)
        .expect("the Segment has children")
        .0
}

/// (absolute timestamp, ReferenceBlock, BlockDuration, data).
pub type Group = (u64, Option<i64>, Option<u64>, Vec<u8>);

/// Each BlockGroup, the only kind of block written.
pub fn blocks(file: &[u8]) -> Vec<Group> {
    let mut out = Vec::new();
    let mut cluster = None;
    let mut group = None;
    for (_, tag) in elements(file) {
        match &tag {
            Mkv::Timestamp(t) => cluster = Some(*t),
            Mkv::SimpleBlock(_) => panic!("no SimpleBlocks"),
            Mkv::BlockGroup(Master::Start) => group = Some((0, None, None, vec![])),
            Mkv::Block(_) => {
                let block = Block::try_from(&tag).unwrap();
                let at = cluster.unwrap() as i64 + i64::from(block.timestamp);
                let g = group.as_mut().unwrap();
                (g.0, g.3) = (at as u64, block.raw_frame_data().to_vec());
            }
            Mkv::BlockDuration(d) => group.as_mut().unwrap().2 = Some(*d),
            Mkv::ReferenceBlock(r) => group.as_mut().unwrap().1 = Some(*r),
            Mkv::BlockGroup(Master::End) => out.push(group.take().unwrap()),
            _ => {}
        }
    }
    out
}
