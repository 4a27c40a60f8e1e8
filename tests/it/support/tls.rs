//! Test certificates, generated fresh for each run with rcgen: a private CA and a server
//! certificate it signed for `localhost` and `127.0.0.1`. Nothing is committed, nothing expires.

use binance_mock::TlsIdentity;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

/// A CA (PEM, for `--ca-cert`) and the server identity it signed (for the mock).
pub(crate) struct TestPki {
    /// The CA certificate, PEM.
    pub ca_pem: String,
    /// The mock's certificate and key.
    pub server: TlsIdentity,
}

/// A self-signed `localhost` certificate, as many private servers use: the certificate is
/// its own trust anchor. Returns its PEM (for `--ca-cert`) and the server identity.
#[allow(dead_code)] // Used by the integration tests, not by the mock_exchange example.
pub(crate) fn self_signed() -> (String, TlsIdentity) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
        .expect("self-signed certificate");
    let pem = certified.cert.pem();
    let identity = TlsIdentity {
        cert_pem: pem.clone().into_bytes(),
        key_pem: certified.signing_key.serialize_pem().into_bytes(),
    };
    (pem, identity)
}

/// Generates a CA and a `localhost` server certificate signed by it.
pub(crate) fn generate() -> TestPki {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "binance-listen test CA");
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().expect("server key");
    let mut server_params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("server params");
    server_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let server_cert = server_params
        .signed_by(&server_key, &issuer)
        .expect("server certificate");
    TestPki {
        ca_pem: ca_cert.pem(),
        server: TlsIdentity {
            cert_pem: server_cert.pem().into_bytes(),
            key_pem: server_key.serialize_pem().into_bytes(),
        },
    }
}
