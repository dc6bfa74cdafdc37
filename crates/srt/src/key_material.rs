//! The key material (KM) message (draft-sharabayko-srt "Key Material"): the salt and the
//! stream encrypting key(s) wrapped with the passphrase-derived key.

/// The only KM version and packet type: version 1, "keying material message".
const VERSION_PT: u8 = 0x12;
/// "HAI" as a PnP vendor id.
const SIGN: u16 = 0x2029;
/// Length of the fixed header, before the salt.
const FIXED_LEN: usize = 16;
/// The only salt length libsrt defines.
pub const SALT_LEN: usize = 16;
/// Cipher field: AES-CTR.
pub const CIPHER_AES_CTR: u8 = 2;
/// Cipher field: AES-GCM (libsrt 1.6; not supported here).
pub const CIPHER_AES_GCM: u8 = 4;
/// Stream encapsulation field: MPEG-TS over SRT.
const SE_MPEGTS_SRT: u8 = 2;

/// A malformed or unsupported KM message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyMaterialError {
    /// Shorter than its fields say.
    #[error("key material of {have} bytes, needs {need}")]
    Truncated {
        /// Bytes present.
        have: usize,
        /// Bytes needed.
        need: usize,
    },
    /// Not version 1 / type "KM" / signed "HAI".
    #[error("not a key material message (first word {0:#010x})")]
    NotKeyMaterial(u32),
    /// The KK field announces no key.
    #[error("key material carries no key")]
    NoKey,
    /// A cipher other than AES-CTR (AES-GCM needs libsrt 1.6 crypto mode).
    #[error("unsupported key material cipher {0}")]
    UnsupportedCipher(u8),
    /// A key length other than 16, 24 or 32 bytes.
    #[error("unsupported key length {0}")]
    BadKeyLength(usize),
    /// A salt length other than 16 bytes.
    #[error("unsupported salt length {0}")]
    BadSaltLength(usize),
}

/// Which stream encrypting keys a KM message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySlots {
    /// The even key only.
    Even,
    /// The odd key only.
    Odd,
    /// Both, even first.
    Both,
}

impl KeySlots {
    fn bits(self) -> u8 {
        match self {
            Self::Even => 1,
            Self::Odd => 2,
            Self::Both => 3,
        }
    }

    /// How many keys are wrapped.
    pub fn count(self) -> usize {
        if self == Self::Both { 2 } else { 1 }
    }
}

/// A parsed KM message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMaterial {
    /// Which keys are present.
    pub slots: KeySlots,
    /// Key encrypting key index (0: the passphrase).
    pub keki: u32,
    /// Cipher (always `CIPHER_AES_CTR` once parsed).
    pub cipher: u8,
    /// Authentication (0: none).
    pub auth: u8,
    /// Stream encapsulation.
    pub se: u8,
    /// Length of one stream encrypting key: 16, 24 or 32.
    pub key_len: usize,
    /// The salt.
    pub salt: [u8; SALT_LEN],
    /// RFC 3394 wrap of the key(s): 8 + count * key_len bytes.
    pub wrapped: Vec<u8>,
}

impl KeyMaterial {
    /// A message announcing `slots` wrapped in `wrapped`.
    pub fn new(slots: KeySlots, key_len: usize, salt: [u8; SALT_LEN], wrapped: Vec<u8>) -> Self {
        Self {
            slots,
            keki: 0,
            cipher: CIPHER_AES_CTR,
            auth: 0,
            se: SE_MPEGTS_SRT,
            key_len,
            salt,
            wrapped,
        }
    }

    /// Parses a KM message (as found in KMREQ/KMRSP extensions and refresh packets).
    pub fn parse(b: &[u8]) -> Result<Self, KeyMaterialError> {
        if b.len() < FIXED_LEN {
            return Err(KeyMaterialError::Truncated {
                have: b.len(),
                need: FIXED_LEN,
            });
        }
        let w0 = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        if b[0] != VERSION_PT || u16::from_be_bytes([b[1], b[2]]) != SIGN {
            return Err(KeyMaterialError::NotKeyMaterial(w0));
        }
        let slots = match b[3] & 3 {
            1 => KeySlots::Even,
            2 => KeySlots::Odd,
            3 => KeySlots::Both,
            _ => return Err(KeyMaterialError::NoKey),
        };
        let keki = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
        let (cipher, auth, se) = (b[8], b[9], b[10]);
        if cipher != CIPHER_AES_CTR {
            return Err(KeyMaterialError::UnsupportedCipher(cipher));
        }
        let salt_len = usize::from(b[14]) * 4;
        let key_len = usize::from(b[15]) * 4;
        if salt_len != SALT_LEN {
            return Err(KeyMaterialError::BadSaltLength(salt_len));
        }
        if !matches!(key_len, 16 | 24 | 32) {
            return Err(KeyMaterialError::BadKeyLength(key_len));
        }
        let wrap_len = 8 + slots.count() * key_len;
        let need = FIXED_LEN + salt_len + wrap_len;
        if b.len() < need {
            return Err(KeyMaterialError::Truncated {
                have: b.len(),
                need,
            });
        }
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&b[FIXED_LEN..FIXED_LEN + SALT_LEN]);
        Ok(Self {
            slots,
            keki,
            cipher,
            auth,
            se,
            key_len,
            salt,
            wrapped: b[FIXED_LEN + SALT_LEN..need].to_vec(),
        })
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FIXED_LEN + SALT_LEN + self.wrapped.len());
        out.push(VERSION_PT);
        out.extend_from_slice(&SIGN.to_be_bytes());
        out.push(self.slots.bits());
        out.extend_from_slice(&self.keki.to_be_bytes());
        out.extend_from_slice(&[self.cipher, self.auth, self.se, 0, 0, 0]);
        // Lengths are validated or chosen by us (16..=32), so /4 fits a byte.
        out.push(u8::try_from(SALT_LEN / 4).unwrap_or(4));
        out.push(u8::try_from(self.key_len / 4).unwrap_or(0));
        out.extend_from_slice(&self.salt);
        out.extend_from_slice(&self.wrapped);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The KMREQ of libsrt 1.5.1, pbkeylen=16.
    pub(crate) const LIBSRT_KM: &str = "12202901 00000000 02000200 00000404
        b24d49f4 151dee2e 9b297a3b 37a7b130 a155032b b31cc5fc d2cbee93 d29ee32c
        04387774 049c70a4";

    #[test]
    fn libsrt_key_material_round_trips() {
        let wire = hex(LIBSRT_KM);
        let km = KeyMaterial::parse(&wire).unwrap();
        assert_eq!(km.slots, KeySlots::Even);
        assert_eq!(km.key_len, 16);
        assert_eq!(km.cipher, CIPHER_AES_CTR);
        assert_eq!(km.se, 2);
        assert_eq!(km.salt[0], 0xb2);
        assert_eq!(km.wrapped.len(), 24);
        assert_eq!(km.to_bytes(), wire);
    }

    #[test]
    fn malformed_key_material_is_an_error() {
        let wire = hex(LIBSRT_KM);
        assert!(matches!(
            KeyMaterial::parse(&wire[..20]),
            Err(KeyMaterialError::Truncated { need: 56, .. })
        ));
        let mut bad = wire.clone();
        bad[3] = 0;
        assert_eq!(KeyMaterial::parse(&bad), Err(KeyMaterialError::NoKey));
        let mut bad = wire.clone();
        bad[8] = CIPHER_AES_GCM;
        assert_eq!(
            KeyMaterial::parse(&bad),
            Err(KeyMaterialError::UnsupportedCipher(4))
        );
        let mut bad = wire.clone();
        bad[15] = 5;
        assert_eq!(
            KeyMaterial::parse(&bad),
            Err(KeyMaterialError::BadKeyLength(20))
        );
        let mut bad = wire.clone();
        bad[14] = 2;
        assert_eq!(
            KeyMaterial::parse(&bad),
            Err(KeyMaterialError::BadSaltLength(8))
        );
        let mut bad = wire;
        bad[1] = 0;
        assert!(matches!(
            KeyMaterial::parse(&bad),
            Err(KeyMaterialError::NotKeyMaterial(_))
        ));
    }
}
