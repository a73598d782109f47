//! What the build context says about the app: which manifests it has (`go.mod`, `Cargo.toml`,
//! `package.json` and its lockfile, `requirements.txt`, `pyproject.toml`, `pom.xml`,
//! `build.gradle`, `*.csproj`, C sources), and the few facts the rewrite needs from them.
//!
//! Owns: a bounded look at the context's top folder (manifests are read only when small,
//! nothing is followed through a symlink) and at Go sources for `import "C"`.
//! Does not: walk the whole context (see [`crate::context`]) or decide anything.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

/// Manifests are read only up to this size.
const MAX_MANIFEST: u64 = 256 << 10;
/// At most this many Go files are searched for `import "C"`.
const MAX_GO_FILES: usize = 200;

/// Facts from the build context.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContextFacts {
    /// File names in the context's top folder.
    pub files: BTreeSet<String>,
    /// `[package] name` of `Cargo.toml`.
    pub cargo_name: Option<String>,
    /// `[[bin]] name`s of `Cargo.toml`.
    pub cargo_bins: Vec<String>,
    /// A Go source imports `C` (cgo).
    pub go_uses_cgo: bool,
    /// Go sources were searched (so `go_uses_cgo == false` means something).
    pub go_sources_seen: bool,
    /// `package.json` `scripts.start`.
    pub npm_start: Option<String>,
    /// `package.json` `devDependencies` names.
    pub npm_dev_deps: Vec<String>,
    /// Requirement names (lower-case) from `requirements.txt` / `pyproject.toml`.
    pub python_requirements: BTreeSet<String>,
    /// A `*.csproj` uses the web SDK (`Microsoft.NET.Sdk.Web`).
    pub csproj_web: Option<bool>,
}

impl ContextFacts {
    /// Whether the top folder has `name`.
    #[must_use]
    pub fn has(&self, name: &str) -> bool {
        self.files.contains(name)
    }

    /// Whether any top-level file ends with `suffix`.
    #[must_use]
    pub fn has_suffix(&self, suffix: &str) -> bool {
        self.files.iter().any(|f| f.ends_with(suffix))
    }
}

fn read_small(path: &Path) -> Option<String> {
    let meta = fs::symlink_metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_MANIFEST {
        return None;
    }
    fs::read_to_string(path).ok()
}

/// Looks at the context folder `dir`. A folder that cannot be read gives empty facts (the
/// rewrite then says it could not see the context).
#[must_use]
pub fn probe(dir: &Path) -> ContextFacts {
    let mut f = ContextFacts::default();
    let Ok(rd) = fs::read_dir(dir) else { return f };
    for e in rd.flatten().take(10_000) {
        if let Some(n) = e.file_name().to_str() {
            f.files.insert(n.to_string());
        }
    }
    if let Some(text) = read_small(&dir.join("Cargo.toml")) {
        read_cargo(&text, &mut f);
    }
    if let Some(text) = read_small(&dir.join("package.json")) {
        read_package_json(&text, &mut f);
    }
    if let Some(text) = read_small(&dir.join("requirements.txt")) {
        for line in text.lines() {
            let name = requirement_name(line);
            if !name.is_empty() {
                f.python_requirements.insert(name);
            }
        }
    }
    if let Some(text) = read_small(&dir.join("pyproject.toml")) {
        read_pyproject(&text, &mut f);
    }
    let csprojs: Vec<String> = f.files.iter().filter(|n| n.ends_with(".csproj")).cloned().collect();
    for c in csprojs {
        if let Some(text) = read_small(&dir.join(&c)) {
            let web = text.contains("Microsoft.NET.Sdk.Web");
            f.csproj_web = Some(f.csproj_web.unwrap_or(false) || web);
        }
    }
    if f.has("go.mod") {
        f.go_sources_seen = true;
        f.go_uses_cgo = go_uses_cgo(dir);
    }
    f
}

fn read_cargo(text: &str, f: &mut ContextFacts) {
    let Ok(v) = text.parse::<toml::Table>() else { return };
    f.cargo_name = v
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_string);
    if let Some(bins) = v.get("bin").and_then(|b| b.as_array()) {
        f.cargo_bins = bins
            .iter()
            .filter_map(|b| b.get("name").and_then(|n| n.as_str()).map(str::to_string))
            .collect();
    }
}

fn read_package_json(text: &str, f: &mut ContextFacts) {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    f.npm_start = v["scripts"]["start"].as_str().map(str::to_string);
    if let Some(dev) = v["devDependencies"].as_object() {
        f.npm_dev_deps = dev.keys().cloned().collect();
    }
}

fn read_pyproject(text: &str, f: &mut ContextFacts) {
    let Ok(v) = text.parse::<toml::Table>() else { return };
    let deps = v
        .get("project")
        .and_then(|p| p.get("dependencies"))
        .and_then(|d| d.as_array());
    for d in deps.into_iter().flatten() {
        if let Some(s) = d.as_str() {
            let name = requirement_name(s);
            if !name.is_empty() {
                f.python_requirements.insert(name);
            }
        }
    }
    let poetry = v
        .get("tool")
        .and_then(|t| t.get("poetry"))
        .and_then(|p| p.get("dependencies"))
        .and_then(|d| d.as_table());
    for k in poetry.into_iter().flat_map(|t| t.keys()) {
        f.python_requirements.insert(k.to_ascii_lowercase());
    }
}

/// `psycopg2>=2.9 ; python_version...` → `psycopg2`.
fn requirement_name(line: &str) -> String {
    let line = line.split('#').next().unwrap_or("").trim();
    if line.starts_with('-') {
        return String::new();
    }
    line.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect::<String>()
        .to_ascii_lowercase()
        .replace('_', "-")
}

/// Whether a `.go` file (top folder and one level down, bounded) has `import "C"`.
fn go_uses_cgo(dir: &Path) -> bool {
    let mut seen = 0;
    let mut dirs = vec![(dir.to_path_buf(), 0)];
    while let Some((d, depth)) = dirs.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            let p = e.path();
            if ft.is_dir() && depth < 2 {
                let name = e.file_name();
                let skip = name.to_str().is_none_or(|n| n.starts_with('.') || n == "vendor");
                if !skip {
                    dirs.push((p, depth + 1));
                }
            } else if ft.is_file() && p.extension().is_some_and(|x| x == "go") {
                seen += 1;
                if seen > MAX_GO_FILES {
                    return false;
                }
                if read_small(&p).is_some_and(|t| imports_c(&t)) {
                    return true;
                }
            }
        }
    }
    false
}

fn imports_c(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim();
        l == "import \"C\"" || l == "\"C\""
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_manifests() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path();
        fs::write(
            p.join("Cargo.toml"),
            "[package]\nname = \"hello\"\n[[bin]]\nname = \"srv\"\n",
        )
        .unwrap();
        fs::write(
            p.join("package.json"),
            r#"{"scripts":{"start":"nodemon app.js"},"devDependencies":{"nodemon":"1"}}"#,
        )
        .unwrap();
        fs::write(
            p.join("requirements.txt"),
            "psycopg2==2.9 # db\n-r other.txt\nFlask_Cors\n",
        )
        .unwrap();
        fs::write(p.join("go.mod"), "module x\n").unwrap();
        fs::write(p.join("main.go"), "package main\n\nimport \"C\"\n").unwrap();
        let f = probe(p);
        assert_eq!(f.cargo_name.as_deref(), Some("hello"));
        assert_eq!(f.cargo_bins, vec!["srv".to_string()]);
        assert_eq!(f.npm_start.as_deref(), Some("nodemon app.js"));
        assert_eq!(f.npm_dev_deps, vec!["nodemon".to_string()]);
        assert!(f.python_requirements.contains("psycopg2") && f.python_requirements.contains("flask-cors"));
        assert!(f.go_uses_cgo && f.go_sources_seen);
        fs::write(p.join("main.go"), "package main\n\nimport \"fmt\"\n").unwrap();
        assert!(!probe(p).go_uses_cgo);
    }
}
