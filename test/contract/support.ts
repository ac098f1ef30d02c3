// The document the Worker serves, built in Node and written where the linters and generators read it.
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import app from "../../src/app.ts";
import { openApiDocument } from "../../src/routes/docs/docs.document.ts";

export const root = join(import.meta.dirname, "../..");
/** Gitignored; a fixed path, because Redocly's ignore file names the document by its path. */
export const documentPath = join(root, ".openapi/openapi.json");

/** Writes the document as a test Worker would serve it (origin https://api.test) and returns it. */
export function writeDocument() {
  const doc = openApiDocument(app, "https://api.test");
  mkdirSync(join(root, ".openapi"), { recursive: true });
  writeFileSync(documentPath, `${JSON.stringify(doc, null, 2)}\n`);
  return doc;
}

/** Runs a CLI from node_modules/.bin; resolves with its output whatever its exit status. */
export async function runBin(bin: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(join(root, "node_modules/.bin", bin), args, {
      cwd: root,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === "number" ? failed.code : 1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? String(error) };
  }
}
