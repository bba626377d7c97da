// Drives Debian's chromium (headless, through playwright-core) through a
// reqprof HTML report, as a person would: expand and collapse a node,
// open a fold, search a function, switch the unit, the flame graph and the
// timeline, and checks what each shows. Ends with "N passed, N failed".
//
// Usage: node test/browser/report.test.mjs REPORT.html SCREENSHOT.png
//            [--timeline] [--shared] [--waited] [--waits]
// REPORT.html must come from the test server's /mix?ms=...&pct=70 (frames
// route_mix, burn_alpha, burn_beta; libc starting the thread). With
// --timeline the report must have a timeline, without it must not. With
// --shared half its samples must be shared, under "[shared: 2 requests]"
// (test_tool.py's with_shared), without it none. With --waited every
// sample of burn_beta waited and every other one ran (with_waited). With
// --waits the report must have waited 81 ms on 127.0.0.1:5432 in 3 reads
// of 1200 bytes (test_tool.py's with_waits), without it on nothing.

import { check, expect, finish, openReport } from "./browser.mjs";

const [reportPath, screenshotPath] = process.argv.slice(2);
const expectTimeline = process.argv.includes("--timeline");
const expectShared = process.argv.includes("--shared");
const expectWaited = process.argv.includes("--waited");
const expectWaits = process.argv.includes("--waits");
if (!reportPath || !screenshotPath) {
  console.error("usage: node report.test.mjs REPORT.html SCREENSHOT.png [--timeline] [--shared] [--waited] [--waits]");
  process.exit(2);
}

const { page, errors, requests, close } = await openReport(reportPath);
try {
  const row = (fn) => page.locator(`#tree .row[data-function="${fn}"]`).first();
  const rowVisible = async (fn) => (await page.locator(`#tree .row[data-function="${fn}"]`).count()) > 0;

  await check("the page loads offline, without script errors", async () => {
    expect(errors.length === 0, "errors: " + errors.join("; "));
    const foreign = requests.filter((url) => !url.startsWith("file://"));
    expect(foreign.length === 0, "requests outside the file: " + foreign.join(", "));
  });

  await check("the header names the request", async () => {
    expect((await page.textContent("#request-method")) === "GET", "method");
    expect((await page.textContent("#request-path")).startsWith("/mix?"), "path");
    expect((await page.textContent("#request-status")) === "200", "status");
    expect((await page.title()).includes("/mix"), "title: " + (await page.title()));
  });

  await check(expectShared ? "the shared share is said, and the shared node drawn apart"
                           : "a report that shares nothing says nothing of sharing", async () => {
    const line = page.locator("#attribution");
    const sharedRows = page.locator("#tree .row.shared");
    if (!expectShared) {
      expect(await line.isHidden(), "the attribution line shows");
      expect((await sharedRows.count()) === 0, "a row is drawn as shared");
      return;
    }
    expect(await line.isVisible(), "no attribution line");
    const text = await line.textContent();
    expect(/\(50\.0%\) shared/.test(text) && text.includes("split evenly"), "line reads: " + text);
    expect(await line.evaluate((e) => e.classList.contains("marked")), "50% is not marked");
    expect((await sharedRows.count()) === 1, "shared rows: " + (await sharedRows.count()));
    expect((await sharedRows.first().getAttribute("data-function")) === "[shared: 2 requests]",
      "the shared row is " + (await sharedRows.first().getAttribute("data-function")));
    expect((await sharedRows.first().getAttribute("title")).includes("not this request's alone"),
      "no explanation on the shared row");
    expect((await row("burn_alpha").evaluate((e) => e.classList.contains("shared"))) === false,
      "the request's own burn_alpha is drawn as shared");
    await page.click('.tab[data-view="flame"]');
    const cell = page.locator('#flame .cell[data-function="[shared: 2 requests]"]');
    expect(await cell.evaluate((e) => e.classList.contains("shared")), "the flame cell is not striped");
    await page.click('.tab[data-view="tree"]');
  });

  if (expectWaited) {
    await check("what waited is hatched in the tree and the flame graph", async () => {
      expect(await row("burn_beta").evaluate((e) => e.classList.contains("waited")), "burn_beta row");
      expect((await row("burn_beta").locator(".share-bar.waited").count()) === 1, "no hatched bar");
      expect(!(await row("burn_alpha").evaluate((e) => e.classList.contains("waited"))), "burn_alpha row");
      expect((await row("burn_alpha").locator(".share-bar.waited").count()) === 0, "alpha's bar");
      await page.click('.tab[data-view="flame"]');
      const waited = (fn) => page.locator(`#flame .cell[data-function="${fn}"]`).first()
        .evaluate((e) => e.classList.contains("waited"));
      expect(await waited("burn_beta"), "burn_beta cell is not hatched");
      expect(!(await waited("burn_alpha")), "burn_alpha cell is hatched");
      await page.click('.tab[data-view="tree"]');
    });

    await check("the CPU switch counts only what ran, in every view", async () => {
      expect(await page.locator("#measure").isVisible(), "no wall/CPU switch");
      const time = async (fn) => Number(await row(fn).locator(".time").textContent());
      const alpha = await time("burn_alpha");
      const beta = await time("burn_beta");
      const route = await time("route_mix");
      expect(beta > 0, "burn_beta has no wall time");
      const betaCells = () => page.locator('#flame .cell[data-function="burn_beta"]').count();
      try {
        await page.click('.measure[data-measure="cpu"]');
        expect(await time("burn_beta") === 0, "burn_beta ran " + (await time("burn_beta")));
        expect(await time("burn_alpha") === alpha, "burn_alpha's CPU time is not its wall time");
        expect(Math.abs(await time("route_mix") - (route - beta)) < 0.15,
          "route_mix ran " + (await time("route_mix")) + " of " + route);
        await page.click('.tab[data-view="flame"]');
        expect(await betaCells() === 0, "burn_beta, which never ran, has a frame in the CPU flame graph");
        await page.click('.tab[data-view="timeline"]');
        await page.click('.measure[data-measure="wall"]');
        await page.click('.tab[data-view="flame"]');
        expect(await betaCells() === 1, "burn_beta has no frame in the wall flame graph");
      } finally {
        await page.click('.measure[data-measure="wall"]');
        await page.click('.tab[data-view="tree"]');
      }
      expect(errors.length === 0, "errors: " + errors.join("; "));
    });
  }

  await check(expectWaits ? "the header says what the request waited on"
                          : "a report that waited on nothing says nothing of waits", async () => {
    const waits = page.locator("#waits");
    if (!expectWaits) {
      expect(await waits.isHidden(), "the waits show");
      return;
    }
    expect(await waits.isVisible(), "no waits");
    const text = await waits.textContent();
    expect(text === "waited 81.0 ms on 127.0.0.1:5432 (3 reads, 1.2 kB)", "waits read: " + text);
  });

  await check("the call tree shows the server's frames and folds libc's", async () => {
    expect(await rowVisible("burn_alpha"), "no burn_alpha row");
    expect(await rowVisible("burn_beta"), "no burn_beta row");
    expect(!(await rowVisible("start_thread")), "start_thread is shown, not folded");
    const fold = await page.locator("#tree .row.fold").first().textContent();
    expect(/\[\d+ frames hidden\] libc\.so\.6/.test(fold), "fold row reads: " + fold);
  });

  await check("collapsing a node hides its children and expanding shows them", async () => {
    await row("route_mix").locator(".toggle").click();
    expect(!(await rowVisible("burn_alpha")), "burn_alpha still shown after collapsing");
    expect((await row("route_mix").getAttribute("aria-expanded")) === "false", "aria-expanded");
    await row("route_mix").locator(".toggle").click();
    expect(await rowVisible("burn_alpha"), "burn_alpha not back after expanding");
  });

  await check("clicking a fold shows the frames it hid", async () => {
    await page.locator("#tree .row.fold .name").first().click();
    expect(await rowVisible("start_thread"), "start_thread not shown in the opened fold");
  });

  await check("the time unit switches to % of the request", async () => {
    await page.click("#unit-percent");
    const time = await row("route_mix").locator(".time").textContent();
    const expected = expectShared ? "50.0%" : "100.0%";
    expect(time === expected, "route_mix shows " + time + ", not " + expected);
    await page.click("#unit-ms");
    expect(!(await row("route_mix").locator(".time").textContent()).includes("%"), "still %");
  });

  await check("searching marks the function and sums its time", async () => {
    await page.fill("#search", "burn_beta");
    const result = await page.textContent("#search-result");
    expect(/^1 match, [\d.]+ ms \([\d.]+%\)$/.test(result), "result: " + result);
    expect(await row("burn_beta").evaluate((e) => e.classList.contains("match")), "row not marked");
    expect(!(await row("burn_alpha").evaluate((e) => e.classList.contains("match"))), "alpha marked");
    expect((await row("burn_beta").locator("mark").textContent()) === "burn_beta", "no <mark>");
  });

  await check("the flame graph shows the search too, and zooms", async () => {
    await page.click('.tab[data-view="flame"]');
    const beta = page.locator('#flame .cell[data-function="burn_beta"]');
    const alpha = page.locator('#flame .cell[data-function="burn_alpha"]');
    expect(await beta.evaluate((e) => e.classList.contains("match")), "burn_beta cell not marked");
    expect(await alpha.evaluate((e) => e.classList.contains("dimmed")), "burn_alpha cell not dimmed");
    const alphaWidth = await alpha.evaluate((e) => e.offsetWidth);
    const betaWidth = await beta.evaluate((e) => e.offsetWidth);
    expect(alphaWidth > betaWidth, `alpha ${alphaWidth}px is not wider than beta ${betaWidth}px`);
    await page.fill("#search", "");
    await beta.click();
    const zoomed = await page.locator('#flame .cell[data-function="burn_beta"]').evaluate((e) => e.offsetWidth);
    const full = await page.locator("#flame").evaluate((e) => e.clientWidth);
    expect(Math.abs(zoomed - full) <= 2, `zoomed burn_beta is ${zoomed}px of ${full}px`);
    expect((await page.textContent("#flame-crumbs")).includes("burn_beta"), "no zoom crumb");
  });

  await check("the fold switch shows every frame", async () => {
    await page.click('.tab[data-view="tree"]');
    await page.uncheck("#fold");
    expect(await rowVisible("start_thread"), "start_thread hidden with folding off");
    expect((await page.locator("#tree .row.fold").count()) === 0, "a fold is left");
    await page.check("#fold");
  });

  await check(expectTimeline ? "the timeline draws the samples in order"
                             : "without a timeline the page says so", async () => {
    await page.click('.tab[data-view="timeline"]');
    const note = await page.textContent("#timeline-note");
    if (!expectTimeline) {
      expect(note.includes("no timeline"), "note: " + note);
      return;
    }
    expect(/^\d+ points over/.test(note), "note: " + note);
    // burn_alpha runs first and burn_beta after it: the lane that holds
    // them is coloured on its left and on its right half.
    const painted = await page.evaluate(() => {
      const canvas = document.getElementById("timeline");
      const context = canvas.getContext("2d");
      const lanes = canvas.height / (18 * (window.devicePixelRatio || 1));
      let best = 0;
      for (let lane = 0; lane < lanes; lane++) {
        const y = Math.floor((lane + 0.5) * canvas.height / lanes);
        const data = context.getImageData(0, y, canvas.width, 1).data;
        let count = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) count++;
        best = Math.max(best, count / canvas.width);
      }
      return best;
    });
    expect(painted > 0.9, "the fullest lane is only " + (100 * painted).toFixed(0) + "% painted");
  });

  await page.click('.tab[data-view="tree"]');
  await page.fill("#search", "burn_alpha");
  await page.screenshot({ path: screenshotPath, fullPage: true });
} finally {
  await close();
}
finish();
