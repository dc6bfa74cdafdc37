// Opens the server's own player page (GET /{path}/) and reports how many video frames the
// <video> element has presented, halfway through and at the end of the given time.
// Usage: node page.mjs '{"url":"http://127.0.0.1:8889/cam/","seconds":6}'
import { launch } from './chromium.mjs';

const opts = JSON.parse(process.argv[2]);
const browser = await launch();
try {
  const page = await browser.newPage();
  await page.goto(opts.url);
  const frames = () => page.evaluate(() => {
    const v = document.getElementById('video');
    return { frames: v.getVideoPlaybackQuality().totalVideoFrames, width: v.videoWidth, height: v.videoHeight };
  });
  await new Promise((r) => setTimeout(r, opts.seconds * 500));
  const half = await frames();
  await new Promise((r) => setTimeout(r, opts.seconds * 500));
  const end = await frames();
  console.log(JSON.stringify({ half, end }));
} finally {
  await browser.close();
}
