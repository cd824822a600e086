//! HTTPS for `hbmon serve` (`[serve] tls_cert`, `tls_key`): rustls on the same std server, a
//! handshake per connection under the request's deadline (a silent client holds its thread
//! no longer than one that says nothing over plain HTTP). The certificate chain and key are
//! PEM files read through [`crate::fsafe`]: the key only when no one else may read it, as ssh
//! takes a private key. A plain-HTTP request to the TLS port is answered in plain HTTP, `400`
//! naming the fix, as nginx does, rather than with bytes a client shows as garbage.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

use super::conn::Socket;
use crate::fsafe::{self, FileError};

/// The first byte of a TLS handshake record: what a TLS client sends first.
const HANDSHAKE: u8 = 0x16;

/// Why the certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("cannot read {what} {}: no such file", path.display())]
    Missing { what: &'static str, path: PathBuf },
    #[error("{what} {}: {why}", path.display())]
    Bad {
        what: &'static str,
        path: PathBuf,
        why: String,
    },
}

/// The server's TLS config, shared by every connection.
#[derive(Clone)]
pub struct Tls(Arc<ServerConfig>);

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls(..)")
    }
}

impl Tls {
    /// The certificate chain at `cert` (PEM, the server's first) and its private key at
    /// `key` (PEM: PKCS#8, PKCS#1 or SEC1).
    pub fn load(cert: &Path, key: &Path) -> Result<Tls, TlsError> {
        let bad = |what, path: &Path, why: String| TlsError::Bad {
            what,
            path: path.to_owned(),
            why,
        };
        let missing = |what, path: &Path| TlsError::Missing {
            what,
            path: path.to_owned(),
        };
        let (cert_pem, _) = fsafe::read_trusted(cert)?.ok_or_else(|| missing("tls_cert", cert))?;
        let chain = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad("tls_cert", cert, format!("not a PEM certificate: {e}")))?;
        if chain.is_empty() {
            return Err(bad(
                "tls_cert",
                cert,
                "has no BEGIN CERTIFICATE block".into(),
            ));
        }
        let key_pem = fsafe::read_private(key)?.ok_or_else(|| missing("tls_key", key))?;
        let private = PrivateKeyDer::from_pem_slice(&key_pem)
            .map_err(|e| bad("tls_key", key, format!("not a PEM private key: {e}")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| bad("tls_cert", cert, e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, private)
            .map_err(|e| {
                bad(
                    "tls_key",
                    key,
                    format!("does not go with {}: {e}", cert.display()),
                )
            })?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls(Arc::new(config)))
    }
}

/// How a connection to the TLS port began.
pub enum Accepted {
    /// The handshake was made: a connection to read a request from.
    Tls(Box<StreamOwned<ServerConnection, Socket>>),
    /// The client spoke plain HTTP (or anything but TLS): answer it so.
    Plain(Socket),
    /// The handshake failed, or the client said nothing in time: nothing to answer.
    Failed,
}

/// Makes the handshake on `socket` by its deadline.
pub fn accept(tls: &Tls, mut socket: Socket) -> Accepted {
    let mut first = [0_u8; 1];
    // Peeked, not read: a TLS client's first byte is the handshake's.
    match socket.peek(&mut first) {
        Ok(1) if first[0] == HANDSHAKE => {}
        Ok(1) => return Accepted::Plain(socket),
        _ => return Accepted::Failed,
    }
    let Ok(mut conn) = ServerConnection::new(Arc::clone(&tls.0)) else {
        return Accepted::Failed;
    };
    while conn.is_handshaking() {
        if conn.complete_io(&mut socket).is_err() {
            return Accepted::Failed;
        }
    }
    Accepted::Tls(Box::new(StreamOwned::new(conn, socket)))
}
