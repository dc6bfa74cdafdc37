//! Configuration changes through `/v3/config/...`, pagination and error bodies.

mod common;

use common::*;
use serde_json::{Value, json};

async fn get(c: &reqwest::Client, url: String) -> (u16, Value) {
    let r = c.get(url).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn send(c: &reqwest::Client, method: &str, url: String, body: Value) -> (u16, Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let r = c.request(m, url).json(&body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn patch_global_changes_value_and_get_shows_it() {
    let backend = TestBackend::new(test_conf());
    let srv = start_api(backend.clone()).await;
    let c = client();
    let (_, before) = get(&c, srv.url("/v3/config/global/get")).await;
    assert_eq!(before["logLevel"], json!("info"));
    let (s, body) = send(
        &c,
        "PATCH",
        srv.url("/v3/config/global/patch"),
        json!({"logLevel": "debug", "readTimeout": "20s"}),
    )
    .await;
    assert_eq!((s, body), (200, json!({"status": "ok"})));
    assert_eq!(*backend.applied.lock().unwrap(), 1);
    // the synonym answers the same
    let (s, after) = get(&c, srv.url("/v3/config/global")).await;
    assert_eq!(s, 200);
    assert_eq!(after["logLevel"], json!("debug"));
    assert_eq!(after["readTimeout"], json!("20s"));
    srv.stop().await;
}

#[tokio::test]
async fn invalid_patches_are_400_and_change_nothing() {
    let backend = TestBackend::new(test_conf());
    let srv = start_api(backend.clone()).await;
    let c = client();
    for body in [
        json!({"notAKey": 1}),
        json!({"logLevel": 5}),
        json!({"logLevel": "loud"}),
        json!([1, 2]),
    ] {
        let (s, err) = send(
            &c,
            "PATCH",
            srv.url("/v3/config/global/patch"),
            body.clone(),
        )
        .await;
        assert_eq!(s, 400, "{body}");
        assert_eq!(err["status"], json!("error"));
        assert!(!err["error"].as_str().unwrap().is_empty());
    }
    let r = c
        .patch(srv.url("/v3/config/global/patch"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let huge = format!("{{\"logLevel\": \"{}\"}}", "x".repeat(11 * 1024 * 1024));
    let r = c
        .patch(srv.url("/v3/config/global/patch"))
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], json!("size exceeds maximum allowed"));
    let (s, _) = send(
        &c,
        "PATCH",
        srv.url("/v3/config/pathdefaults/patch"),
        json!({"record": "maybe"}),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(*backend.applied.lock().unwrap(), 0);
    let (_, g) = get(&c, srv.url("/v3/config/global/get")).await;
    assert_eq!(g["logLevel"], json!("info"));
    srv.stop().await;
}

#[tokio::test]
async fn add_replace_patch_delete_path() {
    let backend = TestBackend::new(test_conf());
    let srv = start_api(backend.clone()).await;
    let c = client();

    let (s, _) = send(
        &c,
        "POST",
        srv.url("/v3/config/paths/add/site/cam9"),
        json!({"source": "rtsp://127.0.0.1:8554/x", "sourceOnDemand": true}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, p) = get(&c, srv.url("/v3/config/paths/get/site/cam9")).await;
    assert_eq!(s, 200);
    assert_eq!(p["name"], json!("site/cam9"));
    assert_eq!(p["source"], json!("rtsp://127.0.0.1:8554/x"));
    assert_eq!(p["sourceOnDemand"], json!(true));

    let (s, err) = send(
        &c,
        "POST",
        srv.url("/v3/config/paths/add/site/cam9"),
        json!({}),
    )
    .await;
    assert_eq!(
        (s, err),
        (
            400,
            json!({"status": "error", "error": "path already exists"})
        )
    );

    let (s, _) = send(
        &c,
        "PATCH",
        srv.url("/v3/config/paths/patch/site/cam9"),
        json!({"sourceOnDemand": false}),
    )
    .await;
    assert_eq!(s, 200);
    let (_, p) = get(&c, srv.url("/v3/config/paths/get/site/cam9")).await;
    assert_eq!(p["sourceOnDemand"], json!(false));
    assert_eq!(p["source"], json!("rtsp://127.0.0.1:8554/x"));

    // replace drops what the new body does not say
    let (s, _) = send(
        &c,
        "POST",
        srv.url("/v3/config/paths/replace/site/cam9"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200);
    let (_, p) = get(&c, srv.url("/v3/config/paths/get/site/cam9")).await;
    assert_eq!(p["source"], json!("publisher"));

    let (s, _) = send(
        &c,
        "DELETE",
        srv.url("/v3/config/paths/delete/site/cam9"),
        json!(null),
    )
    .await;
    assert_eq!(s, 200);
    let (s, err) = get(&c, srv.url("/v3/config/paths/get/site/cam9")).await;
    assert_eq!(
        (s, err),
        (
            404,
            json!({"status": "error", "error": "path configuration not found"})
        )
    );
    let (s, err) = send(
        &c,
        "DELETE",
        srv.url("/v3/config/paths/delete/site/cam9"),
        json!(null),
    )
    .await;
    assert_eq!(
        (s, err),
        (404, json!({"status": "error", "error": "path not found"}))
    );
    let (s, err) = send(
        &c,
        "PATCH",
        srv.url("/v3/config/paths/patch/nope"),
        json!({}),
    )
    .await;
    assert_eq!(
        (s, err),
        (404, json!({"status": "error", "error": "path not found"}))
    );
    assert_eq!(*backend.applied.lock().unwrap(), 4);
    srv.stop().await;
}

#[tokio::test]
async fn invalid_path_config_and_empty_name_are_400() {
    let srv = start_api(TestBackend::new(test_conf())).await;
    let c = client();
    let (s, _) = send(
        &c,
        "POST",
        srv.url("/v3/config/paths/add/cam3"),
        json!({"notAKey": true}),
    )
    .await;
    assert_eq!(s, 400);
    let (s, err) = get(&c, srv.url("/v3/config/paths/get/")).await;
    assert_eq!(
        (s, err),
        (400, json!({"status": "error", "error": "invalid name"}))
    );
    srv.stop().await;
}

#[tokio::test]
async fn passwords_are_redacted() {
    let mut conf = test_conf();
    conf.patch_path("cam1", &json!({"readUser": "u", "readPass": "secretpass"}))
        .unwrap();
    let srv = start_api(TestBackend::new(conf)).await;
    let c = client();
    let (_, g) = get(&c, srv.url("/v3/config/global/get")).await;
    let users = g["authInternalUsers"].as_array().unwrap();
    let admin = users.iter().find(|u| u["user"] == json!("admin")).unwrap();
    assert_eq!(admin["pass"], json!("<redacted>"));
    let any = users.iter().find(|u| u["user"] == json!("any")).unwrap();
    assert_eq!(any["pass"], json!(""));
    let (_, p) = get(&c, srv.url("/v3/config/paths/get/cam1")).await;
    assert_eq!(p["readPass"], json!("<redacted>"));
    assert_eq!(p["readUser"], json!("u"));
    srv.stop().await;
}

#[tokio::test]
async fn pagination_of_lists() {
    let srv = start_api(TestBackend::new(test_conf())).await;
    let c = client();
    let (s, l) = get(&c, srv.url("/v3/config/paths/list?itemsPerPage=2&page=1")).await;
    assert_eq!(s, 200);
    assert_eq!(l["itemCount"], json!(3));
    assert_eq!(l["pageCount"], json!(2));
    let names: Vec<&str> = l["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["cam2"]);
    let (_, l) = get(&c, srv.url("/v3/paths/list?itemsPerPage=1")).await;
    assert_eq!(
        (l["itemCount"].clone(), l["pageCount"].clone()),
        (json!(2), json!(2))
    );
    assert_eq!(l["items"][0]["name"], json!("cam1"));
    let (_, l) = get(&c, srv.url("/v3/paths/list?page=5")).await;
    assert_eq!(l["items"], json!([]));
    assert_eq!(l["pageCount"], json!(1));
    let (s, err) = get(&c, srv.url("/v3/rtspconns/list?itemsPerPage=abc")).await;
    assert_eq!(
        (s, err),
        (
            400,
            json!({"status": "error", "error": "strconv.ParseUint: parsing \"abc\": invalid syntax"})
        )
    );
    let (s, err) = get(&c, srv.url("/v3/rtspconns/list?itemsPerPage=0")).await;
    assert_eq!(
        (s, err["error"].clone()),
        (400, json!("invalid items per page"))
    );
    let (s, _) = get(&c, srv.url("/v3/rtspconns/list?page=-1")).await;
    assert_eq!(s, 400);
    srv.stop().await;
}

#[tokio::test]
async fn unknown_objects_and_bad_ids() {
    let srv = start_api(TestBackend::new(test_conf())).await;
    let c = client();
    let (s, err) = get(&c, srv.url(&format!("/v3/rtspsessions/get/{UNKNOWN_ID}"))).await;
    assert_eq!(
        (s, err),
        (
            404,
            json!({"status": "error", "error": "session not found"})
        )
    );
    let (s, err) = get(&c, srv.url(&format!("/v3/rtmpconns/get/{UNKNOWN_ID}"))).await;
    assert_eq!(
        (s, err),
        (
            404,
            json!({"status": "error", "error": "connection not found"})
        )
    );
    let (s, err) = get(&c, srv.url("/v3/hlsmuxers/get/nope")).await;
    assert_eq!(
        (s, err),
        (404, json!({"status": "error", "error": "muxer not found"}))
    );
    let (s, err) = get(&c, srv.url("/v3/webrtcsessions/get/abc")).await;
    assert_eq!(
        (s, err),
        (
            400,
            json!({"status": "error", "error": "invalid UUID length: 3"})
        )
    );
    let r = c.get(srv.url("/v3/nothing")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(r.text().await.unwrap(), "404 page not found");
    // upper-case ids are accepted and canonicalised
    let (s, got) = get(
        &c,
        srv.url(&format!("/v3/srtconns/get/{}", ID_SRT.to_uppercase())),
    )
    .await;
    assert_eq!((s, got["id"].clone()), (200, json!(ID_SRT)));
    srv.stop().await;
}
