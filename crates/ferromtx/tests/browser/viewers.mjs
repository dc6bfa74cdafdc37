// WHEP viewers in one headless Chromium page, driven line by line: each line read on stdin is
// one JSON command, each answer one JSON line on stdout. Used by tests/edges.rs, where
// viewers on several servers come and go while the test looks at the servers.
//   {"cmd":"open","group":"a","url":"http://127.0.0.1:8889/cam/whep","peers":2}
//       -> {"locations":["/cam/whep/<id>", ...]} once every peer connection is connected
//   {"cmd":"stats","group":"a"}  -> [{"state":"connected","framesDecoded":N,"packetsReceived":N}, ...]
//   {"cmd":"close","group":"a"}  -> {"deleted":[200, ...]} (status of each DELETE)
//   {"cmd":"goto","url":"http://127.0.0.1:8889/viewers.html"} -> {}: the page moves to that
//       origin (a blank page Chromium makes up, the server never sees it), so that requests to
//       it are same-origin, without the CORS preflights a load balancer would also count
//   {"cmd":"player","group":"p","url":"http://127.0.0.1:8889/cam/"} -> {}: the server's player
//       page (which retries by itself) in a page of its own
//   {"cmd":"frames","group":"p"} -> {"frames":N}: video frames the player page has shown
//   {"cmd":"quit"}
import { createInterface } from 'node:readline';
import { launch } from './chromium.mjs';

const browser = await launch();
const context = await browser.newContext({ ignoreHTTPSErrors: true });
const page = await context.newPage();
const install = () => page.evaluate(() => {
  window.groups = {};
  window.openGroup = async (group, url, peers) => {
    const connect = async () => {
      const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer.sdp });
      const body = await res.text();
      if (res.status !== 201) { throw new Error(`WHEP answered ${res.status}: ${body}`); }
      await pc.setRemoteDescription({ type: 'answer', sdp: body });
      await new Promise((resolve, reject) => {
        const check = () => {
          if (pc.connectionState === 'connected') { resolve(); }
          if (pc.connectionState === 'failed') { reject(new Error('peer connection failed')); }
        };
        pc.addEventListener('connectionstatechange', check);
        check();
        setTimeout(() => reject(new Error(`not connected after 20 s: ${pc.connectionState}`)), 20000);
      });
      return { pc, url, location: res.headers.get('Location') };
    };
    // One after the other: a load balancer sees them in order.
    const conns = [];
    for (let i = 0; i < peers; i++) { conns.push(await connect()); }
    window.groups[group] = conns;
    return { locations: conns.map((c) => c.location) };
  };
  window.groupStats = async (group) => Promise.all(window.groups[group].map(async ({ pc }) => {
    const out = { state: pc.connectionState, framesDecoded: 0, packetsReceived: 0 };
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        out.framesDecoded = s.framesDecoded || 0;
        out.packetsReceived = s.packetsReceived || 0;
      }
    });
    return out;
  }));
  window.closeGroup = async (group) => {
    const conns = window.groups[group] || [];
    delete window.groups[group];
    const deleted = [];
    // DELETE first: closing the peer connection first may end the session before it.
    for (const c of conns) {
      const res = await fetch(new URL(c.location, c.url), { method: 'DELETE' });
      deleted.push(res.status);
      c.pc.close();
    }
    return { deleted };
  };
});
await install();

const players = {};
const lines = createInterface({ input: process.stdin });
try {
  for await (const line of lines) {
    const cmd = JSON.parse(line);
    let answer;
    try {
      if (cmd.cmd === 'open') {
        answer = await page.evaluate(({ group, url, peers }) => window.openGroup(group, url, peers), cmd);
      } else if (cmd.cmd === 'stats') {
        answer = await page.evaluate((group) => window.groupStats(group), cmd.group);
      } else if (cmd.cmd === 'close') {
        answer = await page.evaluate((group) => window.closeGroup(group), cmd.group);
      } else if (cmd.cmd === 'goto') {
        await page.route(cmd.url, (route) => route.fulfill({
          status: 200, contentType: 'text/html', body: '<!DOCTYPE html><title>viewers</title>',
        }));
        await page.goto(cmd.url);
        await install();
        answer = {};
      } else if (cmd.cmd === 'player') {
        players[cmd.group] = await context.newPage();
        await players[cmd.group].goto(cmd.url);
        answer = {};
      } else if (cmd.cmd === 'frames') {
        answer = await players[cmd.group].evaluate(() => ({
          frames: document.getElementById('video').getVideoPlaybackQuality().totalVideoFrames,
        }));
      } else if (cmd.cmd === 'quit') {
        break;
      } else {
        answer = { error: `unknown command ${cmd.cmd}` };
      }
    } catch (err) {
      answer = { error: String(err) };
    }
    console.log(JSON.stringify(answer));
  }
} finally {
  await browser.close();
}
