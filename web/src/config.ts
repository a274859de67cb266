// Runtime configuration. Production's static hosting serves config.json beside index.html (written by Terraform with
// the API's origin and the Identity Platform settings); locally there is none, so the app talks to the gateway that
// serves it and signs in through the dev issuer.

export type AuthMode = "dev" | "identity-platform";

export interface AppConfig {
  apiBase: string;
  authMode: AuthMode;
  identityPlatformApiKey?: string;
}

export const DEFAULT_CONFIG: AppConfig = { apiBase: "", authMode: "dev" };

export async function loadConfig(): Promise<AppConfig> {
  const response = await fetch(`${import.meta.env.BASE_URL}config.json`, { cache: "no-cache" });
  if (response.status === 404) return DEFAULT_CONFIG;
  if (!response.ok) throw new Error(`config.json answered ${response.status}`);
  const loaded = (await response.json()) as Partial<AppConfig>;
  return { ...DEFAULT_CONFIG, ...loaded, apiBase: (loaded.apiBase ?? "").replace(/\/$/, "") };
}
