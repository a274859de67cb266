// "Save with its source": a record of fact must not rest on working material (409 SOURCE_NOT_SAVED), so a derived
// artifact whose sources are still PENDING is saved after them, the oldest ancestor first.
import { submitIntent, type LineageChain } from "./api/client";

type Entry = LineageChain["chain"][number];

/** The ancestors still PENDING, oldest first (the chain runs from the artifact back to its root). */
export function unsavedSources(chain: readonly Entry[] | undefined): Entry[] {
  if (!chain || chain.length < 2) return [];
  return chain
    .slice(1)
    .filter((e) => e.lifecycle_state === "PENDING")
    .reverse();
}

/** Saves each unsaved source, then the artifact itself; each save is idempotent, so a retry after a failure is safe. */
export async function saveWithSources(artifactId: string, chain: readonly Entry[] | undefined, onStep?: (id: string) => void) {
  for (const source of unsavedSources(chain)) {
    onStep?.(source.artifact_id);
    await submitIntent("save_materialization", { artifact_id: source.artifact_id }, {});
  }
  onStep?.(artifactId);
  return submitIntent("save_materialization", { artifact_id: artifactId }, {});
}
