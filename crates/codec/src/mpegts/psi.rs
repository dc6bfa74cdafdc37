//! Program specific information (ISO/IEC 13818-1 2.4.4): sections reassembled from packet
//! payloads, the program association table (PAT), the program map table (PMT) and the
//! descriptors that tell codecs apart, plus their writers.

use super::crc::crc32;
use super::packet::{MAX_PAYLOAD, PacketOptions, write_packet};
use super::{Codec, Track, stream_type};

/// PAT and PMT sections are at most this long after the length field (2.4.4.3).
pub const MAX_SECTION_LENGTH: usize = 1021;

pub const TABLE_ID_PAT: u8 = 0x00;
pub const TABLE_ID_PMT: u8 = 0x02;

/// Descriptor tags used to recognise codecs.
pub mod descriptor_tag {
    pub const REGISTRATION: u8 = 0x05;
    pub const METADATA: u8 = 0x26;
    pub const METADATA_STD: u8 = 0x27;
    /// DVB AC-3 descriptor (ETSI EN 300 468 annex D).
    pub const AC3: u8 = 0x6a;
    /// DVB extension descriptor; its extension tag 0x80 is Opus's audio descriptor.
    pub const EXTENSION: u8 = 0x7f;
}

const OPUS: [u8; 4] = *b"Opus";
const KLVA: [u8; 4] = *b"KLVA";
const AC3_ID: [u8; 4] = *b"AC-3";
/// opus_audio_descriptor's descriptor_tag_extension (ETSI TS 102 366 style Opus draft).
const OPUS_EXTENSION_TAG: u8 = 0x80;

/// Why a section could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PsiError {
    #[error("section length {0} exceeds {MAX_SECTION_LENGTH}")]
    SectionLength(usize),
    #[error("pointer field {0} points past the packet")]
    Pointer(u8),
    #[error("section of {0} bytes is too short")]
    Truncated(usize),
    #[error("section lacks the syntax indicator")]
    Syntax,
    #[error("section CRC mismatch")]
    Crc,
    #[error("table id {0:#04x} where another was expected")]
    TableId(u8),
    #[error("PMT stream loop overruns the section")]
    StreamLoop,
}

/// Reassembles the sections of one PID from packet payloads.
#[derive(Debug, Default)]
pub(crate) struct SectionAssembler {
    buf: Vec<u8>,
    active: bool,
}

impl SectionAssembler {
    /// Drops a section in progress (after a continuity gap).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.active = false;
    }

    /// Feeds one packet's payload; whole sections are appended to `out`. On error the
    /// section in progress is dropped.
    pub fn push(
        &mut self,
        payload_unit_start: bool,
        payload: &[u8],
        out: &mut Vec<Vec<u8>>,
    ) -> Result<(), PsiError> {
        let mut data = payload;
        if payload_unit_start {
            let Some((&pointer, rest)) = data.split_first() else {
                self.reset();
                return Err(PsiError::Pointer(0));
            };
            let Some(tail) = rest.get(..usize::from(pointer)) else {
                self.reset();
                return Err(PsiError::Pointer(pointer));
            };
            let previous = if self.active {
                self.buf.extend_from_slice(tail);
                self.drain(out)
            } else {
                Ok(())
            };
            self.buf.clear();
            self.active = true;
            data = rest.get(usize::from(pointer)..).unwrap_or_default();
            self.buf.extend_from_slice(data);
            let current = self.drain(out);
            return previous.and(current);
        }
        if !self.active {
            return Ok(());
        }
        self.buf.extend_from_slice(data);
        self.drain(out)
    }

    /// Moves the whole sections at the front of the buffer to `out`.
    fn drain(&mut self, out: &mut Vec<Vec<u8>>) -> Result<(), PsiError> {
        loop {
            match self.buf.as_slice() {
                [] => {
                    self.active = false;
                    return Ok(());
                }
                [0xff, ..] => {
                    // Stuffing: nothing more in this packet.
                    self.reset();
                    return Ok(());
                }
                [_, b1, b2, ..] => {
                    let len = (usize::from(b1 & 0x0f) << 8) | usize::from(*b2);
                    if len > MAX_SECTION_LENGTH {
                        self.reset();
                        return Err(PsiError::SectionLength(len));
                    }
                    if self.buf.len() < 3 + len {
                        return Ok(());
                    }
                    out.push(self.buf.drain(..3 + len).collect());
                }
                _ => return Ok(()),
            }
        }
    }
}

/// A long-form section with its CRC checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section<'a> {
    pub table_id: u8,
    /// transport_stream_id (PAT) or program_number (PMT).
    pub table_id_extension: u16,
    pub version: u8,
    /// current_next_indicator: false for a table not yet in force.
    pub current_next: bool,
    pub section_number: u8,
    /// The bytes between the section header and the CRC.
    pub body: &'a [u8],
}

impl<'a> Section<'a> {
    pub fn parse(data: &'a [u8]) -> Result<Section<'a>, PsiError> {
        let [table_id, b1, _, e0, e1, flags, number, _, rest @ ..] = data else {
            return Err(PsiError::Truncated(data.len()));
        };
        if b1 & 0x80 == 0 {
            return Err(PsiError::Syntax);
        }
        let body = rest
            .get(..rest.len().saturating_sub(4))
            .filter(|_| rest.len() >= 4)
            .ok_or(PsiError::Truncated(data.len()))?;
        if crc32(data) != 0 {
            return Err(PsiError::Crc);
        }
        Ok(Section {
            table_id: *table_id,
            table_id_extension: u16::from_be_bytes([*e0, *e1]),
            version: (flags >> 1) & 0x1f,
            current_next: flags & 0x01 != 0,
            section_number: *number,
            body,
        })
    }
}

/// Builds a long-form section (version 0, current, section 0 of 0) with its CRC.
fn section(table_id: u8, table_id_extension: u16, body: &[u8]) -> Vec<u8> {
    let len = 5 + body.len() + 4;
    let mut s = Vec::with_capacity(3 + len);
    s.push(table_id);
    s.extend_from_slice(&(0xb000 | (len as u16 & 0x0fff)).to_be_bytes());
    s.extend_from_slice(&table_id_extension.to_be_bytes());
    s.extend_from_slice(&[0xc1, 0x00, 0x00]);
    s.extend_from_slice(body);
    let crc = crc32(&s);
    s.extend_from_slice(&crc.to_be_bytes());
    s
}

/// Appends `section` as packets of `pid`: pointer field 0, then 0xff stuffing.
pub(crate) fn write_section_packets(out: &mut Vec<u8>, pid: u16, cc: &mut u8, section: &[u8]) {
    let mut payload = Vec::with_capacity(1 + section.len());
    payload.push(0);
    payload.extend_from_slice(section);
    let padded = payload.len().div_ceil(MAX_PAYLOAD) * MAX_PAYLOAD;
    payload.resize(padded, 0xff);
    for (i, chunk) in payload.chunks(MAX_PAYLOAD).enumerate() {
        let opts = PacketOptions {
            pid,
            payload_unit_start: i == 0,
            continuity_counter: *cc,
            ..Default::default()
        };
        write_packet(out, &opts, chunk);
        *cc = (*cc + 1) & 0x0f;
    }
}

/// Program association table: program number to PMT PID (program 0, the network PID,
/// left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pat {
    pub transport_stream_id: u16,
    pub programs: Vec<(u16, u16)>,
}

impl Pat {
    pub fn parse(section: &Section<'_>) -> Result<Pat, PsiError> {
        if section.table_id != TABLE_ID_PAT {
            return Err(PsiError::TableId(section.table_id));
        }
        let programs = section
            .body
            .chunks_exact(4)
            .map(|e| {
                let number = u16::from_be_bytes([e[0], e[1]]);
                let pid = u16::from_be_bytes([e[2] & 0x1f, e[3]]);
                (number, pid)
            })
            .filter(|(number, _)| *number != 0)
            .collect();
        Ok(Pat {
            transport_stream_id: section.table_id_extension,
            programs,
        })
    }

    pub fn marshal(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(self.programs.len() * 4);
        for (number, pid) in &self.programs {
            body.extend_from_slice(&number.to_be_bytes());
            body.extend_from_slice(&(0xe000 | pid).to_be_bytes());
        }
        section(TABLE_ID_PAT, self.transport_stream_id, &body)
    }
}

/// A descriptor: tag and contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub tag: u8,
    pub data: Vec<u8>,
}

/// One elementary stream entry of a PMT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PmtStream {
    pub stream_type: u8,
    pub pid: u16,
    pub descriptors: Vec<Descriptor>,
}

/// Program map table of one program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pmt {
    pub program_number: u16,
    pub pcr_pid: u16,
    pub streams: Vec<PmtStream>,
}

fn parse_descriptors(mut data: &[u8]) -> Vec<Descriptor> {
    let mut out = Vec::new();
    while let [tag, len, rest @ ..] = data {
        let Some(content) = rest.get(..usize::from(*len)) else {
            break;
        };
        out.push(Descriptor {
            tag: *tag,
            data: content.to_vec(),
        });
        data = rest.get(usize::from(*len)..).unwrap_or_default();
    }
    out
}

fn write_descriptors(out: &mut Vec<u8>, descriptors: &[Descriptor]) {
    for d in descriptors {
        out.push(d.tag);
        out.push(d.data.len() as u8);
        out.extend_from_slice(&d.data);
    }
}

impl Pmt {
    pub fn parse(section: &Section<'_>) -> Result<Pmt, PsiError> {
        if section.table_id != TABLE_ID_PMT {
            return Err(PsiError::TableId(section.table_id));
        }
        let [p0, p1, i0, i1, rest @ ..] = section.body else {
            return Err(PsiError::Truncated(section.body.len()));
        };
        let pcr_pid = u16::from_be_bytes([p0 & 0x1f, *p1]);
        let info_len = usize::from(u16::from_be_bytes([i0 & 0x0f, *i1]));
        let mut data = rest.get(info_len..).ok_or(PsiError::StreamLoop)?;
        let mut streams = Vec::new();
        while !data.is_empty() {
            let [st, d0, d1, l0, l1, rest @ ..] = data else {
                return Err(PsiError::StreamLoop);
            };
            let len = usize::from(u16::from_be_bytes([l0 & 0x0f, *l1]));
            let es_info = rest.get(..len).ok_or(PsiError::StreamLoop)?;
            streams.push(PmtStream {
                stream_type: *st,
                pid: u16::from_be_bytes([d0 & 0x1f, *d1]),
                descriptors: parse_descriptors(es_info),
            });
            data = rest.get(len..).unwrap_or_default();
        }
        Ok(Pmt {
            program_number: section.table_id_extension,
            pcr_pid,
            streams,
        })
    }

    pub fn marshal(&self) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&(0xe000 | self.pcr_pid).to_be_bytes());
        body.extend_from_slice(&[0xf0, 0x00]);
        for s in &self.streams {
            body.push(s.stream_type);
            body.extend_from_slice(&(0xe000 | s.pid).to_be_bytes());
            let mut info = Vec::new();
            write_descriptors(&mut info, &s.descriptors);
            body.extend_from_slice(&(0xf000 | (info.len() as u16 & 0x0fff)).to_be_bytes());
            body.extend_from_slice(&info);
        }
        section(TABLE_ID_PMT, self.program_number, &body)
    }
}

/// What a PMT entry declares. AAC in ADTS and AC-3 carry their parameters in-band: the
/// demuxer learns them from the first frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Declared {
    Codec(Codec),
    Adts,
    Ac3,
    /// A stream type (or private data) ferromtx does not read.
    Unsupported,
}

impl PmtStream {
    fn registration(&self, id: [u8; 4]) -> bool {
        self.descriptors
            .iter()
            .any(|d| d.tag == descriptor_tag::REGISTRATION && d.data.get(..4) == Some(&id[..]))
    }

    fn has(&self, tag: u8) -> bool {
        self.descriptors.iter().any(|d| d.tag == tag)
    }

    /// Channels from Opus's audio descriptor; 2 when it is missing or unknown.
    fn opus_channel_count(&self) -> u8 {
        let code = self
            .descriptors
            .iter()
            .find_map(|d| match d.data.as_slice() {
                [OPUS_EXTENSION_TAG, rest @ ..] if d.tag == descriptor_tag::EXTENSION => Some(rest),
                _ => None,
            });
        match code {
            Some([code @ 0x01..=0x08, ..]) => *code,
            Some([code @ 0x82..=0x88, ..]) => code - 0x81,
            Some([0x81, count @ 1..=255, ..]) => *count,
            _ => 2,
        }
    }

    fn klv_metadata(&self) -> bool {
        self.descriptors.iter().any(|d| {
            if d.tag != descriptor_tag::METADATA {
                return false;
            }
            let rest = match d.data.as_slice() {
                [0xff, 0xff, _, _, _, _, rest @ ..] => rest,
                [_, _, rest @ ..] => rest,
                _ => return false,
            };
            matches!(rest, [0xff, id @ ..] if id.get(..4) == Some(&KLVA[..]))
        })
    }

    /// The codec this entry declares.
    pub(crate) fn declared(&self) -> Declared {
        let codec = match self.stream_type {
            stream_type::H264 => Codec::H264,
            stream_type::H265 => Codec::H265,
            stream_type::MPEG1_VIDEO | stream_type::MPEG2_VIDEO => Codec::Mpeg1Video,
            stream_type::MPEG4_VIDEO => Codec::Mpeg4Video,
            stream_type::MPEG1_AUDIO | stream_type::MPEG2_AUDIO => Codec::Mpeg1Audio,
            stream_type::AAC_LATM => Codec::Mpeg4AudioLatm,
            stream_type::AAC_ADTS => return Declared::Adts,
            stream_type::AC3 => return Declared::Ac3,
            stream_type::PRIVATE_DATA if self.registration(OPUS) => Codec::Opus {
                channel_count: self.opus_channel_count(),
            },
            stream_type::PRIVATE_DATA if self.registration(KLVA) => {
                Codec::Klv { synchronous: false }
            }
            stream_type::PRIVATE_DATA
                if self.registration(AC3_ID) || self.has(descriptor_tag::AC3) =>
            {
                return Declared::Ac3;
            }
            stream_type::METADATA if self.klv_metadata() => Codec::Klv { synchronous: true },
            _ => return Declared::Unsupported,
        };
        Declared::Codec(codec)
    }

    /// The PMT entry the muxer writes for `track`.
    pub(crate) fn for_track(track: &Track) -> PmtStream {
        let d = |tag, data: Vec<u8>| Descriptor { tag, data };
        let (stream_type, descriptors) = match &track.codec {
            Codec::H264 => (stream_type::H264, vec![]),
            Codec::H265 => (stream_type::H265, vec![]),
            Codec::Mpeg1Video => (stream_type::MPEG2_VIDEO, vec![]),
            Codec::Mpeg4Video => (stream_type::MPEG4_VIDEO, vec![]),
            Codec::Mpeg1Audio => (stream_type::MPEG1_AUDIO, vec![]),
            Codec::Mpeg4Audio { .. } => (stream_type::AAC_ADTS, vec![]),
            Codec::Mpeg4AudioLatm => (stream_type::AAC_LATM, vec![]),
            Codec::Opus { channel_count } => (
                stream_type::PRIVATE_DATA,
                vec![
                    d(descriptor_tag::REGISTRATION, OPUS.to_vec()),
                    d(
                        descriptor_tag::EXTENSION,
                        vec![OPUS_EXTENSION_TAG, opus_channel_config_code(*channel_count)],
                    ),
                ],
            ),
            Codec::Ac3 { channel_count, .. } => {
                // component_type (EN 300 468 D.3): full service, complete main, channels.
                let channels: u8 = match channel_count {
                    0..=2 => 0x02,
                    3..=4 => 0x05,
                    _ => 0x06,
                };
                let component_type = (channels << 1) | 0x01;
                // component_type and bsid present; bsid 8 (AC-3).
                (
                    stream_type::AC3,
                    vec![d(descriptor_tag::AC3, vec![0xc0, component_type, 8])],
                )
            }
            Codec::Klv { synchronous: false } => (
                stream_type::PRIVATE_DATA,
                vec![d(descriptor_tag::REGISTRATION, KLVA.to_vec())],
            ),
            Codec::Klv { synchronous: true } => {
                // metadata_application_format 0x0100 (general), metadata_format 0xff with
                // identifier KLVA, service 0, no decoder config, no DSM-CC (ST 1402).
                let mut metadata = vec![0x01, 0x00, 0xff];
                metadata.extend_from_slice(&KLVA);
                metadata.extend_from_slice(&[0x00, 0x0f]);
                // metadata_STD_descriptor: three 22-bit zero values with reserved bits.
                let std = vec![0xc0, 0, 0, 0xc0, 0, 0, 0xc0, 0, 0];
                (
                    stream_type::METADATA,
                    vec![
                        d(descriptor_tag::METADATA, metadata),
                        d(descriptor_tag::METADATA_STD, std),
                    ],
                )
            }
        };
        PmtStream {
            stream_type,
            pid: track.pid,
            descriptors,
        }
    }
}

/// Opus channel_config_code for a plain channel count (mapping family 0/1 defaults).
fn opus_channel_config_code(channels: u8) -> u8 {
    match channels {
        1..=8 => channels,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mpeg4audio::AudioSpecificConfig;

    #[test]
    fn pat_round_trip() {
        let pat = Pat {
            transport_stream_id: 1,
            programs: vec![(1, 0x1000)],
        };
        let bytes = pat.marshal();
        // The PAT ffmpeg writes, byte for byte.
        assert_eq!(
            bytes,
            [
                0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xf0, 0x00, 0x2a, 0xb1,
                0x04, 0xb2
            ]
        );
        let section = Section::parse(&bytes).expect("valid");
        assert_eq!(Pat::parse(&section), Ok(pat));
        assert_eq!(Pmt::parse(&section), Err(PsiError::TableId(0)));
    }

    #[test]
    fn pmt_round_trip_for_every_codec() {
        let codecs = [
            Codec::H264,
            Codec::H265,
            Codec::Mpeg1Video,
            Codec::Mpeg4Video,
            Codec::Mpeg1Audio,
            Codec::Mpeg4AudioLatm,
            Codec::Opus { channel_count: 2 },
            Codec::Opus { channel_count: 6 },
            Codec::Klv { synchronous: false },
            Codec::Klv { synchronous: true },
        ];
        let tracks: Vec<Track> = codecs
            .iter()
            .enumerate()
            .map(|(i, codec)| Track {
                pid: 256 + i as u16,
                codec: codec.clone(),
            })
            .collect();
        let pmt = Pmt {
            program_number: 1,
            pcr_pid: 256,
            streams: tracks.iter().map(PmtStream::for_track).collect(),
        };
        let bytes = pmt.marshal();
        let section = Section::parse(&bytes).expect("valid");
        let parsed = Pmt::parse(&section).expect("valid");
        assert_eq!(parsed, pmt);
        for (stream, codec) in parsed.streams.iter().zip(codecs) {
            assert_eq!(stream.declared(), Declared::Codec(codec));
        }
        let adts = Track {
            pid: 300,
            codec: Codec::Mpeg4Audio {
                config: AudioSpecificConfig::parse(&[0x12, 0x10]).expect("valid"),
            },
        };
        assert_eq!(PmtStream::for_track(&adts).declared(), Declared::Adts);
        let ac3 = Track {
            pid: 301,
            codec: Codec::Ac3 {
                sample_rate: 48_000,
                channel_count: 6,
            },
        };
        assert_eq!(PmtStream::for_track(&ac3).declared(), Declared::Ac3);
    }

    #[test]
    fn dvb_ac3_and_unknown_private_data() {
        let dvb = PmtStream {
            stream_type: stream_type::PRIVATE_DATA,
            pid: 0x101,
            descriptors: vec![Descriptor {
                tag: descriptor_tag::AC3,
                data: vec![0x00],
            }],
        };
        assert_eq!(dvb.declared(), Declared::Ac3);
        let other = PmtStream {
            stream_type: stream_type::PRIVATE_DATA,
            pid: 0x102,
            descriptors: vec![],
        };
        assert_eq!(other.declared(), Declared::Unsupported);
        let scte35 = PmtStream {
            stream_type: 0x86,
            pid: 0x103,
            descriptors: vec![],
        };
        assert_eq!(scte35.declared(), Declared::Unsupported);
    }

    #[test]
    fn sections_across_packets_and_stuffing() {
        let pmt = Pmt {
            program_number: 1,
            pcr_pid: 256,
            streams: (0..40)
                .map(|i| PmtStream {
                    stream_type: stream_type::H264,
                    pid: 256 + i,
                    descriptors: vec![],
                })
                .collect(),
        };
        let bytes = pmt.marshal();
        assert!(bytes.len() > MAX_PAYLOAD);
        let mut out = Vec::new();
        let mut cc = 14;
        write_section_packets(&mut out, 0x1000, &mut cc, &bytes);
        assert_eq!(out.len(), 2 * 188);
        assert_eq!(cc, 0);
        let mut asm = SectionAssembler::default();
        let mut sections = Vec::new();
        for pkt in out.chunks(188) {
            let p = super::super::packet::Packet::parse(pkt).expect("valid");
            asm.push(p.header.payload_unit_start, p.payload, &mut sections)
                .expect("valid");
        }
        assert_eq!(sections, vec![bytes]);
    }

    #[test]
    fn section_errors() {
        let mut bytes = Pat {
            transport_stream_id: 1,
            programs: vec![(1, 0x1000)],
        }
        .marshal();
        bytes[9] ^= 1;
        assert_eq!(Section::parse(&bytes), Err(PsiError::Crc));
        assert_eq!(Section::parse(&bytes[..5]), Err(PsiError::Truncated(5)));
        let mut asm = SectionAssembler::default();
        let mut out = Vec::new();
        assert_eq!(
            asm.push(true, &[5, 0, 0], &mut out),
            Err(PsiError::Pointer(5))
        );
        assert_eq!(
            asm.push(true, &[0, 2, 0xbf, 0xff], &mut out),
            Err(PsiError::SectionLength(0xfff))
        );
        // Two sections in one payload, then stuffing.
        let pat = Pat {
            transport_stream_id: 1,
            programs: vec![(1, 0x1000)],
        }
        .marshal();
        let mut payload = vec![0];
        payload.extend_from_slice(&pat);
        payload.extend_from_slice(&pat);
        payload.extend_from_slice(&[0xff; 10]);
        asm.push(true, &payload, &mut out).expect("valid");
        assert_eq!(out, vec![pat.clone(), pat]);
    }
}
