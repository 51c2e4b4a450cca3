//! The files in deploy/ are checked here, at least syntactically: the systemd
//! unit with `systemd-analyze verify` (where installed) and for its hardening
//! keys, the Kubernetes manifests parsed as YAML and cross-checked (probes on
//! the real endpoints and port, the ConfigMap a valid Thresher config), and
//! the Containerfile's instructions parsed. No image is built here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_norway::Value;
use thresher::config::Config;

fn deploy_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(name)
}

fn read(name: &str) -> String {
    let path = deploy_path(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The port of a `HOST:PORT` listen address.
fn port_of(listen: &str) -> u16 {
    listen
        .parse::<std::net::SocketAddr>()
        .unwrap_or_else(|e| panic!("{listen:?} is not a listen address: {e}"))
        .port()
}

/// `[Section] Key=Value` lines of a systemd unit, in order (keys may repeat).
fn unit_entries(text: &str) -> Vec<(String, String, String)> {
    let mut section = String::new();
    let mut entries = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not a Key=Value line: {line:?}"));
        assert!(!section.is_empty(), "{line:?} outside a section");
        entries.push((section.clone(), key.to_string(), value.to_string()));
    }
    entries
}

#[test]
fn systemd_unit_is_hardened_reloads_with_sighup_and_verifies() {
    let text = read("thresher.service");
    let entries = unit_entries(&text);
    let get = |section: &str, key: &str| -> Vec<&str> {
        entries
            .iter()
            .filter(|(s, k, _)| s == section && k == key)
            .map(|(_, _, v)| v.as_str())
            .collect()
    };
    let one = |section: &str, key: &str| -> &str {
        match get(section, key).as_slice() {
            [value] => value,
            other => panic!("[{section}] {key}: expected one value, found {other:?}"),
        }
    };
    let dynamic = get("Service", "DynamicUser") == ["yes"];
    let user = get("Service", "User").first().is_some_and(|u| *u != "root");
    assert!(dynamic || user, "a dedicated or dynamic user");
    assert_eq!(one("Service", "StateDirectory"), "thresher");
    assert_eq!(one("Service", "ProtectSystem"), "strict");
    assert_eq!(one("Service", "NoNewPrivileges"), "yes");
    assert!(
        matches!(one("Service", "Restart"), "on-failure" | "always"),
        "a restart policy"
    );
    let start = one("Service", "ExecStart");
    assert!(
        start.starts_with('/') && start.split_whitespace().nth(1) == Some("run"),
        "{start}"
    );
    assert!(
        one("Service", "ExecReload").ends_with("-HUP $MAINPID"),
        "reload sends SIGHUP"
    );
    assert!(!get("Install", "WantedBy").is_empty());
    // Everything comes from the config file ExecStart names: an override in
    // the unit's environment is one an admin shell running `thresher status
    // --config …` would not have, and it would read another store.
    for key in ["Environment", "EnvironmentFile", "PassEnvironment"] {
        let overrides: Vec<&str> = get("Service", key)
            .into_iter()
            .filter(|v| key == "EnvironmentFile" || v.contains("THRESHER"))
            .collect();
        assert!(
            overrides.is_empty(),
            "{key}: settings belong in the config file: {overrides:?}"
        );
    }
    assert_eq!(
        config_of(start),
        Some(SYSTEMD_CONFIG),
        "ExecStart reads the config README installs: {start}"
    );

    // systemd's own check, with ExecStart pointing at the binary just built
    // (verify insists that it exists). Any warning (an unknown key, say) fails.
    let analyze = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output();
    if analyze.is_err() {
        eprintln!("systemd-analyze not installed: skipping `systemd-analyze verify`");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let unit = dir.path().join("thresher.service");
    let binary = start.split_whitespace().next().expect("binary");
    std::fs::write(&unit, text.replace(binary, env!("CARGO_BIN_EXE_thresher")))
        .expect("write unit");
    let output = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .expect("run systemd-analyze verify");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify: {}\n{stderr}",
        output.status
    );
}

/// Where README installs deploy/thresher.toml, the file the unit runs with.
const SYSTEMD_CONFIG: &str = "/etc/thresher/thresher.toml";

/// The value of `--config` in a command line.
fn config_of(command: &str) -> Option<&str> {
    let mut words = command.split_whitespace();
    words.find(|w| *w == "--config")?;
    words.next()
}

#[test]
fn the_systemd_config_gives_an_admin_shell_the_services_store_and_endpoint() {
    let unit = unit_entries(&read("thresher.service"));
    let state_directory = unit
        .iter()
        .find(|(s, k, _)| s == "Service" && k == "StateDirectory")
        .map(|(_, _, v)| format!("/var/lib/{v}/"))
        .expect("StateDirectory");
    // What `thresher check-config --config /etc/thresher/thresher.toml` says in
    // a shell without the service's environment (the real binary, the
    // shipped file): the store and the endpoint the service uses.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_thresher"))
        .arg("check-config")
        .arg("--config")
        .arg(deploy_path("thresher.toml"))
        .env_clear()
        .output()
        .expect("run thresher check-config");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let value = |label: &str| -> String {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(label))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("no {label:?} line in:\n{stdout}"))
    };
    for label in ["state dir:", "output dir:"] {
        let dir = value(label);
        assert!(
            dir.starts_with(&state_directory),
            "{label} {dir} is in the unit's StateDirectory {state_directory}"
        );
    }
    let telemetry = value("telemetry:");
    let listen = telemetry
        .strip_prefix("http://")
        .and_then(|t| t.split_once('/'))
        .map(|(listen, _)| listen)
        .unwrap_or_else(|| panic!("the endpoint is on: {telemetry}"));
    assert!(
        listen
            .parse::<std::net::SocketAddr>()
            .is_ok_and(|a| a.ip().is_loopback()),
        "served on loopback only (no authentication): {listen}"
    );

    // The same feeds as the default config, so the two do not drift apart.
    let load = |path: PathBuf| {
        Config::load(&thresher::config::ConfigOrigin::File(path.clone()))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let systemd = load(deploy_path("thresher.toml"));
    let default = load(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/thresher.toml"));
    assert_eq!(
        systemd.sources, default.sources,
        "deploy/thresher.toml lists the sources of config/thresher.toml"
    );
}

/// Every document of every manifest in deploy/kubernetes.
fn manifests() -> Vec<Value> {
    let dir = deploy_path("kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("deploy/kubernetes")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    let mut docs = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("read manifest");
        for doc in serde_norway::Deserializer::from_str(&text) {
            let value = Value::deserialize(doc)
                .unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display()));
            assert!(
                value["apiVersion"].is_string() && value["kind"].is_string(),
                "{}: apiVersion and kind",
                path.display()
            );
            docs.push(value);
        }
    }
    docs
}

fn str_of<'a>(value: &'a Value, what: &str) -> &'a str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{what}: expected a string, found {value:?}"))
}

#[test]
fn kubernetes_manifests_parse_and_probe_the_real_endpoints_on_the_real_port() {
    let docs = manifests();
    let of_kind = |kind: &str| -> &Value {
        let found: Vec<&Value> = docs.iter().filter(|d| d["kind"] == kind).collect();
        assert_eq!(found.len(), 1, "one {kind}");
        found[0]
    };
    let deployment = of_kind("Deployment");
    let config_map = of_kind("ConfigMap");
    let claim = of_kind("PersistentVolumeClaim");
    of_kind("Service");

    let spec = &deployment["spec"]["template"]["spec"];
    assert_eq!(
        deployment["spec"]["replicas"].as_u64(),
        Some(1),
        "one writer"
    );
    assert_eq!(
        spec["securityContext"]["runAsNonRoot"].as_bool(),
        Some(true)
    );
    let container = &spec["containers"][0];
    let env: BTreeMap<&str, &str> = container["env"]
        .as_sequence()
        .expect("env")
        .iter()
        .map(|e| {
            (
                str_of(&e["name"], "env name"),
                str_of(&e["value"], "env value"),
            )
        })
        .collect();
    let port = port_of(
        env.get("THRESHER__TELEMETRY__LISTEN")
            .expect("listen in env"),
    );
    let ports = container["ports"].as_sequence().expect("ports");
    let named = ports
        .iter()
        .find(|p| p["containerPort"].as_u64() == Some(u64::from(port)))
        .unwrap_or_else(|| panic!("no containerPort {port}"));
    let port_name = str_of(&named["name"], "port name");
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        let get = &container[probe]["httpGet"];
        assert_eq!(str_of(&get["path"], probe), path, "{probe}");
        let target = &get["port"];
        assert!(
            target.as_str() == Some(port_name) || target.as_u64() == Some(u64::from(port)),
            "{probe} targets the endpoint's port: {target:?}"
        );
    }

    // The config file the container is told to read is the ConfigMap's key.
    let args: Vec<&str> = container["args"]
        .as_sequence()
        .expect("args")
        .iter()
        .map(|a| str_of(a, "arg"))
        .collect();
    let config_path = args
        .iter()
        .position(|a| *a == "--config")
        .and_then(|i| args.get(i + 1))
        .expect("--config PATH");
    let volumes = spec["volumes"].as_sequence().expect("volumes");
    let mounts = container["volumeMounts"].as_sequence().expect("mounts");
    let mount_of = |volume: &str| -> &str {
        let mount = mounts
            .iter()
            .find(|m| m["name"] == volume)
            .unwrap_or_else(|| panic!("volume {volume} mounted"));
        str_of(&mount["mountPath"], "mountPath")
    };
    let config_volume = volumes
        .iter()
        .find(|v| v["configMap"]["name"] == config_map["metadata"]["name"])
        .expect("the ConfigMap is a volume");
    let (folder, key) = config_path.rsplit_once('/').expect("absolute path");
    assert_eq!(mount_of(str_of(&config_volume["name"], "volume")), folder);
    let toml = str_of(&config_map["data"][key], "ConfigMap data");
    let config = Config::from_toml(toml).unwrap_or_else(|e| panic!("ConfigMap config: {e}"));
    assert!(!config.sources.is_empty());

    // State and output live on the claim.
    let data_volume = volumes
        .iter()
        .find(|v| v["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"])
        .expect("the PVC is a volume");
    let data_mount = mount_of(str_of(&data_volume["name"], "volume"));
    for key in ["THRESHER__STATE__DIR", "THRESHER__OUTPUT__DIR"] {
        let dir = env.get(key).unwrap_or_else(|| panic!("{key} in env"));
        assert!(dir.starts_with(data_mount), "{key}={dir} on {data_mount}");
    }
}

/// One Containerfile instruction: keyword and arguments.
struct Instruction {
    keyword: String,
    args: String,
}

/// The instructions of a Containerfile: comments dropped, continued lines joined.
fn instructions(text: &str) -> Vec<Instruction> {
    const KNOWN: &[&str] = &[
        "FROM",
        "RUN",
        "CMD",
        "LABEL",
        "EXPOSE",
        "ENV",
        "ADD",
        "COPY",
        "ENTRYPOINT",
        "VOLUME",
        "USER",
        "WORKDIR",
        "ARG",
        "ONBUILD",
        "STOPSIGNAL",
        "HEALTHCHECK",
        "SHELL",
    ];
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        let (keyword, args) = current
            .split_once(char::is_whitespace)
            .unwrap_or((&current, ""));
        assert!(
            KNOWN.contains(&keyword),
            "unknown instruction {keyword:?} in {current:?}"
        );
        out.push(Instruction {
            keyword: keyword.to_string(),
            args: args.trim().to_string(),
        });
        current.clear();
    }
    assert!(current.is_empty(), "a continued line never ends");
    out
}

/// `KEY=VALUE` pairs of an `ENV` instruction.
fn env_pairs(args: &str) -> Vec<(String, String)> {
    args.split_whitespace()
        .map(|pair| {
            let (k, v) = pair
                .split_once('=')
                .unwrap_or_else(|| panic!("ENV {pair:?}: KEY=VALUE"));
            (k.to_string(), v.trim_matches('"').to_string())
        })
        .collect()
}

fn json_array(args: &str, what: &str) -> Vec<String> {
    serde_json::from_str(args).unwrap_or_else(|e| panic!("{what} {args}: exec form (JSON): {e}"))
}

#[test]
fn containerfile_builds_in_one_stage_and_runs_as_non_root_with_volumes() {
    let all = instructions(&read("Containerfile"));
    let stages: Vec<&[Instruction]> = {
        let starts: Vec<usize> = all
            .iter()
            .enumerate()
            .filter(|(_, i)| i.keyword == "FROM")
            .map(|(n, _)| n)
            .collect();
        assert_eq!(starts.first(), Some(&0), "starts with FROM");
        starts
            .iter()
            .enumerate()
            .map(|(k, &start)| &all[start..*starts.get(k + 1).unwrap_or(&all.len())])
            .collect()
    };
    assert!(stages.len() >= 2, "multi-stage");
    let (build, runtime) = (stages[0], stages[stages.len() - 1]);
    let build_name = build[0]
        .args
        .rsplit_once(" AS ")
        .map(|(_, name)| name.trim().to_string())
        .expect("the build stage is named (FROM … AS name)");
    assert!(
        build
            .iter()
            .any(|i| i.keyword == "RUN" && i.args.contains("cargo build --release --locked")),
        "the build stage runs cargo"
    );
    // Everything the build stage copies is in the repository and not ignored.
    let ignore =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".dockerignore"))
            .expect(".dockerignore");
    for copy in build.iter().filter(|i| i.keyword == "COPY") {
        let mut parts: Vec<&str> = copy.args.split_whitespace().collect();
        parts.pop(); // destination
        for source in parts {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(source);
            assert!(path.exists(), "COPY {source}: not in the repository");
            let kept = format!("!{}", source.trim_end_matches('/'));
            assert!(
                ignore.lines().any(|l| l.trim_end_matches('/') == kept),
                "COPY {source}: excluded by .dockerignore"
            );
        }
    }

    let user = runtime
        .iter()
        .rfind(|i| i.keyword == "USER")
        .expect("USER in the runtime stage");
    let uid = user.args.split(':').next().unwrap_or("");
    assert!(!matches!(uid, "" | "0" | "root"), "non-root: {}", user.args);
    assert!(
        runtime
            .iter()
            .any(|i| i.keyword == "COPY" && i.args.starts_with(&format!("--from={build_name} "))),
        "the binary comes from the build stage"
    );
    let env: BTreeMap<String, String> = runtime
        .iter()
        .filter(|i| i.keyword == "ENV")
        .flat_map(|i| env_pairs(&i.args))
        .collect();
    let volumes: Vec<String> = runtime
        .iter()
        .filter(|i| i.keyword == "VOLUME")
        .flat_map(|i| json_array(&i.args, "VOLUME"))
        .collect();
    for key in ["THRESHER__STATE__DIR", "THRESHER__OUTPUT__DIR"] {
        let dir = env.get(key).unwrap_or_else(|| panic!("ENV {key}"));
        assert!(
            volumes.contains(dir),
            "{key}={dir} is a volume: {volumes:?}"
        );
    }
    let listen = env.get("THRESHER__TELEMETRY__LISTEN").expect("ENV listen");
    let exposed: Vec<&str> = runtime
        .iter()
        .filter(|i| i.keyword == "EXPOSE")
        .flat_map(|i| i.args.split_whitespace())
        .collect();
    assert!(
        exposed.contains(&port_of(listen).to_string().as_str()),
        "EXPOSE {exposed:?} has the endpoint's port"
    );
    let config = env.get("THRESHER_CONFIG").expect("ENV THRESHER_CONFIG");
    assert!(
        runtime
            .iter()
            .any(|i| i.keyword == "COPY" && i.args.ends_with(&format!(" {config}"))),
        "a default config at {config}"
    );
    let entrypoint = runtime
        .iter()
        .rfind(|i| i.keyword == "ENTRYPOINT")
        .expect("ENTRYPOINT");
    let entrypoint = json_array(&entrypoint.args, "ENTRYPOINT");
    assert!(
        runtime.iter().any(|i| i.keyword == "COPY"
            && i.args.starts_with("--from=")
            && i.args.ends_with(&format!(" {}", entrypoint[0]))),
        "ENTRYPOINT {} is the copied binary",
        entrypoint[0]
    );
    let cmd = runtime.iter().rfind(|i| i.keyword == "CMD").expect("CMD");
    assert_eq!(json_array(&cmd.args, "CMD"), ["run"]);
}

/// Kubernetes quantity (`512Mi`, `1.5Gi`, `800M`, `1073741824`) in bytes.
fn quantity_bytes(text: &str) -> u64 {
    let units: [(&str, f64); 6] = [
        ("Ki", 1024.0),
        ("Mi", 1024.0 * 1024.0),
        ("Gi", 1024.0 * 1024.0 * 1024.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
    ];
    let (number, scale) = units
        .iter()
        .find_map(|(suffix, scale)| text.strip_suffix(suffix).map(|n| (n, *scale)))
        .unwrap_or((text, 1.0));
    let number: f64 = number
        .parse()
        .unwrap_or_else(|e| panic!("{text:?} is not a memory quantity: {e}"));
    (number * scale) as u64
}

/// The memory the daemon's bounds allow with `config`, as the comment in
/// deploy/kubernetes/deployment.yaml adds it up (the per-item costs are
/// measured there; MB = 10^6 bytes).
fn memory_bound(config: &Config) -> u64 {
    const MB: u64 = 1_000_000;
    // A clean costs about 30 bytes per byte of page; the cleaner refuses
    // pages over 16 MiB of markup whatever the body limit.
    const CLEAN_PER_BYTE: u64 = 30;
    const MAX_MARKUP: u64 = 16 << 20;
    const REMEMBERED_STORIES: u64 = 1_000_000;
    const STORY_BYTES: u64 = 62;
    const RUNTIME: u64 = 20 * MB;
    let pipeline = &config.pipeline;
    let workers = pipeline.clean_workers as u64;
    // A source may raise its own body limit.
    let body = config
        .sources
        .iter()
        .filter_map(|s| s.fetch.as_ref().and_then(|f| f.max_body_bytes))
        .chain([config.fetch.max_body_bytes])
        .max()
        .unwrap_or(config.fetch.max_body_bytes);
    // The queues into and out of the cleaners hold at most 2 per cleaner.
    let heavy = (pipeline.queue_capacity as u64).min(2 * workers);
    let fetched = pipeline.fetch_concurrency as u64 * body;
    let queued_pages = heavy * body;
    let cleans = (workers + 1) * CLEAN_PER_BYTE * body.min(MAX_MARKUP);
    let queued_articles = heavy * 2 * body;
    let delivering = 4 * body;
    let feeds = 2 * pipeline.feed_concurrency as u64 * body;
    let cache = config.state.cache_mib as u64 * 1024 * 1024;
    let dedup = REMEMBERED_STORIES * STORY_BYTES;
    fetched + queued_pages + cleans + queued_articles + delivering + feeds + cache + dedup + RUNTIME
}

#[test]
fn the_memory_limit_covers_what_the_daemons_bounds_allow_with_the_configmaps_values() {
    let docs = manifests();
    let deployment = docs
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("a Deployment");
    let config_map = docs
        .iter()
        .find(|d| d["kind"] == "ConfigMap")
        .expect("a ConfigMap");
    let toml = str_of(&config_map["data"]["thresher.toml"], "ConfigMap data");
    let config = Config::from_toml(toml).unwrap_or_else(|e| panic!("ConfigMap config: {e}"));
    // 0 is one cleaner per CPU of whatever node the pod lands on: no limit
    // could be computed for that.
    assert!(
        config.pipeline.clean_workers > 0,
        "the ConfigMap pins pipeline.clean_workers"
    );
    let resources = &deployment["spec"]["template"]["spec"]["containers"][0]["resources"];
    let limit = quantity_bytes(str_of(&resources["limits"]["memory"], "memory limit"));
    let request = quantity_bytes(str_of(&resources["requests"]["memory"], "memory request"));
    let bound = memory_bound(&config);
    assert!(
        limit >= bound,
        "memory limit {limit} bytes is below the {bound} bytes the daemon's bounds allow"
    );
    assert!(request <= limit, "request {request} over limit {limit}");
    // The comment's total is the figure this test computes.
    let comment_total = read("kubernetes/deployment.yaml")
        .lines()
        .find_map(|l| {
            let rest = l.trim().strip_prefix("#")?.trim().strip_prefix("total")?;
            rest.trim().strip_suffix("MB")?.trim().parse::<u64>().ok()
        })
        .expect("a `total … MB` line in the Deployment's comment");
    assert_eq!(
        comment_total,
        bound.div_ceil(1_000_000),
        "the comment adds up to what the bounds give"
    );
}

/// The last word of a command line: the image of `podman run … IMAGE`.
fn last_word(command: &str) -> &str {
    command
        .split_whitespace()
        .last()
        .unwrap_or_else(|| panic!("an empty command"))
}

/// The `-t` value of a `podman build` line.
fn tag_of(command: &str) -> &str {
    let mut words = command.split_whitespace();
    words
        .find(|w| *w == "-t")
        .and_then(|_| words.next())
        .unwrap_or_else(|| panic!("no -t in {command:?}"))
}

/// The `podman build` and `podman run` command lines of `text` (shell
/// continuations joined, comments after the command dropped, a leading `#`
/// of a commented example removed).
fn podman_commands(text: &str) -> (Vec<String>, Vec<String>) {
    let (mut builds, mut runs) = (Vec::new(), Vec::new());
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim().trim_start_matches('#').trim();
        let line = line.split("  #").next().unwrap_or(line).trim_end();
        if current.is_empty() && !line.starts_with("podman ") {
            continue;
        }
        if let Some(head) = line.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
            continue;
        }
        current.push_str(line);
        let command = std::mem::take(&mut current);
        if command.starts_with("podman build ") {
            builds.push(command);
        } else if command.starts_with("podman run ") {
            runs.push(command);
        }
    }
    (builds, runs)
}

#[test]
fn readme_containerfile_and_deployment_name_the_same_image_tagged_with_the_version() {
    let expected = format!("thresher:{}", env!("CARGO_PKG_VERSION"));
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    for (what, text) in [
        ("README.md", readme.as_str()),
        ("deploy/Containerfile", &read("Containerfile")),
    ] {
        let (builds, runs) = podman_commands(text);
        assert!(
            !builds.is_empty() && !runs.is_empty(),
            "{what}: a podman build and a podman run"
        );
        for build in &builds {
            assert_eq!(tag_of(build), expected, "{what}: {build}");
        }
        for run in &runs {
            assert_eq!(last_word(run), expected, "{what}: {run}");
            // The config mounted is the user's copy, by an absolute path
            // (docker takes no relative one).
            assert!(
                run.contains("\"$PWD/thresher.toml:/etc/thresher/thresher.toml:ro\""),
                "{what}: {run}"
            );
        }
    }
    let docs = manifests();
    let deployment = docs
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("a Deployment");
    let image = str_of(
        &deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "image",
    );
    // A registry in front is what README says to put there.
    let name = image.rsplit('/').next().unwrap_or(image);
    assert_eq!(name, expected, "the Deployment's image {image}");
}
