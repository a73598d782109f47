//! Rule DF208 curl-and-wget-installed: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::pkg;
use super::{Finding, Rule, RuleContext};
use crate::diag::Severity;

crate::declare_rule! {
    /// ## What it does
    /// Checks for a final image that installs both `curl` and `wget` with a package manager,
    /// in one `RUN` or in two, and does not remove either in the `RUN` that installs it. A
    /// removal counts when it names the package, names the packages through a variable
    /// (`apt-get purge -y $buildDeps`), or follows `apt-mark auto '.*'` (the docker-library
    /// pattern); a bare `apt-get autoremove` does not, since it keeps packages installed by
    /// name.
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
    /// Both download tools do the same job; shipping two means shipping the second one's binary
    /// and libraries (and their vulnerabilities) for nothing. The size depends on the
    /// distribution, so imgopt gives no estimate.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN apk add --no-cache curl wget
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN apk add --no-cache curl
    /// ```
    ///
    /// ## References
    /// - hadolint DL4001; Trivy DS-0014
    pub CurlAndWgetInstalled, DF208, "curl-and-wget-installed", Severity::Info
}

impl Rule for CurlAndWgetInstalled {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        if ctx.development_environment() {
            return;
        }
        let mut seen: Vec<(&str, usize, crate::dockerfile::Span)> = Vec::new();
        for (_, i, cmds) in pkg::shipping_runs(ctx) {
            let removed = pkg::removes_packages(cmds);
            for inst in pkg::installs(cmds) {
                if pkg::apk_virtual(inst.cmd).is_some() {
                    continue;
                }
                for w in &inst.packages {
                    let name = pkg::package_name(&w.text);
                    let tool = match name {
                        "curl" => "curl",
                        "wget" => "wget",
                        _ => continue,
                    };
                    if removed.iter().any(|r| r == tool || r == "*") || seen.iter().any(|(t, _, _)| *t == tool) {
                        continue;
                    }
                    seen.push((tool, i, w.span));
                }
            }
        }
        if seen.len() == 2 {
            let (first, _, fspan) = seen[0];
            let (second, i, span) = seen[1];
            out.push(
                Finding::new(
                    &Self::META,
                    ctx,
                    i,
                    span,
                    format!("both `{first}` and `{second}` are installed in the final image"),
                    format!("keep one download tool: drop `{second}` and use `{first}`"),
                )
                .related(fspan, format!("`{first}` installed here")),
            );
        }
    }
}
