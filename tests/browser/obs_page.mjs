// Drives the OBS page in headless Chromium (Debian's /usr/bin/chromium via playwright-core) and
// prints one JSON object describing what the page shows. Run by the Rust tests in
// tests/tests/browser_obs.rs, which start the server and the VMC sender and check the result.
//
// Usage: node obs_page.mjs URL SCREENSHOT_PATH [--break-webrtc] [--pages N] [--viewport WxH]
//   --break-webrtc  rewrite the SDP exchange so that no ICE candidate is reachable either way, as
//                   if a firewall dropped the UDP: WebRTC cannot connect and the page must fall
//                   back to WebSocket by itself.
//   --fail-first-requests  refuse the first request of each start-up step (/api/status,
//                   /api/time, the avatar, WebRTC signalling), as if the server were briefly
//                   away: the page must retry each by itself.
//   --pages N       open N pages on the URL (benchmarks: N peers); commands talk to the first.
//   --viewport WxH  page size (default 640x480).
// Reads the wanted sequence number from stdin lines ("wait SEQ", or "wait SEQ CAPTURE_US" to
// also ask for a capture time at least that late: a restarted server counts seq from 0 again),
// and answers each with the page's state once it has applied a frame at least that new.

import { createRequire } from "node:module";
import { createInterface } from "node:readline";

const require = createRequire(new URL("../../clients/web/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const [url, screenshotPath, ...flags] = process.argv.slice(2);
const args = [
  "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--enable-unsafe-swiftshader",
];

const option = (name, fallback) => {
  const i = flags.indexOf(name);
  return i >= 0 ? flags[i + 1] : fallback;
};
const [width, height] = option("--viewport", "640x480").split("x").map(Number);
const pageCount = Number(option("--pages", "1"));

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args });
const page = await browser.newPage({ viewport: { width, height } });
if (flags.includes("--break-webrtc")) {
  await page.route("**/api/webrtc/**", async (route) => {
    // The server cannot reach the browser (its candidates are removed from the offer) and the
    // browser cannot reach the server (its candidates point at the discard port).
    const offer = route.request().postData().replace(/^a=candidate:.*\r?\n/gm, "");
    const response = await route.fetch({ postData: offer });
    const sdp = (await response.text()).replace(
      /^(a=candidate:\S+ \d+ \S+ \d+ \S+ )\d+/gm,
      (_, head) => `${head}9`,
    );
    await route.fulfill({ response, body: sdp });
  });
}
if (flags.includes("--fail-first-requests")) {
  for (const pattern of ["**/api/status", "**/api/time", "**/avatars/**", "**/api/webrtc/**"]) {
    let refused = false;
    await page.route(pattern, async (route) => {
      if (refused) return route.fallback();
      refused = true;
      await route.abort("connectionrefused");
    });
  }
}
const logs = [];
page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
page.on("pageerror", (e) => logs.push(`pageerror: ${e}`));
await page.goto(url);
await page.waitForFunction(() => window.kagura?.ready === true, null, { timeout: 20000 });
for (let i = 1; i < pageCount; i++) {
  const extra = await browser.newPage({ viewport: { width, height } });
  await extra.goto(url);
  await extra.waitForFunction(() => window.kagura?.ready === true, null, { timeout: 30000 });
}

const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");
out({ event: "ready", transport: await page.evaluate(() => window.kagura.transport), avatar: await page.evaluate(() => window.kagura.avatar()) });

for await (const line of createInterface({ input: process.stdin })) {
  const [command, arg, arg2] = line.trim().split(/\s+/);
  if (command === "wait") {
    const want = { seq: Number(arg), captureUs: Number(arg2 ?? 0) };
    await page.waitForFunction(
      (w) => (window.kagura.newestSeq ?? -1) >= w.seq && (window.kagura.newestCaptureUs ?? -1) >= w.captureUs,
      want,
      { timeout: 20000, polling: 10 },
    );
    // Two animation frames: the newest frame is applied on the next one.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    out({
      event: "pose",
      seq: await page.evaluate(() => window.kagura.newestSeq),
      pose: await page.evaluate(() => window.kagura.pose()),
      world: await page.evaluate(() => window.kagura.boneWorldPositions()),
      transport: await page.evaluate(() => window.kagura.transport),
      positionScale: await page.evaluate(() => window.kagura.positionScale()),
      inView: await page.evaluate(() => window.kagura.avatarInView()),
    });
  } else if (command === "scale") {
    // Waits until the page scales hips positions by ARG (within 0.1%): it reads the performer's
    // hips height from the server when it connects and every few seconds.
    await page.waitForFunction(
      (want) => Math.abs((window.kagura.positionScale() ?? 0) - want) <= want * 1e-3,
      Number(arg),
      { timeout: 20000, polling: 20 },
    );
    out({ event: "scale", positionScale: await page.evaluate(() => window.kagura.positionScale()) });
  } else if (command === "pixels") {
    await page.screenshot({ path: screenshotPath, omitBackground: true });
    const pixels = await page.evaluate(() => {
      const source = document.querySelector("canvas");
      const c = document.createElement("canvas");
      c.width = source.width;
      c.height = source.height;
      const g = c.getContext("2d");
      g.drawImage(source, 0, 0);
      const { data, width, height } = g.getImageData(0, 0, c.width, c.height);
      const alphaAt = (x, y) => data[(y * width + x) * 4 + 3];
      let opaque = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) opaque++;
      const corners = [alphaAt(0, 0), alphaAt(width - 1, 0), alphaAt(0, height - 1), alphaAt(width - 1, height - 1)];
      return { width, height, opaque, total: width * height, corners, center: alphaAt(width >> 1, height >> 1) };
    });
    out({ event: "pixels", ...pixels });
  } else if (command === "timings") {
    out({ event: "timings", timings: await page.evaluate(() => window.kagura.timings()), clock: await page.evaluate(() => window.kagura.clock()) });
  } else if (command === "quit") {
    break;
  }
}
out({ event: "logs", logs });
await browser.close();
