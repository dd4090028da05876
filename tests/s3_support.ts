/**
 * A private local S3 server for one test: `dev/s3.sh` with its own state dir and ports
 * (S3Proxy + IAM token endpoint + IAM front), so a test can stop and restart the server process
 * or shorten token lifetimes without touching the shared one other tests and engineers use.
 *
 * @module
 */
import { s3Fetch, s3Path } from "../dev/sigv4.ts";

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Options for {@linkcode PrivateS3.start}. */
export interface PrivateS3Options {
  /** IAM token lifetime in seconds (default 3600). */
  readonly tokenLifetimeS?: number;
}

/** A private `dev/s3.sh` instance. */
export class PrivateS3 {
  readonly dir: string;
  readonly s3Port = freePort();
  readonly iamPort = freePort();
  readonly frontPort = freePort();
  readonly #lifetime: number;
  #env: Readonly<Record<string, string>> = {};

  private constructor(dir: string, options: PrivateS3Options) {
    this.dir = dir;
    this.#lifetime = options.tokenLifetimeS ?? 3600;
  }

  /** Creates a state dir and starts the three processes; resolves when they answer. */
  static async start(options: PrivateS3Options = {}): Promise<PrivateS3> {
    const s3 = new PrivateS3(await Deno.makeTempDir({ prefix: "orderflow-s3-" }), options);
    await s3.up();
    return s3;
  }

  #scriptEnv(): Record<string, string> {
    return {
      S3_RUN_DIR: this.dir,
      S3_PORT: String(this.s3Port),
      IAM_PORT: String(this.iamPort),
      IAM_FRONT_PORT: String(this.frontPort),
      IAM_TOKEN_LIFETIME: String(this.#lifetime),
    };
  }

  async #script(command: "start" | "stop"): Promise<void> {
    const out = await new Deno.Command("bash", {
      args: ["dev/s3.sh", command],
      env: this.#scriptEnv(),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(
        `Cannot ${command} the private S3 server: dev/s3.sh exited ${out.code}\n` +
          new TextDecoder().decode(out.stderr),
      );
    }
  }

  /** (Re)starts the server processes (idempotent). */
  async up(): Promise<void> {
    await this.#script("start");
    const env: Record<string, string> = {};
    for (const line of (await Deno.readTextFile(`${this.dir}/s3.env`)).split("\n")) {
      const eq = line.indexOf("=");
      if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
    }
    this.#env = Object.freeze(env);
  }

  /** Stops the server processes (the data stays in the state dir). */
  down(): Promise<void> {
    return this.#script("stop");
  }

  /** Stops the processes and removes the state dir. */
  async destroy(): Promise<void> {
    await this.down();
    await Deno.remove(this.dir, { recursive: true }).catch(() => undefined);
  }

  /** The `s3.env` settings of this instance (as {@linkcode s3Env} for the shared one). */
  get env(): Readonly<Record<string, string>> {
    return this.#env;
  }

  /** Consumer env selecting `bucket` on this instance with HMAC keys. */
  hmacEnv(bucket: string): Record<string, string> {
    return {
      SINK: "cos",
      COS_AUTH: "hmac",
      COS_ENDPOINT: this.#env.COS_ENDPOINT!,
      COS_BUCKET: bucket,
      COS_HMAC_ACCESS_KEY_ID: this.#env.COS_HMAC_ACCESS_KEY_ID!,
      COS_HMAC_SECRET_ACCESS_KEY: this.#env.COS_HMAC_SECRET_ACCESS_KEY!,
    };
  }

  /** A signed request to this instance's S3Proxy. */
  fetch(
    method: string,
    bucket: string,
    key?: string,
    options: { query?: Record<string, string>; body?: Uint8Array } = {},
  ): Promise<Response> {
    return s3Fetch(
      this.#env.COS_ENDPOINT!,
      {
        accessKeyId: this.#env.COS_HMAC_ACCESS_KEY_ID!,
        secretAccessKey: this.#env.COS_HMAC_SECRET_ACCESS_KEY!,
      },
      method,
      s3Path(bucket, key),
      options,
    );
  }

  /** Creates `bucket` (signed PUT). */
  async createBucket(bucket: string): Promise<void> {
    const res = await this.fetch("PUT", bucket);
    const text = await res.text();
    if (!res.ok) throw new Error(`Cannot create bucket ${bucket}: ${res.status} ${text}`);
  }

  /** Keys under `prefix` in `bucket`. */
  async keys(bucket: string, prefix = ""): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const query: Record<string, string> = { "list-type": "2", prefix };
      if (token !== undefined) query["continuation-token"] = token;
      const res = await this.fetch("GET", bucket, undefined, { query });
      const xml = await res.text();
      if (!res.ok) throw new Error(`Cannot list ${bucket}: ${res.status} ${xml.slice(0, 200)}`);
      for (const m of xml.matchAll(/<Key>([^<]*)<\/Key>/g)) {
        keys.push(m[1]!.replaceAll("&amp;", "&"));
      }
      token = /<IsTruncated>true<\/IsTruncated>/.test(xml)
        ? /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1]
        : undefined;
    } while (token !== undefined);
    return keys;
  }

  /** Body of one object. */
  async object(bucket: string, key: string): Promise<string> {
    const res = await this.fetch("GET", bucket, key);
    const text = await res.text();
    if (!res.ok) throw new Error(`Cannot get ${bucket}/${key}: ${res.status} ${text}`);
    return text;
  }
}
