// Headless Debian Chromium for WebRTC tests on a loopback-only machine.
import { chromium } from 'playwright-core';

export const launch = (extraArgs = []) => chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    ...extraArgs,
  ],
});
