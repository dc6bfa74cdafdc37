//! WebRTC: WHEP readers and WHIP publishers.
