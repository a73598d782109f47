//! The container builders `--verify` drives, found on `PATH`, and the command line of each
//! step: build, start the image's command, export the image for measuring, clean up.
//!
//! - buildah (<https://github.com/containers/buildah/tree/main/docs>): `buildah bud`,
//!   `buildah from` + `buildah run`, `buildah push IMAGE oci:DIR:TAG`; builds cache layers
//!   (`--layers`) as docker and podman do. As root with no daemon it
//!   runs with `--storage-driver vfs` and `--isolation chroot` unless `STORAGE_DRIVER` or
//!   `BUILDAH_ISOLATION` say otherwise (both are buildah's own variables).
//! - podman (<https://docs.podman.io/en/latest/Commands.html>): `podman build`, `podman run`,
//!   `podman push IMAGE oci:DIR:TAG`.
//! - docker (<https://docs.docker.com/reference/cli/docker/>): `docker build` (BuildKit),
//!   `docker run`, `docker save` (a docker-archive).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

/// Which builder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BuilderKind {
    /// buildah (daemonless; `--storage-driver vfs --isolation chroot` as root).
    Buildah,
    /// podman.
    Podman,
    /// docker (needs its daemon).
    Docker,
}

impl BuilderKind {
    /// The order they are looked for when none is named.
    pub const SEARCH: [BuilderKind; 3] = [Self::Buildah, Self::Podman, Self::Docker];

    /// The program name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Buildah => "buildah",
            Self::Podman => "podman",
            Self::Docker => "docker",
        }
    }
}

/// A builder found on the machine.
#[derive(Clone, Debug)]
pub struct Builder {
    /// Which one.
    pub kind: BuilderKind,
    /// Its absolute path.
    pub program: PathBuf,
    /// Global flags put before every subcommand (buildah's storage driver).
    global: Vec<OsString>,
    /// buildah's isolation flag, for `bud` and `run`.
    isolation: Option<String>,
}

/// Looks for `name` in the `PATH` given (an executable regular file).
#[must_use]
pub fn which(name: &str, path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let path = path?;
    std::env::split_paths(path)
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| d.join(name))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

impl Builder {
    /// The builder named, or the first of [`BuilderKind::SEARCH`] on `path`; `None` when none is.
    /// `env` reads the builder's own variables (`STORAGE_DRIVER`, `BUILDAH_ISOLATION`).
    pub fn find(
        want: Option<BuilderKind>,
        path: Option<&std::ffi::OsStr>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Option<Builder> {
        let kinds: &[BuilderKind] = match &want {
            Some(k) => std::slice::from_ref(k),
            None => &BuilderKind::SEARCH,
        };
        kinds.iter().find_map(|&kind| {
            let program = which(kind.as_str(), path)?;
            let (global, isolation) = match kind {
                BuilderKind::Buildah => {
                    let global = if env("STORAGE_DRIVER").is_some_and(|v| !v.is_empty()) {
                        Vec::new()
                    } else {
                        vec!["--storage-driver".into(), "vfs".into()]
                    };
                    let isolation = env("BUILDAH_ISOLATION")
                        .filter(|v| !v.is_empty())
                        .unwrap_or_else(|| "chroot".to_string());
                    (global, Some(isolation))
                }
                BuilderKind::Podman | BuilderKind::Docker => (Vec::new(), None),
            };
            Some(Builder {
                kind,
                program,
                global,
                isolation,
            })
        })
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.global);
        c
    }

    /// `--version`.
    #[must_use]
    pub fn version(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.arg("--version");
        c
    }

    /// Builds `dockerfile` in `context`, writing the image id to `iidfile`.
    #[must_use]
    pub fn build(&self, spec: &BuildSpec<'_>) -> Command {
        let mut c = self.cmd();
        match self.kind {
            BuilderKind::Buildah => {
                // Cache layers as docker and podman do by default, so the rewrite's build stage
                // reuses the original's steps instead of repeating them.
                // `--force-rm`: a failed step leaves no working container behind.
                c.args(["bud", "--layers", "--force-rm"]);
                if let Some(i) = &self.isolation {
                    c.args(["--isolation", i]);
                }
            }
            BuilderKind::Podman | BuilderKind::Docker => {
                c.args(["build", "--force-rm"]);
            }
        }
        c.arg("-f").arg(spec.dockerfile).arg("--iidfile").arg(spec.iidfile);
        for (name, value) in spec.build_args {
            let mut a = OsString::from(name);
            a.push("=");
            a.push(value);
            c.arg("--build-arg").arg(a);
        }
        for v in spec.volumes {
            c.arg("-v").arg(v);
        }
        c.arg(spec.context);
        c
    }

    /// Starts a working container of `image` and prints its name (buildah only).
    #[must_use]
    pub fn from(&self, image: &str) -> Command {
        let mut c = self.cmd();
        c.args(["from", "--pull=never", "--quiet", image]);
        c
    }

    /// The image's config as JSON (buildah, podman and docker all print a JSON document).
    #[must_use]
    pub fn inspect(&self, image: &str) -> Command {
        let mut c = self.cmd();
        match self.kind {
            BuilderKind::Buildah => c.args(["inspect", "--type", "image", image]),
            BuilderKind::Podman | BuilderKind::Docker => c.args(["image", "inspect", image]),
        };
        c
    }

    /// Runs `argv` in `target`: a buildah container (entrypoint and command already joined),
    /// or an image (podman, docker: `argv` is the arguments after the image, replacing CMD).
    #[must_use]
    pub fn run(&self, target: &str, argv: &[String]) -> Command {
        let mut c = self.cmd();
        match self.kind {
            BuilderKind::Buildah => {
                c.arg("run");
                if let Some(i) = &self.isolation {
                    c.args(["--isolation", i]);
                }
                c.args([target, "--"]).args(argv);
            }
            BuilderKind::Podman | BuilderKind::Docker => {
                c.args(["run", "--rm", "--network", "none", target]).args(argv);
            }
        }
        c
    }

    /// Removes a buildah working container.
    #[must_use]
    pub fn rm_container(&self, name: &str) -> Command {
        let mut c = self.cmd();
        c.args(["rm", name]);
        c
    }

    /// Removes an image.
    #[must_use]
    pub fn rmi(&self, image: &str) -> Command {
        let mut c = self.cmd();
        match self.kind {
            BuilderKind::Buildah | BuilderKind::Podman => c.args(["rmi", "-f", image]),
            BuilderKind::Docker => c.args(["image", "rm", "-f", image]),
        };
        c
    }

    /// Exports `image` into `dir` for measuring; returns the command and the source spec
    /// imgopt reads it back through (`oci:DIR:TAG` or `docker-archive:FILE`).
    #[must_use]
    pub fn export(&self, image: &str, dir: &Path) -> (Command, String) {
        let mut c = self.cmd();
        match self.kind {
            BuilderKind::Buildah | BuilderKind::Podman => {
                let layout = dir.join("layout");
                let dest = format!("oci:{}:verify", layout.display());
                c.args(["push", "--quiet", image, &dest]);
                (c, dest)
            }
            BuilderKind::Docker => {
                let file = dir.join("image.tar");
                c.args(["save", "-o"]).arg(&file).arg(image);
                (c, format!("docker-archive:{}", file.display()))
            }
        }
    }

    /// Whether `run` takes a container from [`Builder::from`] (buildah) or the image.
    #[must_use]
    pub fn runs_containers(&self) -> bool {
        self.kind == BuilderKind::Buildah
    }
}

/// What one build needs.
pub struct BuildSpec<'a> {
    /// The Dockerfile (`-f`).
    pub dockerfile: &'a Path,
    /// The build context.
    pub context: &'a Path,
    /// Where the builder writes the image id.
    pub iidfile: &'a Path,
    /// `--build-arg NAME=VALUE`.
    pub build_args: &'a [(String, String)],
    /// `-v SRC:DST[:OPTS]` mounts for RUN steps (buildah, podman).
    pub volumes: &'a [String],
}

/// The image's start command from its config JSON (`Entrypoint` + `Cmd`, or `Entrypoint` +
/// `smoke` when given), as `docker run IMAGE [ARGS]` would run it.
#[must_use]
pub fn start_command(inspect_json: &str, smoke: Option<&[String]>) -> Option<Vec<String>> {
    let v: serde_json::Value = serde_json::from_str(inspect_json).ok()?;
    // buildah: {"OCIv1": {"config": {...}}}; podman and docker: [{"Config": {...}}].
    let config = v
        .pointer("/OCIv1/config")
        .or_else(|| v.pointer("/0/Config"))
        .or_else(|| v.pointer("/Docker/config"))?;
    let strings = |key: &str| -> Vec<String> {
        config
            .get(key)
            .and_then(|x| x.as_array())
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    let mut argv = strings("Entrypoint");
    match smoke {
        Some(args) => argv.extend(args.iter().cloned()),
        None => argv.extend(strings("Cmd")),
    }
    Some(argv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_command_joins_entrypoint_and_cmd_or_smoke() {
        let j = r#"{"OCIv1":{"config":{"Entrypoint":["/bin/app"],"Cmd":["serve"]}}}"#;
        assert_eq!(start_command(j, None), Some(vec!["/bin/app".into(), "serve".into()]));
        let smoke = vec!["--version".to_string()];
        assert_eq!(
            start_command(j, Some(&smoke)),
            Some(vec!["/bin/app".into(), "--version".into()])
        );
        let j = r#"[{"Config":{"Cmd":["python","app.py"]}}]"#;
        assert_eq!(start_command(j, None), Some(vec!["python".into(), "app.py".into()]));
        assert_eq!(start_command("not json", None), None);
    }

    #[test]
    fn find_looks_on_the_path_given() {
        let dir = std::env::temp_dir().join(format!("imgopt-which-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let none = |_: &str| None;
        assert!(Builder::find(None, Some(dir.as_os_str()), &none).is_none());
        let podman = dir.join("podman");
        std::fs::write(&podman, "#!/bin/sh\n").expect("write");
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&podman, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let b = Builder::find(None, Some(dir.as_os_str()), &none).expect("found");
        assert_eq!(b.kind, BuilderKind::Podman);
        assert!(Builder::find(Some(BuilderKind::Buildah), Some(dir.as_os_str()), &none).is_none());
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
