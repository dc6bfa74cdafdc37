// Plays a WHEP endpoint in headless Chromium with N peer connections in one page and prints
// one JSON line with each connection's inbound-rtp statistics after the given time.
// Usage: node whep.mjs '{"url":"http://127.0.0.1:8889/cam/whep","peers":1,"seconds":5}'
// With "play": true each connection's audio is played by an <audio> element (Chromium decodes
// received audio only when something plays it: totalSamplesReceived, totalAudioEnergy).
import { launch } from './chromium.mjs';

const opts = JSON.parse(process.argv[2]);
const browser = await launch(opts.play ? ['--autoplay-policy=no-user-gesture-required'] : []);
try {
  // Self-signed certificates of tests (webrtcEncryption) are accepted.
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const result = await page.evaluate(async ({ url, peers, seconds, play }) => {
    const players = [];
    const connect = async () => {
      const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      if (play) {
        pc.addEventListener('track', (e) => {
          if (e.track.kind !== 'audio') { return; }
          const audio = new Audio();
          audio.srcObject = new MediaStream([e.track]);
          audio.play().catch(() => {});
          players.push(audio);
        });
      }
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer.sdp });
      const body = await res.text();
      if (res.status !== 201) { throw new Error(`WHEP answered ${res.status}: ${body}`); }
      await pc.setRemoteDescription({ type: 'answer', sdp: body });
      // The measured time starts once connected (ICE and DTLS may take a while on a busy
      // machine), within a bound.
      await new Promise((resolve, reject) => {
        const check = () => {
          if (pc.connectionState === 'connected') { resolve(); }
          if (pc.connectionState === 'failed') { reject(new Error('peer connection failed')); }
        };
        pc.addEventListener('connectionstatechange', check);
        check();
        setTimeout(() => reject(new Error(`not connected after 20 s: ${pc.connectionState}`)), 20000);
      });
      return { pc, location: res.headers.get('Location') };
    };
    const stats = async (pc) => {
      const out = { state: pc.connectionState, video: null, audio: null };
      const report = await pc.getStats();
      report.forEach((s) => {
        if (s.type !== 'inbound-rtp') { return; }
        out[s.kind] = {
          mimeType: s.codecId && report.get(s.codecId) ? report.get(s.codecId).mimeType : null,
          totalAudioEnergy: s.totalAudioEnergy, totalSamplesReceived: s.totalSamplesReceived,
          concealedSamples: s.concealedSamples,
          packetsReceived: s.packetsReceived, packetsLost: s.packetsLost, nackCount: s.nackCount,
          framesDecoded: s.framesDecoded, frameWidth: s.frameWidth, frameHeight: s.frameHeight,
          freezeCount: s.freezeCount, totalFreezesDuration: s.totalFreezesDuration,
          retransmittedPacketsReceived: s.retransmittedPacketsReceived,
          bytesReceived: s.bytesReceived, codecId: s.codecId,
        };
      });
      return out;
    };
    const conns = await Promise.all(Array.from({ length: peers }, connect));
    const first = await Promise.all(conns.map((c) => new Promise((r) => setTimeout(r, seconds * 500)).then(() => stats(c.pc))));
    await new Promise((r) => setTimeout(r, seconds * 500));
    const last = await Promise.all(conns.map((c) => stats(c.pc)));
    await Promise.all(conns.map(async (c) => {
      c.pc.close();
      await fetch(new URL(c.location, url), { method: 'DELETE' });
    }));
    return conns.map((_, i) => ({ half: first[i], end: last[i] }));
  }, opts);
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
