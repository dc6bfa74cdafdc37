//! FLV tag bodies: arbitrary audio or video bodies (the first byte chooses which) never
//! panic the reader, and whatever it reads can be handed to the writers without a panic.

use bytes::Bytes;
use ferromtx_rtmp::flv::{FlvTag, TagItem, TagKind, TagReader, TagStyle};

/// One input; panics on a bug.
pub fn run(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let kind = if first & 1 == 0 {
        TagKind::Audio
    } else {
        TagKind::Video
    };
    let mut reader = TagReader::new();
    let mut items = Vec::new();
    // Two bodies: the second is read with what the first configured.
    let (a, b) = rest.split_at(rest.len() / 2);
    for body in [a, b] {
        let _ = reader.read(kind, 40, &Bytes::copy_from_slice(body), &mut items);
    }
    for item in &items {
        for style in [TagStyle::Classic, TagStyle::Enhanced] {
            let _ = match item {
                TagItem::Config(c) => FlvTag::config(c, 0, style).map(|_| ()),
                TagItem::Frame(m) => FlvTag::frame(m, style).map(|_| ()),
                _ => Ok(()),
            };
        }
    }
}
