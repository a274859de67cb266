import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import {
  api,
  ApiError,
  configureApi,
  PROFILES,
  setToken,
  sleep,
  submitIntent,
  trackExecution,
  unwrap,
  type Artifact,
  type ArtifactWithPayload,
  type Execution,
  type IngestionProfile,
  type LineageChain,
  type PendingIntent,
} from "./api/client";
import { keepSession, savedSession, signIn, type Session } from "./auth";
import { DEFAULT_CONFIG, loadConfig, type AppConfig } from "./config";
import { Journeys } from "./journeys";
import { Partners } from "./partners";
import { loadPreview, PreviewView, type Preview } from "./preview";
import { saveWithSources, unsavedSources } from "./save";
import {
  checkFileSize,
  isSettled,
  prepareResume,
  requestUpload,
  sendFile,
  uploadStatus,
  UploadStore,
  type StoredUpload,
} from "./upload";

const store = new UploadStore(localStorage);
const POLL_MS = 500;
const INGEST_WAIT_MS = 120_000;

interface Tracked {
  execution: Execution;
  label: string;
}

function message(err: unknown): string {
  if (err instanceof ApiError || err instanceof Error) return err.message;
  return String(err);
}

function expiredButRegenerable(err: unknown): boolean {
  if (!(err instanceof ApiError) || err.errorCode !== "PAYLOAD_EXPIRED") return false;
  const details = err.details as { regenerable?: boolean } | undefined;
  return details?.regenerable === true;
}

function artifactLabel(a: Artifact): string {
  return a.ui_name || a.filename || a.artifact_id;
}

export function App() {
  const [config, setConfig] = useState<AppConfig | null>(null);
  const [session, setSession] = useState<Session | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    loadConfig()
      .catch((err: unknown) => {
        setError(`Configuration could not be read: ${message(err)}`);
        return DEFAULT_CONFIG;
      })
      .then((loaded) => {
        configureApi(loaded.apiBase);
        const saved = savedSession();
        if (saved) setToken(saved.token);
        setConfig(loaded);
        setSession(saved);
      });
  }, []);

  const onSignedIn = (s: Session) => {
    keepSession(s);
    setToken(s.token);
    setSession(s);
    setError(null);
  };
  const signOut = () => {
    keepSession(null);
    setToken(null);
    setSession(null);
  };

  if (!config) return <p class="muted">Loading…</p>;
  return (
    <>
      <header>
        <h1>Content ingestion</h1>
        {session && (
          <>
            <span data-testid="signed-in-as">
              {session.user} @ {session.tenant}
            </span>
            <button onClick={signOut}>Sign out</button>
          </>
        )}
      </header>
      {error && (
        <div class="error" role="alert">
          <span data-testid="error">{error}</span>
          <button onClick={() => setError(null)} aria-label="Dismiss">
            ×
          </button>
        </div>
      )}
      {session ? <Workspace key={`${session.tenant}/${session.user}`} session={session} onError={setError} /> : <SignIn config={config} onSignedIn={onSignedIn} onError={setError} />}
    </>
  );
}

function SignIn(props: { config: AppConfig; onSignedIn: (s: Session) => void; onError: (e: string | null) => void }) {
  const [tenant, setTenant] = useState("");
  const [user, setUser] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    try {
      props.onSignedIn(await signIn(props.config, tenant, user, password));
    } catch (err) {
      props.onError(message(err));
    } finally {
      setBusy(false);
    }
  };
  const idp = props.config.authMode === "identity-platform";
  return (
    <form class="sign-in" onSubmit={submit}>
      <label>
        Tenant
        <input data-testid="tenant-input" value={tenant} onInput={(e) => setTenant(e.currentTarget.value)} required />
      </label>
      <label>
        {idp ? "Email" : "User"}
        <input data-testid="user-input" value={user} onInput={(e) => setUser(e.currentTarget.value)} required />
      </label>
      {idp && (
        <label>
          Password
          <input type="password" data-testid="password-input" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
      )}
      <button data-testid="sign-in" type="submit" disabled={busy}>
        Sign in
      </button>
    </form>
  );
}

function useHashArtifact(): [string | null, (id: string | null) => void] {
  const read = () => new URLSearchParams(location.hash.slice(1)).get("artifact");
  const [id, setId] = useState<string | null>(read());
  useEffect(() => {
    const onHash = () => setId(read());
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);
  const select = (next: string | null) => {
    location.hash = next ? `artifact=${encodeURIComponent(next)}` : "";
    setId(next);
  };
  return [id, select];
}

function Workspace({ session, onError }: { session: Session; onError: (e: string | null) => void }) {
  const [profile, setProfile] = useState<IngestionProfile | "">("");
  const [uploads, setUploads] = useState<StoredUpload[]>(() => store.list(session.tenant));
  const [progress, setProgress] = useState<Record<string, number>>({});
  const [executions, setExecutions] = useState<Record<string, Tracked>>({});
  const [pending, setPending] = useState<PendingIntent[]>([]);
  const [artifacts, setArtifacts] = useState<Artifact[]>([]);
  const [pageTokens, setPageTokens] = useState<(string | undefined)[]>([undefined]);
  const [nextToken, setNextToken] = useState<string | null>(null);
  const [selected, select] = useHashArtifact();
  const [refreshTick, setRefreshTick] = useState(0);
  const [dragOver, setDragOver] = useState(false);
  const alive = useRef(new AbortController());
  useEffect(() => () => alive.current.abort(), []);
  const refresh = useCallback(() => setRefreshTick((t) => t + 1), []);

  const saveUpload = useCallback((u: StoredUpload) => {
    store.put(u);
    setUploads(store.list(u.tenant));
  }, []);

  // ---- lists ----
  const pageToken = pageTokens[pageTokens.length - 1];
  useEffect(() => {
    const signal = alive.current.signal;
    unwrap(api().GET("/v1/artifacts", { params: { query: { page_size: 20, ...(pageToken ? { page_token: pageToken } : {}) } }, signal }))
      .then((page) => {
        setArtifacts(page.artifacts);
        setNextToken(page.next_page_token ?? null);
      })
      .catch((err) => !signal.aborted && onError(message(err)));
    unwrap(api().GET("/v1/pending-intents", { params: { query: { status: "pending" } }, signal }))
      .then((list) => setPending(list.intents))
      .catch((err) => !signal.aborted && onError(message(err)));
  }, [pageToken, refreshTick, onError]);
  useEffect(() => {
    const timer = setInterval(refresh, 5000); // another session of the tenant may change the lists
    return () => clearInterval(timer);
  }, [refresh]);

  // ---- executions ----
  const track = useCallback(
    async (executionId: string, label: string) => {
      const update = (execution: Execution) => setExecutions((all) => ({ ...all, [executionId]: { execution, label } }));
      try {
        const final = await trackExecution(executionId, update, { intervalMs: POLL_MS, signal: alive.current.signal });
        if (final.status === "failed") onError(final.error ?? `${final.intent_type} failed`);
      } catch (err) {
        if (!alive.current.signal.aborted) onError(message(err));
      }
      refresh();
    },
    [onError, refresh],
  );

  // ---- after an upload: ingest, then the parse the upload asked for ----
  const followIngest = useCallback(
    async (u: StoredUpload) => {
      const signal = alive.current.signal;
      const deadline = Date.now() + INGEST_WAIT_MS;
      let current = u;
      while (!isSettled(current.status)) {
        const status = await uploadStatus(u.upload_id);
        if (status.status !== "awaiting_upload" || Date.now() > deadline) {
          current = { ...current, status: status.status, file_id: status.file_id ?? null, reason: status.reason ?? null };
          saveUpload(current);
          if (status.status === "rejected") onError(status.reason ?? `${u.name} was rejected`);
          break;
        }
        await sleep(POLL_MS, signal);
      }
      refresh();
      if (current.status !== "ingested" || !current.file_id || !current.pending_intent_id) return;
      // The upload chose a profile: the service dispatches the waiting intent once the file is ingested.
      while (Date.now() < deadline) {
        const list = await unwrap(api().GET("/v1/pending-intents", { params: { query: { target_artifact_id: current.file_id } }, signal }));
        const intent = list.intents.find((i) => i.intent_id === current.pending_intent_id);
        if (intent?.execution_id) return track(intent.execution_id, `parse ${current.name} (${current.profile})`);
        if (intent && (intent.status === "cancelled" || intent.status === "failed")) return;
        await sleep(POLL_MS, signal);
      }
    },
    [onError, refresh, saveUpload, track],
  );

  const send = useCallback(
    async (file: File, u: StoredUpload) => {
      let current: StoredUpload = { ...u, status: "uploading" };
      saveUpload(current);
      try {
        await sendFile(file, current, {
          signal: alive.current.signal,
          onProgress: (n) => setProgress((p) => ({ ...p, [u.upload_id]: n })),
          onCommitted: (committed) => {
            current = { ...current, committed };
            saveUpload(current);
            setProgress((p) => ({ ...p, [u.upload_id]: committed }));
          },
        });
        current = { ...current, status: "awaiting_upload", committed: file.size };
        saveUpload(current);
      } catch (err) {
        if (alive.current.signal.aborted) return;
        saveUpload({ ...current, status: "failed", reason: message(err) });
        onError(message(err));
        return;
      }
      await followIngest(current);
    },
    [followIngest, onError, saveUpload],
  );

  const startUpload = useCallback(
    async (file: File) => {
      const tooLarge = checkFileSize(file.size);
      if (tooLarge) {
        onError(tooLarge); // the seed's check: no upload is asked for
        return;
      }
      try {
        const unfinished = store.unfinishedFor(session.tenant, file);
        if (unfinished) {
          const resumed = await prepareResume(unfinished);
          if (isSettled(resumed.status) || resumed.committed >= resumed.size) {
            // Finished already (or every byte is stored and the ingest is on its way): nothing to send again.
            const settled = isSettled(resumed.status) ? resumed : { ...resumed, status: "awaiting_upload" as const };
            saveUpload(settled);
            await followIngest(settled);
            return;
          }
          await send(file, resumed);
          return;
        }
        const requested = { ...(await requestUpload(file, session.tenant, profile || null)), status: "requesting" as const };
        saveUpload(requested);
        await send(file, requested);
      } catch (err) {
        onError(message(err));
      }
    },
    [followIngest, onError, profile, saveUpload, send, session.tenant],
  );

  const onFiles = (files: FileList | null) => {
    onError(null);
    for (const file of Array.from(files ?? [])) void startUpload(file);
  };

  // Uploads this browser left unfinished (a refresh, a closed tab): settle them, or wait for the same file again.
  useEffect(() => {
    for (const u of store.list(session.tenant)) {
      if (isSettled(u.status)) continue;
      uploadStatus(u.upload_id)
        .then((s) => {
          if (s.status === "awaiting_upload") saveUpload({ ...u, status: u.status === "failed" ? "failed" : "paused" });
          else void followIngest({ ...u, status: "awaiting_upload" });
        })
        .catch((err) => onError(message(err)));
    }
  }, []);

  // ---- pending intents ----
  const fileName = (fileId: string) => {
    const known = artifacts.find((a) => a.artifact_id === fileId);
    return known ? artifactLabel(known) : fileId;
  };
  const resumeIntent = async (intent: PendingIntent) => {
    try {
      if (!intent.target_artifact_id) throw new Error("This intent waits for its upload to be ingested.");
      const accepted = await submitIntent("parse_content", { file_id: intent.target_artifact_id }, {});
      refresh();
      await track(accepted.execution_id, `parse ${fileName(intent.target_artifact_id)} (${String(intent.context["ingestion_profile"] ?? "")})`);
    } catch (err) {
      onError(message(err));
    }
  };
  const cancelIntent = async (intent: PendingIntent) => {
    try {
      await unwrap(api().DELETE("/v1/pending-intents/{intent_id}", { params: { path: { intent_id: intent.intent_id } } }));
      refresh();
    } catch (err) {
      onError(message(err));
    }
  };
  const chooseProfile = async (fileId: string, chosen: IngestionProfile) => {
    try {
      await unwrap(
        api().POST("/v1/pending-intents", {
          body: { intent_type: "parse_content", target_artifact_id: fileId, context: { ingestion_profile: chosen, parse_options: {} } },
        }),
      );
      refresh();
    } catch (err) {
      onError(message(err));
    }
  };

  const uploadRows = useMemo(() => [...uploads].sort((a, b) => a.name.localeCompare(b.name)), [uploads]);

  return (
    <main>
      <div>
        <section>
          <h2>Upload</h2>
          <label>
            Ingestion profile
            <select data-testid="profile-select" value={profile} onChange={(e) => setProfile(e.currentTarget.value as IngestionProfile | "")}>
              <option value="">choose later</option>
              {PROFILES.map((p) => (
                <option value={p}>{p}</option>
              ))}
            </select>
          </label>
          <div
            class={`drop${dragOver ? " over" : ""}`}
            onDragOver={(e) => {
              e.preventDefault();
              setDragOver(true);
            }}
            onDragLeave={() => setDragOver(false)}
            onDrop={(e) => {
              e.preventDefault();
              setDragOver(false);
              onFiles(e.dataTransfer?.files ?? null);
            }}
          >
            Drop files here, or <input type="file" multiple data-testid="file-input" onChange={(e) => {
              onFiles(e.currentTarget.files);
              e.currentTarget.value = "";
            }} />
            <div class="muted">Up to 100 MB each.</div>
          </div>
          <ul class="rows" data-testid="uploads">
            {uploadRows.map((u) => (
              <li data-testid="upload-row" data-upload-id={u.upload_id} key={u.upload_id}>
                <strong>{u.name}</strong>
                <progress data-testid="upload-progress" max={u.size || 1} value={progress[u.upload_id] ?? u.committed} />
                <span data-testid="upload-status" class={`word ${u.status}`}>
                  {u.status}
                </span>
                <span class="muted">{u.protocol}</span>
                {u.status === "paused" && <span class="muted">Pick the same file again to resume.</span>}
                {u.reason && <span class="muted">{u.reason}</span>}
                {u.status === "ingested" && u.file_id && !u.pending_intent_id && <ChooseProfile fileId={u.file_id} onChoose={chooseProfile} />}
                {isSettled(u.status) && (
                  <button class="muted" onClick={() => (store.remove(u.upload_id), setUploads(store.list(session.tenant)))}>
                    clear
                  </button>
                )}
              </li>
            ))}
          </ul>
        </section>
        <section>
          <h2>Pending intents of the tenant</h2>
          <ul class="rows" data-testid="pending-intents">
            {pending.length === 0 && <li class="muted">No pending intents.</li>}
            {pending.map((i) => (
              <li data-testid="pending-intent" data-intent-id={i.intent_id} key={i.intent_id}>
                <span>{String(i.context["ingestion_profile"] ?? "")}</span>
                <span data-file-id={i.target_artifact_id ?? ""}>{i.target_artifact_id ? fileName(i.target_artifact_id) : `upload ${i.upload_id}`}</span>
                <span class="muted">{i.target_artifact_id}</span>
                <span class="muted">{new Date(i.created_at).toLocaleString()}</span>
                <button data-testid="resume-intent" disabled={!i.target_artifact_id} onClick={() => resumeIntent(i)}>
                  Resume
                </button>
                <button data-testid="cancel-intent" onClick={() => cancelIntent(i)}>
                  Cancel
                </button>
              </li>
            ))}
          </ul>
        </section>
        <section>
          <h2>Executions</h2>
          <ul class="rows" data-testid="executions">
            {Object.entries(executions).map(([id, t]) => (
              <li data-testid="execution-row" data-execution-id={id} key={id}>
                <span>{t.label}</span>
                <span data-testid="execution-status" class={`word ${t.execution.status}`}>
                  {t.execution.status}
                </span>
                <span class="muted" data-testid="execution-stages">
                  {t.execution.stages.map((s) => s.stage).join(" → ")}
                </span>
                {t.execution.error && <span>{t.execution.error}</span>}
              </li>
            ))}
          </ul>
        </section>
        <Journeys files={artifacts} refreshTick={refreshTick} onError={onError} onChanged={refresh} />
        <Partners refreshTick={refreshTick} onError={onError} onOpen={select} />
      </div>
      <div>
        <section>
          <h2>Artifacts</h2>
          <ul class="rows" data-testid="artifact-list">
            {artifacts.length === 0 && <li class="muted">No artifacts.</li>}
            {artifacts.map((a) => (
              <li key={a.artifact_id}>
                <button data-testid="artifact-item" data-artifact-id={a.artifact_id} data-artifact-type={a.artifact_type} onClick={() => select(a.artifact_id)}>
                  {artifactLabel(a)}
                </button>
                <span class="muted">{a.artifact_type}</span>
                <span class={`word ${a.lifecycle_state}`}>{a.lifecycle_state}</span>
              </li>
            ))}
          </ul>
          <button data-testid="first-page" disabled={pageTokens.length === 1} onClick={() => setPageTokens([undefined])}>
            First page
          </button>{" "}
          <button data-testid="next-page" disabled={!nextToken} onClick={() => nextToken && setPageTokens((t) => [...t, nextToken])}>
            Next page
          </button>{" "}
          <button onClick={refresh}>Refresh</button>
        </section>
        {selected && (
          <ArtifactDetail key={selected} artifactId={selected} refreshTick={refreshTick} onError={onError} onChanged={refresh} onChoose={chooseProfile} onClose={() => select(null)} onOpen={select} />
        )}
      </div>
    </main>
  );
}

function ChooseProfile({ fileId, onChoose }: { fileId: string; onChoose: (fileId: string, p: IngestionProfile) => void }) {
  const [chosen, setChosen] = useState<IngestionProfile>("structured");
  return (
    <span>
      <select data-testid="later-profile-select" value={chosen} onChange={(e) => setChosen(e.currentTarget.value as IngestionProfile)}>
        {PROFILES.map((p) => (
          <option value={p}>{p}</option>
        ))}
      </select>
      <button data-testid="choose-profile" onClick={() => onChoose(fileId, chosen)}>
        Choose profile
      </button>
    </span>
  );
}

function ArtifactDetail(props: {
  artifactId: string;
  refreshTick: number;
  onError: (e: string | null) => void;
  onChanged: () => void;
  onChoose: (fileId: string, p: IngestionProfile) => void;
  onClose: () => void;
  onOpen: (artifactId: string) => void;
}) {
  const [artifact, setArtifact] = useState<ArtifactWithPayload | null>(null);
  const [regenerable, setRegenerable] = useState<string | null>(null);
  const [lineage, setLineage] = useState<LineageChain | null>(null);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [busy, setBusy] = useState(false);
  const { artifactId, refreshTick, onError, onChanged } = props;

  const previewed = useRef(false);
  useEffect(() => {
    const path = { artifact_id: artifactId };
    // The payload (a signed URL, or the content itself) is read once; later refreshes read the document only.
    const withPayload = !previewed.current;
    previewed.current = true;
    unwrap(api().GET("/v1/artifacts/{artifact_id}", { params: { path, query: { include_payload: withPayload } } }))
      .then(async (a) => {
        setArtifact((before) => ({ ...a, payload: a.payload ?? before?.payload }));
        if (withPayload) setPreview(await loadPreview(a));
      })
      .catch(async (err) => {
        if (withPayload && expiredButRegenerable(err)) {
          // The payload expired but its recorded intent can rebuild it: show the artifact and offer that.
          setRegenerable(message(err));
          setArtifact(await unwrap(api().GET("/v1/artifacts/{artifact_id}", { params: { path } })).catch(() => null));
          return;
        }
        previewed.current = false;
        onError(message(err));
      });
    unwrap(api().GET("/v1/artifacts/{artifact_id}/lineage", { params: { path } }))
      .then(setLineage)
      .catch(() => setLineage(null));
  }, [artifactId, refreshTick, onError]);

  const save = async () => {
    setBusy(true);
    try {
      const saved = await submitIntent("save_materialization", { artifact_id: artifactId }, {});
      setArtifact((a) => (a ? { ...a, ...saved.artifact } : a));
      onChanged();
    } catch (err) {
      onError(message(err));
    } finally {
      setBusy(false);
    }
  };
  const saveAll = async () => {
    setBusy(true);
    try {
      const saved = await saveWithSources(artifactId, lineage?.chain);
      setArtifact((a) => (a ? { ...a, ...saved.artifact } : a));
      onChanged();
    } catch (err) {
      onError(message(err));
    } finally {
      setBusy(false);
    }
  };
  const regenerate = async () => {
    setBusy(true);
    try {
      const accepted = await unwrap(api().POST("/v1/artifacts/{artifact_id}/regenerate", { params: { path: { artifact_id: artifactId } } }));
      const done = await trackExecution(accepted.execution_id);
      const rebuilt = done.result?.artifact_id;
      if (done.status !== "completed" || typeof rebuilt !== "string") throw new Error(done.error ?? `Regeneration ${done.status}`);
      onChanged();
      props.onOpen(rebuilt);
    } catch (err) {
      onError(message(err));
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    setBusy(true);
    try {
      await unwrap(api().DELETE("/v1/artifacts/{artifact_id}", { params: { path: { artifact_id: artifactId } } }));
      onChanged();
    } catch (err) {
      onError(message(err));
    } finally {
      setBusy(false);
    }
  };

  if (!artifact) return <section class="muted">Loading {artifactId}…</section>;
  const state = artifact.lifecycle_state;
  const sources = unsavedSources(lineage?.chain);
  return (
    <section data-testid="artifact-detail" data-artifact-id={artifact.artifact_id}>
      <h2>
        {artifactLabel(artifact)} <span class="muted">{artifact.artifact_type}</span>
      </h2>
      <p>
        State: <span data-testid="artifact-state" class={`word ${state}`}>{state}</span>{" "}
        <span class="muted">payload {artifact.payload_state}</span>
      </p>
      <p>
        <button data-testid="save-button" disabled={busy || state !== "PENDING"} onClick={save}>
          Save as record
        </button>{" "}
        {state === "PENDING" && sources.length > 0 && (
          <>
            <button data-testid="save-with-source" disabled={busy} onClick={saveAll} title={`Also saves ${sources.map((e) => e.artifact_id).join(", ")}`}>
              Save with its source
            </button>{" "}
          </>
        )}
        <button data-testid="delete-button" disabled={busy || state === "DELETED"} onClick={remove}>
          Delete
        </button>{" "}
        <button onClick={props.onClose}>Close</button>
      </p>
      {artifact.artifact_type === "file" && state !== "DELETED" && <ChooseProfile fileId={artifact.artifact_id} onChoose={props.onChoose} />}
      {state === "PENDING" && sources.length > 0 && (
        <p class="muted" data-testid="source-not-saved">
          Its source {sources.map((e) => e.artifact_id).join(", ")} is still working material: a record cannot rest on it, so save it with its source.
        </p>
      )}
      {regenerable && (
        <p data-testid="payload-expired">
          <span class="muted">{regenerable}</span>{" "}
          <button data-testid="regenerate-button" disabled={busy} onClick={regenerate}>
            Regenerate
          </button>
        </p>
      )}
      {preview && <PreviewView preview={preview} />}
      <h3>Lineage</h3>
      <ol data-testid="lineage">
        {lineage?.chain.map((entry) => (
          <li data-testid="lineage-entry" data-artifact-id={entry.artifact_id} key={entry.artifact_id}>
            generation {entry.generation}: {entry.artifact_type} {entry.artifact_id} ({entry.lifecycle_state})
            {entry.derived_from.length > 0 && (
              <span class="muted">
                {" "}
                from {entry.derived_from.join(", ")} by {entry.derivation_intent} run {entry.derivation_run_id}
              </span>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}
