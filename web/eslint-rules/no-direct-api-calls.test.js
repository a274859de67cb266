import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { ESLint, RuleTester } from "eslint";
import { MESSAGE, noDirectApiCalls } from "./no-direct-api-calls.js";

RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

const web = join(dirname(fileURLToPath(import.meta.url)), "..");

describe("no-direct-api-calls", () => {
  new RuleTester().run("no-direct-api-calls", noDirectApiCalls, {
    valid: [
      "submitIntent('ingest_file', {}, {})",
      "fetch('/v1/artifacts')",
      "fetch(signedUrl, { method: 'PUT' })",
      "fetch('/app/dev-token', { method: 'POST' })",
    ],
    invalid: [
      { code: "fetch('/api/v1/content/upload-file')", errors: [{ message: MESSAGE }] },
      { code: "fetch('/api/operations/x/upload')", errors: [{ message: MESSAGE }] },
      { code: "window.fetch(`/api/v1/content/${id}/upload`)", errors: [{ message: MESSAGE }] },
      { code: "globalThis.fetch('https://api.example.com/api/v1/files/upload', { method: 'POST' })", errors: [{ message: MESSAGE }] },
    ],
  });

  it("is on in the app's own lint config, as an error with the seed's message", async () => {
    const eslint = new ESLint({ cwd: web });
    for (const url of ["/api/v1/content/upload-file", "/api/operations/x/upload"]) {
      const [result] = await eslint.lintText(`export const r = fetch('${url}');\n`, { filePath: join(web, "src", "probe.ts") });
      const messages = result.messages.filter((m) => m.ruleId === "local/no-direct-api-calls");
      assert.equal(messages.length, 1, `${url}: ${JSON.stringify(result.messages)}`);
      assert.equal(messages[0].message, MESSAGE);
      assert.equal(messages[0].severity, 2);
    }
  });
});
