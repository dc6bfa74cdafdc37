//! The deployment artefacts of docs/scale-out.md, checked with the tools that run here (no
//! Kubernetes cluster does): the manifests of `dist/kubernetes/` against the Kubernetes 1.32
//! schemas (`kubernetes-validate --strict`, which also rejects unknown fields), their
//! ConfigMaps equal to the configurations `tests/edges.rs` runs, and `dist/scale-out/haproxy.cfg`
//! accepted by `haproxy -c`; an edge without the address of its ICE candidates refuses to
//! start.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::tool;

fn dist(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../dist")
        .join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(dist(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn validate(validator: &Path, file: &Path) -> Output {
    Command::new(validator)
        .args(["--strict", "--kubernetes-version", "1.32"])
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .expect("run kubernetes-validate")
}

#[test]
fn kubernetes_manifests_match_the_schemas() {
    let Some(validator) = tool("kubernetes-validate") else {
        return;
    };
    for (file, kinds) in [
        (
            "kubernetes/origin.yaml",
            &[
                "configmap/ferromtx-origin",
                "deployment/ferromtx-origin",
                "service/ferromtx-origin",
                "service/ferromtx-ingest",
            ][..],
        ),
        (
            "kubernetes/edge.yaml",
            &[
                "configmap/ferromtx-edge",
                "deployment/ferromtx-edge",
                "service/ferromtx-edge",
                "horizontalpodautoscaler/ferromtx-edge",
            ][..],
        ),
    ] {
        let out = validate(&validator, &dist(file));
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{file}: {text}");
        for kind in kinds {
            assert!(
                text.contains(&format!("passed for resource {kind}")),
                "{file}: {kind} not validated: {text}"
            );
        }
    }
}

#[test]
fn a_misspelt_field_fails_the_validation() {
    let Some(validator) = tool("kubernetes-validate") else {
        return;
    };
    let broken = read("kubernetes/edge.yaml").replace("  replicas: 2\n", "  replica: 2\n");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("edge.yaml");
    std::fs::write(&file, broken).expect("write");
    let out = validate(&validator, &file);
    assert!(
        !out.status.success(),
        "accepted: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The text of the `mediamtx.yml: |` block of a ConfigMap, unindented.
fn config_map_file(manifest: &str) -> String {
    let mut lines = manifest.lines().skip_while(|l| *l != "  mediamtx.yml: |");
    assert!(lines.next().is_some(), "no mediamtx.yml in the ConfigMap");
    let mut out = String::new();
    for line in lines.take_while(|l| *l != "---") {
        let line = if line.is_empty() {
            line
        } else {
            line.strip_prefix("    ").expect("indented by 4")
        };
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[test]
fn config_maps_carry_the_tested_configurations() {
    assert_eq!(
        config_map_file(&read("kubernetes/origin.yaml")),
        read("scale-out/origin.yml")
    );
    assert_eq!(
        config_map_file(&read("kubernetes/edge.yaml")),
        read("scale-out/edge.yml")
    );
}

#[test]
fn haproxy_accepts_its_configuration() {
    let Some(haproxy) = tool("haproxy") else {
        return;
    };
    let mut cmd = Command::new(haproxy);
    cmd.args(["-c", "-f"]).arg(dist("scale-out/haproxy.cfg"));
    for (i, var) in [
        "FERROMTX_WHEP_BIND",
        "FERROMTX_RTSP_BIND",
        "FERROMTX_EDGE1_WHEP",
        "FERROMTX_EDGE2_WHEP",
        "FERROMTX_EDGE1_RTSP",
        "FERROMTX_EDGE2_RTSP",
    ]
    .iter()
    .enumerate()
    {
        cmd.env(var, format!("127.0.0.1:{}", 40000 + i));
    }
    let out = cmd.stdin(Stdio::null()).output().expect("run haproxy -c");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_edge_without_its_address_refuses_to_start() {
    let conf = read("scale-out/edge.yml");
    // Listeners on picked ports, should it start after all.
    let (mut env, _) = common::rtsp_env();
    let (wenv, _) = common::webrtc_env();
    env.extend(wenv);
    for var in ["MTX_APIADDRESS", "MTX_METRICSADDRESS"] {
        env.push((var.into(), format!("127.0.0.1:{}", common::free_port())));
    }
    let mut s = common::start(Some(&conf), &[], &common::env_refs(&env));
    assert_eq!(s.wait_exit().code(), Some(1), "{:#?}", s.seen);
    assert!(
        s.seen.iter().any(|l| l
            == "ERR: at least one between 'webrtcIPsFromInterfaces' or 'webrtcAdditionalHosts' must be filled"),
        "{:#?}",
        s.seen
    );
}
