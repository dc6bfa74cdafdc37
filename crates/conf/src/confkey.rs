//! Encrypted configuration files (`MTX_CONFKEY`): base64 of a 24-byte nonce
//! followed by a NaCl secretbox (XSalsa20-Poly1305) of the YAML text.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::{Key, Nonce, XSalsa20Poly1305};

const NONCE_LEN: usize = 24;

/// Decrypt a file with `key` (its first 32 bytes, zero-padded, as MediaMTX).
pub(crate) fn decrypt(key: &str, data: &[u8]) -> Result<Vec<u8>, String> {
    let text: Vec<u8> = data
        .iter()
        .copied()
        .filter(|b| *b != b'\n' && *b != b'\r')
        .collect();
    let enc = STANDARD.decode(text).map_err(|e| e.to_string())?;
    if enc.len() < NONCE_LEN {
        return Err("decryption error".into());
    }
    let mut secret = [0u8; 32];
    let kb = key.as_bytes();
    let n = kb.len().min(32);
    secret[..n].copy_from_slice(&kb[..n]);
    let cipher = XSalsa20Poly1305::new(&Key::from(secret));
    let (nonce, sealed) = enc.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| "decryption error")?;
    cipher
        .decrypt(&Nonce::from(nonce), sealed)
        .map_err(|_| "decryption error".to_string())
}

#[cfg(test)]
pub(crate) fn encrypt(key: &str, nonce: [u8; NONCE_LEN], plain: &[u8]) -> String {
    let mut secret = [0u8; 32];
    let n = key.len().min(32);
    secret[..n].copy_from_slice(&key.as_bytes()[..n]);
    let cipher = XSalsa20Poly1305::new(&Key::from(secret));
    let sealed = cipher
        .encrypt(&Nonce::from(nonce), plain)
        .expect("encryption");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    STANDARD.encode(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decrypts_what_secretbox_sealed() {
        let enc = encrypt("mykey", [7; 24], b"logLevel: debug\n");
        let plain = decrypt("mykey", format!("{enc}\n").as_bytes()).unwrap();
        assert_eq!(plain, b"logLevel: debug\n");
        assert_eq!(
            decrypt("other", enc.as_bytes()).unwrap_err(),
            "decryption error"
        );
        assert!(decrypt("mykey", b"!!!").is_err());
    }
}
