//! SRT payload encryption (draft-sharabayko-srt "Encryption"): the passphrase gives the key
//! encrypting key (KEK) by PBKDF2-HMAC-SHA1 over the last 8 bytes of the salt, 2048 rounds;
//! the KEK wraps the stream encrypting key (SEK) with RFC 3394; payloads are AES-CTR with a
//! counter block of `salt[0..14] XOR (sequence number at bytes 10..14)` and a 16-bit block
//! counter in bytes 14..16.

use aes::{Aes128, Aes192, Aes256};
use aes_kw::{KwAes128, KwAes192, KwAes256};
use ctr::cipher::{InnerIvInit, KeyInit, StreamCipher};
use rand_core::RngCore;
use sha1::Sha1;

use crate::key_material::{KeyMaterial, KeyMaterialError, KeySlots, SALT_LEN};
use crate::packet::DataKey;
use crate::seq::SeqNumber;

/// PBKDF2 rounds libsrt uses.
const PBKDF2_ROUNDS: u32 = 2048;
/// How much of the salt (its tail) feeds PBKDF2.
const PBKDF2_SALT_LEN: usize = 8;

/// Shortest passphrase libsrt accepts.
pub const MIN_PASSPHRASE_LEN: usize = 10;
/// Longest passphrase libsrt accepts.
pub const MAX_PASSPHRASE_LEN: usize = 79;

/// An encryption failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The wrapped key did not unwrap: the passphrases differ.
    #[error("wrong passphrase: the stream key does not unwrap")]
    BadSecret,
    /// The key material message is malformed or unsupported.
    #[error("key material: {0}")]
    KeyMaterial(#[from] KeyMaterialError),
    /// A passphrase outside 10..=79 bytes.
    #[error("passphrase must be 10 to 79 bytes, got {0}")]
    PassphraseLength(usize),
    /// A key length other than 16, 24 or 32.
    #[error("key length must be 16, 24 or 32 bytes, got {0}")]
    KeyLength(usize),
    /// A packet encrypted with a key we do not have.
    #[error("no stream key for this packet")]
    NoKey,
}

/// Checks a passphrase the way libsrt does (10 to 79 bytes).
pub fn check_passphrase(p: &str) -> Result<(), CryptoError> {
    if (MIN_PASSPHRASE_LEN..=MAX_PASSPHRASE_LEN).contains(&p.len()) {
        Ok(())
    } else {
        Err(CryptoError::PassphraseLength(p.len()))
    }
}

/// Derives the key encrypting key.
pub fn derive_kek(passphrase: &[u8], salt: &[u8; SALT_LEN], key_len: usize) -> Vec<u8> {
    let mut kek = vec![0u8; key_len];
    pbkdf2::pbkdf2_hmac::<Sha1>(
        passphrase,
        &salt[SALT_LEN - PBKDF2_SALT_LEN..],
        PBKDF2_ROUNDS,
        &mut kek,
    );
    kek
}

/// RFC 3394 wrap of `keys` (a multiple of 8 bytes) under `kek` (16, 24 or 32 bytes).
pub fn wrap(kek: &[u8], keys: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut out = vec![0u8; keys.len() + 8];
    let r = match kek.len() {
        16 => KwAes128::new_from_slice(kek)
            .map_err(|_| CryptoError::KeyLength(16))?
            .wrap_key(keys, &mut out)
            .map(|_| ()),
        24 => KwAes192::new_from_slice(kek)
            .map_err(|_| CryptoError::KeyLength(24))?
            .wrap_key(keys, &mut out)
            .map(|_| ()),
        32 => KwAes256::new_from_slice(kek)
            .map_err(|_| CryptoError::KeyLength(32))?
            .wrap_key(keys, &mut out)
            .map(|_| ()),
        n => return Err(CryptoError::KeyLength(n)),
    };
    r.map_err(|_| CryptoError::KeyLength(keys.len()))?;
    Ok(out)
}

/// RFC 3394 unwrap; an integrity failure means the passphrase is wrong.
pub fn unwrap(kek: &[u8], wrapped: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if wrapped.len() < 16 || !wrapped.len().is_multiple_of(8) {
        return Err(CryptoError::BadSecret);
    }
    let mut out = vec![0u8; wrapped.len() - 8];
    let r = match kek.len() {
        16 => KwAes128::new_from_slice(kek)
            .map_err(|_| CryptoError::KeyLength(16))?
            .unwrap_key(wrapped, &mut out)
            .map(|_| ()),
        24 => KwAes192::new_from_slice(kek)
            .map_err(|_| CryptoError::KeyLength(24))?
            .unwrap_key(wrapped, &mut out)
            .map(|_| ()),
        32 => KwAes256::new_from_slice(kek)
            .map_err(|_| CryptoError::KeyLength(32))?
            .unwrap_key(wrapped, &mut out)
            .map(|_| ()),
        n => return Err(CryptoError::KeyLength(n)),
    };
    r.map_err(|_| CryptoError::BadSecret)?;
    Ok(out)
}

/// One AES key, ready to run CTR.
#[derive(Clone)]
enum Aes {
    A128(Aes128),
    A192(Aes192),
    A256(Aes256),
}

impl Aes {
    fn new(key: &[u8]) -> Result<Self, CryptoError> {
        let bad = |_| CryptoError::KeyLength(key.len());
        Ok(match key.len() {
            16 => Self::A128(Aes128::new_from_slice(key).map_err(bad)?),
            24 => Self::A192(Aes192::new_from_slice(key).map_err(bad)?),
            32 => Self::A256(Aes256::new_from_slice(key).map_err(bad)?),
            n => return Err(CryptoError::KeyLength(n)),
        })
    }

    fn apply_ctr(&self, iv: &[u8; 16], data: &mut [u8]) {
        // The IV is always 16 bytes, so slice init cannot fail; an error would leave the
        // data untouched rather than panic.
        macro_rules! run {
            ($aes:ty, $c:expr) => {
                if let Ok(core) = ctr::CtrCore::<$aes, ctr::flavors::Ctr128BE>::inner_iv_slice_init(
                    $c.clone(),
                    iv,
                ) {
                    ctr::Ctr128BE::<$aes>::from_core(core).apply_keystream(data);
                }
            };
        }
        match self {
            Self::A128(c) => run!(Aes128, c),
            Self::A192(c) => run!(Aes192, c),
            Self::A256(c) => run!(Aes256, c),
        }
    }
}

/// The encryption state of one connection: the passphrase, the salt and up to two stream
/// keys (even and odd), used both ways as in HSv5.
#[derive(Clone)]
pub struct StreamCrypto {
    passphrase: Vec<u8>,
    key_len: usize,
    salt: [u8; SALT_LEN],
    even: Option<Aes>,
    odd: Option<Aes>,
    /// The key material message as last sent or accepted (echoed in KMRSP).
    km: Vec<u8>,
}

impl std::fmt::Debug for StreamCrypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamCrypto")
            .field("key_len", &self.key_len)
            .field("even", &self.even.is_some())
            .field("odd", &self.odd.is_some())
            .finish_non_exhaustive()
    }
}

impl StreamCrypto {
    /// The initiator's side: a fresh salt and even key from `rng`, wrapped for the peer.
    pub fn generate(
        passphrase: &str,
        key_len: usize,
        rng: &mut impl RngCore,
    ) -> Result<Self, CryptoError> {
        check_passphrase(passphrase)?;
        if !matches!(key_len, 16 | 24 | 32) {
            return Err(CryptoError::KeyLength(key_len));
        }
        let mut salt = [0u8; SALT_LEN];
        rng.fill_bytes(&mut salt);
        let mut sek = vec![0u8; key_len];
        rng.fill_bytes(&mut sek);
        let kek = derive_kek(passphrase.as_bytes(), &salt, key_len);
        let wrapped = wrap(&kek, &sek)?;
        let km = KeyMaterial::new(KeySlots::Even, key_len, salt, wrapped).to_bytes();
        Ok(Self {
            passphrase: passphrase.as_bytes().to_vec(),
            key_len,
            salt,
            even: Some(Aes::new(&sek)?),
            odd: None,
            km,
        })
    }

    /// The responder's side: unwraps the initiator's key material with `passphrase`.
    pub fn from_key_material(passphrase: &str, km_bytes: &[u8]) -> Result<Self, CryptoError> {
        let km = KeyMaterial::parse(km_bytes)?;
        let mut me = Self {
            passphrase: passphrase.as_bytes().to_vec(),
            key_len: km.key_len,
            salt: km.salt,
            even: None,
            odd: None,
            km: Vec::new(),
        };
        me.apply_key_material(km_bytes)?;
        Ok(me)
    }

    /// Installs the key(s) of a KM message (handshake or refresh); on success the message
    /// is what a KMRSP echoes.
    pub fn apply_key_material(&mut self, km_bytes: &[u8]) -> Result<(), CryptoError> {
        let km = KeyMaterial::parse(km_bytes)?;
        let kek = derive_kek(&self.passphrase, &km.salt, km.key_len);
        let keys = unwrap(&kek, &km.wrapped)?;
        let (first, second) = keys.split_at(km.key_len.min(keys.len()));
        match km.slots {
            KeySlots::Even => self.even = Some(Aes::new(first)?),
            KeySlots::Odd => self.odd = Some(Aes::new(first)?),
            KeySlots::Both => {
                self.even = Some(Aes::new(first)?);
                self.odd = Some(Aes::new(second)?);
            }
        }
        self.key_len = km.key_len;
        self.salt = km.salt;
        self.km = km_bytes.to_vec();
        Ok(())
    }

    /// Key length in bytes (16, 24 or 32).
    pub fn key_len(&self) -> usize {
        self.key_len
    }

    /// The key material to send in KMREQ, or echo in KMRSP.
    pub fn key_material(&self) -> &[u8] {
        &self.km
    }

    fn iv(&self, seq: SeqNumber) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv[10..14].copy_from_slice(&seq.value().to_be_bytes());
        for (b, s) in iv.iter_mut().zip(&self.salt[..14]) {
            *b ^= s;
        }
        iv
    }

    /// Encrypts a payload in place with the current key; returns the KK flag to send.
    pub fn encrypt(&self, seq: SeqNumber, payload: &mut [u8]) -> DataKey {
        match (&self.even, &self.odd) {
            (Some(k), _) => {
                k.apply_ctr(&self.iv(seq), payload);
                DataKey::Even
            }
            (None, Some(k)) => {
                k.apply_ctr(&self.iv(seq), payload);
                DataKey::Odd
            }
            (None, None) => DataKey::None,
        }
    }

    /// Decrypts a payload in place with the key its KK flag names.
    pub fn decrypt(
        &self,
        key: DataKey,
        seq: SeqNumber,
        payload: &mut [u8],
    ) -> Result<(), CryptoError> {
        let k = match key {
            DataKey::None => return Ok(()),
            DataKey::Even => self.even.as_ref(),
            DataKey::Odd => self.odd.as_ref(),
        };
        let k = k.ok_or(CryptoError::NoKey)?;
        k.apply_ctr(&self.iv(seq), payload);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn rfc3394_test_vector() {
        // RFC 3394 section 4.1: 128-bit key data with a 128-bit KEK.
        let kek = hex("000102030405060708090A0B0C0D0E0F");
        let key = hex("00112233445566778899AABBCCDDEEFF");
        let wrapped = wrap(&kek, &key).unwrap();
        assert_eq!(
            wrapped,
            hex("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5")
        );
        assert_eq!(unwrap(&kek, &wrapped).unwrap(), key);
        let mut bad = kek.clone();
        bad[0] ^= 1;
        assert_eq!(unwrap(&bad, &wrapped), Err(CryptoError::BadSecret));
    }

    #[test]
    fn pbkdf2_hmac_sha1_vector() {
        // RFC 6070 vector 2: "password" / "salt", 2 rounds, 20 bytes; our salt is the tail.
        let mut out = [0u8; 20];
        pbkdf2::pbkdf2_hmac::<Sha1>(b"password", b"salt", 2, &mut out);
        assert_eq!(
            out.to_vec(),
            hex("ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957")
        );
    }

    #[test]
    fn libsrt_key_material_unwraps_with_its_passphrase() {
        // Captured from ffmpeg/libsrt 1.5.1 with passphrase=0123456789abcdef, pbkeylen=16.
        let km = hex("12202901 00000000 02000200 00000404
             b24d49f4 151dee2e 9b297a3b 37a7b130 a155032b b31cc5fc d2cbee93 d29ee32c
             04387774 049c70a4");
        let c = StreamCrypto::from_key_material("0123456789abcdef", &km).unwrap();
        assert_eq!(c.key_len(), 16);
        assert_eq!(c.key_material(), km.as_slice());
        assert!(matches!(
            StreamCrypto::from_key_material("0123456789abcdeX", &km),
            Err(CryptoError::BadSecret)
        ));
        // The first payload bytes of that session's first packet are 0x47 (TS sync) once
        // decrypted: the CTR counter layout matches libsrt.
        let mut payload = hex("e8ed108e06f2fd78");
        c.decrypt(DataKey::Even, SeqNumber::new(0x0fe2_5427), &mut payload)
            .unwrap();
        assert_eq!(payload[0], 0x47);
    }

    #[test]
    fn generated_keys_round_trip_for_every_length() {
        let mut rng = ChaCha20Rng::from_seed([7; 32]);
        for len in [16, 24, 32] {
            let tx = StreamCrypto::generate("correct horse battery", len, &mut rng).unwrap();
            let rx = StreamCrypto::from_key_material("correct horse battery", tx.key_material())
                .unwrap();
            assert_eq!(rx.key_len(), len);
            let mut p = b"hello, encrypted world, longer than one block".to_vec();
            let seq = SeqNumber::new(12345);
            assert_eq!(tx.encrypt(seq, &mut p), DataKey::Even);
            assert_ne!(&p[..5], b"hello");
            rx.decrypt(DataKey::Even, seq, &mut p).unwrap();
            assert_eq!(&p[..], b"hello, encrypted world, longer than one block");
            assert_eq!(
                rx.decrypt(DataKey::Odd, seq, &mut p),
                Err(CryptoError::NoKey)
            );
        }
        assert_eq!(
            StreamCrypto::generate("short", 16, &mut rng).map(|_| ()),
            Err(CryptoError::PassphraseLength(5))
        );
        assert_eq!(
            StreamCrypto::generate("long enough pass", 20, &mut rng).map(|_| ()),
            Err(CryptoError::KeyLength(20))
        );
    }
}
