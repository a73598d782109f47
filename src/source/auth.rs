//! Registry credentials: where they come from and how they are kept secret.
//!
//! Owns: the redacting [`Secret`] type, and finding credentials for a registry host.
//! Does not: talk to registries (see [`super::registry`]).

use std::fmt;
use std::path::{Path, PathBuf};

/// A secret string (password, token). `Display` and `Debug` print `***`; only
/// [`Secret::expose`] gives the value, at the one place that sends it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    #[must_use]
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The secret itself. Never log it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Credentials for one registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// User name and password (basic auth, exchanged for a bearer token when asked).
    Basic {
        /// User name (not secret).
        username: String,
        /// Password.
        password: Secret,
    },
    /// An identity token (`identitytoken` in Docker's config).
    IdentityToken(Secret),
}

/// Where credentials for a registry were found (never the credential itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialOrigin {
    /// `--username` and `--password-stdin`.
    CommandLine,
    /// Docker's `config.json` (`auths`, `credsStore` or `credHelpers`).
    DockerConfig,
    /// `REGISTRY_AUTH_FILE` or Podman's `auth.json`.
    PodmanAuthFile,
}

/// The keys Docker and Podman file a registry's credentials under: Docker Hub's historical
/// `https://index.docker.io/v1/`, and for others the bare `host[:port]` (with a scheme
/// tolerated, as `docker login` once wrote).
fn keys_for(registry: &str) -> Vec<String> {
    if matches!(registry, "docker.io" | "index.docker.io" | "registry-1.docker.io") {
        return vec![
            "https://index.docker.io/v1/".into(),
            "index.docker.io".into(),
            "docker.io".into(),
            "registry-1.docker.io".into(),
        ];
    }
    vec![
        registry.to_string(),
        format!("https://{registry}"),
        format!("http://{registry}"),
    ]
}

fn convert(c: docker_credential::DockerCredential) -> Credentials {
    match c {
        docker_credential::DockerCredential::UsernamePassword(u, p) => Credentials::Basic {
            username: u,
            password: Secret::new(p),
        },
        docker_credential::DockerCredential::IdentityToken(t) => Credentials::IdentityToken(Secret::new(t)),
    }
}

/// The credential files to consult, in order. [`AuthFiles::from_env`] finds them the way
/// Docker and Podman do; tests and embedders can name them directly.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthFiles {
    /// Files read in order; each is a Docker-style `config.json` / Podman `auth.json`
    /// (`auths`, `credsStore`, `credHelpers`).
    pub files: Vec<(PathBuf, CredentialOrigin)>,
}

impl AuthFiles {
    /// `REGISTRY_AUTH_FILE` when set; then `$DOCKER_CONFIG/config.json` (default
    /// `~/.docker/config.json`); then Podman's `$XDG_RUNTIME_DIR/containers/auth.json` and
    /// `~/.config/containers/auth.json`. Missing files are skipped when read.
    #[must_use]
    pub fn from_env() -> Self {
        let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        let mut files = Vec::new();
        if let Some(f) = env("REGISTRY_AUTH_FILE") {
            files.push((f, CredentialOrigin::PodmanAuthFile));
        }
        if let Some(dir) = env("DOCKER_CONFIG").or_else(|| env("HOME").map(|h| h.join(".docker"))) {
            files.push((dir.join("config.json"), CredentialOrigin::DockerConfig));
        }
        if let Some(run) = env("XDG_RUNTIME_DIR") {
            files.push((run.join("containers/auth.json"), CredentialOrigin::PodmanAuthFile));
        }
        if let Some(home) = env("HOME") {
            files.push((
                home.join(".config/containers/auth.json"),
                CredentialOrigin::PodmanAuthFile,
            ));
        }
        Self { files }
    }

    /// Only Docker's config in `dir` (what `DOCKER_CONFIG=dir` means).
    #[must_use]
    pub fn docker_config_dir(dir: &Path) -> Self {
        Self {
            files: vec![(dir.join("config.json"), CredentialOrigin::DockerConfig)],
        }
    }
}

/// Looks `registry` (`host[:port]`, `docker.io` for Docker Hub) up in `files`, in order,
/// running `docker-credential-*` helpers named by `credsStore`/`credHelpers`. `Ok(None)` means
/// anonymous.
///
/// A helper that fails (for example "credentials not found") means anonymous, as in Docker;
/// a store that cannot be decoded is an error. Helper output is never put in a message.
pub fn lookup(registry: &str, files: &AuthFiles) -> Result<Option<(Credentials, CredentialOrigin)>, super::Error> {
    use docker_credential::CredentialRetrievalError as E;
    for (path, origin) in &files.files {
        let Ok(bytes) = std::fs::read(path) else { continue };
        for key in keys_for(registry) {
            match docker_credential::get_credential_from_reader(&bytes[..], &key) {
                Ok(c) => return Ok(Some((convert(c), origin.clone()))),
                Err(E::CredentialDecodingError | E::CredentialMismatchError | E::MalformedHelperResponse) => {
                    return Err(super::Error::invalid(
                        path.display().to_string(),
                        format!(
                            "the credentials stored for {key} cannot be decoded; run `docker login {registry}` again"
                        ),
                    ));
                }
                Err(E::ConfigReadError) => {
                    return Err(super::Error::invalid(
                        path.display().to_string(),
                        "not a valid credentials file (JSON)",
                    ));
                }
                Err(_) => {}
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let c = Credentials::Basic {
            username: "u".into(),
            password: Secret::new("hunter2"),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(Secret::new("x").to_string(), "***");
        assert_eq!(Secret::new("x").expose(), "x");
    }

    #[test]
    fn reads_auths_from_a_config_file() {
        let dir = std::env::temp_dir().join(format!("imgopt-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // base64("alice:s3cret") computed independently: `printf alice:s3cret | base64`.
        std::fs::write(
            dir.join("config.json"),
            r#"{"auths":{"127.0.0.1:5001":{"auth":"YWxpY2U6czNjcmV0"}}}"#,
        )
        .unwrap();
        let files = AuthFiles::docker_config_dir(&dir);
        let (c, origin) = lookup("127.0.0.1:5001", &files).unwrap().unwrap();
        assert_eq!(origin, CredentialOrigin::DockerConfig);
        assert_eq!(
            c,
            Credentials::Basic {
                username: "alice".into(),
                password: Secret::new("s3cret")
            }
        );
        assert!(lookup("127.0.0.1:5002", &files).unwrap().is_none());
        std::fs::write(dir.join("config.json"), "{not json").unwrap();
        assert!(lookup("127.0.0.1:5001", &files).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn docker_hub_keys() {
        assert_eq!(keys_for("docker.io")[0], "https://index.docker.io/v1/");
        assert_eq!(keys_for("127.0.0.1:5000")[0], "127.0.0.1:5000");
    }
}
