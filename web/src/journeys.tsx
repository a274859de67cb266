// Journeys: start one for a file (upload → profile → parse → approval → save), watch its steps, approve or cancel
// it, and the tenant's pending approvals (journeys that wait for a person before anything is saved).
import { useCallback, useEffect, useState } from "preact/hooks";
import { api, ApiError, PROFILES, unwrap, type Artifact, type IngestionProfile, type Schemas } from "./api/client";

export type Journey = Schemas["Journey"];
const POLL_MS = 1000;
const ACTIVE = new Set(["running", "awaiting_approval"]);

function errorText(err: unknown): string {
  return err instanceof ApiError || err instanceof Error ? err.message : String(err);
}

export function Journeys(props: { files: Artifact[]; refreshTick: number; onError: (e: string | null) => void; onChanged: () => void }) {
  const { onError, onChanged, refreshTick } = props;
  const [journeys, setJourneys] = useState<Journey[]>([]);
  const [approvals, setApprovals] = useState<Journey[]>([]);
  const [fileId, setFileId] = useState("");
  const [profile, setProfile] = useState<IngestionProfile>("structured");
  const [save, setSave] = useState<"manual" | "auto">("manual");
  const [busy, setBusy] = useState(false);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);

  useEffect(() => {
    const controller = new AbortController();
    const signal = controller.signal;
    Promise.all([
      unwrap(api().GET("/v1/journeys", { params: { query: { limit: 20 } }, signal })),
      unwrap(api().GET("/v1/journeys", { params: { query: { status: "awaiting_approval" } }, signal })),
    ])
      .then(([all, waiting]) => {
        setJourneys(all.journeys);
        setApprovals(waiting.journeys);
      })
      .catch((err) => !signal.aborted && onError(errorText(err)));
    return () => controller.abort();
  }, [tick, refreshTick, onError]);

  // Poll while any journey is still under way (its steps move on without us).
  const underway = journeys.some((j) => ACTIVE.has(j.status));
  useEffect(() => {
    if (!underway) return;
    const timer = setInterval(reload, POLL_MS);
    return () => clearInterval(timer);
  }, [underway, reload]);

  const start = async (event: Event) => {
    event.preventDefault();
    if (!fileId) return;
    setBusy(true);
    try {
      await unwrap(api().POST("/v1/journeys", { body: { file_id: fileId, ingestion_profile: profile, save } }));
      reload();
    } catch (err) {
      onError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const act = async (journey: Journey, what: "approve" | "cancel") => {
    try {
      const path = { journey_id: journey.journey_id };
      if (what === "approve") await unwrap(api().POST("/v1/journeys/{journey_id}/approve", { params: { path } }));
      else await unwrap(api().POST("/v1/journeys/{journey_id}/cancel", { params: { path } }));
      reload();
      onChanged();
    } catch (err) {
      onError(errorText(err));
    }
  };

  const files = props.files.filter((a) => a.artifact_type === "file" && (a.lifecycle_state === "PENDING" || a.lifecycle_state === "READY"));
  return (
    <section data-testid="journeys-section">
      <h2>Journeys</h2>
      <form class="journey-start" onSubmit={start}>
        <select data-testid="journey-file-select" value={fileId} onChange={(e) => setFileId(e.currentTarget.value)}>
          <option value="">choose a file</option>
          {files.map((f) => (
            <option value={f.artifact_id} key={f.artifact_id}>
              {f.ui_name || f.filename || f.artifact_id}
            </option>
          ))}
        </select>
        <select data-testid="journey-profile-select" value={profile} onChange={(e) => setProfile(e.currentTarget.value as IngestionProfile)}>
          {PROFILES.map((p) => (
            <option value={p} key={p}>
              {p}
            </option>
          ))}
        </select>
        <select data-testid="journey-save-select" value={save} onChange={(e) => setSave(e.currentTarget.value as "manual" | "auto")}>
          <option value="manual">save after my approval</option>
          <option value="auto">save automatically</option>
        </select>
        <button data-testid="start-journey" type="submit" disabled={busy || !fileId}>
          Start journey
        </button>
      </form>
      <h3>Waiting for your approval</h3>
      <ul class="rows" data-testid="pending-approvals">
        {approvals.length === 0 && <li class="muted">Nothing waits for an approval.</li>}
        {approvals.map((j) => (
          <li data-testid="pending-approval" data-journey-id={j.journey_id} key={j.journey_id}>
            <span>{j.file_id}</span>
            <span class="muted">{j.ingestion_profile}</span>
            <span class="muted">parsed {j.artifacts.parsed_content ?? "…"}</span>
            <button data-testid="approve-journey" onClick={() => act(j, "approve")}>
              Approve and save
            </button>
            <button data-testid="cancel-journey" onClick={() => act(j, "cancel")}>
              Cancel
            </button>
          </li>
        ))}
      </ul>
      <h3>Recent journeys</h3>
      <ul class="rows" data-testid="journeys">
        {journeys.length === 0 && <li class="muted">No journeys yet.</li>}
        {journeys.map((j) => (
          <li data-testid="journey-row" data-journey-id={j.journey_id} key={j.journey_id}>
            <span data-testid="journey-status" class={`word ${j.status}`}>
              {j.status}
            </span>
            <span class="muted">{j.file_id ?? j.upload_id}</span>
            <ol class="steps" data-testid="journey-steps">
              {j.steps.map((s) => (
                <li data-testid="journey-step" data-step={s.name} data-status={s.status} key={s.name} class={`word ${s.status}`}>
                  {s.name}: {s.status}
                </li>
              ))}
            </ol>
            {j.error && <span>{j.error}</span>}
            {ACTIVE.has(j.status) && (
              <button data-testid="cancel-journey" onClick={() => act(j, "cancel")}>
                Cancel
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
