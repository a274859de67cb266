// Fails when src/api/schema.d.ts is stale against ../shared/api/openapi.json: the types are regenerated into a
// temporary file with the same generator and compared byte for byte. Fix with `npm run gen:client`.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const documentPath = process.argv[2] ?? join(web, "..", "shared", "api", "openapi.json");
const committedPath = join(web, "src", "api", "schema.d.ts");
const dir = mkdtempSync(join(tmpdir(), "openapi-client-"));
try {
  const fresh = join(dir, "schema.d.ts");
  execFileSync(process.execPath, [join(web, "node_modules", "openapi-typescript", "bin", "cli.js"), documentPath, "-o", fresh], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  if (readFileSync(fresh, "utf8") !== readFileSync(committedPath, "utf8")) {
    console.error(`src/api/schema.d.ts is stale against ${documentPath}: run \`npm run gen:client\` in web/ and commit it.`);
    process.exit(1);
  }
  console.log("typed client is up to date with the OpenAPI document");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
