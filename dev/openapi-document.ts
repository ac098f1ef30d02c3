// Writes the OpenAPI document the Worker serves to a file (or stdout), for linters and client generators:
// `npm run openapi:document -- openapi.json`. The app is built in Node; no binding is touched.
import { writeFileSync } from "node:fs";
import app from "../src/app.ts";
import { openApiDocument } from "../src/routes/docs/docs.document.ts";

const [out, origin = "https://api.example.com"] = process.argv.slice(2);
const text = `${JSON.stringify(openApiDocument(app, origin), null, 2)}\n`;
if (out) writeFileSync(out, text);
else process.stdout.write(text);
