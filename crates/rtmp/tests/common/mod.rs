//! An in-memory client/server pair: bytes move between the two state machines, events
//! are collected, time never moves.
#![allow(dead_code)]

use std::time::Instant;

use bytes::Bytes;
use ferromtx_rtmp::{
    ClientConfig, ClientConnection, ClientEvent, ClientMode, ClientOutput, ClientUrl, Error,
    Limits, ServerConfig, ServerConnection, ServerEvent, ServerOutput,
};

pub fn hex(s: &str) -> Bytes {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

pub struct Pair {
    pub now: Instant,
    pub client: ClientConnection,
    pub server: ServerConnection,
    pub client_events: Vec<ClientEvent>,
    pub server_events: Vec<ServerEvent>,
    /// Deliver bytes in pieces of at most this many bytes.
    pub piece: usize,
}

impl Pair {
    pub fn new(url: &str, mode: ClientMode, client_limits: Limits, server_limits: Limits) -> Self {
        let mut config = ClientConfig::new(ClientUrl::parse(url).expect("valid URL"), mode);
        config.limits = client_limits;
        config.seed = 1;
        Self::with_config(config, server_limits)
    }

    pub fn with_config(config: ClientConfig, server_limits: Limits) -> Self {
        let now = Instant::now();
        Pair {
            now,
            client: ClientConnection::new(config, now),
            server: ServerConnection::new(
                ServerConfig {
                    limits: server_limits,
                    seed: 2,
                },
                now,
            ),
            client_events: Vec::new(),
            server_events: Vec::new(),
            piece: usize::MAX,
        }
    }

    /// Moves bytes both ways until neither side has anything to send.
    pub fn run(&mut self) -> Result<(), Error> {
        loop {
            let mut moved = false;
            while let Some(out) = self.client.poll_output() {
                match out {
                    ClientOutput::Transmit(bytes) => {
                        moved = true;
                        for piece in bytes.chunks(self.piece) {
                            self.server.handle_input(self.now, piece)?;
                        }
                    }
                    ClientOutput::Event(e) => self.client_events.push(e),
                }
            }
            while let Some(out) = self.server.poll_output() {
                match out {
                    ServerOutput::Transmit(bytes) => {
                        moved = true;
                        for piece in bytes.chunks(self.piece) {
                            self.client.handle_input(self.now, piece)?;
                        }
                    }
                    ServerOutput::Event(e) => self.server_events.push(e),
                }
            }
            if !moved {
                return Ok(());
            }
        }
    }

    pub fn take_server_events(&mut self) -> Vec<ServerEvent> {
        std::mem::take(&mut self.server_events)
    }

    pub fn take_client_events(&mut self) -> Vec<ClientEvent> {
        std::mem::take(&mut self.client_events)
    }
}
