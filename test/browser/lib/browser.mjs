// browser.mjs — Debian's Chromium driven by playwright-core: headless, no
// sandbox (root in CI), no background traffic, a fresh profile every run.
// Screenshots at phone and desktop sizes, and a count of the user's actions.
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHROMIUM, playwright, SCREENSHOT_DIR } from './env.mjs';

export const PHONE = { width: 360, height: 740 };
export const DESKTOP = { width: 1280, height: 800 };

/** Empties the screenshot folder, so it holds this run's pictures only. */
export function freshScreenshots() {
  rmSync(SCREENSHOT_DIR, { recursive: true, force: true });
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
}

/** args: more Chromium switches, for a test that needs one. */
export async function launch({ args = [] } = {}) {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'nmc-chromium-'));
  const context = await playwright.chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
           '--disable-sync', '--no-first-run', '--disable-dev-shm-usage', ...args],
    viewport: PHONE,
    deviceScaleFactor: 1,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Saves NN-name-phone.png and NN-name-desktop.png, then restores the phone size.
 *  With scrollTo (a locator), that element is scrolled to the top at each size. */
export async function screenshots(page, n, name, { scrollTo } = {}) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const base = `${String(n).padStart(2, '0')}-${name}`;
  const top = () => scrollTo?.evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await page.setViewportSize(PHONE);
  await top();
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${base}-phone.png`) });
  await page.setViewportSize(DESKTOP);
  await top();
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${base}-desktop.png`) });
  await page.setViewportSize(PHONE);
}

/** The owner's actions (clicks, typing into a field, a key), counted for the benchmark. */
export function actor(page) {
  let count = 0;
  return {
    get count() { return count; },
    async click(locator) { count += 1; await locator.click(); },
    async fill(locator, text) { count += 1; await locator.fill(text); },
    async press(locator, key) { count += 1; await locator.press(key); },
    async select(locator, value) { count += 1; await locator.selectOption(value); },
  };
}

/** Every form control and button on the page has an accessible name (a label, aria-label or text). */
export async function unlabelledControls(page) {
  return page.evaluate(() => [...document.querySelectorAll('input, select, textarea, button')]
    .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
      || (el.tagName === 'BUTTON' && el.textContent.trim())))
    .map((el) => el.outerHTML.slice(0, 100)));
}
