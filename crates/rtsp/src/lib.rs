//! RTSP (RFC 2326): wire format and state machines.
