//! The fixes of DF202 (`--no-install-recommends`), DF103 (`-slim` base), DF401 (an `rm` merged
//! into the `RUN` that created the files) and DF402 (`COPY --chown` in place of a `chown -R`
//! layer): the exact text each produces, that the result parses and has nothing left to fix,
//! and the shapes that must get no fix. `fix_diff_unsafe_and_a_second_run` goes through the
//! binary (`--diff` writes nothing, `--fix --unsafe-fixes` writes, a second run finds nothing).

use crate::support;

use imgopt::analyze::{Input, Options, analyze};
use imgopt::fix::{Applicability, apply_fixes};
use imgopt::rules::Selection;

/// The findings of `code` in `text` and their fixes.
fn fixes(text: &str, code: &str) -> (usize, Vec<imgopt::fix::Fix>) {
    let opts = Options {
        no_context: true,
        selection: Selection::new(Some(code), None).unwrap(),
        ..Options::default()
    };
    let input = Input {
        name: "Dockerfile".into(),
        bytes: text.as_bytes().to_vec(),
        path: None,
    };
    let (report, _) = analyze(&[input], &opts).unwrap();
    let n = report.findings.len();
    (n, report.findings.into_iter().filter_map(|f| f.fix).collect())
}

/// `text` with every fix of `code` applied, once; asserts the result parses and that a second
/// run has no fix (and no finding) of `code` left.
fn fixed(text: &str, code: &str, want: Applicability) -> String {
    let (_, fx) = fixes(text, code);
    assert!(!fx.is_empty(), "{code}: no fix for\n{text}");
    assert!(fx.iter().all(|f| f.applicability == want), "{code}: {fx:?}");
    let out = apply_fixes(text, &fx).unwrap_or_else(|e| panic!("{code}: {e}\n{text}"));
    assert!(out.skipped.is_empty(), "{code}: overlapping fixes");
    imgopt::dockerfile::parse(out.text.as_bytes()).unwrap();
    let (left, again) = fixes(&out.text, code);
    assert!(
        again.is_empty() && left == 0,
        "{code}: left after the fix:\n{}",
        out.text
    );
    out.text
}

/// Asserts `code` reports `text` but offers no fix.
fn no_fix(text: &str, code: &str) {
    let (n, fx) = fixes(text, code);
    assert!(n > 0, "{code}: no finding for\n{text}");
    assert!(fx.is_empty(), "{code}: unexpected fix {fx:?} for\n{text}");
}

#[test]
fn df202_inserts_no_install_recommends_after_each_install() {
    let src = "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y curl \\\n && DEBIAN_FRONTEND=noninteractive apt -y install jq \\\n && rm -rf /var/lib/apt/lists/*\n";
    assert_eq!(
        fixed(src, "DF202", Applicability::Unsafe),
        "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install --no-install-recommends -y curl \\\n && DEBIAN_FRONTEND=noninteractive apt -y install --no-install-recommends jq \\\n && rm -rf /var/lib/apt/lists/*\n"
    );
    // One install has it already: only the other is changed.
    let src = "FROM debian:bookworm-slim\nRUN apt-get install -y --no-install-recommends a && apt-get install -y b\n";
    assert_eq!(
        fixed(src, "DF202", Applicability::Unsafe),
        "FROM debian:bookworm-slim\nRUN apt-get install -y --no-install-recommends a && apt-get install --no-install-recommends -y b\n"
    );
    // The apt option form is the same setting: nothing to report or fix.
    let (n, _) = fixes(
        "FROM debian:bookworm-slim\nRUN apt-get install -y -o APT::Install-Recommends=false curl\n",
        "DF202",
    );
    assert_eq!(n, 0);
}

#[test]
fn df103_swaps_to_the_slim_tag_of_the_same_version() {
    for (from, to) in [
        ("python:3.12", "python:3.12-slim"),
        ("python:3.12.4-bookworm", "python:3.12.4-slim-bookworm"),
        ("node:20", "node:20-slim"),
        ("node:20-bookworm", "node:20-bookworm-slim"),
        ("node:lts", "node:lts-slim"),
        ("debian:bookworm", "debian:bookworm-slim"),
        ("debian:bookworm-20240101", "debian:bookworm-20240101-slim"),
        ("debian:12", "debian:12-slim"),
    ] {
        let src = format!("FROM {from} AS app\nCOPY app /app\nCMD [\"/app/run\"]\n");
        assert_eq!(
            fixed(&src, "DF103", Applicability::Unsafe),
            format!("FROM {to} AS app\nCOPY app /app\nCMD [\"/app/run\"]\n"),
            "{from}"
        );
    }
}

#[test]
fn df103_no_swap_where_the_slim_tag_would_be_wrong_or_break_the_file() {
    // Pinned by digest: the digest names the full image.
    no_fix(
        "FROM python:3.12@sha256:0000000000000000000000000000000000000000000000000000000000000000\nCMD [\"python\"]\n",
        "DF103",
    );
    // Written with an ARG.
    no_fix("ARG V=3.12\nFROM python:${V}\nCMD [\"python\"]\n", "DF103");
    // A tag shape without a published slim counterpart.
    no_fix("FROM python:3.13-rc\nCMD [\"python\"]\n", "DF103");
    // The healthcheck runs curl, which slim images do not have.
    no_fix(
        "FROM node:20\nHEALTHCHECK CMD curl -f http://localhost/ || exit 1\nCMD [\"node\", \"i.js\"]\n",
        "DF103",
    );
    // A builder stage is built on the same base and would lose its compilers.
    no_fix(
        "FROM node:20 AS base\nWORKDIR /app\nFROM base AS build\nRUN npm ci && npm run build\nFROM base\nCOPY --from=build /app/dist /app/dist\nCMD [\"node\", \"dist/i.js\"]\n",
        "DF103",
    );
}

#[test]
fn df401_moves_the_rm_into_the_run_that_created_the_files() {
    // Alone in its RUN, with package installs and ENV in between.
    let src = "FROM alpine:3.20\nRUN wget -O /tmp/big.bin https://example.com/big.bin && sha256sum /tmp/big.bin\nRUN apk add --no-cache curl\nENV A=1\nRUN rm -f /tmp/big.bin\nCMD [\"sh\"]\n";
    assert_eq!(
        fixed(src, "DF401", Applicability::Safe),
        "FROM alpine:3.20\nRUN wget -O /tmp/big.bin https://example.com/big.bin && sha256sum /tmp/big.bin && rm -f /tmp/big.bin\nRUN apk add --no-cache curl\nENV A=1\nCMD [\"sh\"]\n"
    );
    // A clean part of an `&&` chain, relative to the WORKDIR, across continuation lines.
    let src = "FROM alpine:3.20\nWORKDIR /src\nRUN git clone https://github.com/example/repo.git && make -C repo install\nRUN echo start \\\n && rm -rf repo \\\n && echo done\n";
    assert_eq!(
        fixed(src, "DF401", Applicability::Safe),
        "FROM alpine:3.20\nWORKDIR /src\nRUN git clone https://github.com/example/repo.git && make -C repo install && rm -rf /src/repo\nRUN echo start \\\n && echo done\n"
    );
}

#[test]
fn df401_no_merge_when_something_in_between_may_read_the_files() {
    // A RUN in between extracts the download.
    no_fix(
        "FROM alpine:3.20\nRUN wget -O /tmp/c.tgz https://example.com/c.tgz\nRUN tar xzf /tmp/c.tgz -C /opt\nRUN rm /tmp/c.tgz\n",
        "DF401",
    );
    // A script in between may read it without naming it.
    no_fix(
        "FROM alpine:3.20\nRUN wget -O /tmp/c.tgz https://example.com/c.tgz\nRUN ./install.sh\nRUN rm /tmp/c.tgz\n",
        "DF401",
    );
    // The same RUN uses it before the rm.
    no_fix(
        "FROM alpine:3.20\nRUN wget -O /tmp/c.tgz https://example.com/c.tgz\nRUN tar xzf /tmp/c.tgz && rm /tmp/c.tgz\n",
        "DF401",
    );
    // Files from COPY: the remedy is a bind mount or a stage, not a merge.
    no_fix(
        "FROM alpine:3.20\nCOPY big.bin /tmp/big.bin\nRUN rm /tmp/big.bin\n",
        "DF401",
    );
    // Joined by `||`, or in a heredoc: no edit of the RUN is attempted.
    no_fix(
        "FROM alpine:3.20\nRUN wget -O /tmp/c.tgz https://example.com/c.tgz\nRUN rm /tmp/c.tgz || true\n",
        "DF401",
    );
    no_fix(
        "FROM alpine:3.20\nRUN wget -O /tmp/c.tgz https://example.com/c.tgz\nRUN <<EOF\nrm /tmp/c.tgz\nEOF\n",
        "DF401",
    );
    // A glob that deletes more than the download.
    no_fix(
        "FROM alpine:3.20\nRUN wget -O /tmp/c.tgz https://example.com/c.tgz\nRUN rm -rf /tmp/*\n",
        "DF401",
    );
}

#[test]
fn df402_sets_the_owner_in_the_copy() {
    // The user exists before the COPY; the chown RUN goes away.
    let src = "FROM node:22-slim\nRUN useradd -r app\nCOPY --from=build /out /srv/app\nRUN chown -R app:app /srv/app\nUSER app\n";
    let src = format!("FROM alpine:3.20 AS build\nRUN mkdir /out\n{src}");
    assert_eq!(
        fixed(&src, "DF402", Applicability::Unsafe),
        "FROM alpine:3.20 AS build\nRUN mkdir /out\nFROM node:22-slim\nRUN useradd -r app\nCOPY --from=build --chown=app:app /out /srv/app\nUSER app\n"
    );
    // Part of an `&&` chain: only the chown goes.
    let src = "FROM node:22-slim\nCOPY dist /srv/app\nRUN echo a \\\n && chown -R 1000:1000 /srv/app \\\n && echo b\n";
    assert_eq!(
        fixed(src, "DF402", Applicability::Unsafe),
        "FROM node:22-slim\nCOPY --chown=1000:1000 dist /srv/app\nRUN echo a \\\n && echo b\n"
    );
    // A WORKDIR made the folder before the COPY: COPY --chown leaves the folder itself to
    // root, so a non-recursive chown of it stays.
    let src = "FROM node:22-slim\nWORKDIR /app\nCOPY . .\nRUN chown -R node:node /app\nUSER node\n";
    assert_eq!(
        fixed(src, "DF402", Applicability::Unsafe),
        "FROM node:22-slim\nWORKDIR /app\nCOPY --chown=node:node . .\nRUN chown node:node /app\nUSER node\n"
    );
}

#[test]
fn df402_no_fix_unless_the_copy_is_provably_the_only_source() {
    // The user is created after the COPY: `COPY --chown` could not resolve it.
    no_fix(
        "FROM debian:bookworm-slim\nCOPY . /srv/app\nRUN useradd -r app\nRUN chown -R app:app /srv/app\n",
        "DF402",
    );
    no_fix(
        "FROM debian:bookworm-slim\nCOPY . /srv/app\nRUN useradd -r app && chown -R app:app /srv/app\n",
        "DF402",
    );
    // Another RUN writes there (a folder the chown also re-owns).
    no_fix(
        "FROM node:22-slim\nCOPY . /srv/app\nRUN mkdir -p /srv/app/logs\nRUN chown -R node:node /srv/app\n",
        "DF402",
    );
    // Two COPYs into the tree.
    no_fix(
        "FROM node:22-slim\nCOPY . /srv/app\nCOPY config.json /srv/app/config/\nRUN chown -R node:node /srv/app\n",
        "DF402",
    );
    // A parent of the COPY's destination, or a folder the base image fills.
    no_fix(
        "FROM node:22-slim\nCOPY . /srv/app/src\nRUN chown -R node:node /srv/app\n",
        "DF402",
    );
    no_fix(
        "FROM node:22-slim\nCOPY . /home/node\nRUN chown -R node:node /home/node\n",
        "DF402",
    );
    // No group: `--chown=app` would set the group to app's, `chown app` keeps root's.
    no_fix(
        "FROM node:22-slim\nCOPY . /srv/app\nRUN chown -R node /srv/app\n",
        "DF402",
    );
    // chmod: modes are left alone.
    no_fix(
        "FROM node:22-slim\nCOPY . /srv/app\nRUN chmod -R g+w /srv/app\n",
        "DF402",
    );
}

#[test]
fn fix_diff_unsafe_and_a_second_run() {
    let dir = tempfile::tempdir().unwrap();
    let df = dir.path().join("Dockerfile");
    let original = "FROM python:3.12\nRUN apt-get update && apt-get install -y wget && rm -rf /var/lib/apt/lists/*\nRUN wget -O /tmp/x.whl https://example.com/x.whl\nRUN rm /tmp/x.whl\nCOPY . /srv/app\nRUN chown -R 1000:1000 /srv/app\nCMD [\"python\", \"/srv/app/main.py\"]\n";
    std::fs::write(&df, original).unwrap();
    let path = df.to_str().unwrap();
    let run = |args: &[&str]| support::imgopt().args(args).output();

    // --diff without --unsafe-fixes: only the safe DF401 merge; nothing is written.
    let o = run(&["analyze", "--no-context", "--diff", path]);
    let diff = String::from_utf8(o.stdout).unwrap();
    assert!(
        diff.contains("+RUN wget -O /tmp/x.whl https://example.com/x.whl && rm /tmp/x.whl"),
        "{diff}"
    );
    assert!(!diff.contains("slim") && !diff.contains("--chown"), "{diff}");
    // --diff --unsafe-fixes: all four; still nothing written.
    let o = run(&["analyze", "--no-context", "--diff", "--unsafe-fixes", path]);
    let diff = String::from_utf8(o.stdout).unwrap();
    for want in [
        "+FROM python:3.12-slim",
        "install --no-install-recommends -y wget",
        "+COPY --chown=1000:1000 . /srv/app",
        "-RUN chown -R 1000:1000 /srv/app",
    ] {
        assert!(diff.contains(want), "{want}: {diff}");
    }
    assert_eq!(std::fs::read_to_string(&df).unwrap(), original);

    // --fix --unsafe-fixes writes them; the file parses and a second run has nothing to fix.
    let o = run(&["analyze", "--no-context", "--fix", "--unsafe-fixes", path]);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let fixed = std::fs::read_to_string(&df).unwrap();
    assert_eq!(
        fixed,
        "FROM python:3.12-slim\nRUN apt-get update && apt-get install --no-install-recommends -y wget && rm -rf /var/lib/apt/lists/*\nRUN wget -O /tmp/x.whl https://example.com/x.whl && rm /tmp/x.whl\nCOPY --chown=1000:1000 . /srv/app\nCMD [\"python\", \"/srv/app/main.py\"]\n"
    );
    imgopt::dockerfile::parse(fixed.as_bytes()).unwrap();
    let o = run(&["analyze", "--no-context", "--diff", "--unsafe-fixes", path]);
    assert!(o.stdout.is_empty(), "{}", String::from_utf8_lossy(&o.stdout));
}
