//! The demuxer: bytes in, tracks and access units out.

use std::collections::VecDeque;

use bytes::Bytes;

use super::es::{self, EsError};
use super::packet::{AdaptationField, Header, NULL_PID, PACKET_SIZE, PAT_PID, Packet, SYNC_BYTE};
use super::pes::{PesAssembler, PesError, PesHeader};
use super::psi::{Declared, Pat, Pmt, PsiError, Section, SectionAssembler, TABLE_ID_PMT};
use super::timestamp::TimestampUnwrapper;
use super::{Codec, Track};

/// Largest PES the demuxer reassembles (8 MiB: a big keyframe); larger ones are dropped.
pub const MAX_PES_SIZE: usize = 8 << 20;
/// What all PIDs' PES packets in progress may hold together (a PMT may list hundreds of
/// streams: without this, each could hold [`MAX_PES_SIZE`]).
const MAX_BUFFERED: usize = 2 * MAX_PES_SIZE;
/// Access units held back while a track's parameters (ADTS config, AC-3 sample rate) are
/// still unknown, at most this many and [`MAX_HELD_BYTES`]; past that the tracks that
/// still lack them are dropped.
const MAX_HELD: usize = 256;
const MAX_HELD_BYTES: usize = 16 << 20;

/// One access unit of one track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessUnit {
    pub pid: u16,
    /// 90 kHz, unwrapped (see [`TimestampUnwrapper`]).
    pub pts: i64,
    /// 90 kHz; equal to `pts` when the PES carries no DTS.
    pub dts: i64,
    /// IDR (H264), IRAP (H265), sequence/GOP header (MPEG-1/2), intra VOP (MPEG-4);
    /// always true for audio and KLV.
    pub random_access: bool,
    /// The timeline was rebased at this unit (a jump of more than 10 s).
    pub discontinuity: bool,
    /// In the form of [`crate::Frame::parts`]; see [`Codec`] for each codec.
    pub parts: Vec<Bytes>,
}

/// What [`Demuxer::pull`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The program's tracks, once PAT and PMT are read and in-band parameters found;
    /// again whenever the PMT changes. Unsupported streams are left out.
    Tracks(Vec<Track>),
    AccessUnit(AccessUnit),
}

/// A problem in the stream. None is fatal: the demuxer goes on with the next packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DemuxError {
    #[error("PID {pid}: {error}")]
    Psi { pid: u16, error: PsiError },
    #[error("PID {pid}: {error}")]
    Pes { pid: u16, error: PesError },
    #[error("PID {pid}: {error}")]
    AccessUnit { pid: u16, error: EsError },
    #[error("PID {pid}: continuity counter {got}, expected {expected}")]
    Continuity { pid: u16, expected: u8, got: u8 },
    #[error("PID {pid}: packet with transport error, scrambled or broken, dropped")]
    DroppedPacket { pid: u16 },
    #[error("PID {pid}: PES without PTS")]
    MissingPts { pid: u16 },
    #[error("PID {pid}: stream type {stream_type:#04x} not supported, skipped")]
    UnsupportedStream { pid: u16, stream_type: u8 },
    #[error("PID {pid}: timestamp jumped by more than 10 s, timeline rebased")]
    Discontinuity { pid: u16 },
    #[error("PID {pid}: codec parameters not found in time, track dropped")]
    NoParameters { pid: u16 },
}

/// Counts of what went wrong since the last [`Demuxer::take_anomalies`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Anomalies {
    /// Bytes skipped to find packet boundaries again.
    pub skipped_bytes: u64,
    pub continuity_errors: u64,
    /// Packets dropped: transport error, scrambled, broken adaptation field.
    pub dropped_packets: u64,
    /// PES packets lost: cut by a continuity gap, too large, short, bad header, no PTS.
    pub dropped_pes: u64,
    /// Access units whose codec payload was broken (bad ADTS, no start code, ...).
    pub malformed_access_units: u64,
    /// PSI sections with a bad CRC or layout.
    pub bad_sections: u64,
    /// Streams skipped: unsupported stream type, or parameters never found.
    pub unsupported_streams: u64,
    pub discontinuities: u64,
    /// The latest problem, for a log line.
    pub last_error: Option<DemuxError>,
}

impl Anomalies {
    pub fn is_empty(&self) -> bool {
        *self == Anomalies::default()
    }
}

/// Continuity counter of one PID.
#[derive(Debug, Default)]
struct Continuity(Option<u8>);

enum Cc {
    Ok,
    Duplicate,
    Gap { expected: u8 },
}

impl Continuity {
    fn check(&mut self, h: &Header, af: Option<&AdaptationField>) -> Cc {
        if !h.has_payload {
            return Cc::Ok;
        }
        let discontinuity = af.is_some_and(|a| a.discontinuity);
        let last = self.0.replace(h.continuity_counter);
        match last {
            Some(last) if !discontinuity && h.continuity_counter == last => Cc::Duplicate,
            Some(last) if !discontinuity && h.continuity_counter != (last + 1) & 0x0f => Cc::Gap {
                expected: (last + 1) & 0x0f,
            },
            _ => Cc::Ok,
        }
    }
}

#[derive(Debug)]
struct Stream {
    pid: u16,
    declared: Declared,
    /// Known once the PMT says it or the first frame shows it.
    codec: Option<Codec>,
    cc: Continuity,
    pes: PesAssembler,
}

#[derive(Debug)]
struct Program {
    number: u16,
    pmt_pid: u16,
    sections: SectionAssembler,
    cc: Continuity,
    /// The PMT section in force, to ignore repetitions.
    pmt: Option<Vec<u8>>,
    pcr_pid: Option<u16>,
    streams: Vec<Stream>,
}

/// Sans-IO MPEG-TS demuxer of the first program of the PAT.
#[derive(Debug)]
pub struct Demuxer {
    /// Bytes of an incomplete packet (or awaiting resync), at most one packet and a byte.
    buf: Vec<u8>,
    synced: bool,
    pat: SectionAssembler,
    pat_cc: Continuity,
    program: Option<Program>,
    announced: bool,
    held: VecDeque<AccessUnit>,
    held_bytes: usize,
    time: TimestampUnwrapper,
    last_pts: Option<i64>,
    last_pcr: Option<u64>,
    events: VecDeque<Event>,
    anomalies: Anomalies,
}

impl Default for Demuxer {
    fn default() -> Self {
        Self::new()
    }
}

impl Demuxer {
    pub fn new() -> Self {
        Demuxer {
            buf: Vec::with_capacity(2 * PACKET_SIZE),
            synced: true,
            pat: SectionAssembler::default(),
            pat_cc: Continuity::default(),
            program: None,
            announced: false,
            held: VecDeque::new(),
            held_bytes: 0,
            time: TimestampUnwrapper::new(),
            last_pts: None,
            last_pcr: None,
            events: VecDeque::new(),
            anomalies: Anomalies::default(),
        }
    }

    /// Feeds bytes: whole packets, several, or pieces of one.
    pub fn push(&mut self, data: &[u8]) {
        if self.buf.is_empty() {
            let used = self.process(data);
            self.buf
                .extend_from_slice(data.get(used..).unwrap_or_default());
            return;
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.extend_from_slice(data);
        let used = self.process(&buf);
        buf.drain(..used.min(buf.len()));
        self.buf = buf;
    }

    /// The next event, if any.
    pub fn pull(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// End of input: ends the PES packets in progress (video PES without length end only
    /// when the next one starts) and announces tracks still waiting for parameters.
    pub fn flush(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        let mut unused = buf.len();
        if let [SYNC_BYTE, ..] = buf[..]
            && buf.len() >= PACKET_SIZE
        {
            // The last packet, which waited for the next one to confirm the sync.
            self.packet(buf.get(..PACKET_SIZE).unwrap_or_default());
            unused -= PACKET_SIZE;
        }
        self.anomalies.skipped_bytes += unused as u64;
        let mut done = Vec::new();
        if let Some(program) = &mut self.program {
            for s in &mut program.streams {
                if let Some(result) = s.pes.flush() {
                    done.push((s.pid, result));
                }
            }
        }
        for (pid, result) in done {
            self.pes_done(pid, result);
        }
        self.announce(true);
    }

    /// Input was lost before the next [`Demuxer::push`] (a transport gave up on packets):
    /// drops the PES packets and tables in progress, which would otherwise take bytes from
    /// after the hole (continuity counters miss a loss of 16 packets), and the piece of a
    /// packet held.
    pub fn lost_input(&mut self) {
        self.anomalies.skipped_bytes += self.buf.len() as u64;
        self.buf.clear();
        self.pat.reset();
        self.pat_cc = Continuity::default();
        let Some(program) = &mut self.program else {
            return;
        };
        program.sections.reset();
        program.cc = Continuity::default();
        for s in &mut program.streams {
            s.cc = Continuity::default();
            if s.pes.reset() {
                self.anomalies.dropped_pes += 1;
            }
        }
    }

    /// The anomalies counted since the last call, and a fresh count.
    pub fn take_anomalies(&mut self) -> Anomalies {
        std::mem::take(&mut self.anomalies)
    }

    /// The last program clock reference seen on the PCR PID, in 27 MHz units.
    pub fn last_pcr(&self) -> Option<u64> {
        self.last_pcr
    }

    /// Handles the packets in `data`; returns how many bytes were used (the rest is an
    /// incomplete packet, or bytes to look at again once more arrive).
    fn process(&mut self, data: &[u8]) -> usize {
        let mut pos = 0;
        loop {
            let rest = data.get(pos..).unwrap_or_default();
            if self.synced {
                match rest {
                    [SYNC_BYTE, ..] if rest.len() >= PACKET_SIZE => {
                        self.packet(rest.get(..PACKET_SIZE).unwrap_or_default());
                        pos += PACKET_SIZE;
                        continue;
                    }
                    [SYNC_BYTE, ..] | [] => return pos,
                    _ => self.synced = false,
                }
            }
            // Lost: the next sync byte followed by another one a packet later.
            let mut skip = rest.len();
            let mut found = false;
            for (i, _) in rest.iter().enumerate().filter(|(_, b)| **b == SYNC_BYTE) {
                match rest.get(i + PACKET_SIZE) {
                    Some(&SYNC_BYTE) => {
                        skip = i;
                        found = true;
                        break;
                    }
                    Some(_) => {}
                    None => {
                        skip = i;
                        break;
                    }
                }
            }
            self.anomalies.skipped_bytes += skip as u64;
            pos += skip;
            if !found {
                return pos;
            }
            self.synced = true;
        }
    }

    fn packet(&mut self, data: &[u8]) {
        let packet = match Packet::parse(data) {
            Ok(p) => p,
            Err(_) => {
                let pid = data
                    .get(1..3)
                    .map_or(0, |b| u16::from_be_bytes([b[0] & 0x1f, b[1]]));
                self.anomalies.dropped_packets += 1;
                self.anomalies.last_error = Some(DemuxError::DroppedPacket { pid });
                return;
            }
        };
        let h = packet.header;
        if h.pid == NULL_PID {
            return;
        }
        if let Some(program) = &self.program
            && program.pcr_pid == Some(h.pid)
            && let Some(pcr) = packet.adaptation_field.and_then(|a| a.pcr)
        {
            self.last_pcr = Some(pcr);
        }
        let is_pat = h.pid == PAT_PID;
        let is_pmt = self.program.as_ref().is_some_and(|p| p.pmt_pid == h.pid);
        let is_stream = self
            .program
            .as_ref()
            .is_some_and(|p| p.streams.iter().any(|s| s.pid == h.pid));
        if !is_pat && !is_pmt && !is_stream {
            return;
        }
        if h.transport_error || h.scrambling != 0 {
            self.anomalies.dropped_packets += 1;
            self.anomalies.last_error = Some(DemuxError::DroppedPacket { pid: h.pid });
            return;
        }
        if is_pat {
            self.pat_packet(&packet);
        } else if is_pmt {
            self.pmt_packet(&packet);
        } else {
            self.stream_packet(&packet);
        }
    }

    fn continuity(&mut self, cc: Cc, pid: u16, got: u8) -> bool {
        match cc {
            Cc::Ok => true,
            Cc::Duplicate => false,
            Cc::Gap { expected } => {
                self.anomalies.continuity_errors += 1;
                self.anomalies.last_error = Some(DemuxError::Continuity { pid, expected, got });
                true
            }
        }
    }

    fn psi_error(&mut self, pid: u16, error: PsiError) {
        self.anomalies.bad_sections += 1;
        self.anomalies.last_error = Some(DemuxError::Psi { pid, error });
    }

    fn pat_packet(&mut self, packet: &Packet<'_>) {
        let h = &packet.header;
        let cc = self.pat_cc.check(h, packet.adaptation_field.as_ref());
        let gap = matches!(cc, Cc::Gap { .. });
        if !self.continuity(cc, h.pid, h.continuity_counter) {
            return;
        }
        if gap {
            self.pat.reset();
        }
        let mut sections = Vec::new();
        if let Err(e) = self
            .pat
            .push(h.payload_unit_start, packet.payload, &mut sections)
        {
            self.psi_error(h.pid, e);
        }
        for bytes in sections {
            let section = match Section::parse(&bytes) {
                // Only the first section of a PAT in force: its first program is ours.
                Ok(s) if !s.current_next || s.section_number != 0 => continue,
                other => other,
            };
            match section.and_then(|s| Pat::parse(&s)) {
                Ok(pat) => self.use_pat(&pat),
                Err(e) => self.psi_error(h.pid, e),
            }
        }
    }

    /// Follows the first program of the PAT; a new PMT PID starts the program afresh.
    fn use_pat(&mut self, pat: &Pat) {
        let Some(&(number, pmt_pid)) = pat.programs.first() else {
            return;
        };
        if self
            .program
            .as_ref()
            .is_some_and(|p| p.pmt_pid == pmt_pid && p.number == number)
        {
            return;
        }
        self.program = Some(Program {
            number,
            pmt_pid,
            sections: SectionAssembler::default(),
            cc: Continuity::default(),
            pmt: None,
            pcr_pid: None,
            streams: Vec::new(),
        });
        self.announced = false;
        self.held.clear();
        self.held_bytes = 0;
    }

    fn pmt_packet(&mut self, packet: &Packet<'_>) {
        let Some(program) = &mut self.program else {
            return;
        };
        let h = &packet.header;
        let cc = program.cc.check(h, packet.adaptation_field.as_ref());
        if matches!(cc, Cc::Gap { .. }) {
            program.sections.reset();
        }
        let mut sections = Vec::new();
        let pushed = match cc {
            Cc::Duplicate => Ok(()),
            _ => program
                .sections
                .push(h.payload_unit_start, packet.payload, &mut sections),
        };
        if !self.continuity(cc, h.pid, h.continuity_counter) {
            return;
        }
        if let Err(e) = pushed {
            self.psi_error(h.pid, e);
        }
        for bytes in sections {
            if bytes.first() != Some(&TABLE_ID_PMT) {
                continue;
            }
            let section = match Section::parse(&bytes) {
                Ok(s) if !s.current_next => continue,
                other => other,
            };
            match section.and_then(|s| Pmt::parse(&s)) {
                Ok(pmt) => self.use_pmt(pmt, bytes),
                Err(e) => self.psi_error(h.pid, e),
            }
        }
    }

    fn use_pmt(&mut self, pmt: Pmt, bytes: Vec<u8>) {
        let Some(program) = &mut self.program else {
            return;
        };
        if pmt.program_number != program.number || program.pmt.as_ref() == Some(&bytes) {
            return;
        }
        program.pmt = Some(bytes);
        program.pcr_pid = Some(pmt.pcr_pid);
        let mut old = std::mem::take(&mut program.streams);
        let mut unsupported = Vec::new();
        for entry in &pmt.streams {
            let declared = entry.declared();
            if declared == Declared::Unsupported {
                unsupported.push((entry.pid, entry.stream_type));
                continue;
            }
            if program.streams.iter().any(|s| s.pid == entry.pid) {
                continue;
            }
            let kept = old
                .iter()
                .position(|s| s.pid == entry.pid && s.declared == declared)
                .map(|i| old.swap_remove(i));
            program.streams.push(kept.unwrap_or_else(|| Stream {
                pid: entry.pid,
                codec: match &declared {
                    Declared::Codec(c) => Some(c.clone()),
                    _ => None,
                },
                declared,
                cc: Continuity::default(),
                pes: PesAssembler::new(MAX_PES_SIZE),
            }));
        }
        for (pid, stream_type) in unsupported {
            self.anomalies.unsupported_streams += 1;
            self.anomalies.last_error = Some(DemuxError::UnsupportedStream { pid, stream_type });
        }
        self.announced = false;
        self.announce(false);
    }

    fn stream_packet(&mut self, packet: &Packet<'_>) {
        let Some(program) = &mut self.program else {
            return;
        };
        let h = &packet.header;
        let others: usize = program
            .streams
            .iter()
            .filter(|s| s.pid != h.pid)
            .map(|s| s.pes.buffered())
            .sum();
        let room = MAX_BUFFERED.saturating_sub(others);
        let Some(stream) = program.streams.iter_mut().find(|s| s.pid == h.pid) else {
            return;
        };
        let cc = stream.cc.check(h, packet.adaptation_field.as_ref());
        let mut done = Vec::new();
        let mut cut = false;
        match cc {
            Cc::Duplicate => {}
            Cc::Gap { .. } => {
                cut = stream.pes.reset();
                stream
                    .pes
                    .push(h.payload_unit_start, packet.payload, room, &mut done);
            }
            Cc::Ok => stream
                .pes
                .push(h.payload_unit_start, packet.payload, room, &mut done),
        }
        if !self.continuity(cc, h.pid, h.continuity_counter) {
            return;
        }
        if cut {
            self.anomalies.dropped_pes += 1;
        }
        for result in done {
            self.pes_done(h.pid, result);
        }
    }

    fn pes_done(&mut self, pid: u16, result: Result<Bytes, PesError>) {
        let pes = match result.and_then(|pes| PesHeader::parse(&pes).map(|h| (pes, h))) {
            Ok(pes) => pes,
            Err(error) => {
                self.anomalies.dropped_pes += 1;
                self.anomalies.last_error = Some(DemuxError::Pes { pid, error });
                return;
            }
        };
        let (pes, (header, offset)) = pes;
        let Some(stream) = self
            .program
            .as_mut()
            .and_then(|p| p.streams.iter_mut().find(|s| s.pid == pid))
        else {
            return;
        };
        let async_klv = stream.declared == Declared::Codec(Codec::Klv { synchronous: false });
        let mut jumped = false;
        let (pts, dts) = match (header.pts, async_klv) {
            (None, true) => match self.last_pts {
                Some(pts) => (pts, pts),
                None => return,
            },
            (None, false) => {
                self.anomalies.dropped_pes += 1;
                self.anomalies.last_error = Some(DemuxError::MissingPts { pid });
                return;
            }
            (Some(pts), _) => {
                let (dts, j1) = self.time.unwrap(header.dts.unwrap_or(pts));
                let (pts, j2) = self.time.unwrap(pts);
                jumped = j1 || j2;
                self.last_pts = Some(pts);
                (pts, dts)
            }
        };
        if jumped {
            self.anomalies.discontinuities += 1;
            self.anomalies.last_error = Some(DemuxError::Discontinuity { pid });
        }
        let split = match es::split(&stream.declared, pes.slice(offset.min(pes.len())..)) {
            Ok(split) => split,
            Err(error) => {
                self.anomalies.malformed_access_units += 1;
                self.anomalies.last_error = Some(DemuxError::AccessUnit { pid, error });
                return;
            }
        };
        let discovered = stream.codec.is_none();
        stream.codec.get_or_insert(split.codec);
        let au = AccessUnit {
            pid,
            pts,
            dts,
            random_access: split.random_access,
            discontinuity: jumped,
            parts: split.parts,
        };
        if self.announced {
            self.events.push_back(Event::AccessUnit(au));
            return;
        }
        self.held_bytes += au.parts.iter().map(Bytes::len).sum::<usize>();
        self.held.push_back(au);
        let full = self.held.len() > MAX_HELD || self.held_bytes > MAX_HELD_BYTES;
        if discovered || full {
            self.announce(full);
        }
    }

    /// Emits the tracks once every stream's codec is known (or, with `give_up`, without
    /// the streams whose parameters never came), then the access units held back.
    fn announce(&mut self, give_up: bool) {
        let Some(program) = &mut self.program else {
            return;
        };
        if self.announced || program.pmt.is_none() {
            return;
        }
        if program.streams.iter().any(|s| s.codec.is_none()) {
            if !give_up {
                return;
            }
            let mut dropped = Vec::new();
            program.streams.retain(|s| {
                if s.codec.is_none() {
                    dropped.push(s.pid);
                }
                s.codec.is_some()
            });
            for pid in dropped {
                self.anomalies.unsupported_streams += 1;
                self.anomalies.last_error = Some(DemuxError::NoParameters { pid });
            }
        }
        let tracks = program
            .streams
            .iter()
            .filter_map(|s| s.codec.clone().map(|codec| Track { pid: s.pid, codec }))
            .collect();
        self.events.push_back(Event::Tracks(tracks));
        self.announced = true;
        self.held_bytes = 0;
        let held = std::mem::take(&mut self.held);
        self.events.extend(held.into_iter().map(Event::AccessUnit));
    }
}
