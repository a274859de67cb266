import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";
import local from "./eslint-rules/no-direct-api-calls.js";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "src/api/schema.d.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.{ts,tsx,js,mjs}"],
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    plugins: { local },
    rules: { "local/no-direct-api-calls": "error" },
  },
);
