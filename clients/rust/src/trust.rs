//! Trusting a Kagura server by its certificate's SHA-256 fingerprint.
//!
//! A Kagura server makes a self-signed certificate on first start, keeps it in its data
//! directory and prints its fingerprint. A client pins that fingerprint: it accepts exactly that
//! certificate and nothing else, with no certificate authority involved.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};

/// The file, inside the server's data directory, that holds its certificate (DER).
pub const CERT_FILE: &str = "quic-cert.der";
/// The file, inside the server's data directory, that holds its private key (PKCS#8 DER).
pub const KEY_FILE: &str = "quic-key.der";

/// A certificate's SHA-256 fingerprint.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    pub fn of_certificate(der: &[u8]) -> Self {
        Fingerprint(Sha256::digest(der).into())
    }

    /// Parses 64 hex digits; colons and spaces between them are ignored.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let digits: String = text
            .chars()
            .filter(|c| *c != ':' && !c.is_whitespace())
            .collect();
        let bytes =
            hex::decode(&digits).with_context(|| format!("fingerprint {text:?} is not hex"))?;
        let Ok(bytes) = <[u8; 32]>::try_from(bytes.as_slice()) else {
            bail!("fingerprint {text:?} is not 32 bytes (64 hex digits)");
        };
        Ok(Fingerprint(bytes))
    }

    /// Reads the certificate a server keeps in `data_dir` (client and server on one machine).
    pub fn from_data_dir(data_dir: &Path) -> anyhow::Result<Self> {
        let path = data_dir.join(CERT_FILE);
        let der = std::fs::read(&path)
            .with_context(|| format!("reading the server certificate {}", path.display()))?;
        Ok(Self::of_certificate(&der))
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// Accepts the one certificate whose fingerprint is pinned; checks handshake signatures with
/// ring.
#[derive(Debug)]
pub(crate) struct PinnedCertificate {
    pub(crate) fingerprint: Fingerprint,
    pub(crate) provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if Fingerprint::of_certificate(end_entity) == self.fingerprint {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "server certificate fingerprint {} is not the pinned {}",
                Fingerprint::of_certificate(end_entity),
                self.fingerprint
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_colons_and_round_trips() {
        let f = Fingerprint::of_certificate(b"certificate");
        let text = f.to_string();
        assert_eq!(Fingerprint::parse(&text).unwrap(), f);
        let with_colons: Vec<String> = f.0.iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(Fingerprint::parse(&with_colons.join(":")).unwrap(), f);
        assert!(Fingerprint::parse("abcd").is_err());
    }
}
