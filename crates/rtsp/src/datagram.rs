//! Datagrams of RTP and RTCP over UDP, as the server's sockets and a pull source's route
//! them to a session.

use bytes::Bytes;

/// Which socket a datagram arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Rtp,
    Rtcp,
}

/// A datagram for a session.
#[derive(Debug)]
pub struct Datagram {
    pub channel: Channel,
    /// Index of the track in the session's setup order of the stream.
    pub track: usize,
    pub data: Bytes,
}
