//! The player page (`/{path}/`) and hls.js, both compiled into the binary.
//!
//! hls.js comes from its npm package, pinned in `page/package.json` and `page/package-lock.json`;
//! its `dist/hls.min.js` is kept in the repository as `page/hls.min.js` (with its licence),
//! so that `cargo build` needs neither npm nor the network and the binary never points
//! players at a CDN. `tests/hls_js.rs` checks the copy against the pinned package (which
//! the test command installs). To update: change the version in `package.json`, run
//! `npm install` in `page/`, copy `node_modules/hls.js/dist/hls.min.js` over `hls.min.js`.

/// The player page.
pub(crate) const INDEX: &str = include_str!("../page/index.html");

/// hls.js, minified, as its npm package ships it.
pub(crate) const HLS_JS: &[u8] = include_bytes!("../page/hls.min.js");

/// The hls.js version served.
pub const HLS_JS_VERSION: &str = "1.7.4";
