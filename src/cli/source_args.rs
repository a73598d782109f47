//! The image-source flags shared by every subcommand that reads an image (`imgopt layers`,
//! `imgopt analyze --image`, `imgopt plan --image`): flatten [`SourceArgs`] into the command's
//! clap struct and turn it into [`SourceOptions`] with [`SourceArgs::to_options`].

use std::io::Read;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;

use crate::source::Platform;
use crate::source::auth::{AuthFiles, Credentials, Secret};
use crate::source::spec::SourceOptions;

/// How to reach and read the image.
#[derive(Args, Clone, Debug)]
pub struct SourceArgs {
    /// Platform to read from a multi-platform image, os/arch[/variant] (default: the host's).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]", conflicts_with = "all_platforms")]
    pub platform: Option<String>,
    /// Read every platform of a multi-platform image.
    #[arg(long)]
    pub all_platforms: bool,
    /// Speak plain HTTP to the registry (always done for localhost and 127.0.0.0/8).
    #[arg(long)]
    pub plain_http: bool,
    /// Accept invalid TLS certificates from the registry.
    #[arg(long)]
    pub insecure: bool,
    /// Registry user name (the password is read from stdin with --password-stdin).
    #[arg(long, requires = "password_stdin", value_name = "USER")]
    pub username: Option<String>,
    /// Read the registry password from stdin (one line).
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
    /// Do not hash local blobs (registry bytes are always verified).
    #[arg(long)]
    pub no_verify: bool,
    /// Network timeout: connecting, and a stalled download (e.g. 30, 30s, 2m).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Slowest registry download accepted, in bytes per second (e.g. 64k, 1M): a blob must
    /// arrive within its size at this rate plus --timeout per attempt.
    #[arg(long, value_name = "RATE", default_value = "64k", value_parser = parse_rate)]
    pub min_rate: u64,
    /// Longest a whole run may spend talking to a registry (e.g. 30m, 2h).
    #[arg(long, value_name = "DURATION", default_value = "2h", value_parser = parse_duration)]
    pub max_time: Duration,
}

impl Default for SourceArgs {
    fn default() -> Self {
        Self {
            platform: None,
            all_platforms: false,
            plain_http: false,
            insecure: false,
            username: None,
            password_stdin: false,
            no_verify: false,
            timeout: SourceOptions::default().timeout,
            min_rate: SourceOptions::DEFAULT_MIN_RATE,
            max_time: SourceOptions::DEFAULT_MAX_TIME,
        }
    }
}

/// Parses `30`, `30s`, `1500ms` or `2m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((s, "s"), |i| s.split_at(i));
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. 30s, 2m, 500ms)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (ms, s, m or h)")),
    };
    if !(secs.is_finite() && secs > 0.0 && secs <= 86_400.0) {
        return Err(format!("`{s}` must be more than zero and at most a day"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses a rate in bytes per second: `65536`, `64k` (KiB), `1M` (MiB), `1G` (GiB).
pub fn parse_rate(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&t[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&t[..i], 1 << 30),
        _ => (t, 1),
    };
    match num.parse::<u64>().ok().and_then(|n| n.checked_mul(mult)) {
        Some(n) if n > 0 => Ok(n),
        _ => Err(format!("`{s}` is not a rate in bytes per second (e.g. 65536, 64k, 1M)")),
    }
}

impl SourceArgs {
    /// The options these flags ask for; `stdin` supplies the password for
    /// `--password-stdin` (only the first line, trailing newline removed).
    pub fn to_options(&self, stdin: impl Read) -> anyhow::Result<SourceOptions> {
        let platform = match &self.platform {
            Some(p) => Some(p.parse::<Platform>().context("--platform")?),
            None => None,
        };
        let credentials = match (&self.username, self.password_stdin) {
            (Some(user), true) => {
                let mut text = String::new();
                stdin
                    .take(64 * 1024)
                    .read_to_string(&mut text)
                    .context("reading the password from stdin")?;
                let password = text.lines().next().unwrap_or("").to_string();
                if password.is_empty() {
                    bail!("--password-stdin: stdin held no password");
                }
                Some(Credentials::Basic {
                    username: user.clone(),
                    password: Secret::new(password),
                })
            }
            _ => None,
        };
        Ok(SourceOptions {
            platform,
            all_platforms: self.all_platforms,
            plain_http: self.plain_http,
            insecure: self.insecure,
            credentials,
            auth_files: AuthFiles::from_env(),
            verify: !self.no_verify,
            timeout: self.timeout,
            min_rate: self.min_rate,
            max_time: self.max_time,
            ..SourceOptions::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        s: SourceArgs,
    }

    #[test]
    fn flags_become_options() {
        let t = T::try_parse_from([
            "t",
            "--platform",
            "linux/arm64/v8",
            "--username",
            "bob",
            "--password-stdin",
            "--no-verify",
            "--timeout",
            "1500ms",
        ])
        .unwrap();
        let o = t.s.to_options(&b"pa ss\nignored\n"[..]).unwrap();
        assert_eq!(o.platform.unwrap().to_string(), "linux/arm64/v8");
        assert_eq!(
            o.credentials,
            Some(Credentials::Basic {
                username: "bob".into(),
                password: Secret::new("pa ss")
            })
        );
        assert!(!o.verify);
        assert_eq!(o.timeout, Duration::from_millis(1500));
        assert!(
            T::try_parse_from(["t", "--username", "bob"]).is_err(),
            "--username needs --password-stdin"
        );
        assert!(T::try_parse_from(["t", "--platform", "linux/amd64", "--all-platforms"]).is_err());
        assert!(T::try_parse_from(["t", "--timeout", "0"]).is_err());
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_rate("64k").unwrap(), 65536);
        assert_eq!(parse_rate("1M").unwrap(), 1 << 20);
        assert_eq!(parse_rate("100").unwrap(), 100);
        assert!(parse_rate("0").is_err() && parse_rate("fast").is_err());
        let t = T::try_parse_from(["t", "--min-rate", "1M", "--max-time", "10m"]).unwrap();
        let o = t.s.to_options(&b""[..]).unwrap();
        assert_eq!((o.min_rate, o.max_time), (1 << 20, Duration::from_secs(600)));
        let d = T::try_parse_from(["t"]).unwrap().s.to_options(&b""[..]).unwrap();
        assert_eq!(
            (d.min_rate, d.max_time),
            (SourceOptions::DEFAULT_MIN_RATE, SourceOptions::DEFAULT_MAX_TIME)
        );
        let t = T::try_parse_from(["t", "--platform", "linux"]).unwrap();
        assert!(t.s.to_options(&b""[..]).is_err());
        let t = T::try_parse_from(["t", "--username", "bob", "--password-stdin"]).unwrap();
        assert!(t.s.to_options(&b"\n"[..]).is_err());
    }
}
