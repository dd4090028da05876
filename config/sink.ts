/**
 * Sink settings: local disk or IBM Cloud Object Storage (endpoint, bucket, IAM or HMAC
 * credentials), and the object layout. Import the types from `settings.ts`.
 *
 * @module
 */

import { DEFAULTS, LAYOUTS, type SinkLayout } from "./defaults.ts";
import type { Get } from "./_common.ts";

/** IBM IAM authentication for Cloud Object Storage. */
export interface CosIamAuth {
  readonly kind: "iam";
  readonly apiKey: string;
  readonly serviceInstanceId: string;
  readonly authEndpoint: string;
}

/** HMAC (S3 access key) authentication for Cloud Object Storage. */
export interface CosHmacAuth {
  readonly kind: "hmac";
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** Where and how to reach an IBM Cloud Object Storage (or S3-compatible) bucket. */
export interface CosSettings {
  readonly endpoint: string;
  readonly bucket: string;
  readonly region?: string;
  readonly auth: CosIamAuth | CosHmacAuth;
}

/** The sink the consumer writes enriched orders to. */
export type SinkSettings =
  | { readonly kind: "local"; readonly dir: string; readonly layout: SinkLayout }
  | { readonly kind: "cos"; readonly cos: CosSettings; readonly layout: SinkLayout };

/** The sink settings, or undefined with the reasons added to `problems`. */
export function loadSink(
  get: Get,
  problems: string[],
): SinkSettings | undefined {
  const layout = (get("SINK_LAYOUT")?.toLowerCase() ?? DEFAULTS.SINK_LAYOUT) as SinkLayout;
  const layoutOk = LAYOUTS.includes(layout);
  if (!layoutOk) {
    problems.push(
      `SINK_LAYOUT: "${get("SINK_LAYOUT")}" is not a layout; use ${LAYOUTS.join(" or ")}`,
    );
  }
  const kind = get("SINK")?.toLowerCase() ?? DEFAULTS.SINK;
  if (kind === "local") {
    const dir = get("SINK_DIR") ?? DEFAULTS.SINK_DIR;
    return layoutOk ? { kind: "local", dir, layout } : undefined;
  }
  if (kind !== "cos") {
    problems.push(
      `SINK: "${
        get("SINK")
      }" is not a sink; use local (SINK_DIR on disk) or cos (IBM Cloud Object Storage)`,
    );
    return undefined;
  }
  const cos = loadCos(get, problems);
  return cos !== undefined && layoutOk ? { kind: "cos", cos, layout } : undefined;
}

function loadCos(
  get: Get,
  problems: string[],
): CosSettings | undefined {
  const before = problems.length;
  const rawEndpoint = get("COS_ENDPOINT");
  let endpoint: string | undefined;
  if (rawEndpoint === undefined) {
    problems.push(
      "COS_ENDPOINT: SINK=cos needs the bucket's endpoint; set COS_ENDPOINT, e.g. https://s3.us-south.cloud-object-storage.appdomain.cloud",
    );
  } else {
    // IBM's credential pages list endpoints without a scheme: default to https.
    endpoint = parseHttpUrl(
      "COS_ENDPOINT",
      /^[a-z][a-z0-9+.-]*:\/\//i.test(rawEndpoint) ? rawEndpoint : `https://${rawEndpoint}`,
      problems,
    );
  }
  const bucket = get("COS_BUCKET");
  if (bucket === undefined) {
    problems.push("COS_BUCKET: SINK=cos needs a bucket name; set COS_BUCKET");
  } else if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    problems.push(
      `COS_BUCKET: "${bucket}" is not a valid bucket name; use 3-63 lowercase letters, digits, dots and hyphens`,
    );
  }

  const apiKey = get("COS_API_KEY");
  const instanceId = get("COS_INSTANCE_ID");
  const accessKeyId = get("COS_HMAC_ACCESS_KEY_ID");
  const secretAccessKey = get("COS_HMAC_SECRET_ACCESS_KEY");
  const authEndpoint = parseHttpUrl(
    "COS_AUTH_ENDPOINT",
    get("COS_AUTH_ENDPOINT") ?? DEFAULTS.COS_AUTH_ENDPOINT,
    problems,
  );
  const hasHmac = accessKeyId !== undefined && secretAccessKey !== undefined;
  const hasIam = apiKey !== undefined && instanceId !== undefined;
  const choice = get("COS_AUTH")?.toLowerCase();

  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    const missing = accessKeyId === undefined
      ? "COS_HMAC_ACCESS_KEY_ID"
      : "COS_HMAC_SECRET_ACCESS_KEY";
    problems.push(
      `${missing}: only half of the HMAC key pair is set; set both COS_HMAC_ACCESS_KEY_ID and COS_HMAC_SECRET_ACCESS_KEY (from a service credential created with "Include HMAC Credential"), or neither`,
    );
  }
  if (choice !== undefined && choice !== "iam" && choice !== "hmac") {
    problems.push(`COS_AUTH: "${get("COS_AUTH")}" is not an auth kind; use iam or hmac`);
  }

  let auth: CosIamAuth | CosHmacAuth | undefined;
  const wantIam = choice === "iam" || (choice !== "hmac" && !hasHmac &&
    (apiKey !== undefined || instanceId !== undefined));
  if (choice === "hmac" || (choice !== "iam" && hasHmac)) {
    if (hasHmac) auth = { kind: "hmac", accessKeyId, secretAccessKey };
    else if (choice === "hmac" && accessKeyId === undefined && secretAccessKey === undefined) {
      problems.push(
        "COS_HMAC_ACCESS_KEY_ID: COS_AUTH=hmac needs COS_HMAC_ACCESS_KEY_ID and COS_HMAC_SECRET_ACCESS_KEY",
      );
    }
  } else if (wantIam) {
    if (apiKey === undefined) {
      problems.push(
        "COS_API_KEY: IAM authentication needs the COS service credential's apikey; set COS_API_KEY",
      );
    }
    if (instanceId === undefined) {
      problems.push(
        "COS_INSTANCE_ID: IAM authentication needs the COS service credential's resource_instance_id; set COS_INSTANCE_ID",
      );
    }
    if (hasIam && authEndpoint !== undefined) {
      auth = { kind: "iam", apiKey, serviceInstanceId: instanceId, authEndpoint };
    }
  } else if (accessKeyId === undefined && secretAccessKey === undefined) {
    problems.push(
      "COS_API_KEY: SINK=cos needs credentials; set COS_API_KEY + COS_INSTANCE_ID (IAM) or COS_HMAC_ACCESS_KEY_ID + COS_HMAC_SECRET_ACCESS_KEY (HMAC)",
    );
  }

  if (problems.length > before || endpoint === undefined || bucket === undefined || !auth) {
    return undefined;
  }
  const region = get("COS_REGION");
  return region !== undefined ? { endpoint, bucket, region, auth } : { endpoint, bucket, auth };
}

function parseHttpUrl(name: string, text: string, problems: string[]): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    problems.push(`${name}: "${text}" is not a URL; use e.g. https://host[:port][/path]`);
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    problems.push(`${name}: "${text}" must be an http:// or https:// URL`);
    return undefined;
  }
  if (url.username !== "" || url.password !== "") {
    problems.push(`${name}: must not contain credentials; use the COS_* key variables instead`);
    return undefined;
  }
  return text.replace(/\/+$/, "");
}
