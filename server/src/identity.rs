//! The server's QUIC identity: a self-signed certificate made on first start and kept in the
//! data directory, so that its fingerprint (which clients pin) stays the same across restarts.

use std::path::{Path, PathBuf};

use anyhow::Context;
use kagura_client::{CERT_FILE, Fingerprint, KEY_FILE};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

pub struct Identity {
    pub certificate: CertificateDer<'static>,
    pub key: PrivateKeyDer<'static>,
    pub fingerprint: Fingerprint,
}

/// The platform's data directory for Kagura (e.g. `~/.local/share/kagura` on Linux).
pub fn default_data_dir() -> anyhow::Result<PathBuf> {
    directories::ProjectDirs::from("", "", "kagura")
        .map(|d| d.data_dir().to_path_buf())
        .context("no home directory to put Kagura's data directory in; pass --data-dir")
}

/// Loads the identity from `data_dir`, making and saving a new one if there is none.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<Identity> {
    let cert_path = data_dir.join(CERT_FILE);
    let key_path = data_dir.join(KEY_FILE);
    let (cert, key) = if cert_path.exists() && key_path.exists() {
        let cert = std::fs::read(&cert_path)
            .with_context(|| format!("reading {}", cert_path.display()))?;
        let key =
            std::fs::read(&key_path).with_context(|| format!("reading {}", key_path.display()))?;
        (cert, key)
    } else {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating data directory {}", data_dir.display()))?;
        let made = rcgen::generate_simple_self_signed(vec![
            "localhost".into(),
            "kagura".into(),
            "127.0.0.1".into(),
            "::1".into(),
        ])
        .context("generating the server certificate")?;
        let cert = made.cert.der().to_vec();
        let key = made.signing_key.serialize_der();
        write_private(&key_path, &key)?;
        std::fs::write(&cert_path, &cert)
            .with_context(|| format!("writing {}", cert_path.display()))?;
        (cert, key)
    };
    Ok(Identity {
        fingerprint: Fingerprint::of_certificate(&cert),
        certificate: CertificateDer::from(cert),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
    })
}

/// Writes a secret: on Unix the file is created readable by its owner only (mode 0600) before
/// a byte is written, so there is no moment at which others may read it. Written to a
/// temporary name, then renamed, so a crash never leaves half a key.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let temporary = path.with_extension("tmp");
    let _ = std::fs::remove_file(&temporary);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&temporary)
        .with_context(|| format!("creating {}", temporary.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", temporary.display()))?;
    std::fs::rename(&temporary, path).with_context(|| format!("saving {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_made_once_and_kept() {
        let dir = std::env::temp_dir().join(format!("kagura-identity-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = load_or_create(&dir).unwrap();
        let second = load_or_create(&dir).unwrap();
        assert_eq!(first.fingerprint, second.fingerprint);
        assert_eq!(Fingerprint::from_data_dir(&dir).unwrap(), first.fingerprint);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "the key is private: {mode:o}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
