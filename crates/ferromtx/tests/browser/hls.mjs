// Opens the HLS server's player page (GET /{path}/: hls.js in low-latency mode) and watches
// the <video> element for the given time once it plays: currentTime once a second, the
// `waiting` (stall) events, and the latency from the server's wall clock of each frame
// (EXT-X-PROGRAM-DATE-TIME, through hls.playingDate) to the moment it is shown.
// Usage: node hls.mjs '{"url":"http://127.0.0.1:8888/cam/","seconds":20}'
import { launch } from './chromium.mjs';

const opts = JSON.parse(process.argv[2]);
const browser = await launch(['--autoplay-policy=no-user-gesture-required']);
try {
  const page = await browser.newPage();
  const logs = [];
  page.on('console', (m) => logs.push(m.text()));
  await page.goto(opts.url);
  await page.evaluate(() => {
    const v = document.getElementById('video');
    window.stalls = 0;
    window.started = null;
    v.addEventListener('playing', () => { if (window.started === null) window.started = Date.now(); });
    v.addEventListener('waiting', () => { if (window.started !== null) window.stalls += 1; });
  });
  // Playback must start within 15 s.
  await page.waitForFunction(() => window.started !== null
    && document.getElementById('video').currentTime > 0, null, { timeout: 15000 });
  const sample = () => page.evaluate(() => {
    const v = document.getElementById('video');
    const date = window.hls && window.hls.playingDate;
    return {
      currentTime: v.currentTime,
      latencyMs: date ? Date.now() - date.getTime() : null,
      hlsLatency: window.hls ? window.hls.latency : null,
      width: v.videoWidth,
      height: v.videoHeight,
      stalls: window.stalls,
      decoded: v.getVideoPlaybackQuality().totalVideoFrames,
      lowLatencyMode: window.hls ? window.hls.config.lowLatencyMode : null,
    };
  });
  const samples = [];
  for (let i = 0; i <= opts.seconds; i++) {
    samples.push(await sample());
    await new Promise((r) => setTimeout(r, 1000));
  }
  console.log(JSON.stringify({ samples, logs: logs.slice(-20) }));
} finally {
  await browser.close();
}
