// Publishes Chromium's fake camera and microphone to a WHIP endpoint (H264 preferred, Opus)
// and keeps publishing for the given time. Prints one JSON line when the peer connection is
// up and one with the outbound-rtp statistics at the end.
// Usage: node whip.mjs '{"origin":"http://127.0.0.1:8889","path":"cam","seconds":10}'
import { launch } from './chromium.mjs';

const opts = JSON.parse(process.argv[2]);
const browser = await launch();
try {
  const page = await browser.newPage();
  // getUserMedia needs a secure context: a page of the server's own origin (loopback).
  await page.goto(`${opts.origin}/${opts.path}/publish`);
  await page.evaluate(async ({ origin, path }) => {
    const stream = await navigator.mediaDevices.getUserMedia({
      video: { width: 640, height: 360, frameRate: 25 }, audio: true,
    });
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    for (const track of stream.getTracks()) {
      const t = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      if (track.kind === 'video') {
        const codecs = RTCRtpSender.getCapabilities('video').codecs;
        const h264 = codecs.filter((c) => c.mimeType === 'video/H264' && /packetization-mode=1/.test(c.sdpFmtpLine || ''));
        t.setCodecPreferences([...h264, ...codecs.filter((c) => !h264.includes(c))]);
      }
    }
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const res = await fetch(`${origin}/${path}/whip`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer.sdp });
    const body = await res.text();
    if (res.status !== 201) { throw new Error(`WHIP answered ${res.status}: ${body}`); }
    await pc.setRemoteDescription({ type: 'answer', sdp: body });
    await new Promise((resolve, reject) => {
      const check = () => {
        if (pc.connectionState === 'connected') { resolve(); }
        if (pc.connectionState === 'failed') { reject(new Error('peer connection failed')); }
      };
      pc.onconnectionstatechange = check;
      check();
      setTimeout(() => reject(new Error(`not connected after 10 s: ${pc.connectionState}`)), 10000);
    });
    window.publisher = { pc, location: new URL(res.headers.get('Location'), origin).toString() };
  }, opts);
  console.log(JSON.stringify({ connected: true }));
  await new Promise((r) => setTimeout(r, opts.seconds * 1000));
  const result = await page.evaluate(async () => {
    const { pc, location } = window.publisher;
    const out = {};
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp') {
        out[s.kind] = { packetsSent: s.packetsSent, framesEncoded: s.framesEncoded, encoderImplementation: s.encoderImplementation };
      }
      if (s.type === 'codec') { out.codecs = [...(out.codecs || []), s.mimeType]; }
    });
    pc.close();
    await fetch(location, { method: 'DELETE' });
    return out;
  });
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
