// Uploads straight to Cloud Storage through the signed URL that request_upload answers, in either protocol of the
// contract: `single_put` (one PUT of the whole body) or `resumable` (a GCS resumable session: PUT chunks with
// Content-Range, each but the last a multiple of chunk_size; `bytes */SIZE` asks for the committed offset).
// The session is kept in localStorage, so a page refresh resumes it once the person picks the same file again.
import { api, ApiError, submitIntent, unwrap, type IngestionProfile } from "./api/client";

export const MAX_UPLOAD_BYTES = 100 * 1024 * 1024;
export const FILE_TOO_LARGE_MESSAGE = "File size exceeds 100MB limit. Maximum allowed size is 100MB.";
export const GCS_CHUNK_GRANULE = 256 * 1024;

/** The seed's check before any upload is asked for: null when the size is acceptable, else the product's message. */
export function checkFileSize(size: number, max = MAX_UPLOAD_BYTES): string | null {
  return size > max ? FILE_TOO_LARGE_MESSAGE : null;
}

export type UploadProtocol = "single_put" | "resumable";
/** The words shown in upload-status: the server's (awaiting_upload, ingested, rejected) and the client's own. */
export type UploadWord = "requesting" | "uploading" | "paused" | "awaiting_upload" | "ingested" | "rejected" | "failed";

export interface StoredUpload {
  upload_id: string;
  tenant: string;
  name: string;
  size: number;
  last_modified: number;
  mime_type: string;
  protocol: UploadProtocol;
  upload_url: string;
  method: string;
  headers: Record<string, string>;
  chunk_size: number | null;
  committed: number;
  expires_at: string;
  profile: IngestionProfile | null;
  pending_intent_id: string | null;
  status: UploadWord;
  file_id: string | null;
  reason: string | null;
}

/** The upload sessions of this browser, by upload id, in localStorage. */
export class UploadStore {
  constructor(
    private readonly storage: Storage,
    private readonly key = "content-ingestion.uploads.v1",
  ) {}

  private read(): Record<string, StoredUpload> {
    try {
      const parsed: unknown = JSON.parse(this.storage.getItem(this.key) ?? "{}");
      return parsed && typeof parsed === "object" ? (parsed as Record<string, StoredUpload>) : {};
    } catch {
      return {};
    }
  }

  list(tenant: string): StoredUpload[] {
    return Object.values(this.read()).filter((u) => u.tenant === tenant);
  }

  get(uploadId: string): StoredUpload | undefined {
    return this.read()[uploadId];
  }

  put(upload: StoredUpload): void {
    this.storage.setItem(this.key, JSON.stringify({ ...this.read(), [upload.upload_id]: upload }));
  }

  remove(uploadId: string): void {
    const all = this.read();
    delete all[uploadId];
    this.storage.setItem(this.key, JSON.stringify(all));
  }

  /** An unfinished upload of this very file (same name, size and modification time), to be resumed. */
  unfinishedFor(tenant: string, file: { name: string; size: number; lastModified: number }): StoredUpload | undefined {
    return this.list(tenant).find(
      (u) => u.name === file.name && u.size === file.size && u.last_modified === file.lastModified && !isSettled(u.status),
    );
  }
}

export function isSettled(word: UploadWord): boolean {
  return word === "ingested" || word === "rejected";
}

/** The next chunk to send: [start, end) from the committed offset; each but the last a multiple of the chunk size. */
export function nextChunk(committed: number, size: number, chunkSize: number): { start: number; end: number } {
  if (chunkSize <= 0 || chunkSize % GCS_CHUNK_GRANULE !== 0) throw new Error(`chunk_size ${chunkSize} is not a multiple of ${GCS_CHUNK_GRANULE}`);
  const start = committed;
  return { start, end: Math.min(start + chunkSize, size) };
}

/** Bytes committed by a GCS resumable session, from its `Range: bytes=0-N` answer (no header: nothing yet). */
export function committedFromRange(range: string | null): number {
  const match = range ? /bytes=0-(\d+)/.exec(range) : null;
  return match ? Number(match[1]) + 1 : 0;
}

export function contentRange(start: number, end: number, size: number): string {
  return end > start ? `bytes ${start}-${end - 1}/${size}` : `bytes */${size}`;
}

// ---- transport -----------------------------------------------------------------------------------------------------

export interface PutAnswer {
  status: number;
  header(name: string): string | null;
}

/** One PUT with upload progress (fetch has none): XMLHttpRequest straight to the signed URL. */
export function putBytes(
  url: string,
  headers: Record<string, string>,
  body: Blob | null,
  onProgress: (sentInThisRequest: number) => void,
  signal?: AbortSignal,
): Promise<PutAnswer> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    for (const [key, value] of Object.entries(headers)) xhr.setRequestHeader(key, value);
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () => resolve({ status: xhr.status, header: (name) => xhr.getResponseHeader(name) });
    xhr.onerror = () => reject(new Error("The upload was interrupted (network error or refused by storage)."));
    xhr.onabort = () => reject(new DOMException("The upload was stopped.", "AbortError"));
    signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}

function storageRefusal(status: number): Error {
  if (status === 412) return new Error("This upload was already stored once; start a new upload.");
  if (status === 400 || status === 413) return new Error("Storage refused the file (over the 100 MB limit or not the declared size).");
  return new Error(`Storage answered ${status} to the upload.`);
}

// ---- the service side of an upload -----------------------------------------------------------------------------------

export async function requestUpload(file: File, tenant: string, profile: IngestionProfile | null): Promise<StoredUpload> {
  const mime = file.type || "application/octet-stream";
  const answer = await submitIntent(
    "request_upload",
    { ui_name: file.name, filename: file.name, file_size: file.size, mime_type: mime, ...(profile ? { ingestion_profile: profile } : {}) },
    { ui_name: file.name, original_filename: file.name },
  );
  const extra = answer as typeof answer & { upload_protocol?: UploadProtocol; chunk_size?: number };
  return {
    upload_id: answer.upload_id,
    tenant,
    name: file.name,
    size: file.size,
    last_modified: file.lastModified,
    mime_type: mime,
    protocol: extra.upload_protocol ?? "single_put",
    upload_url: answer.upload_url,
    method: answer.method,
    headers: answer.headers,
    chunk_size: extra.chunk_size ?? null,
    committed: 0,
    expires_at: answer.expires_at,
    profile,
    pending_intent_id: answer.pending_intent_id ?? null,
    status: "uploading",
    file_id: null,
    reason: null,
  };
}

interface ResumeAnswer {
  upload_id: string;
  status: string;
  upload_protocol?: UploadProtocol;
  upload_url?: string | null;
  method?: string | null;
  headers?: Record<string, string> | null;
  committed_bytes?: number | null;
  chunk_size?: number | null;
  expires_at?: string | null;
  file_size?: number;
}

/** POST /v1/uploads/{id}/resume: where an interrupted upload stands, and a URL to go on with. null: the service has
 * no such route (an older deployment), so the stored session is used as it is. */
export async function askResume(uploadId: string): Promise<ResumeAnswer | null> {
  type Post = (path: string, init: { params: { path: { upload_id: string } } }) => Promise<{ data?: ResumeAnswer; error?: unknown; response: Response }>;
  const post = api().POST as unknown as Post;
  try {
    return await unwrap(post("/v1/uploads/{upload_id}/resume", { params: { path: { upload_id: uploadId } } }));
  } catch (err) {
    if (err instanceof ApiError && (err.errorCode === "ROUTE_NOT_FOUND" || err.status === 405)) return null;
    throw err;
  }
}

export async function uploadStatus(uploadId: string) {
  return unwrap(api().GET("/v1/uploads/{upload_id}", { params: { path: { upload_id: uploadId } } }));
}

// ---- sending the bytes ---------------------------------------------------------------------------------------------

export interface SendHooks {
  onProgress(committedOrSent: number): void;
  onCommitted(committed: number): void;
  signal?: AbortSignal;
}

/** Sends what is left of the file. Resolves once storage holds the whole object. */
export async function sendFile(file: Blob, upload: StoredUpload, hooks: SendHooks): Promise<void> {
  if (upload.protocol === "single_put") {
    const answer = await putBytes(upload.upload_url, upload.headers, file, hooks.onProgress, hooks.signal);
    if (answer.status !== 200 && answer.status !== 201) throw storageRefusal(answer.status);
    hooks.onCommitted(file.size);
    return;
  }
  const chunkSize = upload.chunk_size ?? 8 * 1024 * 1024;
  let committed = upload.committed;
  while (committed < file.size) {
    const { start, end } = nextChunk(committed, file.size, chunkSize);
    const headers = { ...upload.headers, "Content-Range": contentRange(start, end, file.size) };
    const answer = await putBytes(upload.upload_url, headers, file.slice(start, end), (sent) => hooks.onProgress(start + sent), hooks.signal);
    if (answer.status === 200 || answer.status === 201) {
      committed = file.size;
    } else if (answer.status === 308) {
      // Storage says how much it kept (GCS may keep less than was sent). Where the storage server does not expose
      // the header to the page, the chunk it acknowledged counts as kept; a resume asks the service again anyway.
      const range = answer.header("Range");
      committed = range !== null ? committedFromRange(range) : end;
    } else {
      throw storageRefusal(answer.status);
    }
    hooks.onCommitted(committed);
  }
}

/** Before sending again after a refresh: the committed offset and a URL that is still valid. */
export async function prepareResume(upload: StoredUpload): Promise<StoredUpload> {
  const answer = await askResume(upload.upload_id);
  if (answer === null) {
    if (Date.parse(upload.expires_at) <= Date.now()) throw new Error("The upload link has expired; upload the file again.");
    return { ...upload, committed: upload.protocol === "single_put" ? 0 : upload.committed };
  }
  if (answer.status === "ingested" || answer.status === "rejected") return { ...upload, status: answer.status };
  const protocol = answer.upload_protocol ?? upload.protocol;
  const committed = answer.committed_bytes ?? (protocol === "single_put" ? 0 : upload.committed);
  return {
    ...upload,
    protocol,
    upload_url: answer.upload_url ?? upload.upload_url,
    headers: answer.headers ?? upload.headers,
    chunk_size: answer.chunk_size ?? upload.chunk_size,
    expires_at: answer.expires_at ?? upload.expires_at,
    // A single PUT starts again unless storage already holds every byte (then nothing is sent).
    committed: protocol === "single_put" && committed < upload.size ? 0 : committed,
  };
}
