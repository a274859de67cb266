// The typed API client: openapi-fetch over the types generated from shared/api/openapi.json (src/api/schema.d.ts,
// kept fresh by `npm run check:client`). Everything the app asks of the service goes through here.
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Artifact = Schemas["Artifact"];
export type ArtifactWithPayload = Schemas["ArtifactWithPayload"];
export type Execution = Schemas["Execution"];
export type PendingIntent = Schemas["PendingIntent"];
export type LineageChain = Schemas["LineageChain"];
export type UploadStatus = Schemas["UploadStatus"];
export type IngestionProfile = NonNullable<Schemas["RequestUploadParameters"]["ingestion_profile"]>;
export const PROFILES: readonly IngestionProfile[] = ["structured", "unstructured", "hybrid"];

export type IntentType = "request_upload" | "ingest_file" | "parse_content" | "save_materialization";
type IntentOp<T extends IntentType> = paths[`/v1/intents/${T}`]["post"];
type Json<R> = R extends { content: { "application/json": infer J } } ? J : never;
type Responses<O> = O extends { responses: infer R } ? R : never;
export type IntentParameters<T extends IntentType> = NonNullable<IntentOp<T>["requestBody"]>["content"]["application/json"]["parameters"];
export type IntentResult<T extends IntentType> = Json<Responses<IntentOp<T>>[Extract<keyof Responses<IntentOp<T>>, 200 | 201 | 202>]>;
export type Metadata = Schemas["JsonObject"];

/** An error answer of the service, in its one shape; `message` is the service's own words. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errorCode: string,
    readonly executionId = "",
    readonly intentType = "",
    readonly details: unknown = undefined,
  ) {
    super(message);
    this.name = "ApiError";
  }

  static from(response: Response, body: unknown): ApiError {
    const b = (body ?? {}) as Partial<Schemas["ErrorBody"]>;
    const message = typeof b.error === "string" && b.error ? b.error : `The service answered ${response.status} ${response.statusText}`;
    return new ApiError(response.status, message, b.error_code ?? "", b.execution_id ?? "", b.intent_type ?? "", b.details);
  }
}

let client: Client<paths> = createClient<paths>({ baseUrl: "" });
let bearer: string | null = null;

export function configureApi(baseUrl: string): void {
  client = createClient<paths>({ baseUrl });
  client.use({
    onRequest({ request }) {
      if (bearer) request.headers.set("Authorization", `Bearer ${bearer}`);
      return request;
    },
  });
}
configureApi("");

export function setToken(token: string | null): void {
  bearer = token;
}

export function api(): Client<paths> {
  return client;
}

/** openapi-fetch's answer as data, or an ApiError in the service's words. */
export async function unwrap<D>(call: Promise<{ data?: D; error?: unknown; response: Response }>): Promise<D> {
  const { data, error, response } = await call;
  if (!response.ok || data === undefined) throw ApiError.from(response, error);
  return data;
}

/** The seed's submitIntent: POST /v1/intents/{intent_type} with {parameters, metadata}. */
export async function submitIntent<T extends IntentType>(
  intent_type: T,
  parameters: IntentParameters<T>,
  metadata: Metadata = {},
  idempotencyKey?: string,
): Promise<IntentResult<T>> {
  type Post = (path: string, init: { body: unknown; headers?: Record<string, string> }) => Promise<{ data?: IntentResult<T>; error?: unknown; response: Response }>;
  const post = client.POST as unknown as Post;
  const headers = idempotencyKey ? { "Idempotency-Key": idempotencyKey } : undefined;
  return unwrap(post(`/v1/intents/${intent_type}`, { body: { parameters, metadata }, headers }));
}

export const TERMINAL_EXECUTION = new Set<Execution["status"]>(["completed", "failed"]);

/** The seed's trackExecution: follows GET /v1/executions/{id} until it is completed or failed, reporting each change. */
export async function trackExecution(
  execution_id: string,
  onUpdate: (execution: Execution) => void = () => {},
  options: { intervalMs?: number; signal?: AbortSignal } = {},
): Promise<Execution> {
  const interval = options.intervalMs ?? 500;
  let last = "";
  for (;;) {
    options.signal?.throwIfAborted();
    const execution = await unwrap(client.GET("/v1/executions/{execution_id}", { params: { path: { execution_id } }, signal: options.signal }));
    const seen = `${execution.status}:${execution.stages.length}`;
    if (seen !== last) {
      last = seen;
      onUpdate(execution);
    }
    if (TERMINAL_EXECUTION.has(execution.status)) return execution;
    await sleep(interval, options.signal);
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}
