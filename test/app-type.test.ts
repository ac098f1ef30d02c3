/// <reference types="vite/client" />
// AppType (src/app-type.ts) is assembled from the route modules rather than read off the app: this checks that the
// modules it covers are every module with routes, and that the app mounts exactly the routes those modules define.
import { describe, expect, it } from "vitest";
import app from "../src/app.ts";
import { typedRouteFolders } from "../src/app-type.ts";

const modules = import.meta.glob<Record<string, unknown>>("../src/routes/*/*.routes.ts", { eager: true });
const isRoute = (value: unknown): value is { method: string; path: string } =>
  typeof value === "object" &&
  value !== null &&
  typeof (value as { method?: unknown }).method === "string" &&
  typeof (value as { path?: unknown }).path === "string";

describe("AppType", () => {
  it("covers every folder of src/routes that defines routes", () => {
    const folders = Object.keys(modules).map((file) => file.split("/").at(-2)!);
    expect([...typedRouteFolders].sort()).toEqual(folders.sort());
  });

  it("describes exactly the routes the app mounts", () => {
    const defined = Object.entries(modules).flatMap(([file, exports]) =>
      Object.values(exports)
        .filter(isRoute)
        .map((route) => `${route.method.toUpperCase()} ${file.includes("/health/") ? "" : "/api/v1"}${route.path}`),
    );
    const mounted = app.openAPIRegistry.definitions.flatMap((definition) =>
      definition.type === "route" ? [`${definition.route.method.toUpperCase()} ${definition.route.path}`] : [],
    );
    expect(new Set(defined).size).toBe(defined.length);
    expect([...defined].sort()).toEqual([...mounted].sort());
  });
});
