/**
 * The storage rows of `deno task check`: the local sink directory, or the COS bucket (IAM token,
 * bucket, a probe write).
 *
 * @module
 */
import { createCosClient, describeCosError, fetchIamToken } from "../clients/cos.ts";
import type { Settings } from "../config/settings.ts";
import type { Timed } from "./check_run.ts";

/** Creates, writes, renames and deletes a probe file in `dir`. */
export async function checkLocalDir(dir: string, timed: Timed): Promise<void> {
  await timed("storage.local", dir, async () => {
    await Deno.mkdir(dir, { recursive: true });
    const name = `.orderflow-check-${crypto.randomUUID()}`;
    const tmp = `${dir}/${name}.tmp`;
    const final = `${dir}/${name}.json`;
    const body = JSON.stringify({ check: "orderflow", at: new Date().toISOString() });
    try {
      await Deno.writeTextFile(tmp, body);
      await Deno.rename(tmp, final);
      const back = await Deno.readTextFile(final);
      if (back !== body) throw new Error(`read back different content from ${final}`);
      await Deno.remove(final);
    } finally {
      await removeIfPresent(tmp);
      await removeIfPresent(final);
    }
    return `writable: created, wrote, renamed and deleted a probe file in ${await Deno.realPath(
      dir,
    )}`;
  }, describeLocalError);
}

async function removeIfPresent(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

function describeLocalError(err: unknown): { message: string; remedy: string } {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
    return {
      message: `Cannot write to SINK_DIR: ${message}`,
      remedy:
        'the consume permission set (check uses it too) allows writing under ./data only: keep SINK_DIR inside ./data (run from the repository root), or widen "write" in deno.json; on a PermissionDenied from the OS, fix the directory\'s owner/mode',
    };
  }
  return {
    message: `Cannot use SINK_DIR: ${message}`,
    remedy: "point SINK_DIR at a writable directory on a local file system (atomic rename needed)",
  };
}

/** IAM token (IAM auth), bucket access, and a probe object put and deleted. */
export async function checkCos(settings: Settings, timed: Timed): Promise<void> {
  if (settings.sink.kind !== "cos") return;
  const cos = settings.sink.cos;
  const describe = (err: unknown) => describeCosError(err, cos);
  if (cos.auth.kind === "iam") {
    const auth = cos.auth;
    const ok = await timed("cos.iam-token", auth.authEndpoint, async () => {
      const { expiresAt } = await fetchIamToken(auth);
      return `token issued${expiresAt !== undefined ? `, expires ${expiresAt.toISOString()}` : ""}`;
    }, describe);
    if (!ok) {
      for (const check of ["cos.bucket", "cos.write"]) {
        await timed(
          check,
          `${cos.endpoint}/${cos.bucket}`,
          () => {
            throw new Error("skipped");
          },
          () => ({ message: "skipped: no IAM token", remedy: "fix cos.iam-token first" }),
          "SKIP",
        );
      }
      return;
    }
  }
  const client = createCosClient(cos, { maxRetries: 1, connectTimeoutMs: 5_000 });
  const target = `${cos.endpoint}/${cos.bucket}`;
  const bucketOk = await timed("cos.bucket", target, async () => {
    try {
      await client.headBucket({ Bucket: cos.bucket }).promise();
    } catch (error) {
      // A refused HEAD has no body, so no error code (a wrong HMAC secret and a missing role
      // both read "Forbidden"); the same request as a listing gets COS's coded answer.
      if ((error as { statusCode?: unknown }).statusCode !== 403) throw error;
      await client.listObjectsV2({ Bucket: cos.bucket, MaxKeys: 1 }).promise();
      throw error;
    }
    return `bucket exists and is accessible (${cos.auth.kind.toUpperCase()} auth)`;
  }, describe);
  if (!bucketOk) return;
  const key = `_orderflow_check/${
    new Date().toISOString().replaceAll(":", "-")
  }-${crypto.randomUUID()}.json`;
  await timed("cos.write", `${target}/_orderflow_check/`, async () => {
    await client.putObject({
      Bucket: cos.bucket,
      Key: key,
      Body: JSON.stringify({ check: "orderflow" }),
      ContentType: "application/json",
    }).promise();
    await client.deleteObject({ Bucket: cos.bucket, Key: key }).promise();
    return `put and deleted probe object ${key}`;
  }, describe);
}
