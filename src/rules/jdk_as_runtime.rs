//! Rule DF107 jdk-as-runtime: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::{Finding, Rule, RuleContext, pkg};
use crate::catalog::{self, Family, Variant};
use crate::diag::Severity;
use crate::dockerfile::Keyword;
use crate::estimate::heuristics;

crate::declare_rule! {
    /// ## What it does
    /// Checks for a Java Development Kit in an image that only runs Java: a JDK base for the
    /// final image (`eclipse-temurin:N` and `:N-jdk`, `openjdk:N`, the deprecated `java:N`, `amazoncorretto:N`,
    /// `sapmachine:N`, `ibm-semeru-runtimes:*-jdk`), or a JDK package installed in a stage that
    /// ships (`default-jdk`, `openjdk-17-jdk[-headless]`, apk `openjdk17` and
    /// `openjdk17-jdk`, rpm `java-17-openjdk-devel` and `java-17-amazon-corretto-devel`,
    /// `zulu17-jdk`), also another publisher's image named for a JDK
    /// (`someone/8-jdk-alpine-mvn`, `azul/zulu-openjdk`, `bellsoft/liberica-openjdk-alpine`,
    /// whose JRE is `bellsoft/liberica-openjre-alpine`). A JDK base is reported also when the image compiles Java
    /// in place (`javac`, `mvn`, `gradle`, `jlink`, `jar`, `native-image` in a shipping stage):
    /// the compile belongs in a builder stage; a JDK package is not (DF105 reports the build
    /// tools). Only images that run something are checked: the target's stage chain has
    /// `CMD`, `ENTRYPOINT`, `EXPOSE` or `HEALTHCHECK` (a downloaded server started by its
    /// base's command or at `docker run`), or installs a program a build stage made. Nothing
    /// is reported when the target is a development stage.
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
    /// A JRE runs the same programs without the compiler, `jlink`, `jmods` and debugging tools:
    /// `eclipse-temurin:21-jdk` is about 109 MB larger (compressed) than `21-jre`
    /// (docker-library/repo-info). Build in a JDK stage and copy the jar onto a JRE, or build a
    /// smaller runtime with `jlink`.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM eclipse-temurin:21-jdk
    /// COPY target/app.jar /app.jar
    /// CMD ["java", "-jar", "/app.jar"]
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM eclipse-temurin:21-jre
    /// COPY target/app.jar /app.jar
    /// CMD ["java", "-jar", "/app.jar"]
    /// ```
    ///
    /// ## References
    /// - docker-library/repo-info, `eclipse-temurin` `21-jdk` and `21-jre`
    ///   (<https://github.com/docker-library/repo-info/tree/master/repos/eclipse-temurin>)
    /// - Docker docs, "Multi-stage builds" (<https://docs.docker.com/build/building/multi-stage/>)
    pub JdkAsRuntime, DF107, "jdk-as-runtime", Severity::Warning
}

/// Whether an image reference names a JDK image, and the JRE to suggest.
fn jdk_image(repo: &str, tag: &str) -> Option<String> {
    let name = repo.rsplit('/').next().unwrap_or(repo);
    let t = tag.to_ascii_lowercase();
    if t.contains("jre") {
        return None;
    }
    match name {
        "eclipse-temurin" => {
            super::full_base_image::smaller_tag(Family::EclipseTemurin, Some(tag)).map(|new| format!("{repo}:{new}"))
        }
        "openjdk" => Some("eclipse-temurin:<version>-jre (the openjdk images are deprecated)".to_string()),
        // The official `java` image, deprecated in 2017 for `openjdk` (docker-library/docs,
        // `java/README.md`): its `7`, `8` and `openjdk-8-jdk` tags are JDKs.
        "java" if matches!(repo, "java" | "library/java" | "docker.io/library/java") => {
            Some("eclipse-temurin:<version>-jre (the java images are deprecated and no longer updated)".to_string())
        }
        "amazoncorretto" | "sapmachine" => Some(format!(
            "a JRE image, e.g. eclipse-temurin:{}-jre",
            t.split(['-', '.']).next().unwrap_or("21")
        )),
        // Tomcat's and Jetty's official tags name the Java they run on: `8.5-jdk8`, `9-jdk17`
        // (docker-library/tomcat); each has a `-jre` twin.
        "tomcat" | "jetty" if t.contains("jdk") && !repo.contains('/') => {
            Some(format!("{repo}:{}", t.replacen("jdk", "jre", 1)))
        }
        "ibm-semeru-runtimes" | "adoptopenjdk" if t.contains("jdk") => {
            Some(format!("{repo}:{}", t.replacen("jdk", "jre", 1)))
        }
        // BellSoft's Liberica images pair `liberica-openjdk-*` (JDK) with `liberica-openjre-*`
        // (JRE) (<https://hub.docker.com/u/bellsoft>).
        _ if name.starts_with("liberica-openjdk") => Some(repo.replacen("openjdk", "openjre", 1)),
        // Another publisher's image named for a JDK (`someone/8-jdk-alpine-mvn`,
        // `azul/zulu-openjdk`, `adoptopenjdk/openjdk11`): its JRE twin is named `jre` (or
        // tagged so, which returned above).
        _ if repo.contains('/')
            && name.split(['-', '_', '.']).any(|w| {
                w == "jdk"
                    || w.strip_prefix("openjdk")
                        .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit()))
            })
            && !name.contains("jre") =>
        {
            Some("a JRE image, e.g. eclipse-temurin:<version>-jre".to_string())
        }
        _ => None,
    }
}

/// Whether a package name is a JDK (not a JRE).
pub(super) fn jdk_package(p: &str) -> bool {
    let p = p.to_ascii_lowercase();
    if p.contains("jre") {
        return false;
    }
    // `openjdk17`, `openjdk-17`, `zulu17`: the vendor, then the version.
    let versioned = |vendor: &str| {
        p.strip_prefix(vendor)
            .map(|r| r.trim_start_matches('-'))
            .is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_digit()))
    };
    // `openjdk-17-jdk`, `openjdk17-jdk`, `zulu17-jdk`, `temurin-17-jdk` (and `-headless`).
    let jdk_suffix = p.ends_with("-jdk") || p.ends_with("-jdk-headless");
    p == "default-jdk"
        || p == "default-jdk-headless"
        || (["openjdk", "temurin", "zulu"].iter().any(|v| p.starts_with(v)) && jdk_suffix)
        || versioned("openjdk")
        || (p.starts_with("java-") && p.ends_with("-devel") && (p.contains("openjdk") || p.contains("corretto")))
}

impl Rule for JdkAsRuntime {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        if !ctx.runtime_image() || ctx.development_environment() {
            return;
        }
        let builds = ctx
            .stages
            .iter()
            .filter(|s| s.ships)
            .flat_map(|s| ctx.stage_instructions(s.index))
            .filter(|(_, inst)| inst.keyword == Keyword::Run)
            .any(|(i, _)| {
                ctx.commands[i].iter().any(|c| {
                    matches!(
                        c.name(),
                        Some(
                            "javac"
                                | "mvn"
                                | "mvnw"
                                | "./mvnw"
                                | "gradle"
                                | "gradlew"
                                | "./gradlew"
                                | "jlink"
                                | "jar"
                                | "native-image"
                        )
                    )
                })
            });
        for st in ctx.shipping_stages() {
            let Some(r) = super::context::base_image(st) else {
                continue;
            };
            let Some(jre) = jdk_image(&r.repo, r.tag.as_deref().unwrap_or("latest")) else {
                continue;
            };
            let (i, span) = ctx.from_span(st);
            let mut f = Finding::new(
                &Self::META,
                ctx,
                i,
                span,
                format!(
                    "the final image runs on a JDK (`{}`); running Java needs only a JRE",
                    st.base_expanded
                ),
                if builds {
                    format!("compile in a builder stage on this JDK, and run the result on {jre}")
                } else {
                    format!("run on {jre}, and compile in a builder stage")
                },
            );
            if let (Some(from), Some(to)) = (
                catalog::lookup(Family::EclipseTemurin, Variant::Jdk),
                catalog::lookup(Family::EclipseTemurin, Variant::Jre),
            ) {
                f = f.estimate(catalog::swap_saving(from, to)).note(format!(
                    "catalog: {}; {} (other JDKs and versions differ)",
                    catalog::cite(from),
                    catalog::cite(to)
                ));
            }
            out.push(f);
        }
        // A JDK package the image's own build needs: DF105 reports the toolchain instead.
        if builds {
            return;
        }
        for (_, i, cmds) in pkg::shipping_runs(ctx) {
            for inst in pkg::installs(cmds) {
                let Some(w) = inst.packages.iter().find(|w| jdk_package(pkg::package_name(&w.text))) else {
                    continue;
                };
                let name = pkg::package_name(&w.text);
                let jre = if name.starts_with("default-jdk") {
                    "default-jre-headless".to_string()
                } else if name.starts_with("java-") {
                    name.replace("-devel", "-headless")
                } else {
                    // `openjdk-17-jdk` -> `openjdk-17-jre-headless`, apk `openjdk17` ->
                    // `openjdk17-jre-headless`, `zulu17-jdk` -> `zulu17-jre-headless`.
                    format!(
                        "{}-jre-headless",
                        name.trim_end_matches("-headless").trim_end_matches("-jdk")
                    )
                };
                out.push(
                    Finding::new(
                        &Self::META,
                        ctx,
                        i,
                        w.span,
                        format!("`{}` installs a JDK into an image that only runs Java", w.text),
                        format!("install `{jre}` instead, and compile in a builder stage"),
                    )
                    .estimate(Some(heuristics::jdk_over_jre()))
                    .note("estimate: the eclipse-temurin:21 JDK image minus its JRE image, from docker-library/repo-info; distribution packages differ"),
                );
            }
        }
    }
}
