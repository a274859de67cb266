import { describe, expect, it } from "vitest";
import {
  checkFileSize,
  committedFromRange,
  contentRange,
  FILE_TOO_LARGE_MESSAGE,
  GCS_CHUNK_GRANULE,
  MAX_UPLOAD_BYTES,
  nextChunk,
  UploadStore,
  type StoredUpload,
} from "./upload";

describe("the 100 MB check before an upload is asked for", () => {
  it("accepts exactly 100 MB and refuses one byte more with the product's message", () => {
    expect(checkFileSize(MAX_UPLOAD_BYTES)).toBeNull();
    expect(checkFileSize(MAX_UPLOAD_BYTES + 1)).toBe("File size exceeds 100MB limit. Maximum allowed size is 100MB.");
    expect(FILE_TOO_LARGE_MESSAGE).toBe("File size exceeds 100MB limit. Maximum allowed size is 100MB.");
  });
});

describe("resumable chunks", () => {
  const chunk = 4 * GCS_CHUNK_GRANULE;

  it("cuts every chunk but the last to a multiple of chunk_size, from the committed offset", () => {
    const size = 2 * chunk + 123;
    const chunks = [];
    for (let committed = 0; committed < size; ) {
      const c = nextChunk(committed, size, chunk);
      chunks.push(c);
      committed = c.end;
    }
    expect(chunks).toEqual([
      { start: 0, end: chunk },
      { start: chunk, end: 2 * chunk },
      { start: 2 * chunk, end: size },
    ]);
    expect(nextChunk(chunk, size, chunk)).toEqual({ start: chunk, end: 2 * chunk });
  });

  it("refuses a chunk size GCS would not accept", () => {
    expect(() => nextChunk(0, 10, 1000)).toThrow(/multiple of 262144/);
  });

  it("reads the committed offset from GCS's Range answer and asks for it with bytes */SIZE", () => {
    expect(committedFromRange("bytes=0-262143")).toBe(262144);
    expect(committedFromRange(null)).toBe(0);
    expect(contentRange(0, 262144, 1000000)).toBe("bytes 0-262143/1000000");
    expect(contentRange(5, 5, 1000000)).toBe("bytes */1000000");
  });
});

describe("the upload session kept in localStorage", () => {
  const upload = (over: Partial<StoredUpload> = {}): StoredUpload => ({
    upload_id: "upl_1", tenant: "t1", name: "a.csv", size: 10, last_modified: 1700000000000, mime_type: "text/csv",
    protocol: "resumable", upload_url: "http://storage/x", method: "PUT", headers: {}, chunk_size: GCS_CHUNK_GRANULE,
    committed: 0, expires_at: "2099-01-01T00:00:00Z", profile: null, pending_intent_id: null, status: "uploading",
    file_id: null, reason: null, ...over,
  });

  it("survives a new store over the same storage (a page refresh) and finds the unfinished upload of the same file", () => {
    localStorage.clear();
    new UploadStore(localStorage).put(upload({ committed: 5 }));
    const after = new UploadStore(localStorage);
    const file = { name: "a.csv", size: 10, lastModified: 1700000000000 };
    expect(after.unfinishedFor("t1", file)?.committed).toBe(5);
    expect(after.unfinishedFor("t2", file)).toBeUndefined(); // another tenant's session is not offered
    expect(after.unfinishedFor("t1", { ...file, lastModified: 1 })).toBeUndefined(); // another file
    after.put(upload({ status: "ingested" }));
    expect(after.unfinishedFor("t1", file)).toBeUndefined(); // settled: nothing to resume
  });

  it("ignores a corrupt entry instead of breaking the page", () => {
    localStorage.setItem("content-ingestion.uploads.v1", "{not json");
    expect(new UploadStore(localStorage).list("t1")).toEqual([]);
  });
});
