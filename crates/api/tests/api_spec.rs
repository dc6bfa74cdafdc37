//! Every operation of `openapi.yaml` is called on a live server and its response is
//! validated against the spec (declared status, body schema).

mod common;

use std::collections::BTreeSet;

use common::openapi::Spec;
use common::*;
use serde_json::{Value, json};

struct Checker {
    spec: Spec,
    client: reqwest::Client,
    base: String,
    hit: BTreeSet<String>,
}

impl Checker {
    /// Calls `method url`, checks `expected` status, that the status is declared for
    /// operation `template`, and that the body matches its schema.
    async fn call(
        &mut self,
        method: &str,
        template: &str,
        url: &str,
        body: Option<Value>,
        expected: u16,
    ) -> Value {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(m, format!("{}{}", self.base, url));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        assert_eq!(status, expected, "{method} {url}: body {text}");
        let value: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {url}: not JSON ({e}): {text}"));
        let schema = self.spec.response_schema(method, template, status);
        let errors = self.spec.validate(schema, &value);
        assert!(
            errors.is_empty(),
            "{method} {url} ({status}) does not match the spec:\n{}\nbody: {value}",
            errors.join("\n")
        );
        self.hit.insert(format!("{method} {template}"));
        value
    }
}

#[tokio::test]
async fn every_operation_matches_the_spec() {
    let Some(spec) = Spec::load() else { return };
    // RTSPS and RTMPS on beside RTSP and RTMP: every protocol's routes exist.
    let mut conf = test_conf();
    conf.rtsp_encryption = ferromtx_conf::Encryption::Optional;
    conf.rtmp_encryption = ferromtx_conf::Encryption::Optional;
    let backend = TestBackend::new(conf);
    let srv = start_api(backend.clone()).await;
    let mut c = Checker {
        spec,
        client: client(),
        base: srv.url(""),
        hit: BTreeSet::new(),
    };

    c.call("GET", "/v3/info", "/v3/info", None, 200).await;
    c.call(
        "POST",
        "/v3/auth/jwks/refresh",
        "/v3/auth/jwks/refresh",
        None,
        200,
    )
    .await;

    // configuration
    c.call(
        "GET",
        "/v3/config/global/get",
        "/v3/config/global/get",
        None,
        200,
    )
    .await;
    c.call(
        "PATCH",
        "/v3/config/global/patch",
        "/v3/config/global/patch",
        Some(json!({"logLevel": "debug"})),
        200,
    )
    .await;
    c.call(
        "PATCH",
        "/v3/config/global/patch",
        "/v3/config/global/patch",
        Some(json!({"notAKey": 1})),
        400,
    )
    .await;
    c.call(
        "GET",
        "/v3/config/pathdefaults/get",
        "/v3/config/pathdefaults/get",
        None,
        200,
    )
    .await;
    c.call(
        "PATCH",
        "/v3/config/pathdefaults/patch",
        "/v3/config/pathdefaults/patch",
        Some(json!({"record": true})),
        200,
    )
    .await;
    c.call(
        "PATCH",
        "/v3/config/pathdefaults/patch",
        "/v3/config/pathdefaults/patch",
        Some(json!({"notAKey": 1})),
        400,
    )
    .await;
    let list = c
        .call(
            "GET",
            "/v3/config/paths/list",
            "/v3/config/paths/list",
            None,
            200,
        )
        .await;
    assert_eq!(list["itemCount"], json!(3));
    c.call(
        "GET",
        "/v3/config/paths/list",
        "/v3/config/paths/list?itemsPerPage=0",
        None,
        400,
    )
    .await;
    c.call(
        "GET",
        "/v3/config/paths/get/{name}",
        "/v3/config/paths/get/cam1",
        None,
        200,
    )
    .await;
    c.call(
        "GET",
        "/v3/config/paths/get/{name}",
        "/v3/config/paths/get/nope",
        None,
        404,
    )
    .await;
    c.call(
        "POST",
        "/v3/config/paths/add/{name}",
        "/v3/config/paths/add/new/one",
        Some(json!({})),
        200,
    )
    .await;
    c.call(
        "POST",
        "/v3/config/paths/add/{name}",
        "/v3/config/paths/add/new/one",
        Some(json!({})),
        400,
    )
    .await;
    c.call(
        "PATCH",
        "/v3/config/paths/patch/{name}",
        "/v3/config/paths/patch/new/one",
        Some(json!({"record": true})),
        200,
    )
    .await;
    c.call(
        "PATCH",
        "/v3/config/paths/patch/{name}",
        "/v3/config/paths/patch/missing",
        Some(json!({})),
        404,
    )
    .await;
    c.call(
        "POST",
        "/v3/config/paths/replace/{name}",
        "/v3/config/paths/replace/new/one",
        Some(json!({})),
        200,
    )
    .await;
    c.call(
        "DELETE",
        "/v3/config/paths/delete/{name}",
        "/v3/config/paths/delete/new/one",
        None,
        200,
    )
    .await;
    c.call(
        "DELETE",
        "/v3/config/paths/delete/{name}",
        "/v3/config/paths/delete/new/one",
        None,
        404,
    )
    .await;

    // paths and forward destinations
    let paths = c
        .call("GET", "/v3/paths/list", "/v3/paths/list", None, 200)
        .await;
    assert_eq!(paths["itemCount"], json!(2));
    c.call(
        "GET",
        "/v3/paths/get/{name}",
        "/v3/paths/get/cam1",
        None,
        200,
    )
    .await;
    let sub = c
        .call(
            "GET",
            "/v3/paths/get/{name}",
            "/v3/paths/get/cam2/sub",
            None,
            200,
        )
        .await;
    assert_eq!(sub["name"], json!("cam2/sub"));
    let nf = c
        .call(
            "GET",
            "/v3/paths/get/{name}",
            "/v3/paths/get/nope",
            None,
            404,
        )
        .await;
    assert_eq!(nf, json!({"status": "error", "error": "path not found"}));
    c.call(
        "GET",
        "/v3/paths/forward/list",
        "/v3/paths/forward/list?path=cam1",
        None,
        200,
    )
    .await;
    c.call(
        "GET",
        "/v3/paths/forward/list",
        "/v3/paths/forward/list",
        None,
        400,
    )
    .await;
    c.call(
        "GET",
        "/v3/paths/forward/list",
        "/v3/paths/forward/list?path=nope",
        None,
        404,
    )
    .await;
    let fwd = format!("/v3/paths/forward/get?path=cam1&id={ID_FORWARD}");
    c.call("GET", "/v3/paths/forward/get", &fwd, None, 200)
        .await;
    c.call(
        "GET",
        "/v3/paths/forward/get",
        "/v3/paths/forward/get?path=cam1&id=x",
        None,
        400,
    )
    .await;
    let fwd = format!("/v3/paths/forward/get?path=cam1&id={UNKNOWN_ID}");
    c.call("GET", "/v3/paths/forward/get", &fwd, None, 404)
        .await;

    // protocol objects: list, get, bad id, unknown id, kick
    let objects: [(&str, &str, bool); 11] = [
        ("hlssessions", ID_HLS, true),
        ("rtspconns", ID_RTSP_CONN, false),
        ("rtspsessions", ID_RTSP_SESSION, true),
        ("rtspsconns", ID_RTSP_CONN, false),
        ("rtspssessions", ID_RTSP_SESSION, true),
        ("rtmpconns", ID_RTMP, true),
        ("rtmpsconns", ID_RTMP, true),
        ("srtconns", ID_SRT, true),
        ("webrtcsessions", ID_WEBRTC, true),
        ("moqsessions", ID_MOQ, true),
        ("hlsmuxers", "cam1", false),
    ];
    for (base, id, kickable) in objects {
        let list_t = format!("/v3/{base}/list");
        let l = c.call("GET", &list_t, &list_t, None, 200).await;
        assert_eq!(l["itemCount"], json!(1), "{base}");
        let param = if base == "hlsmuxers" {
            "{name}"
        } else {
            "{id}"
        };
        let get_t = format!("/v3/{base}/get/{param}");
        let got = c
            .call("GET", &get_t, &format!("/v3/{base}/get/{id}"), None, 200)
            .await;
        if base != "hlsmuxers" {
            assert_eq!(got["id"], json!(id));
            c.call(
                "GET",
                &get_t,
                &format!("/v3/{base}/get/not-a-uuid"),
                None,
                400,
            )
            .await;
        }
        c.call(
            "GET",
            &get_t,
            &format!("/v3/{base}/get/{UNKNOWN_ID}"),
            None,
            404,
        )
        .await;
        if kickable {
            let kick_t = format!("/v3/{base}/kick/{{id}}");
            c.call("POST", &kick_t, &format!("/v3/{base}/kick/{id}"), None, 200)
                .await;
            c.call(
                "POST",
                &kick_t,
                &format!("/v3/{base}/kick/{UNKNOWN_ID}"),
                None,
                404,
            )
            .await;
            c.call("POST", &kick_t, &format!("/v3/{base}/kick/x"), None, 400)
                .await;
        }
    }

    // recordings
    c.call(
        "GET",
        "/v3/recordings/list",
        "/v3/recordings/list",
        None,
        200,
    )
    .await;
    c.call(
        "GET",
        "/v3/recordings/get/{name}",
        "/v3/recordings/get/cam1",
        None,
        200,
    )
    .await;
    c.call(
        "GET",
        "/v3/recordings/get/{name}",
        "/v3/recordings/get/nope",
        None,
        404,
    )
    .await;
    c.call(
        "DELETE",
        "/v3/recordings/deletesegment",
        "/v3/recordings/deletesegment?path=cam1&start=2026-11-25T10:00:00Z",
        None,
        200,
    )
    .await;
    c.call(
        "DELETE",
        "/v3/recordings/deletesegment",
        "/v3/recordings/deletesegment?path=cam1&start=yesterday",
        None,
        400,
    )
    .await;

    let missing: Vec<_> = c.spec.operations().difference(&c.hit).cloned().collect();
    assert!(missing.is_empty(), "operations not exercised: {missing:?}");
    assert_eq!(c.spec.operations(), c.hit);
    srv.stop().await;
}

#[test]
fn validator_rejects_wrong_shapes() {
    let Some(spec) = Spec::load() else { return };
    let schema = spec.response_schema("GET", "/v3/paths/get/{name}", 200);
    let mut good = serde_json::to_value(&sample_paths()[0]).unwrap();
    assert_eq!(spec.validate(schema, &good), Vec::<String>::new());
    good["inboundBytes"] = json!(-1);
    good["extra"] = json!(1);
    good["readers"][0]["type"] = json!("bogus");
    good.as_object_mut().unwrap().remove("name");
    let errors = spec.validate(schema, &good);
    assert_eq!(errors.len(), 4, "{errors:?}");
    let err_schema = spec.response_schema("GET", "/v3/paths/get/{name}", 404);
    assert!(
        spec.validate(err_schema, &json!({"status": "oops", "error": "x"}))
            .len()
            == 1
    );
}

/// As MediaMTX registers a protocol's routes only while its server runs, a list of a server
/// that is off is gin's plain 404, and one that is on answers.
#[tokio::test]
async fn routes_of_servers_that_are_off_are_not_found() {
    let mut conf = test_conf();
    conf.rtsp_encryption = ferromtx_conf::Encryption::No;
    conf.hls = false;
    let backend = TestBackend::new(conf);
    let srv = start_api(backend.clone()).await;
    let client = client();
    for (path, status) in [
        ("/v3/rtspsconns/list", 404),
        ("/v3/rtspssessions/list", 404),
        ("/v3/hlsmuxers/list", 404),
        ("/v3/rtspconns/list", 200),
        ("/v3/paths/list", 200),
    ] {
        let res = client.get(srv.url(path)).send().await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{path}");
        let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
        let want = if status == 404 {
            "text/plain"
        } else {
            "application/json; charset=utf-8"
        };
        assert_eq!(ct, want, "{path}");
    }
    // A known route with another method is the same plain 404 (gin has no 405).
    let res = client
        .post(srv.url("/v3/config/global/patch"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);
}
