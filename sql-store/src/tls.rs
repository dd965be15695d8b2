//! TLS to PostgreSQL, as the URL's `sslmode` asks (libpq's meanings):
//!
//! | `sslmode` | encrypted | server verified |
//! |---|---|---|
//! | `disable` | no | no |
//! | `prefer` (tokio-postgres's default) | when the server offers it | no |
//! | `require` | yes, or no connection | no (any certificate) |
//! | `verify-ca` | yes | its chain, against `sslrootcert` |
//! | `verify-full` | yes | its chain and that it names the host |
//!
//! `sslrootcert=PATH` (PEM) is required with `verify-ca` and `verify-full`.
//! tokio-postgres itself knows only `disable`, `prefer` and `require`, so
//! both parameters are taken out of the URL here and the verification is
//! rustls's (with aws-lc-rs, which the servers' TLS already builds), through
//! `tokio-postgres-rustls`.

use crate::DbError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;

/// How the server's certificate is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verify {
    /// Encrypted, any certificate (`prefer`, `require`).
    Nothing,
    /// The chain, against the roots (`verify-ca`).
    Chain,
    /// The chain and the host name (`verify-full`).
    Full,
}

/// A URL with `sslmode` and `sslrootcert` read out of it: what
/// tokio-postgres is given, and the TLS client to connect with.
pub(crate) struct Parsed {
    pub(crate) url: String,
    pub(crate) tls: tokio_postgres_rustls::MakeRustlsConnect,
}

/// Reads `sslmode` and `sslrootcert` out of `url` (they are left out of
/// what tokio-postgres parses; `verify-*` become its `require`) and builds
/// the TLS client they ask for.
pub(crate) fn parse(url: &str) -> Result<Parsed, DbError> {
    let bad = |why: String| DbError::Config(format!("invalid PostgreSQL URL: {why}"));
    // The other parameters are kept byte for byte (tokio-postgres decodes
    // them itself, and would not read a re-encoded `+` as a space).
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let (mut mode, mut root) = (None, None);
    let mut kept: Vec<&str> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let decoded = url::form_urlencoded::parse(pair.as_bytes()).next();
        match decoded {
            Some((key, value)) if key == "sslmode" => mode = Some(value.into_owned()),
            Some((key, value)) if key == "sslrootcert" => root = Some(value.into_owned()),
            _ => kept.push(pair),
        }
    }
    let (wire_mode, verify) = match mode.as_deref() {
        None | Some("prefer") => ("prefer", Verify::Nothing),
        Some("disable") => ("disable", Verify::Nothing),
        Some("require") => ("require", Verify::Nothing),
        Some("verify-ca") => ("require", Verify::Chain),
        Some("verify-full") => ("require", Verify::Full),
        Some(other) => {
            return Err(bad(format!(
                "sslmode must be disable, prefer, require, verify-ca or verify-full, got {other:?}"
            )));
        }
    };
    kept.push(match wire_mode {
        "disable" => "sslmode=disable",
        "require" => "sslmode=require",
        _ => "sslmode=prefer",
    });
    let url = format!("{base}?{}", kept.join("&"));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| DbError::Config(format!("TLS: {e}")))?;
    let config = match verify {
        Verify::Nothing => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth(),
        Verify::Chain | Verify::Full => {
            let path = root.ok_or_else(|| {
                bad(format!(
                    "sslmode={} needs sslrootcert=PATH (the PEM certificates to trust)",
                    mode.as_deref().unwrap_or_default()
                ))
            })?;
            let roots = roots(&path)?;
            let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| DbError::Config(format!("TLS roots from {path}: {e}")))?;
            let verifier: Arc<dyn ServerCertVerifier> = match verify {
                Verify::Full => webpki,
                _ => Arc::new(ChainOnly(webpki)),
            };
            builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth()
        }
    };
    Ok(Parsed { url, tls: tokio_postgres_rustls::MakeRustlsConnect::new(config) })
}

fn roots(path: &str) -> Result<rustls::RootCertStore, DbError> {
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| DbError::Config(format!("reading sslrootcert {path}: {e}")))?;
    for certificate in certificates {
        let certificate =
            certificate.map_err(|e| DbError::Config(format!("reading sslrootcert {path}: {e}")))?;
        roots
            .add(certificate)
            .map_err(|e| DbError::Config(format!("a certificate in {path}: {e}")))?;
    }
    if roots.is_empty() {
        return Err(DbError::Config(format!("sslrootcert {path} holds no certificate")));
    }
    Ok(roots)
}

/// `require`'s verifier: the connection is encrypted and the handshake's
/// signatures are checked, but any certificate is taken (libpq's meaning;
/// `verify-full` is what authenticates the server).
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`'s verifier: the chain must lead to a trusted root; the name
/// the certificate gives is not compared with the host.
#[derive(Debug)]
struct ChainOnly(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
