/**
 * The IAM front of the local S3 server, started by `dev/s3.sh` (IAM-mode clients use it):
 *
 *     deno run --allow-net=127.0.0.1 --allow-read=.run/s3 dev/iam_front.ts --port 9002 \
 *       --upstream http://127.0.0.1:9000 --signing-key-file .run/s3/token_key \
 *       --hmac-file .run/s3/secrets.env
 *
 * S3Proxy knows S3 signatures, not IBM IAM bearer tokens. This front takes what COS takes in IAM
 * mode — `Authorization: Bearer <token>` — and answers as COS does when the token is missing,
 * not one the local IAM (dev/iam.ts) issued, or expired: 403 with an S3 XML error, code
 * `AccessDenied`, message `Access Denied` (what IBM COS returns for an expired token). A request
 * with a good token is forwarded to S3Proxy re-signed with the HMAC pair (SigV4), so S3Proxy keeps
 * checking every request it serves and there is one store for both auth modes.
 *
 * `GET /_front/stats` (bucket names cannot start with `_`) answers JSON counts: requests
 * forwarded, refused by reason, and distinct tokens seen — what tests use to see token rotation.
 *
 * @module
 */
import { cannotStart, serveLocal, serverArgs } from "./_serve.ts";
import { checkToken } from "./iam_token.ts";
import { canonicalPath, type HmacKeys, signS3Request } from "./sigv4.ts";

/** Headers S3 reads from a request that are forwarded (and signed) as they came. */
const FORWARDED =
  /^(content-type|content-md5|content-encoding|cache-control|content-disposition|expires|if-match|if-none-match|if-modified-since|if-unmodified-since|range|x-amz-(?!date$|content-sha256$).*)$/;

/** Headers not copied from S3Proxy's answer (hop-by-hop, or recomputed by Deno). */
const DROPPED_ANSWER = new Set(["connection", "keep-alive", "transfer-encoding", "content-length"]);

/** Counts behind `GET /_front/stats`. */
export interface FrontStats {
  forwarded: number;
  refused: { missing: number; malformed: number; unknown: number; expired: number };
  tokens: number;
  upstreamErrors: number;
}

function xmlError(status: number, code: string, message: string, resource: string): Response {
  const escape = (s: string) =>
    s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
  const body = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Error><Code>${code}` +
    `</Code><Message>${escape(message)}</Message><Resource>${escape(resource)}</Resource>` +
    `<RequestId>${crypto.randomUUID()}</RequestId><httpStatusCode>${status}</httpStatusCode>` +
    `</Error>`;
  return new Response(body, { status, headers: { "content-type": "application/xml" } });
}

/** Reads `COS_HMAC_ACCESS_KEY_ID` / `COS_HMAC_SECRET_ACCESS_KEY` from a `KEY=VALUE` file. */
export async function readHmacFile(file: string): Promise<HmacKeys> {
  const env = new Map<string, string>();
  for (const line of (await Deno.readTextFile(file)).split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) env.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  const accessKeyId = env.get("COS_HMAC_ACCESS_KEY_ID");
  const secretAccessKey = env.get("COS_HMAC_SECRET_ACCESS_KEY");
  if (!accessKeyId || !secretAccessKey) {
    throw new TypeError(
      `Cannot read HMAC keys: ${file} lacks COS_HMAC_ACCESS_KEY_ID or COS_HMAC_SECRET_ACCESS_KEY`,
    );
  }
  return { accessKeyId, secretAccessKey };
}

/** The front's request handler and its counters. */
export function frontHandler(options: {
  readonly upstream: string;
  readonly signingKeyFile: string;
  readonly keys: HmacKeys;
}): { handler: (req: Request) => Promise<Response>; stats: FrontStats } {
  const upstream = new URL(options.upstream);
  const stats: FrontStats = {
    forwarded: 0,
    refused: { missing: 0, malformed: 0, unknown: 0, expired: 0 },
    tokens: 0,
    upstreamErrors: 0,
  };
  const seen = new Set<string>();
  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    if (req.method === "GET" && url.pathname === "/_front/stats") {
      return Response.json({ ...stats, tokens: seen.size });
    }
    const resource = decodeURIComponent(url.pathname);
    const auth = req.headers.get("authorization") ?? "";
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    if (m === null) {
      stats.refused.missing++;
      await req.body?.cancel();
      return xmlError(403, "AccessDenied", "Access Denied", resource);
    }
    const secret = (await Deno.readTextFile(options.signingKeyFile)).trim();
    const check = await checkToken(m[1]!, secret, Date.now() / 1000);
    if (!check.ok) {
      stats.refused[check.reason]++;
      await req.body?.cancel();
      return xmlError(403, "AccessDenied", "Access Denied", resource);
    }
    if (!seen.has(m[1]!)) {
      seen.add(m[1]!);
      stats.tokens = seen.size;
    }
    const target = new URL(canonicalPath(url.pathname) + url.search, upstream);
    const headers = new Headers();
    for (const [name, value] of req.headers) if (FORWARDED.test(name)) headers.set(name, value);
    const body = req.method === "GET" || req.method === "HEAD"
      ? undefined
      : new Uint8Array(await req.arrayBuffer());
    const signed = await signS3Request({
      method: req.method,
      url: target,
      headers,
      keys: options.keys,
      ...(body === undefined ? {} : { body }),
    });
    let res: Response;
    try {
      res = await fetch(target, {
        method: req.method,
        headers: signed,
        ...(body === undefined ? {} : { body }),
      });
    } catch (err) {
      stats.upstreamErrors++;
      return xmlError(
        503,
        "ServiceUnavailable",
        `Cannot reach the S3 server: ${err instanceof Error ? err.message : String(err)}`,
        resource,
      );
    }
    stats.forwarded++;
    const out = new Headers();
    for (const [name, value] of res.headers) {
      // HEAD answers carry the object's length without a body.
      if (!DROPPED_ANSWER.has(name) || (req.method === "HEAD" && name === "content-length")) {
        out.set(name, value);
      }
    }
    const noBody = req.method === "HEAD" || res.status === 204 || res.status === 304;
    const data = noBody ? null : await res.arrayBuffer();
    if (data === null) await res.body?.cancel();
    return new Response(data, { status: res.status, statusText: res.statusText, headers: out });
  };
  return { handler, stats };
}

if (import.meta.main) {
  const args = serverArgs("iam-front", 9002, ["signing-key-file", "hmac-file"], {
    upstream: "http://127.0.0.1:9000",
  });
  let keys: HmacKeys;
  try {
    keys = await readHmacFile(args.files["hmac-file"]);
  } catch (err) {
    cannotStart(
      "iam-front",
      err instanceof Error ? err.message : String(err),
      "run `bash dev/s3.sh start`, which generates it",
    );
  }
  const { upstream } = args.options;
  const signingKeyFile = args.files["signing-key-file"];
  const { handler } = frontHandler({ upstream, signingKeyFile, keys });
  serveLocal("iam-front", args, handler, (origin) => `${origin} → ${upstream} (re-signed)`);
}
