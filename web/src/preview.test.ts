import { describe, expect, it } from "vitest";
import { cellText, schemaColumns, tablePreview } from "./preview";
import { unsavedSources } from "./save";

describe("structured previews", () => {
  it("lay out the first rows under the schema's columns, then any other key", () => {
    const schema = schemaColumns({ semantic_descriptor: { schema: [{ name: "sku", type: "string" }, { name: "qty", type: "int64" }] } });
    const rows = Array.from({ length: 30 }, (_, i) => ({ sku: `A-${i}`, qty: i, note: i === 1 ? "x" : undefined }));
    const preview = tablePreview(rows, schema, 30, 20);
    expect(preview.kind).toBe("table");
    if (preview.kind !== "table") return;
    expect(preview.columns).toEqual([{ name: "sku", type: "string" }, { name: "qty", type: "int64" }, { name: "note" }]);
    expect(preview.rows).toHaveLength(20);
    expect(preview.total).toBe(30);
  });

  it("read a named schema as no columns and show every cell as text", () => {
    expect(schemaColumns({ semantic_descriptor: { schema: "x12-850" } })).toEqual([]);
    expect([cellText(null), cellText(10n), cellText({ a: 1n }), cellText(1.5)]).toEqual(["", "10", '{"a":"1"}', "1.5"]);
  });
});

describe("save with its source", () => {
  it("saves the PENDING ancestors oldest first, and nothing when they are saved", () => {
    const entry = (artifact_id: string, lifecycle_state: string) => ({ artifact_id, lifecycle_state }) as never;
    const chain = [entry("parsed", "PENDING"), entry("mid", "PENDING"), entry("root", "PENDING")];
    expect(unsavedSources(chain).map((e: { artifact_id: string }) => e.artifact_id)).toEqual(["root", "mid"]);
    expect(unsavedSources([entry("parsed", "PENDING"), entry("file", "READY")])).toEqual([]);
    expect(unsavedSources(undefined)).toEqual([]);
  });
});
