// Trading partners and what we answered them: the tenant's partners (interchange ids, standard, the acknowledgements
// each wants, its AS2 id), our AS2 identity to hand to them, and every TA1, 997/999 and CONTRL with its delivery.
// Partners are registered by integrations and `ingestctl partners add`; this view shows them.
import { useEffect, useState } from "preact/hooks";
import { api, ApiError, unwrap, type Schemas } from "./api/client";

type Partner = Schemas["Partner"];
type Acknowledgement = Schemas["Acknowledgement"];
type Identity = Schemas["ExchangeIdentity"];

function errorText(err: unknown): string {
  return err instanceof ApiError || err instanceof Error ? err.message : String(err);
}

export function Partners(props: { refreshTick: number; onError: (e: string | null) => void; onOpen: (artifactId: string) => void }) {
  const { refreshTick, onError, onOpen } = props;
  const [partners, setPartners] = useState<Partner[]>([]);
  const [acks, setAcks] = useState<Acknowledgement[]>([]);
  const [identity, setIdentity] = useState<Identity | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    const signal = controller.signal;
    Promise.all([
      unwrap(api().GET("/v1/partners", { signal })),
      unwrap(api().GET("/v1/acknowledgements", { params: { query: {} }, signal })),
    ])
      .then(([p, a]) => {
        setPartners(p.partners);
        setAcks(a.acknowledgements);
      })
      .catch((err) => !signal.aborted && onError(errorText(err)));
    // Our identity needs the exchange's keys; where it is not set up the view still lists partners.
    unwrap(api().GET("/v1/as2/identity", { signal }))
      .then(setIdentity)
      .catch(() => !signal.aborted && setIdentity(null));
    return () => controller.abort();
  }, [tick, refreshTick, onError]);

  return (
    <section data-testid="partners-section">
      <h2>
        Partners{" "}
        <button data-testid="partners-refresh" onClick={() => setTick((t) => t + 1)}>
          Refresh
        </button>
      </h2>
      {identity && (
        <p class="muted" data-testid="as2-identity">
          Partners send to AS2 id <code>{identity.as2_id}</code>
          {identity.url ? (
            <>
              {" "}
              at <code>{identity.url}</code>
            </>
          ) : null}
        </p>
      )}
      <ul class="rows" data-testid="partners">
        {partners.length === 0 && <li class="muted">No trading partners yet (ingestctl partners add).</li>}
        {partners.map((p) => (
          <li data-testid="partner-row" data-partner-id={p.partner_id} key={p.partner_id}>
            <span>{p.name}</span>
            <span class="muted">{p.partner_id}</span>
            <span class="muted">{p.standard}</span>
            <span class="muted">{p.interchange_ids.map((i) => `${i.qualifier}:${i.id}`).join(", ")}</span>
            <span data-testid="partner-acks">{p.acknowledgements.join(", ")}</span>
            <span class="muted">{p.as2 ? `AS2 ${p.as2.as2_id}` : "no AS2"}</span>
          </li>
        ))}
      </ul>
      <h3>Acknowledgements sent</h3>
      <ul class="rows" data-testid="acknowledgements">
        {acks.length === 0 && <li class="muted">No acknowledgements yet.</li>}
        {acks.map((a) => (
          <li data-testid="ack-row" data-kind={a.kind} data-status={a.status} key={a.ack_id}>
            <span class="muted">{a.created_at.slice(0, 19).replace("T", " ")}</span>
            <span>{a.partner_id}</span>
            <span data-testid="ack-kind">{a.kind}</span>
            <span class="muted">#{a.interchange_control_number}</span>
            <span data-testid="ack-status" class={`word ${a.status}`}>
              {a.status}
              {a.duplicate ? " (duplicate)" : ""}
            </span>
            <span class="muted" data-testid="ack-delivery">
              {a.delivery}
            </span>
            <button data-testid="ack-open" onClick={() => onOpen(a.artifact_id)}>
              Open
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
