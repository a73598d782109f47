//! `imgopt rewrite` from the command line: the JSON contract, the recipes per ecosystem, the
//! safety rules, `--diff`, `--write` and bad input.

use crate::support;

use std::fs;
use std::path::Path;
use std::process::Output;

use serde_json::Value;

fn run(args: &[&str]) -> Output {
    support::imgopt().args(args).output()
}

fn json(args: &[&str]) -> Value {
    let mut all = vec!["rewrite"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let out = run(&all);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// A folder with a Dockerfile and context files.
fn project(dockerfile: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("Dockerfile"), dockerfile).expect("write");
    for (name, text) in files {
        fs::write(dir.path().join(name), text).expect("write");
    }
    dir
}

fn df(dir: &Path) -> String {
    dir.join("Dockerfile").display().to_string()
}

fn kinds(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .expect("array")
        .iter()
        .map(|c| c["kind"].as_str().expect("kind").to_string())
        .collect()
}

fn example(name: &str) -> String {
    format!("{}/examples/rewrite/{name}/Dockerfile", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn go_example_becomes_static_on_distroless_with_the_contract_fields() {
    let v = json(&[&example("go-single-stage")]);
    let obj = v.as_object().expect("object");
    for key in [
        "schema_version",
        "file",
        "target",
        "unchanged",
        "dockerfile",
        "changes",
        "risks",
        "estimate",
    ] {
        assert!(obj.contains_key(key), "missing {key}");
    }
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["target"], "auto");
    assert_eq!(v["unchanged"], false);
    assert_eq!(v["ecosystem"], "go");
    assert_eq!(v["runtime_base"], "gcr.io/distroless/static-debian12");
    let text = v["dockerfile"].as_str().unwrap();
    assert!(text.contains("FROM debian:bookworm AS build\n"), "{text}");
    assert!(
        text.contains("RUN CGO_ENABLED=0 go build -o /usr/local/bin/hello ."),
        "{text}"
    );
    assert!(
        text.contains("COPY --from=build /usr/local/bin/hello /usr/local/bin/hello\n"),
        "{text}"
    );
    assert!(
        text.ends_with("USER 65532:65532\nEXPOSE 8080\nCMD [\"/usr/local/bin/hello\"]\n"),
        "{text}"
    );
    let changes = kinds(&v, "changes");
    for k in [
        "multi-stage",
        "static-build",
        "runtime-base",
        "copy-artefact",
        "non-root-user",
    ] {
        assert!(changes.contains(&k.to_string()), "{changes:?}");
    }
    assert!(kinds(&v, "risks").contains(&"cgo-disabled".to_string()));
    // Every change has a message; the multi-stage one names its lines.
    assert!(
        v["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| !c["message"].as_str().unwrap().is_empty())
    );
    assert_eq!(v["changes"][0]["start_line"], 2);
    // The estimate: the base swap (catalog) plus the apt toolchain (heuristic).
    let low = v["estimate"]["low_bytes"].as_u64().unwrap();
    let high = v["estimate"]["high_bytes"].as_u64().unwrap();
    assert!(low > 100_000_000 && high > low, "{low} {high}");
    assert_eq!(v["estimate"]["basis"], "heuristic");
}

#[test]
fn scratch_copies_ca_certificates_and_c_refuses_scratch() {
    let v = json(&[&example("go-single-stage"), "--to", "scratch"]);
    let text = v["dockerfile"].as_str().unwrap();
    assert!(text.contains("\nFROM scratch\n"), "{text}");
    assert!(
        text.contains("COPY --from=build /etc/ssl/certs/ca-certificates.crt"),
        "{text}"
    );
    let v = json(&[&example("c-make"), "--to", "scratch"]);
    assert_eq!(v["unchanged"], true);
    assert!(v["estimate"].is_null());
    assert!(
        v["notes"][0].as_str().unwrap().contains("scratch has no C library"),
        "{v}"
    );
}

#[test]
fn c_example_gets_the_runtime_library_of_its_dev_package() {
    let v = json(&[&example("c-make")]);
    let text = v["dockerfile"].as_str().unwrap();
    assert!(text.contains("FROM debian:bookworm-slim\n"), "{text}");
    assert!(
        text.contains("apt-get install -y --no-install-recommends zlib1g &&"),
        "{text}"
    );
    assert!(text.contains("COPY --from=build /app/hello /app/hello\n"), "{text}");
    // musl for a glibc binary is unsafe and says so.
    let v = json(&[&example("c-make"), "--to", "alpine"]);
    assert!(kinds(&v, "risks").contains(&"glibc-to-musl".to_string()), "{v}");
}

#[test]
fn python_example_keeps_its_minor_version() {
    let v = json(&[&example("python-pip")]);
    let text = v["dockerfile"].as_str().unwrap();
    assert!(text.contains("FROM python:3.12-slim\n"), "{text}");
    assert!(
        text.contains("COPY --from=build /usr/local/lib/python3.12/site-packages"),
        "{text}"
    );
    assert!(kinds(&v, "risks").contains(&"native-extensions".to_string()));
}

#[test]
fn libpq_dev_brings_libpq5_and_psycopg2_too() {
    let dir = project(
        "FROM python:3.11-bookworm\nRUN apt-get update && apt-get install -y libpq-dev gcc\nWORKDIR /srv\n\
         COPY . .\nRUN pip install -r requirements.txt\nCMD [\"python\", \"main.py\"]\n",
        &[("requirements.txt", "psycopg2==2.9.9\nmysqlclient\n")],
    );
    let v = json(&[&df(dir.path())]);
    let text = v["dockerfile"].as_str().unwrap();
    assert!(text.contains("FROM python:3.11-slim-bookworm\n"), "{text}");
    assert!(text.contains("--no-install-recommends libmariadb3 libpq5 &&"), "{text}");
}

#[test]
fn shell_form_start_and_curl_healthcheck_keep_what_they_need() {
    let src = "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /app/server .\n\
               HEALTHCHECK CMD curl -f http://localhost:8080/ || exit 1\nCMD /app/server --port $PORT\n";
    let dir = project(src, &[("go.mod", "module x\n")]);
    let v = json(&[&df(dir.path())]);
    let text = v["dockerfile"].as_str().unwrap();
    assert!(text.contains("FROM debian:bookworm-slim\n"), "{text}");
    assert!(
        text.contains("install -y --no-install-recommends ca-certificates curl &&"),
        "{text}"
    );
    assert!(
        !text.contains("CGO_ENABLED=0"),
        "a glibc base needs no static build: {text}"
    );
    // Forcing distroless names what breaks.
    let v = json(&[&df(dir.path()), "--to", "distroless"]);
    let risks = kinds(&v, "risks");
    assert!(
        risks.contains(&"no-shell".to_string()) && risks.contains(&"healthcheck-tool".to_string()),
        "{risks:?}"
    );
}

#[test]
fn node_rust_java_and_dotnet_recipes() {
    let dir = project(
        "FROM node:20\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\nRUN npm run build\n\
         EXPOSE 3000\nCMD [\"node\", \"dist/index.js\"]\n",
        &[(
            "package.json",
            r#"{"scripts":{"start":"node dist/index.js"},"devDependencies":{"typescript":"5"}}"#,
        )],
    );
    let v = json(&[&df(dir.path())]);
    let text = v["dockerfile"].as_str().unwrap();
    assert!(
        text.contains("RUN npm prune --omit=dev\n\nFROM node:20-slim\n"),
        "{text}"
    );
    assert!(text.contains("COPY --from=build /app /app\nUSER node\n"), "{text}");

    let dir = project(
        "FROM rust:1\nWORKDIR /usr/src/app\nCOPY . .\nRUN cargo build --release\nCMD [\"hello\"]\n",
        &[("Cargo.toml", "[package]\nname = \"hello\"\n")],
    );
    let v = json(&[&df(dir.path())]);
    let text = v["dockerfile"].as_str().unwrap();
    assert!(text.contains("FROM gcr.io/distroless/cc-debian13\n"), "{text}");
    assert!(
        text.contains("COPY --from=build /usr/src/app/target/release/hello /usr/local/bin/hello\n"),
        "{text}"
    );
    assert!(kinds(&v, "risks").contains(&"glibc-version".to_string()));

    let dir = project(
        "FROM maven:3.9-eclipse-temurin-21\nWORKDIR /build\nCOPY . .\nRUN mvn -B package\n\
         CMD [\"java\", \"-jar\", \"target/app.jar\"]\n",
        &[("pom.xml", "<project/>")],
    );
    let v = json(&[&df(dir.path())]);
    let text = v["dockerfile"].as_str().unwrap();
    assert!(text.contains("FROM eclipse-temurin:21-jre\n"), "{text}");
    assert!(
        text.contains("COPY --from=build /build/target/app.jar /build/target/app.jar\n"),
        "{text}"
    );

    let dir = project(
        "FROM mcr.microsoft.com/dotnet/sdk:8.0\nWORKDIR /src\nCOPY . .\n\
         RUN dotnet publish -c Release -o /app\nENTRYPOINT [\"dotnet\", \"/app/Api.dll\"]\n",
        &[("Api.csproj", "<Project Sdk=\"Microsoft.NET.Sdk.Web\"></Project>")],
    );
    let v = json(&[&df(dir.path())]);
    let text = v["dockerfile"].as_str().unwrap();
    assert!(text.contains("FROM mcr.microsoft.com/dotnet/aspnet:8.0\n"), "{text}");
    assert!(text.contains("COPY --from=build /app /app\n"), "{text}");
}

#[test]
fn unknown_ecosystem_is_unchanged_with_a_note_and_exit_0() {
    let dir = project("FROM nginx:1.27\nCOPY site /usr/share/nginx/html\n", &[]);
    let v = json(&[&df(dir.path())]);
    assert_eq!(v["unchanged"], true);
    assert!(v["estimate"].is_null());
    assert_eq!(v["changes"].as_array().unwrap().len(), 0);
    assert!(v["notes"][0].as_str().unwrap().contains("no build step"), "{v}");
    assert_eq!(v["dockerfile"], "FROM nginx:1.27\nCOPY site /usr/share/nginx/html\n");
}

#[test]
fn diff_writes_nothing_and_write_replaces_atomically() {
    let src = fs::read_to_string(example("go-single-stage")).unwrap();
    let dir = project(&src, &[("go.mod", "module x\n")]);
    let path = df(dir.path());
    let out = run(&["rewrite", &path, "--diff"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("+FROM gcr.io/distroless/static-debian12\n"), "{stdout}");
    assert!(
        stdout.contains("-FROM debian:bookworm\n+FROM debian:bookworm AS build\n"),
        "{stdout}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), src, "--diff wrote the file");

    let out = run(&["rewrite", &path, "--write"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let written = fs::read_to_string(&path).unwrap();
    assert!(written.contains("FROM gcr.io/distroless/static-debian12"));
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        2,
        "a temporary file was left"
    );
    // A second run has nothing to do.
    let v = json(&[&path]);
    assert_eq!(v["unchanged"], true);
}

#[test]
fn write_on_a_read_only_file_exits_2_and_keeps_it() {
    let src = fs::read_to_string(example("go-single-stage")).unwrap();
    let dir = project(&src, &[]);
    let path = df(dir.path());
    let mut perm = fs::metadata(&path).unwrap().permissions();
    perm.set_readonly(true);
    fs::set_permissions(&path, perm).unwrap();
    let out = run(&["rewrite", &path, "--write"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("read-only"));
    assert_eq!(fs::read_to_string(&path).unwrap(), src);
}

#[test]
fn a_file_buildkit_rejects_exits_2_with_the_line() {
    let dir = project("FROM alpine\nRUN echo hi\nENV ONLY_A_NAME\n", &[]);
    let out = run(&["rewrite", &df(dir.path())]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Dockerfile:3:1: ENV must have two arguments"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn sarif_is_refused_and_help_lists_only_human_and_json() {
    let out = run(&["rewrite", &example("go-single-stage"), "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["rewrite", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("json") && !help.contains("sarif"), "{help}");
}

#[test]
fn human_output_is_itself_a_dockerfile() {
    let out = run(&["rewrite", &example("go-single-stage")]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("# imgopt rewrite "), "{text}");
    assert!(text.contains("# predicted saving: "), "{text}");
    imgopt::dockerfile::parse_str(&text).expect("the human output parses");
}
