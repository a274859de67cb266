// Sign-in. Locally the dev issuer of the gateway that serves the app mints a token for a tenant and a user (as
// `python -m dev.token` does); in production Identity Platform signs the person in (email and password, in the
// tenant given), through its REST API, and its ID token is the bearer token the API verifies.
import type { AppConfig } from "./config";

export interface Session {
  tenant: string;
  user: string;
  token: string;
}

const SESSION_KEY = "content-ingestion.session.v1";

export async function signIn(config: AppConfig, tenant: string, user: string, password = ""): Promise<Session> {
  if (!tenant.trim() || !user.trim()) throw new Error("Enter a tenant and a user to sign in.");
  if (config.authMode === "identity-platform") {
    const url = `https://identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=${encodeURIComponent(config.identityPlatformApiKey ?? "")}`;
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: user, password, tenantId: tenant, returnSecureToken: true }),
    });
    const body = (await response.json()) as { idToken?: string; error?: { message?: string } };
    if (!response.ok || !body.idToken) throw new Error(`Sign-in refused: ${body.error?.message ?? response.status}`);
    return { tenant, user, token: body.idToken };
  }
  const response = await fetch(`${import.meta.env.BASE_URL}dev-token`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ tenant, user }),
  });
  const body = (await response.json().catch(() => ({}))) as { token?: string; error?: string };
  if (!response.ok || !body.token) throw new Error(body.error ?? `Sign-in refused (${response.status})`);
  return { tenant, user, token: body.token };
}

/** The signed-in session survives a refresh of this tab (sessionStorage); a new browser signs in again. */
export function savedSession(): Session | null {
  try {
    const parsed = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? "null") as Session | null;
    return parsed && parsed.token ? parsed : null;
  } catch {
    return null;
  }
}

export function keepSession(session: Session | null): void {
  if (session) sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  else sessionStorage.removeItem(SESSION_KEY);
}
