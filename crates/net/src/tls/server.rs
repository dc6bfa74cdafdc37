//! TLS servers from PEM key and certificate files (`*ServerKey`, `*ServerCert`): every
//! listener's certificate is reloaded when its files change, as MediaMTX's certificate
//! loader does, so a renewed certificate needs no restart.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

/// A key or certificate that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    #[error("server cert is missing")]
    MissingCert,
    #[error("unable to load certificate {path}: {reason}")]
    Cert { path: String, reason: String },
    #[error("unable to load key {path}: {reason}")]
    Key { path: String, reason: String },
    #[error("invalid TLS configuration: {0}")]
    Config(String),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn load_certs(cert: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    if cert.as_os_str().is_empty() {
        return Err(TlsError::MissingCert);
    }
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| TlsError::Cert {
            path: cert.display().to_string(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Cert {
            path: cert.display().to_string(),
            reason: "no certificate found".into(),
        });
    }
    Ok(certs)
}

fn load_key(key: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Key {
        path: key.display().to_string(),
        reason: e.to_string(),
    })
}

/// Loads a certificate chain and its private key, checking that they belong together.
pub fn load_certified_key(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let certs = load_certs(cert)?;
    let key = load_key(key)?;
    let certified = CertifiedKey::from_der(certs, key, &provider())
        .map_err(|e| TlsError::Config(e.to_string()))?;
    Ok(certified)
}

/// ALPN protocols of an HTTP server: HTTP/2 and HTTP/1.1.
pub const ALPN_HTTP: &[&[u8]] = &[b"h2", b"http/1.1"];

/// A server configuration whose certificate is read from `cert` and `key` now, then again
/// whenever one of the files changes: every new connection after a change gets the new
/// certificate. A change that cannot be loaded (e.g. only one of the two files replaced
/// yet) is logged and the previous certificate stays in use until the files change again.
/// `alpn`: the protocols offered ([`ALPN_HTTP`] for HTTP servers, none for RTSPS, RTMPS).
pub fn server_config(
    cert: &Path,
    key: &Path,
    alpn: &[&[u8]],
) -> Result<Arc<ServerConfig>, TlsError> {
    let resolver = ReloadingCert::new(cert, key)?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// [`server_config`] as an acceptor.
pub fn acceptor(cert: &Path, key: &Path, alpn: &[&[u8]]) -> Result<TlsAcceptor, TlsError> {
    server_config(cert, key, alpn).map(TlsAcceptor::from)
}

/// What identifies one version of a file: modification time and size (none when the
/// file cannot be read).
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let meta = fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

#[derive(Debug)]
struct Loaded {
    stamps: (Stamp, Stamp),
    key: Arc<CertifiedKey>,
}

/// Resolves the certificate of [`server_config`]: on each handshake the two
/// files are looked at (two `stat` calls) and loaded again when they changed.
#[derive(Debug)]
pub struct ReloadingCert {
    cert: PathBuf,
    key: PathBuf,
    loaded: Mutex<Loaded>,
}

impl ReloadingCert {
    pub fn new(cert: &Path, key: &Path) -> Result<ReloadingCert, TlsError> {
        let stamps = (stamp(cert), stamp(key));
        let certified = load_certified_key(cert, key)?;
        Ok(ReloadingCert {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            loaded: Mutex::new(Loaded {
                stamps,
                key: Arc::new(certified),
            }),
        })
    }

    /// The certificate to present now, reloaded first if the files changed.
    pub fn current(&self) -> Arc<CertifiedKey> {
        let stamps = (stamp(&self.cert), stamp(&self.key));
        let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        if stamps != loaded.stamps {
            let changed = if stamps.0 != loaded.stamps.0 {
                &self.cert
            } else {
                &self.key
            };
            loaded.stamps = stamps;
            match load_certified_key(&self.cert, &self.key) {
                Ok(k) => {
                    loaded.key = Arc::new(k);
                    tracing::info!("certificate reloaded after change to {}", changed.display());
                }
                Err(e) => tracing::error!(
                    "certloader failed to load after change to {}: {e}",
                    changed.display()
                ),
            }
        }
        Arc::clone(&loaded.key)
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pair(dir: &Path, name: &str) -> (PathBuf, PathBuf, Vec<u8>) {
        let c = rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
        let cert = dir.join("server.crt");
        let key = dir.join("server.key");
        fs::write(&cert, c.cert.pem()).unwrap();
        fs::write(&key, c.signing_key.serialize_pem()).unwrap();
        (cert, key, c.cert.der().to_vec())
    }

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "ferromtx-tls-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn changed_files_are_loaded_again() {
        let d = dir("reload");
        let (cert, key, first) = write_pair(&d, "first.example");
        let r = ReloadingCert::new(&cert, &key).unwrap();
        assert_eq!(r.current().cert[0].as_ref(), &first[..]);
        assert_eq!(r.current().cert[0].as_ref(), &first[..]);
        let (_, _, second) = write_pair(&d, "second.example");
        assert_ne!(first, second);
        assert_eq!(r.current().cert[0].as_ref(), &second[..]);
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn a_broken_change_keeps_the_previous_certificate() {
        let d = dir("broken");
        let (cert, key, first) = write_pair(&d, "first.example");
        let r = ReloadingCert::new(&cert, &key).unwrap();
        fs::write(&cert, "not a certificate").unwrap();
        assert_eq!(r.current().cert[0].as_ref(), &first[..]);
        // A key that does not match the certificate is refused too.
        let (_, _, second) = write_pair(&d, "second.example");
        let other = rcgen::generate_simple_self_signed(vec!["x".to_string()]).unwrap();
        fs::write(&key, other.signing_key.serialize_pem()).unwrap();
        assert_eq!(r.current().cert[0].as_ref(), &first[..]);
        // Once the pair is consistent again, it is taken.
        let (_, _, third) = write_pair(&d, "third.example");
        assert_ne!(second, third);
        assert_eq!(r.current().cert[0].as_ref(), &third[..]);
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn missing_files_are_errors() {
        let d = dir("missing");
        assert!(matches!(
            server_config(Path::new(""), &d.join("k"), &[]),
            Err(TlsError::MissingCert)
        ));
        assert!(matches!(
            server_config(&d.join("c"), &d.join("k"), ALPN_HTTP),
            Err(TlsError::Cert { .. })
        ));
        let _ = fs::remove_dir_all(&d);
    }
}
