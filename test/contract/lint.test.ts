// The served document against the OpenAPI 3.1 schema, Redocly's `recommended` rules and Spectral's `spectral:oas`:
// both CLIs run on it as a user would run them, and must report nothing at all.
import { Validator } from "@seriousme/openapi-schema-validator";
import { beforeAll, describe, expect, it } from "vitest";
import { documentPath, runBin, writeDocument } from "./support.ts";

let doc: ReturnType<typeof writeDocument>;
beforeAll(() => {
  doc = writeDocument();
});

describe("the OpenAPI document", () => {
  it("is valid against the OpenAPI 3.1 schema", async () => {
    const result = await new Validator().validate(structuredClone(doc) as never);
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("passes Redocly's recommended ruleset with no error and no warning", async () => {
    const { stdout, stderr } = await runBin("redocly", ["lint", documentPath, "--format=json"]);
    const report = JSON.parse(stdout) as {
      totals: { errors: number; warnings: number };
      problems: { ruleId: string; message: string; location: unknown }[];
    };
    expect(
      report.problems.map((p) => `${p.ruleId}: ${p.message} ${JSON.stringify(p.location)}`),
      stderr,
    ).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  it("passes Spectral's spectral:oas ruleset with nothing reported, hints included", async () => {
    const { stdout, stderr } = await runBin("spectral", [
      "lint",
      documentPath,
      "--ruleset",
      ".spectral.yaml",
      "--format",
      "json",
      "--fail-severity",
      "hint",
      "--quiet",
    ]);
    const results = JSON.parse(stdout.trim() || "[]") as { code: string; message: string; path: string[] }[];
    expect(
      results.map((r) => `${r.code}: ${r.message} at ${r.path.join(".")}`),
      stderr,
    ).toEqual([]);
  });
});
