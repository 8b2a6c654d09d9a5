// Loads each dashboard page in headless Chromium (Debian's, driven by playwright-core from
// tests/browser) five times and prints the median time to the load event, then saves one
// screenshot of it. Used by bench/dashboard.sh:
//   node bench/dashboard_browser.js BASE OUTDIR TAG "label|/path" ...
'use strict';

const fs = require('fs');
const path = require('path');
const { chromium } = require(path.join(__dirname, '..', 'tests', 'browser', 'node_modules', 'playwright-core'));

async function main() {
  const [base, out, tag, ...pages] = process.argv.slice(2);
  const executablePath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
  if (!executablePath) {
    console.log('== no chromium: no browser timing');
    return;
  }
  fs.mkdirSync(out, { recursive: true });
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  console.log(`== the same pages in headless Chromium (to the load event, median of 5; screenshots in ${out})`);
  for (const entry of pages) {
    const [label, url] = entry.split('|');
    const times = [];
    for (let i = 0; i < 5; i++) {
      const t0 = Date.now();
      await page.goto(base + url, { waitUntil: 'load' });
      times.push(Date.now() - t0);
    }
    times.sort((a, b) => a - b);
    const name = `${tag}-${label.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase()}.png`;
    await page.screenshot({ path: path.join(out, name), fullPage: false });
    console.log(`   ${label.padEnd(38)} ${String(times[2]).padStart(6)} ms  (${name})`);
  }
  await browser.close();
}

main().catch((e) => { console.error(e.message); process.exit(1); });
