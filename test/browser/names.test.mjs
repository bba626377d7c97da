// Drives Debian's chromium through the HTML report of the C++ test
// server's /burn (test/e2e/test_names.py): a function whose template
// argument is long shows shortened, its whole name on hover (the row's
// title, the flame graph's tooltip); the call the compiler inlined is
// marked so in the tree and the flame graph. Ends with "N passed, N failed".
//
// Usage: node test/browser/names.test.mjs REPORT.html WHOLE SHOWN INLINED
//   WHOLE: a function's whole name, SHOWN: as the views show it, INLINED:
//   the name of an inlined call.

import { check, expect, finish, openReport } from "./browser.mjs";

const [reportPath, whole, shown, inlined] = process.argv.slice(2);
if (!inlined) {
  console.error("usage: node names.test.mjs REPORT.html WHOLE SHOWN INLINED");
  process.exit(2);
}

const { page, errors, close } = await openReport(reportPath);
try {
  await check("the page loads without script errors", async () => {
    expect(errors.length === 0, "errors: " + errors.join("; "));
  });

  await check("a long name shows shortened, whole on hover", async () => {
    const burn = page.locator("#tree .row").filter({ hasText: shown }).first();
    expect((await burn.count()) === 1, "no row reads " + shown);
    expect((await burn.getAttribute("data-function")) === whole,
      "the row is " + (await burn.getAttribute("data-function")));
    expect((await burn.locator(".name").textContent()) === shown,
      "it reads " + (await burn.locator(".name").textContent()));
    expect((await burn.getAttribute("title")) === whole, "its title is " + (await burn.getAttribute("title")));
  });

  await check("the inlined call is marked in the tree", async () => {
    const rows = page.locator("#tree .row").filter({ hasText: inlined });
    expect((await rows.count()) >= 1, "no row reads " + inlined);
    const mark = rows.first().locator(".inlined-mark");
    expect((await mark.count()) === 1 && (await mark.textContent()) === "inlined", "no mark");
    const caller = page.locator("#tree .row").filter({ hasText: shown }).first();
    expect((await caller.locator(".inlined-mark").count()) === 0, "its caller is marked too");
  });

  await check("the flame graph draws it apart and names the long one whole", async () => {
    await page.click('.tab[data-view="flame"]');
    const cells = page.locator("#flame .cell.inlined");
    expect((await cells.count()) >= 1, "no inlined cell");
    const cell = page.locator("#flame .cell").filter({ hasText: shown }).first();
    expect((await cell.count()) === 1, "no cell reads " + shown);
    await cell.hover();
    const tip = await page.textContent("#tooltip");
    expect(tip.includes(whole), "the tooltip reads " + tip);
  });
} finally {
  await close();
}
finish();
