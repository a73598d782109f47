//! Rule DF104 toolchain-image-as-runtime: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::{Finding, Rule, RuleContext};
use crate::catalog::{self, Family, Variant};
use crate::diag::Severity;

crate::declare_rule! {
    /// ## What it does
    /// Checks for a final image built on a compiler toolchain image: `golang`, `rust`, `maven`
    /// or `gradle`, and Docker Hub images of other publishers named for one of them (a word
    /// of the name is `golang`, `rust`, `maven`, `mvn` or `gradle`: `pingcap/rust`,
    /// `someone/8-jdk-alpine-mvn`; no estimate for these, the catalog does not know them).
    /// These are builder images; the program they build needs only a runtime.
    ///
    /// Only images that run something are checked: the target's stage chain has `CMD` or
    /// `ENTRYPOINT` and the target is not a development stage (`dev`, `build`, `test`,
    /// `validate`, ...).
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
    /// The toolchain ships with every pull. From the embedded catalog (docker-library/repo-info,
    /// 2026): `golang:1.25-bookworm` is 289.7 MB compressed and `golang:1.25-alpine` 64.4 MB,
    /// `rust:1-slim` 319.1 MB; a static Go binary needs only `gcr.io/distroless/static`
    /// (about 2 MB) or `scratch`, and a Rust binary `gcr.io/distroless/cc` (22.6 MB). One Rust
    /// image went from 1.2 GB to 5 MB this way (metrue/fx#549).
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM golang:1.25
    /// WORKDIR /src
    /// COPY . .
    /// RUN go build -o /app .
    /// CMD ["/app"]
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM golang:1.25 AS build
    /// WORKDIR /src
    /// COPY . .
    /// RUN CGO_ENABLED=0 go build -ldflags="-s -w" -o /app .
    ///
    /// FROM gcr.io/distroless/static-debian12:nonroot
    /// COPY --from=build /app /app
    /// CMD ["/app"]
    /// ```
    ///
    /// ## References
    /// - Docker docs, "Multi-stage builds" (<https://docs.docker.com/build/building/multi-stage/>)
    /// - GoogleContainerTools/distroless README, the golang → static example
    ///   (<https://github.com/GoogleContainerTools/distroless>)
    pub ToolchainImageAsRuntime, DF104, "toolchain-image-as-runtime", Severity::Warning
}

impl Rule for ToolchainImageAsRuntime {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        if !ctx.runtime || ctx.development_environment() {
            return;
        }
        for st in ctx.shipping_stages() {
            let Some(r) = super::context::base_image(st) else {
                continue;
            };
            if r.registry.is_some() {
                continue;
            }
            // A Docker Hub image of another publisher named for its toolchain
            // (`pingcap/rust`, `someone/8-jdk-alpine-mvn`): the words of its name say so.
            let third_party = r.repo.contains('/');
            let kind = if third_party {
                let last = r.repo.rsplit('/').next().unwrap_or("");
                let words: Vec<&str> = last.split(['-', '_', '.']).collect();
                if words.contains(&"golang") {
                    "golang"
                } else if words.contains(&"rust") {
                    "rust"
                } else if words.iter().any(|w| matches!(*w, "maven" | "mvn" | "gradle")) {
                    "maven"
                } else {
                    continue;
                }
            } else {
                r.repo.as_str()
            };
            let (lang, runtime, runtime_family) = match kind {
                "golang" => (
                    "Go",
                    "gcr.io/distroless/static-debian12 (CGO_ENABLED=0) or scratch",
                    Family::DistrolessStatic,
                ),
                "rust" => (
                    "Rust",
                    "gcr.io/distroless/cc-debian12 (match the builder's Debian release) or a musl build on scratch",
                    Family::DistrolessCc,
                ),
                "maven" | "gradle" => (
                    "Java",
                    "eclipse-temurin:<version>-jre or a jlink runtime",
                    Family::Scratch,
                ),
                _ => continue,
            };
            if !third_party && catalog::classify(&r).is_some_and(|(_, v)| v == Variant::Other) {
                continue;
            }
            let (i, span) = ctx.from_span(st);
            let mut f = Finding::new(
                &Self::META,
                ctx,
                i,
                span,
                format!(
                    "the final image runs on the {lang} build toolchain image `{}`",
                    st.base_expanded
                ),
                format!("build in this image as a named stage, then `COPY --from` only the program into {runtime}"),
            );
            if third_party {
                f = f.note("no estimate: the catalog does not know this publisher's image");
            } else if runtime_family != Family::Scratch
                && let (Some((fam, var)), Some(to)) =
                    (catalog::classify(&r), catalog::lookup(runtime_family, Variant::Other))
            {
                let var = if var == Variant::Slim && fam == Family::Golang {
                    Variant::Full
                } else {
                    var
                };
                if let Some(from) = catalog::lookup(fam, var) {
                    f = f.estimate(catalog::swap_saving(from, to)).note(format!(
                        "catalog: {}; {}",
                        catalog::cite(from),
                        catalog::cite(to)
                    ));
                }
            }
            out.push(f);
        }
    }
}
