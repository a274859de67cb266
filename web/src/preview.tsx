// Previews of an artifact's payload: structured records as a table of the first rows under their schema (the
// parsed columns and types of semantic_descriptor.schema), anything else as the first lines of text.
import { parquetReadObjects } from "hyparquet";
import type { ArtifactWithPayload } from "./api/client";

export const PREVIEW_ROWS = 20;
const PARQUET_PREVIEW_MAX_BYTES = 20 * 1024 * 1024;
const TEXT_PREVIEW_BYTES = 65_535;

export interface Column {
  name: string;
  type?: string;
}
export type Preview =
  | { kind: "table"; columns: Column[]; rows: Record<string, unknown>[]; total: number | null }
  | { kind: "text"; text: string };

/** The parsed columns, when the descriptor names them (a named schema is a string, not columns). */
export function schemaColumns(artifact: { semantic_descriptor?: unknown }): Column[] {
  const schema = (artifact.semantic_descriptor as { schema?: unknown } | undefined)?.schema;
  if (!Array.isArray(schema)) return [];
  return schema
    .filter((f): f is { name: string; type?: unknown } => typeof f === "object" && f !== null && typeof (f as { name?: unknown }).name === "string")
    .map((f) => ({ name: f.name, ...(typeof f.type === "string" ? { type: f.type } : {}) }));
}

/** A table of records: the schema's columns first, then any other key the rows carry. */
export function tablePreview(rows: unknown[], schema: Column[], total: number | null, max = PREVIEW_ROWS): Preview {
  const records = rows.slice(0, max).map((r) => (typeof r === "object" && r !== null && !Array.isArray(r) ? (r as Record<string, unknown>) : { value: r }));
  const columns = [...schema];
  const named = new Set(columns.map((c) => c.name));
  for (const record of records) {
    for (const key of Object.keys(record)) {
      if (!named.has(key)) {
        named.add(key);
        columns.push({ name: key });
      }
    }
  }
  return { kind: "table", columns, rows: records, total };
}

export function cellText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "object") return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  return String(value);
}

export async function loadPreview(artifact: ArtifactWithPayload, max = PREVIEW_ROWS): Promise<Preview | null> {
  const part = artifact.payload?.parts[0];
  if (!part) return null;
  const schema = schemaColumns(artifact);
  const total = part.record_count ?? (artifact.semantic_descriptor as { record_count?: number | null } | undefined)?.record_count ?? null;
  if (part.delivery === "inline") {
    const content = part.content;
    if (Array.isArray(content) && (part.encoding === "jsonl" || schema.length > 0)) return tablePreview(content, schema, total, max);
    return { kind: "text", text: (typeof content === "string" ? content : JSON.stringify(content, null, 2)).slice(0, 4000) };
  }
  const url = part.download_url;
  if (!url) return null;
  if (part.format === "parquet") {
    // Parquet needs its footer, so the whole (bounded) payload is read; hyparquet decodes the first rows.
    if (part.size_bytes > PARQUET_PREVIEW_MAX_BYTES) return { kind: "text", text: `${part.name}: ${part.size_bytes} bytes of Parquet, too large to preview here.` };
    const file = await (await fetch(url)).arrayBuffer();
    return tablePreview(await parquetReadObjects({ file, rowStart: 0, rowEnd: max }), schema, total, max);
  }
  // A short-lived signed GET URL: the first 64 KB is enough for a preview of text (or of JSON lines).
  const text = await (await fetch(url, { headers: { Range: `bytes=0-${TEXT_PREVIEW_BYTES}` } })).text();
  const lines = text.split("\n").slice(0, max);
  if (part.format === "jsonl" || part.encoding === "jsonl") {
    try {
      return tablePreview(lines.filter((l) => l.trim()).map((l) => JSON.parse(l) as unknown), schema, total, max);
    } catch {
      // a line cut by the range, or not JSON: show it as text
    }
  }
  return { kind: "text", text: lines.join("\n") };
}

export function PreviewView({ preview }: { preview: Preview }) {
  if (preview.kind === "text") return <pre class="preview" data-testid="preview">{preview.text}</pre>;
  return (
    <div class="preview" data-testid="preview">
      <p class="muted" data-testid="preview-caption">
        First {preview.rows.length} of {preview.total ?? "?"} rows, {preview.columns.length} columns
      </p>
      <div class="table-scroll">
        <table data-testid="preview-table">
          <thead>
            <tr>
              {preview.columns.map((c) => (
                <th data-testid="preview-column" data-column={c.name} key={c.name}>
                  {c.name}
                  {c.type && <span class="muted"> {c.type}</span>}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {preview.rows.map((row, i) => (
              <tr data-testid="preview-row" key={i}>
                {preview.columns.map((c) => (
                  <td key={c.name}>{cellText(row[c.name])}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
