// assertUniqueComponents: two schemas under one component name are refused; copies and wrappers of one are not.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { assertUniqueComponents } from "../../../src/routes/docs/docs.components.ts";

function appAnswering(...schemas: z.ZodType[]) {
  const app = new OpenAPIHono();
  schemas.forEach((schema, i) => {
    const route = createRoute({
      method: "get",
      path: `/r${i}`,
      responses: { 200: { description: "ok", content: { "application/json": { schema } } } },
    });
    app.openapi(route, (c) => c.json({}) as never);
  });
  return app;
}

describe("assertUniqueComponents", () => {
  it("refuses two different schemas registered as one name, naming it", () => {
    const a = z.object({ id: z.string() }).openapi("Thing");
    const b = z.object({ name: z.string() }).openapi("Thing");
    expect(() => assertUniqueComponents(appAnswering(a, b).openAPIRegistry.definitions)).toThrow(/Thing \(2 schemas\)/);
  });

  it("finds the clash nested in another schema", () => {
    const a = z.object({ id: z.string() }).openapi("Nested");
    const b = z.object({ inner: z.array(z.object({ other: z.number() }).openapi("Nested")) });
    expect(() => assertUniqueComponents(appAnswering(a, b).openAPIRegistry.definitions)).toThrow(/Nested/);
  });

  it("accepts one schema used plain, nullable, optional and with its own description", () => {
    const one = z.object({ id: z.string() }).openapi("One");
    const user = z.object({ a: one, b: one.nullable(), c: one.optional(), d: one.openapi({ description: "again" }) });
    expect(() => assertUniqueComponents(appAnswering(one, user).openAPIRegistry.definitions)).not.toThrow();
  });

  it("passes the app's own routes", async () => {
    const { default: app } = await import("../../../src/app.ts");
    expect(() => assertUniqueComponents(app.openAPIRegistry.definitions)).not.toThrow();
  });
});
