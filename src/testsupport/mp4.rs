//! A minimal ISO-BMFF reader, for checking the MP4 muxer
//! (`stages::video::mp4`) and the H.264 encoder's files: walks boxes and
//! reads back the sample table, independently of how the writer laid it
//! out (it follows `stsc` and `stco`/`co64` rather than assuming one
//! chunk). It panics on what a correct file never holds.

/// One box: its type and payload (after the size and type fields).
#[derive(Debug, Clone, Copy)]
pub struct Box<'a> {
    pub kind: [u8; 4],
    pub payload: &'a [u8],
    /// Offset of the box's first byte in the buffer it was read from.
    pub offset: usize,
}

/// The boxes directly inside `data`; panics on a malformed size.
pub fn boxes(data: &[u8]) -> Vec<Box<'_>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < data.len() {
        assert!(data.len() - at >= 8, "truncated box header at {at}");
        let size32 = u32::from_be_bytes(data[at..at + 4].try_into().unwrap());
        let kind: [u8; 4] = data[at + 4..at + 8].try_into().unwrap();
        let (header, size) = match size32 {
            1 => (
                16,
                u64::from_be_bytes(data[at + 8..at + 16].try_into().unwrap()) as usize,
            ),
            0 => (8, data.len() - at),
            n => (8, n as usize),
        };
        assert!(
            size >= header && at + size <= data.len(),
            "box {} at {at} has a bad size {size}",
            String::from_utf8_lossy(&kind)
        );
        out.push(Box {
            kind,
            payload: &data[at + header..at + size],
            offset: at,
        });
        at += size;
    }
    out
}

/// The first box along `path` (e.g. `["moov", "trak", "mdia"]`).
pub fn find<'a>(data: &'a [u8], path: &[&str]) -> Option<Box<'a>> {
    let (first, rest) = path.split_first()?;
    let found = boxes(data)
        .into_iter()
        .find(|b| b.kind == first.as_bytes())?;
    if rest.is_empty() {
        Some(found)
    } else {
        // Container payloads: full boxes (stsd, dref) skip version,
        // flags and entry count; sample entries skip their fields.
        let skip = match first.as_bytes() {
            b"stsd" | b"dref" => 8,
            b"avc1" => 78,
            _ => 0,
        };
        find(&found.payload[skip..], rest)
    }
}

pub fn u16_at(data: &[u8], at: usize) -> u16 {
    u16::from_be_bytes(data[at..at + 2].try_into().unwrap())
}

pub fn u32_at(data: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(data[at..at + 4].try_into().unwrap())
}

/// The entries of a full box table whose entries are `width` u32s.
pub fn table(payload: &[u8], skip: usize, width: usize) -> Vec<Vec<u32>> {
    let count = u32_at(payload, 4 + skip) as usize;
    let start = 8 + skip;
    assert_eq!(payload.len(), start + count * width * 4, "table size");
    (0..count)
        .map(|i| {
            (0..width)
                .map(|j| u32_at(payload, start + (i * width + j) * 4))
                .collect()
        })
        .collect()
}

const STBL: [&str; 5] = ["moov", "trak", "mdia", "minf", "stbl"];

pub fn stbl<'a>(file: &'a [u8], leaf: &str) -> Option<Box<'a>> {
    let mut path = STBL.to_vec();
    path.push(leaf);
    find(file, &path)
}

/// Every sample's bytes and duration, read through stsz, stsc,
/// stco/co64 and stts.
pub fn samples(file: &[u8]) -> Vec<(&[u8], u32)> {
    let stsz = stbl(file, "stsz").expect("stsz").payload;
    assert_eq!(u32_at(stsz, 4), 0, "one size per sample");
    let sizes: Vec<usize> = table(stsz, 4, 1).iter().map(|e| e[0] as usize).collect();
    let offsets: Vec<u64> = if let Some(stco) = stbl(file, "stco") {
        table(stco.payload, 0, 1)
            .iter()
            .map(|e| u64::from(e[0]))
            .collect()
    } else {
        let co64 = stbl(file, "co64").expect("stco or co64").payload;
        let count = u32_at(co64, 4) as usize;
        (0..count)
            .map(|i| u64::from_be_bytes(co64[8 + i * 8..16 + i * 8].try_into().unwrap()))
            .collect()
    };
    let stsc = table(stbl(file, "stsc").expect("stsc").payload, 0, 3);
    let mut durations = Vec::new();
    for entry in table(stbl(file, "stts").expect("stts").payload, 0, 2) {
        durations.extend(std::iter::repeat_n(entry[1], entry[0] as usize));
    }
    assert_eq!(durations.len(), sizes.len(), "stts covers every sample");
    let mut out = Vec::new();
    let mut sample = 0;
    for (chunk, &offset) in offsets.iter().enumerate() {
        let chunk_number = chunk as u32 + 1;
        let per_chunk = stsc
            .iter()
            .rev()
            .find(|e| e[0] <= chunk_number)
            .expect("stsc covers every chunk")[1];
        let mut at = offset as usize;
        for _ in 0..per_chunk {
            let size = sizes[sample];
            out.push((&file[at..at + size], durations[sample]));
            at += size;
            sample += 1;
        }
    }
    assert_eq!(sample, sizes.len(), "chunks hold every sample");
    out
}
