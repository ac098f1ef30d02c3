// Starts a Worker (with its gateways) for the stock tus client's test, in a child process (test/support/worker-process.ts).
import type { TestProject } from "vitest/node";
import { startWorkerProcess } from "../support/worker-process.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** The Worker tus-js-client talks to, over real HTTP through wrangler's dev server. */
    tusWorkerUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const { url, stop } = await startWorkerProcess();
  project.provide("tusWorkerUrl", url);
  return stop;
}
