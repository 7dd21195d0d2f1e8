// Drives the spend dashboard in Debian's headless Chromium (playwright-core) and prints what a
// person would see, as JSON on stdout, for tests/e2e/dashboard_test.cpp to compare with the
// ledger: console errors, the charts' bars, the agents table, the decisions table, and whether
// hostile ledger text ran as HTML. Then it clicks FREEZE_AGENT's Freeze button and reports the
// row's state once the page has refreshed from the API.
// Usage: node check_dashboard.mjs URL_WITH_TOKEN_FRAGMENT FREEZE_AGENT
import { chromium } from "playwright-core";

const [url, freezeAgent] = process.argv.slice(2);
if (!url || !freezeAgent) {
  console.error("usage: node check_dashboard.mjs URL FREEZE_AGENT");
  process.exit(2);
}

// The flags keep Chromium off the network (this machine has none) and out of the sandbox it
// cannot create as root.
const browser = await chromium.launch({
  executablePath: process.env.PURSER_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const report = { consoleErrors: [], consoleWarnings: [], pageErrors: [], failedRequests: [] };
try {
  const page = await browser.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") report.consoleErrors.push(m.text());
    if (m.type() === "warning") report.consoleWarnings.push(m.text());
  });
  page.on("pageerror", (e) => report.pageErrors.push(String(e)));
  page.on("requestfailed", (r) => report.failedRequests.push(r.url()));
  page.on("response", (r) => { if (r.status() >= 400) report.failedRequests.push(`${r.status()} ${r.url()}`); });

  await page.goto(url);
  await page.waitForSelector("body[data-loaded=true]", { timeout: 20000 });

  report.addressAfterLoad = page.url();
  // For people reading a failure (or the README's picture): what the page looked like.
  if (process.env.PURSER_DASHBOARD_SCREENSHOT) {
    await page.setViewportSize({ width: 1200, height: 1400 });
    await page.screenshot({ path: process.env.PURSER_DASHBOARD_SCREENSHOT, fullPage: true });
  }
  report.daySegments = await page.$$eval("#chart-days rect.segment", (rects) =>
    rects.map((r) => ({ agent: r.dataset.agent, day: r.dataset.day, micros: r.dataset.micros,
                        height: Number(r.getAttribute("height")) })));
  report.agentBars = await page.$$eval("#chart-agents rect.agent-bar", (rects) =>
    rects.map((r) => ({ agent: r.dataset.agent, micros: r.dataset.micros, usd: r.dataset.usd,
                        width: Number(r.getAttribute("width")) })));
  report.totals = await page.$$eval(".totals .big", (cells) => cells.map((c) => c.textContent));
  report.agents = await page.$$eval("#agents tbody tr", (rows) =>
    rows.map((tr) => ({
      name: tr.dataset.agent,
      state: tr.querySelector(".state").textContent,
      left: [...tr.querySelectorAll("[data-left-micros]")].map((s) => s.dataset.leftMicros),
      button: tr.querySelector("button").textContent,
    })));
  report.decisions = await page.$$eval("#decisions tbody tr", (rows) =>
    rows.map((tr) => [...tr.children].map((td) => td.textContent)));
  // Hostile text must stay text: no element made from it, no handler run.
  report.injectedImages = await page.$$eval("#decisions img, #agents img", (imgs) => imgs.length);
  report.pwned = await page.evaluate(() => document.body.dataset.pwned ?? null);

  const row = page.locator(`#agents tbody tr[data-agent="${freezeAgent}"]`);
  await row.locator("button").click();
  await page.waitForFunction(
    (name) => document.querySelector(`#agents tbody tr[data-agent="${name}"] .state`)?.textContent === "frozen",
    freezeAgent, { timeout: 20000 });
  report.frozenState = await row.locator(".state").textContent();
  report.buttonAfterFreeze = await row.locator("button").textContent();
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
