//! Passphrases: matching keys of every length carry data both ways encrypted on the wire;
//! mismatches are refused with libsrt's codes.

mod common;

use std::time::Duration;

use common::*;
use ferromtx_srt::crypto::{StreamCrypto, derive_kek, wrap};
use ferromtx_srt::key_material::{KeyMaterial, KeySlots};
use ferromtx_srt::packet::{Control, ControlPacket, DataKey, DataPacket, Packet};
use ferromtx_srt::{
    AcceptError, CallerConfig, CloseReason, Event, ListenerConfig, ListenerEvent, RejectReason,
};

const PASS: &str = "the right passphrase";

fn encrypted_caller(pass: Option<&str>, key_len: usize) -> CallerConfig {
    CallerConfig {
        stream_id: Some("publish:secret".into()),
        passphrase: pass.map(str::to_owned),
        key_len,
        ..CallerConfig::default()
    }
}

#[test]
fn matching_passphrases_encrypt_both_ways_for_each_key_length() {
    for key_len in [16, 24, 32] {
        let mut p = Pair::new(
            encrypted_caller(Some(PASS), key_len),
            ListenerConfig::default(),
            Policy::Accept(Some(PASS.into())),
        );
        p.keep_wire = true;
        p.to_server.loss = 0.05;
        p.run_for(Duration::from_millis(200));
        let ListenerEvent::Request(r) = &p.listener_events[0] else {
            panic!()
        };
        assert_eq!(r.key_len, Some(key_len));
        assert!(p.client.is_encrypted() && p.server().is_encrypted());
        for i in 0..200 {
            let now = p.now;
            p.client.send(now, &payload(i, 188)).unwrap();
            p.server().send(now, &payload(1000 + i, 188)).unwrap();
            p.run_for(Duration::from_millis(2));
        }
        p.run_for(Duration::from_secs(1));
        let up: Vec<u32> = p.server_data().iter().map(|d| index_of(d)).collect();
        let down: Vec<u32> = p.client_data().iter().map(|d| index_of(d)).collect();
        assert_eq!(up, (0..200).collect::<Vec<_>>(), "key length {key_len}");
        assert_eq!(
            down,
            (1000..1200).collect::<Vec<_>>(),
            "key length {key_len}"
        );
        // Every data packet on the wire is flagged and not the plaintext.
        let mut data_packets = 0;
        for (_, d) in &p.wire {
            if let Ok(Packet::Data(DataPacket {
                key, payload: body, ..
            })) = Packet::parse(d)
            {
                data_packets += 1;
                assert_eq!(key, DataKey::Even);
                assert!(
                    !(0..200)
                        .chain(1000..1200)
                        .any(|i| body[..] == payload(i, 188)[..])
                );
            }
        }
        assert!(data_packets >= 400);
        assert_eq!(p.server().stats().packets_received_undecrypt, 0);
    }
}

#[test]
fn wrong_passphrase_is_refused_as_bad_secret() {
    let mut p = Pair::new(
        encrypted_caller(Some("a wrong passphrase"), 16),
        ListenerConfig::default(),
        Policy::Accept(Some(PASS.into())),
    );
    p.run_for(Duration::from_millis(300));
    assert_eq!(p.accept_errors, vec![AcceptError::BadPassphrase]);
    assert_eq!(
        p.client_events,
        vec![Event::Closed(CloseReason::Rejected(
            RejectReason::BadSecret
        ))]
    );
}

#[test]
fn missing_or_unexpected_encryption_is_refused_as_unsecure() {
    let mut p = Pair::new(
        encrypted_caller(None, 16),
        ListenerConfig::default(),
        Policy::Accept(Some(PASS.into())),
    );
    p.run_for(Duration::from_millis(300));
    assert_eq!(p.accept_errors, vec![AcceptError::MissingEncryption]);
    assert_eq!(
        p.client_events,
        vec![Event::Closed(CloseReason::Rejected(RejectReason::Unsecure))]
    );

    let mut p = Pair::new(
        encrypted_caller(Some(PASS), 32),
        ListenerConfig::default(),
        Policy::Accept(None),
    );
    p.run_for(Duration::from_millis(300));
    assert_eq!(p.accept_errors, vec![AcceptError::UnexpectedEncryption]);
    assert_eq!(
        p.client_events,
        vec![Event::Closed(CloseReason::Rejected(RejectReason::Unsecure))]
    );
}

#[test]
fn a_refused_request_can_still_be_rejected_with_another_code() {
    let mut p = Pair::new(
        encrypted_caller(Some("a wrong passphrase"), 24),
        ListenerConfig::default(),
        Policy::Hold,
    );
    p.run_for(Duration::from_millis(100));
    let ListenerEvent::Request(r) = p.listener_events[0].clone() else {
        panic!()
    };
    let now = p.now;
    assert!(matches!(
        p.listener.accept(now, r.id, Some(PASS)),
        Err(AcceptError::BadPassphrase)
    ));
    // MediaMTX answers every refusal with REJ_PEER.
    p.listener.reject(now, r.id, RejectReason::Peer);
    p.run_for(Duration::from_millis(100));
    assert_eq!(
        p.client_events,
        vec![Event::Closed(CloseReason::Rejected(RejectReason::Peer))]
    );
}

#[test]
fn key_refresh_from_the_peer_is_installed_and_acknowledged() {
    let mut p = Pair::new(
        encrypted_caller(Some(PASS), 16),
        ListenerConfig::default(),
        Policy::Accept(Some(PASS.into())),
    );
    p.keep_wire = true;
    p.run_for(Duration::from_millis(100));
    // The caller's conclusion carries its key material and initial sequence number.
    let (km, isn) = p
        .wire
        .iter()
        .find_map(|(_, d)| match Packet::parse(d) {
            Ok(Packet::Control(ControlPacket {
                control: Control::Handshake(h),
                ..
            })) => h.km_req().map(|k| (k.to_vec(), h.initial_seq)),
            _ => None,
        })
        .unwrap();
    // What libsrt sends before switching keys: a KMREQ with a new odd key, same salt.
    let salt = KeyMaterial::parse(&km).unwrap().salt;
    let wrapped = wrap(&derive_kek(PASS.as_bytes(), &salt, 16), &[0x5A; 16]).unwrap();
    let refresh = KeyMaterial::new(KeySlots::Odd, 16, salt, wrapped).to_bytes();
    let server_id = p.server().local_socket_id();
    let now = p.now;
    let kmreq = Packet::Control(ControlPacket {
        timestamp: 0,
        dest_socket_id: server_id,
        control: Control::KeyMaterialRequest(refresh.clone()),
    });
    p.server().handle_datagram(now, &kmreq.to_bytes());
    let mut replies = Vec::new();
    while let Some(d) = p.server().poll_transmit() {
        replies.push(Packet::parse(&d).unwrap());
    }
    assert!(replies.iter().any(|r| matches!(r,
        Packet::Control(ControlPacket { control: Control::KeyMaterialResponse(k), .. })
            if *k == refresh)));
    // A packet under the odd key now decrypts.
    let odd = StreamCrypto::from_key_material(PASS, &refresh).unwrap();
    let mut body = payload(42, 188);
    assert_eq!(odd.encrypt(isn, &mut body), DataKey::Odd);
    let data = Packet::Data(DataPacket {
        seq: isn,
        position: ferromtx_srt::packet::PacketPosition::Only,
        in_order: true,
        key: DataKey::Odd,
        retransmitted: false,
        msg: ferromtx_srt::seq::MsgNumber::new(1),
        timestamp: 200_000,
        dest_socket_id: server_id,
        payload: body.into(),
    });
    p.server().handle_datagram(now, &data.to_bytes());
    p.run_for(Duration::from_millis(500));
    assert_eq!(p.server_data(), vec![payload(42, 188)]);
}

#[test]
fn plaintext_injected_into_an_encrypted_connection_is_dropped() {
    let mut p = Pair::new(
        encrypted_caller(Some(PASS), 16),
        ListenerConfig::default(),
        Policy::Accept(Some(PASS.into())),
    );
    p.keep_wire = true;
    p.run_for(Duration::from_millis(100));
    let isn = p
        .wire
        .iter()
        .find_map(|(_, d)| match Packet::parse(d) {
            Ok(Packet::Control(ControlPacket {
                control: Control::Handshake(h),
                ..
            })) => Some(h.initial_seq),
            _ => None,
        })
        .unwrap();
    let server_id = p.server().local_socket_id();
    let forged = Packet::Data(DataPacket {
        seq: isn,
        position: ferromtx_srt::packet::PacketPosition::Only,
        in_order: true,
        key: DataKey::None,
        retransmitted: false,
        msg: ferromtx_srt::seq::MsgNumber::new(1),
        timestamp: 200_000,
        dest_socket_id: server_id,
        payload: payload(666, 188).into(),
    });
    let now = p.now;
    p.server().handle_datagram(now, &forged.to_bytes());
    let now = p.now;
    p.client.send(now, &payload(1, 188)).unwrap();
    p.run_for(Duration::from_millis(500));
    assert_eq!(p.server_data(), vec![payload(1, 188)]);
    assert_eq!(p.server().stats().packets_received_undecrypt, 1);
}
