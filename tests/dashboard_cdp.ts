/**
 * A minimal Chrome DevTools Protocol client for the dashboard test: launches Chromium headless
 * with `--remote-debugging-port=0`, attaches to its page over the DevTools WebSocket and offers
 * navigate / evaluate / screenshot, collecting requests and script errors.
 *
 * Why not playwright-core: it loads under Deno but probes `/proc/sys/fs/binfmt_misc/WSLInterop`
 * at import, which Deno only allows with `--allow-all`; the project's test permission set has no
 * `-A`. The protocol subset needed here is small.
 *
 * @module
 */

/** The flags the project runs Chromium with. */
export const CHROMIUM_FLAGS: readonly string[] = Object.freeze([
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
]);

interface Pending {
  resolve(value: Record<string, unknown>): void;
  reject(error: Error): void;
}

/** A launched Chromium with one page attached. */
export class ChromiumPage {
  /** URLs the page requested, in order. */
  readonly requests: string[] = [];
  /** Uncaught exceptions and console errors of the page. */
  readonly errors: string[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #profile: string;
  readonly #ws: WebSocket;
  readonly #pending = new Map<number, Pending>();
  readonly #stderr: Promise<void>;
  #nextId = 1;

  private constructor(
    child: Deno.ChildProcess,
    profile: string,
    ws: WebSocket,
    stderr: Promise<void>,
  ) {
    this.#child = child;
    this.#profile = profile;
    this.#ws = ws;
    this.#stderr = stderr;
    ws.onmessage = (event) => this.#onMessage(JSON.parse(String(event.data)));
  }

  /** Launches Chromium and attaches to its first page (throws after 30 s). */
  static async launch(executablePath: string): Promise<ChromiumPage> {
    const profile = await Deno.makeTempDir({ prefix: "orderflow-chromium-" });
    const child = new Deno.Command(executablePath, {
      args: [
        ...CHROMIUM_FLAGS,
        "--remote-debugging-port=0",
        `--user-data-dir=${profile}`,
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const { promise: endpoint, resolve, reject } = Promise.withResolvers<string>();
    const timer = setTimeout(
      () => reject(new RangeError("Cannot start Chromium: no DevTools endpoint within 30 s")),
      30_000,
    );
    let log = "";
    const stderr = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        if (log.length < 20_000) log += chunk;
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(log);
        if (m !== null) resolve(m[1]!);
      }
      reject(new RangeError(`Cannot start Chromium: it exited:\n${log.slice(-2000)}`));
    })();
    let browserUrl: string;
    try {
      browserUrl = await endpoint;
    } catch (error) {
      child.kill("SIGKILL");
      await child.status;
      await stderr;
      await Deno.remove(profile, { recursive: true }).catch(() => undefined);
      throw error;
    } finally {
      clearTimeout(timer);
    }
    const http = new URL(browserUrl);
    const targets = await (await fetch(`http://${http.host}/json/list`)).json() as {
      type: string;
      webSocketDebuggerUrl: string;
    }[];
    const target = targets.find((t) => t.type === "page");
    if (target === undefined) throw new RangeError("Cannot find Chromium's page target");
    const ws = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise<void>((res, rej) => {
      ws.onopen = () => res();
      ws.onerror = () => rej(new RangeError("Cannot connect to Chromium's DevTools socket"));
    });
    const page = new ChromiumPage(child, profile, ws, stderr);
    await page.send("Page.enable");
    await page.send("Runtime.enable");
    await page.send("Network.enable");
    return page;
  }

  #onMessage(message: Record<string, unknown>): void {
    const id = message.id as number | undefined;
    if (id !== undefined) {
      const pending = this.#pending.get(id);
      this.#pending.delete(id);
      const error = message.error as { message: string } | undefined;
      if (error !== undefined) pending?.reject(new RangeError(`CDP: ${error.message}`));
      else pending?.resolve((message.result ?? {}) as Record<string, unknown>);
      return;
    }
    const params = (message.params ?? {}) as Record<string, unknown>;
    switch (message.method) {
      case "Network.requestWillBeSent":
        this.requests.push((params.request as { url: string }).url);
        break;
      case "Runtime.exceptionThrown": {
        const d = params.exceptionDetails as { text: string; exception?: { description?: string } };
        this.errors.push(d.exception?.description ?? d.text);
        break;
      }
      case "Runtime.consoleAPICalled":
        if (params.type === "error") {
          this.errors.push(
            (params.args as { value?: unknown; description?: string }[])
              .map((a) => a.description ?? String(a.value)).join(" "),
          );
        }
        break;
    }
  }

  /** Sends one protocol command; resolves with its result. */
  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    const { promise, resolve, reject } = Promise.withResolvers<Record<string, unknown>>();
    this.#pending.set(id, { resolve, reject });
    this.#ws.send(JSON.stringify({ id, method, params }));
    return promise;
  }

  /** Sets the viewport size. */
  async viewport(width: number, height: number): Promise<void> {
    await this.send("Emulation.setDeviceMetricsOverride", {
      width,
      height,
      deviceScaleFactor: 1,
      mobile: false,
    });
  }

  /** Navigates and waits for the load event. */
  async goto(url: string): Promise<void> {
    const ws = this.#ws;
    const loaded = new Promise<void>((resolve) => {
      ws.addEventListener("message", function onLoad(event) {
        if (JSON.parse(String(event.data)).method === "Page.loadEventFired") {
          ws.removeEventListener("message", onLoad);
          resolve();
        }
      });
    });
    const result = await this.send("Page.navigate", { url });
    if (typeof result.errorText === "string") {
      throw new RangeError(`Cannot open ${url}: ${result.errorText}`);
    }
    await loaded;
  }

  /** Evaluates a JavaScript expression in the page; returns its JSON value. */
  async evaluate<T>(expression: string): Promise<T> {
    const result = await this.send("Runtime.evaluate", {
      expression,
      returnByValue: true,
      awaitPromise: true,
    });
    const details = result.exceptionDetails as { text: string } | undefined;
    if (details !== undefined) throw new RangeError(`Cannot evaluate in page: ${details.text}`);
    return (result.result as { value: T }).value;
  }

  /** A PNG of the whole page at `width` pixels wide. */
  async screenshot(width: number): Promise<Uint8Array> {
    const height = await this.evaluate<number>("document.documentElement.scrollHeight");
    await this.viewport(width, Math.ceil(height));
    await new Promise((r) => setTimeout(r, 300)); // let charts re-layout
    const { data } = await this.send("Page.captureScreenshot", { format: "png" });
    return Uint8Array.from(atob(data as string), (c) => c.charCodeAt(0));
  }

  /** Closes the browser and removes its profile. */
  async close(): Promise<void> {
    try {
      await Promise.race([
        this.send("Browser.close"),
        new Promise((r) => setTimeout(r, 3000)),
      ]);
    } catch {
      // The socket may close before the answer arrives; the process check below decides.
    }
    this.#ws.close();
    const exited = await Promise.race([
      this.#child.status.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 5000)),
    ]);
    if (!exited) {
      this.#child.kill("SIGKILL");
      await this.#child.status;
    }
    await this.#stderr.catch(() => undefined);
    await Deno.remove(this.#profile, { recursive: true }).catch(() => undefined);
  }
}
