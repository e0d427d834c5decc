import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

export type { Browser, BrowserContext, Page };

/**
 * Debian's Chromium binary. `/usr/bin/chromium` is a shell wrapper that adds flags from
 * `/etc/chromium.d/`; the binary behind it takes only ours. `CHROMIUM` overrides both.
 */
const CANDIDATES = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'];

/** The Chromium to drive, or undefined when none is installed (`infra/setup.sh` installs it). */
export function chromiumPath(): string | undefined {
  const override = process.env['CHROMIUM'];
  if (override) return override;
  return CANDIDATES.find((path) => existsSync(path));
}

/**
 * The reason to skip a browser test, or `false` when Chromium is installed — for
 * `test('…', { skip: requiresChromium() }, …)`.
 */
export function requiresChromium(): string | false {
  return chromiumPath() ? false : 'requires chromium (apt-get install chromium; infra/setup.sh does it)';
}

/**
 * Flags that keep Chromium on loopback. Every URL goes to a proxy at the discard port of
 * 127.0.0.1, where nothing listens, except loopback addresses, which Chromium never proxies
 * (listed anyway, to say so); names other than localhost do not resolve, so not even a DNS
 * query leaves; WebRTC may not send UDP around the proxy. Then the services that phone home on their
 * own: component and safe-browsing updates, sync, translation, metrics, crash reports,
 * field trials, domain reliability, hyperlink auditing pings.
 */
export const LOOPBACK_ONLY_ARGS: readonly string[] = [
  '--proxy-server=http://127.0.0.1:9',
  '--proxy-bypass-list=localhost;127.0.0.1;[::1]',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE [::1]',
  '--force-webrtc-ip-handling-policy=disable_non_proxied_udp',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-translate',
  '--disable-client-side-phishing-detection',
  '--safebrowsing-disable-auto-update',
  '--disable-domain-reliability',
  '--disable-breakpad',
  '--disable-field-trial-config',
  '--metrics-recording-only',
  '--no-pings',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-default-apps',
  '--disable-extensions',
  '--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,AutofillServerCommunication,CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions,NetworkTimeServiceQuerying',
];

export interface BrowserSession {
  readonly browser: Browser;
  /** One incognito-like context: its own cookies, removed with it. */
  readonly context: BrowserContext;
  readonly page: Page;
  /** Requests the page tried to send anywhere but loopback (each refused by the flags above). */
  offLoopback(): readonly string[];
  /** What the pages logged as errors and their uncaught exceptions, for a failing test's message. */
  errors(): readonly string[];
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** Page viewport; default 1280×800. */
  readonly viewport?: { readonly width: number; readonly height: number };
  /** Milliseconds for each Playwright action and navigation; default 30 s. */
  readonly timeoutMs?: number;
}

/**
 * Headless Chromium with {@link LOOPBACK_ONLY_ARGS}, driven by playwright-core. Root needs
 * `--no-sandbox` (Chromium refuses to start its sandbox as root); Playwright passes it, and
 * `--headless`, which since Chromium 132 is the new headless mode (the full browser).
 *
 * @example
 * const session = await launchBrowser();
 * try { await session.page.goto(url); } finally { await session.close(); }
 */
export async function launchBrowser(options: LaunchOptions = {}): Promise<BrowserSession> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error('no chromium installed: apt-get install chromium (infra/setup.sh)');
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    chromiumSandbox: false,
    args: [...LOOPBACK_ONLY_ARGS],
    // Playwright's own defaults include --disable-background-networking and the like; its
    // --enable-automation stays (it changes nothing on the network).
  });
  try {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 800, ...options.viewport },
      serviceWorkers: 'block',
    });
    context.setDefaultTimeout(options.timeoutMs ?? 30_000);
    const offLoopback: string[] = [];
    context.on('request', (request) => {
      if (!isLoopbackUrl(request.url())) offLoopback.push(request.url());
    });
    const errors: string[] = [];
    context.on('console', (message) => {
      if (message.type() === 'error') errors.push(`${message.location().url}: ${message.text()}`);
    });
    context.on('weberror', (error) =>
      errors.push(`uncaught: ${error.error().stack ?? error.error().message}`),
    );
    const page = await context.newPage();
    return {
      browser,
      context,
      page,
      offLoopback: () => [...offLoopback],
      errors: () => [...errors],
      async close() {
        await context.close().catch(() => {});
        await browser.close();
      },
    };
  } catch (error) {
    await browser.close();
    throw error;
  }
}

/** URLs that stay on this machine: loopback hosts, or no network at all (data:, blob:, about:). */
export function isLoopbackUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(parsed.protocol)) return true;
  const host = parsed.hostname;
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
