//! Rule DF207 docs-kept: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::pkg::{self, Pm};
use super::{Finding, Rule, RuleContext};
use crate::catalog::ImageRef;
use crate::diag::Severity;
use crate::estimate::heuristics;

crate::declare_rule! {
    /// ## What it does
    /// Checks for `apt-get install` in a shipping stage whose base is a full (non-slim)
    /// Debian-based image (`debian:bookworm`, `python:3.12`, `node:22`, `golang`, `rust`,
    /// `ruby:3`, `openjdk:8-jre` and `openjdk:11`, `maven:3-jdk-11`, `perl`,
    /// `gcc`, `erlang`, `elixir`; a digest after the tag does not change what it names), when
    /// the Dockerfile does not configure dpkg `path-exclude` and the same `RUN` does not delete
    /// `/usr/share/doc` or `/usr/share/man`. Reported once per stage.
    ///
    /// The `php`, `httpd`, `nginx`, `postgres` and `redis` images are built on `debian:*-slim`,
    /// which already leaves the docs out: not reported.
    ///
    /// Only images that run something are checked: the target's stage chain has `CMD` or
    /// `ENTRYPOINT`, or it is built on an official node, python or ruby image (whose own `CMD`
    /// runs the interpreter) and sets a non-root `USER`, or it declares a production
    /// environment (`ENV RAILS_ENV=production`); the target is not a development stage (`dev`,
    /// `build`, `test`, `validate`, ...).
    ///
    /// Development environments are not checked either: images whose stage chain gives a user
    /// `sudo` (`useradd -G sudo`, a `NOPASSWD: ALL` sudoers line), single-stage files that set
    /// `RAILS_ENV`, `NODE_ENV` (or `RACK_ENV`, `APP_ENV`, `FLASK_ENV`, `MIX_ENV`) to
    /// `development` or `test`, images whose `CMD` or `ENTRYPOINT` runs a development server
    /// or watcher (`grunt dev`, `npm run dev`, `nodemon`, `flask run --debug`, `manage.py
    /// runserver`, `cargo watch`), Go or Rust toolchain images that copy the source and never
    /// build it (it is built when the container starts), images that install a browser
    /// driver only test suites use (`phantomjs`, `chromedriver`, `geckodriver`), and images
    /// that run a checkout mounted at run time (the command runs a program under the
    /// `WORKDIR`, or a runner such as `bundle exec` or `npm start` there, or the `WORKDIR` is a
    /// `VOLUME`, and the file puts nothing there but dependency manifests).
    ///
    /// ## Why is this bad?
    /// Full Debian images install documentation, man pages and locales with every package;
    /// the `-slim` variants exclude them through dpkg (Ubuntu images already do,
    /// tianon/docker-brew-ubuntu-core#126). On a Debian rootfs they took 125.1 → 83.2 MB
    /// (tianon/docker-brew-debian#50): doc 11 MB, locale 34 MB, man 6.3 MB
    /// (balena-io-library/resin-rpi-raspbian#7). For a few packages the saving is smaller.
    /// Deleting them in a later `RUN` saves nothing (coala/docker-coala-base#102).
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM debian:bookworm
    /// RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM debian:bookworm-slim
    /// RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
    /// ```
    /// or keep the base and exclude the paths before installing:
    /// ```dockerfile
    /// RUN printf 'path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\n' > /etc/dpkg/dpkg.cfg.d/docker-nodoc
    /// ```
    ///
    /// ## References
    /// - tianon/docker-brew-debian#50 (<https://github.com/tianon/docker-brew-debian/issues/50>)
    /// - dpkg(1), `--path-exclude` (<https://manpages.debian.org/dpkg.1>)
    pub DocsKept, DF207, "docs-kept", Severity::Info
}

impl Rule for DocsKept {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        if !ctx.runs_application() || ctx.development_environment() {
            return;
        }
        if ctx.src.contains("path-exclude") {
            return;
        }
        for st in ctx.shipping_stages() {
            // Report in the stage that starts from the external base only.
            if st.base_stage.is_some() && st.index != ctx.target {
                continue;
            }
            let Some(r) = ImageRef::parse(ctx.root_base(st.index)) else {
                continue;
            };
            if super::full_base_image::full_debian_base(&r).is_none() {
                continue;
            }
            let mut in_chain = vec![false; ctx.stages.len()];
            for c in ctx.chain(st.index) {
                in_chain[c] = true;
            }
            let first = pkg::shipping_runs(ctx)
                .into_iter()
                .filter(|(s, _, _)| in_chain[*s])
                .find_map(|(_, i, cmds)| {
                    let inst = pkg::installs(cmds)
                        .into_iter()
                        .find(|x| x.pm == Pm::Apt && !x.packages.is_empty())?;
                    let cleaned = pkg::removes(cmds, "/usr/share/doc") || pkg::removes(cmds, "/usr/share/man");
                    (!cleaned).then(|| (i, inst.head_span()))
                });
            if let Some((i, span)) = first {
                out.push(
                    Finding::new(&Self::META, ctx, i, span, format!("packages installed on the full `{}` image keep their docs, man pages and locales", r.full_repo()), "use the `-slim` variant of the base, or add a dpkg `path-exclude` file for /usr/share/{doc,man,locale} before installing")
                        .estimate(Some(heuristics::docs())),
                );
            }
        }
    }
}
