//! The player (`GET /{path}/`) and publisher (`GET /{path}/publish`) pages:
//! self-contained HTML and JavaScript, no external resources.

/// Plays the path with WHEP (`./whep` relative to the page).
pub const READ: &str = r#"<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ferromtx</title>
<style>
html, body { margin: 0; padding: 0; height: 100%; background: #000; overflow: hidden; }
#video { width: 100%; height: 100%; background: #000; }
#message { position: absolute; left: 0; top: 0; right: 0; padding: 1em; color: #fff;
  font: 16px sans-serif; text-align: center; display: none; }
</style>
</head>
<body>
<video id="video" muted controls autoplay playsinline></video>
<div id="message"></div>
<script>
(() => {
  const video = document.getElementById('video');
  const message = document.getElementById('message');
  const url = new URL('whep', window.location.href) + window.location.search;
  let pc = null;
  let session = null;
  const show = (text) => { message.textContent = text; message.style.display = text ? 'block' : 'none'; };
  const retry = (err) => {
    show(String(err) + ', retrying in some seconds');
    if (pc) { pc.close(); pc = null; }
    if (session) { fetch(session, { method: 'DELETE' }).catch(() => {}); session = null; }
    setTimeout(start, 2000);
  };
  const start = async () => {
    try {
      pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
      // Audio and video may come in different streams: play them together.
      const stream = new MediaStream();
      pc.ontrack = (ev) => { stream.addTrack(ev.track); video.srcObject = stream; show(''); };
      pc.onconnectionstatechange = () => {
        if (pc && (pc.connectionState === 'failed' || pc.connectionState === 'closed')) { retry('peer connection closed'); }
      };
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer.sdp });
      if (res.status !== 201) {
        let text = 'bad status code ' + res.status;
        try { text = (await res.json()).error; } catch (e) {}
        throw text;
      }
      session = new URL(res.headers.get('Location'), window.location.href).toString();
      await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    } catch (err) { retry(err); }
  };
  start();
})();
</script>
</body>
</html>
"#;

/// Publishes the camera and microphone with WHIP (`./whip` relative to `/{path}/`).
pub const PUBLISH: &str = r#"<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ferromtx publisher</title>
<style>
html, body { margin: 0; padding: 0; background: #000; color: #fff; font: 16px sans-serif; }
#video { width: 100%; max-height: 80vh; background: #000; }
#controls { padding: 1em; }
</style>
</head>
<body>
<video id="video" muted autoplay playsinline></video>
<div id="controls"><button id="publish">publish</button> <span id="state">idle</span></div>
<script>
(() => {
  const video = document.getElementById('video');
  const state = document.getElementById('state');
  const button = document.getElementById('publish');
  const base = window.location.href.replace(/\/publish(\?.*)?$/, '/');
  const url = new URL('whip', base) + window.location.search;
  let pc = null;
  let session = null;
  const stop = () => {
    if (pc) { pc.close(); pc = null; }
    if (session) { fetch(session, { method: 'DELETE' }).catch(() => {}); session = null; }
    button.textContent = 'publish';
  };
  const start = async () => {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
      video.srcObject = stream;
      pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      stream.getTracks().forEach((t) => pc.addTransceiver(t, { direction: 'sendonly', streams: [stream] }));
      pc.onconnectionstatechange = () => { if (pc) { state.textContent = pc.connectionState; } };
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer.sdp });
      if (res.status !== 201) {
        let text = 'bad status code ' + res.status;
        try { text = (await res.json()).error; } catch (e) {}
        throw text;
      }
      session = new URL(res.headers.get('Location'), base).toString();
      await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
      button.textContent = 'stop';
    } catch (err) { state.textContent = String(err); stop(); }
  };
  button.onclick = () => { if (pc) { stop(); } else { start(); } };
})();
</script>
</body>
</html>
"#;
