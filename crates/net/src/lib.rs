//! Networking and the operating system for every ferromtx crate: listen addresses as
//! MediaMTX writes them, bound dual-stack as Go binds them ([`addr`]); accept loops that
//! back off on errors ([`accept`]); the PROXY protocol before them ([`proxy`]); TLS servers whose certificates reload and TLS clients
//! that pin fingerprints ([`tls`]); and the few system calls std does not wrap ([`sys`]),
//! the workspace's only `unsafe` code.
#![deny(unsafe_code)]

pub mod accept;
pub mod addr;
pub mod proxy;
pub mod sys;
pub mod tls;

pub use accept::{Backoff, accept};
pub use addr::{
    ListenAddr, bind_tcp, bind_tcp_addr, bind_udp, bind_udp_addr, canonical, for_socket,
    grow_read_buffer, set_read_buffer,
};
