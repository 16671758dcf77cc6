// The login session: tokens, silent refresh, and a fetch that retries once after a refresh.
// One refresh at a time: concurrent 401s wait for the same refresh (refresh tokens rotate, and
// reusing a rotated one revokes the whole family).

export interface Tokens {
  access_token: string;
  refresh_token: string;
  expires_at: number; // epoch ms
}

const KEY = "medianest.session";
const COOKIE = "medianest_access";
let tokens: Tokens | null = load();
let refreshing: Promise<boolean> | null = null;
const lostListeners = new Set<() => void>();

function load(): Tokens | null {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Tokens) : null;
  } catch {
    return null;
  }
}

function save(next: Tokens | null): void {
  tokens = next;
  if (next) {
    localStorage.setItem(KEY, JSON.stringify(next));
    // Lets <img>/<video> requests carry the token when read-auth is on (the web server reads it).
    const maxAge = Math.max(1, Math.floor((next.expires_at - Date.now()) / 1000));
    document.cookie = `${COOKIE}=${next.access_token}; path=/api/; max-age=${maxAge}; samesite=strict`;
  } else {
    localStorage.removeItem(KEY);
    document.cookie = `${COOKIE}=; path=/api/; max-age=0; samesite=strict`;
  }
}

export function hasSession(): boolean {
  return tokens !== null;
}

export function onSessionLost(listener: () => void): () => void {
  lostListeners.add(listener);
  return () => lostListeners.delete(listener);
}

function lose(): void {
  save(null);
  lostListeners.forEach((l) => l());
}

interface TokenBody {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

function accept(body: TokenBody): void {
  save({
    access_token: body.access_token,
    refresh_token: body.refresh_token,
    expires_at: Date.now() + body.expires_in * 1000,
  });
}

export class LoginError extends Error {}

export async function login(username: string, password: string): Promise<void> {
  const res = await fetch("/api/auth/auth/token", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ username, password, grant_type: "password" }),
  });
  if (!res.ok) {
    const detail = await res.json().then((b: { detail?: unknown }) => b.detail).catch(() => null);
    if (res.status === 429) throw new LoginError("Too many attempts; wait a moment and try again.");
    throw new LoginError(typeof detail === "string" ? detail : "Wrong username or password.");
  }
  accept((await res.json()) as TokenBody);
}

export async function logout(): Promise<void> {
  const current = tokens;
  save(null);
  if (current) {
    await fetch("/api/auth/auth/logout", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${current.access_token}` },
      body: JSON.stringify({ refresh_token: current.refresh_token }),
    }).catch(() => undefined);
  }
}

async function doRefresh(): Promise<boolean> {
  const current = tokens;
  if (!current) return false;
  try {
    const res = await fetch("/api/auth/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: current.refresh_token }),
    });
    if (res.status >= 500) return false; // auth is down: keep the session, try again later
    if (!res.ok) {
      lose();
      return false;
    }
    accept((await res.json()) as TokenBody);
    return true;
  } catch {
    return false;
  }
}

export function refresh(): Promise<boolean> {
  refreshing ??= doRefresh().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** A valid access token (refreshed a minute before it expires), or null when logged out. */
export async function accessToken(): Promise<string | null> {
  if (tokens && tokens.expires_at - Date.now() < 60_000) await refresh();
  return tokens?.access_token ?? null;
}

/** fetch with the bearer token; on 401 refresh once and retry; a lost session notifies listeners. */
export async function authFetch(input: Request): Promise<Response> {
  const retry = input.clone();
  const token = await accessToken();
  if (token) input.headers.set("Authorization", `Bearer ${token}`);
  const res = await fetch(input);
  if (res.status !== 401 || !tokens) return res;
  if (!(await refresh())) {
    if (!tokens) lose();
    return res;
  }
  retry.headers.set("Authorization", `Bearer ${tokens.access_token}`);
  const again = await fetch(retry);
  if (again.status === 401) lose();
  return again;
}

// Keep the session alive while a tab is open.
setInterval(() => {
  if (tokens && tokens.expires_at - Date.now() < 120_000) void refresh();
}, 30_000);
