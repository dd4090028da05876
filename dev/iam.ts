/**
 * Local stand-in for the IBM Cloud IAM token endpoint, started by `dev/s3.sh`:
 *
 *     deno run --allow-net=127.0.0.1:9001 --allow-read=.run/s3 dev/iam.ts \
 *       --port 9001 --api-key-file .run/s3/api_key --signing-key-file .run/s3/token_key \
 *       [--lifetime 3600]
 *
 * `POST /identity/token` with `grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=<key>`
 * answers like IBM IAM: 200 with `{access_token, refresh_token, token_type: "Bearer", expires_in,
 * expiration, scope}` when the key equals the one in the key file, else 400 with IBM's error shape
 * (`BXNIM0415E Provided API key could not be found.`). `GET /health` answers 200 `ok`.
 *
 * The access token is JWT-shaped and signed with HMAC-SHA256 under the key in
 * `--signing-key-file`, so the IAM front (dev/iam_front.ts) can tell an issued, unexpired token
 * from any other string without asking back. `--lifetime` (seconds) sets `exp - iat`; short
 * lifetimes let tests drive a client through several token expiries. Both key files are read on
 * every request, so they can be rotated without a restart.
 *
 * @module
 */
import { cannotStart, serveLocal, serverArgs } from "./_serve.ts";
import { b64url, signToken } from "./iam_token.ts";

const APIKEY_GRANT = "urn:ibm:params:oauth:grant-type:apikey";

function errorJson(status: number, code: string, message: string): Response {
  return Response.json({
    errorCode: code,
    errorMessage: message,
    context: {
      requestId: crypto.randomUUID(),
      requestType: "incoming.Identity_Token",
      host: "127.0.0.1",
      startTime: new Date().toUTCString(),
    },
  }, { status, headers: { "cache-control": "no-store" } });
}

/** Constant-time comparison of two strings. */
function sameText(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** The request handler, exported for the IAM front's tests. */
export function iamHandler(
  options: { apiKeyFile: string; signingKeyFile: string; lifetimeS: number },
): (req: Request) => Promise<Response> {
  return async (req) => {
    const url = new URL(req.url);
    if (req.method === "GET" && url.pathname === "/health") return new Response("ok\n");
    if (req.method !== "POST" || url.pathname !== "/identity/token") {
      return errorJson(404, "BXNIM0404E", `Not found: ${url.pathname}`);
    }
    const form = new URLSearchParams(await req.text());
    const grant = form.get("grant_type") ?? "";
    const apiKey = form.get("apikey") ?? "";
    if (grant !== APIKEY_GRANT) {
      return errorJson(400, "BXNIM0308E", `Unsupported grant type: ${grant}`);
    }
    if (apiKey === "") {
      return errorJson(400, "BXNIM0109E", "Property missing or empty. Property: apikey");
    }
    const expected = (await Deno.readTextFile(options.apiKeyFile)).trim();
    if (!sameText(apiKey, expected)) {
      return errorJson(400, "BXNIM0415E", "Provided API key could not be found.");
    }
    const now = Math.floor(Date.now() / 1000);
    const exp = now + options.lifetimeS;
    const token = await signToken({
      iam_id: "iam-ServiceId-orderflow-local",
      sub: "ServiceId-orderflow-local",
      iss: "http://127.0.0.1/identity",
      grant_type: APIKEY_GRANT,
      scope: "ibm openid",
      iat: now,
      exp,
      jti: b64url(crypto.getRandomValues(new Uint8Array(12))),
    }, (await Deno.readTextFile(options.signingKeyFile)).trim());
    return Response.json({
      access_token: token,
      refresh_token: "not_supported",
      ims_user_id: 0,
      token_type: "Bearer",
      expires_in: options.lifetimeS,
      expiration: exp,
      scope: "ibm openid",
    }, { headers: { "cache-control": "no-store" } });
  };
}

if (import.meta.main) {
  const args = serverArgs("iam", 9001, ["api-key-file", "signing-key-file"], { lifetime: "3600" });
  const lifetimeS = Number(args.options.lifetime);
  if (!Number.isInteger(lifetimeS) || lifetimeS < 1) {
    cannotStart(
      "iam",
      `Cannot start: --lifetime ${args.options.lifetime} is not a whole number >= 1`,
      "give the token lifetime in seconds, e.g. --lifetime 3600",
    );
  }
  const { "api-key-file": apiKeyFile, "signing-key-file": signingKeyFile } = args.files;
  for (const file of [apiKeyFile, signingKeyFile]) {
    if ((await Deno.readTextFile(file)).trim() === "") {
      cannotStart(
        "iam",
        `Cannot start: ${file} is empty`,
        "run `bash dev/s3.sh start`, which generates it",
      );
    }
  }
  serveLocal(
    "iam",
    args,
    iamHandler({ apiKeyFile, signingKeyFile, lifetimeS }),
    (origin) => `listening on ${origin}/identity/token (token lifetime ${lifetimeS} s)`,
  );
}
