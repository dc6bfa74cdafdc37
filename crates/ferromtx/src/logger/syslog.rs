//! Syslog destination: RFC 3164-style datagrams to the local syslog socket, facility
//! daemon, like Go's `log/syslog` that MediaMTX uses.

use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::Path;

use super::Level;

const FACILITY_DAEMON: u8 = 3;

pub(super) struct Syslog {
    socket: UnixDatagram,
    tag: String,
    pid: u32,
}

impl Syslog {
    pub(super) fn connect(prefix: &str, socket: Option<&Path>) -> io::Result<Syslog> {
        let sock = UnixDatagram::unbound()?;
        match socket {
            Some(p) => sock.connect(p)?,
            None => {
                // Same order of candidates as Go's log/syslog.
                let mut last = io::Error::new(io::ErrorKind::NotFound, "no syslog socket");
                let mut ok = false;
                for p in ["/dev/log", "/var/run/syslog", "/var/run/log"] {
                    match sock.connect(p) {
                        Ok(()) => {
                            ok = true;
                            break;
                        }
                        Err(e) => last = e,
                    }
                }
                if !ok {
                    return Err(last);
                }
            }
        }
        Ok(Syslog {
            socket: sock,
            tag: prefix.to_owned(),
            pid: std::process::id(),
        })
    }

    pub(super) fn send(&mut self, level: Level, msg: &str) -> io::Result<()> {
        let severity = match level {
            Level::Debug => 7,
            Level::Info => 6,
            Level::Warn => 4,
            Level::Error => 3,
        };
        let pri = FACILITY_DAEMON * 8 + severity;
        let ts = chrono::Local::now().format("%b %e %H:%M:%S");
        let datagram = format!("<{pri}>{ts} {}[{}]: {msg}\n", self.tag, self.pid);
        self.socket.send(datagram.as_bytes()).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_priority_tag_and_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let server = UnixDatagram::bind(&path).unwrap();
        let mut s = Syslog::connect("mediamtx", Some(&path)).unwrap();
        s.send(Level::Warn, "[RTSP] hello").unwrap();
        let mut buf = [0u8; 512];
        let n = server.recv(&mut buf).unwrap();
        let got = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(got.starts_with("<28>"), "{got}");
        assert!(
            got.ends_with(&format!(
                " mediamtx[{}]: [RTSP] hello\n",
                std::process::id()
            )),
            "{got}"
        );
    }

    #[test]
    fn missing_socket_is_an_error() {
        assert!(Syslog::connect("x", Some(Path::new("/nonexistent/log.sock"))).is_err());
    }
}
