// What the browser tests share: Debian's chromium, headless through
// playwright-core, in a fresh profile each run (nothing from an earlier
// run is reused), a page that records its script errors and the requests
// it makes, and checks that print "ok" or "FAIL" each and end with
// "N passed, N failed".

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

let passed = 0;
let failed = 0;

export async function check(name, test) {
  try {
    await test();
    passed++;
    console.log("ok   " + name);
  } catch (error) {
    failed++;
    console.log("FAIL " + name + ": " + (error && error.message ? error.message : error));
  }
}

export function expect(condition, message) {
  if (!condition) throw new Error(message);
}

// Opens the HTML file at path in a new browser. Returns the page, the
// errors and requests it makes, and close(), which ends the browser.
export async function openReport(path) {
  const profile = mkdtempSync(join(tmpdir(), "reqprof-chromium-"));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1280, height: 760 },
    timeout: 60000,
  });
  const close = async () => {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  };
  try {
    const page = await browser.newPage();
    const errors = [];
    const requests = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    page.on("console", (message) => { if (message.type() === "error") errors.push(message.text()); });
    page.on("request", (request) => requests.push(request.url()));
    await page.goto("file://" + resolve(path));
    return { page, errors, requests, close };
  } catch (error) {
    await close();
    throw error;
  }
}

// Says how the checks went and exits: 0 when none failed.
export function finish() {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}
