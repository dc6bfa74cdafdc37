//! The hls.js the binary serves is the pinned npm package's `dist/hls.min.js`, byte for byte
//! (the test command installs the package with `npm ci` in `crates/hls/page`).

use std::path::Path;

#[test]
fn vendored_hls_js_is_the_pinned_npm_package() {
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("page");
    let lock = std::fs::read_to_string(page.join("package-lock.json")).expect("lock file");
    let pinned = format!(
        "\"node_modules/hls.js\": {{\n      \"version\": \"{}\"",
        ferromtx_hls::HLS_JS_VERSION
    );
    assert!(
        lock.contains(&pinned),
        "package-lock.json pins another hls.js"
    );
    let installed = page.join("node_modules/hls.js/dist/hls.min.js");
    if !installed.exists() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "{} is required in CI (scripts/test installs it)",
            installed.display()
        );
        return;
    }
    let package: serde_json::Value = serde_json::from_slice(
        &std::fs::read(page.join("node_modules/hls.js/package.json")).expect("package.json"),
    )
    .expect("JSON");
    assert_eq!(package["version"], ferromtx_hls::HLS_JS_VERSION);
    let vendored = std::fs::read(page.join("hls.min.js")).expect("vendored copy");
    let original = std::fs::read(installed).expect("installed copy");
    assert!(
        vendored == original,
        "page/hls.min.js differs from the npm package's"
    );
}
