// The browser the browser tests drive: Debian's chromium (or CHROMIUM_PATH), headless,
// through playwright-core, with nothing of its own talking to the network.
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

// Resolves to a playwright Browser; the caller closes it.
export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync', '--disable-quic'],
  });
}
