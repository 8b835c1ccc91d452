// session.ts — where the login token lives in the browser. localStorage, not
// sessionStorage: the owner works from a phone between jobs and must not log in
// again for every visit; both are equally readable by a script on the page, so
// the real protections are no third-party script and React's escaping. Tokens
// past their `exp` are dropped on read; logging out in one tab ends all tabs.
const KEY = 'nmc.session';

export interface Session { token: string; businessId: string; userId: string; expiresAt: number }

/** The claims of a JWT, without checking its signature (the server does that). */
export function decodeToken(token: string): Session | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = JSON.parse(typeof atob === 'function' ? atob(b64) : Buffer.from(b64, 'base64').toString('utf8'));
    if (typeof json.exp !== 'number' || typeof json.business_id !== 'string') return null;
    return { token, businessId: json.business_id, userId: String(json.sub), expiresAt: json.exp * 1000 };
  } catch {
    return null;
  }
}

export function loadSession(storage: Pick<Storage, 'getItem' | 'removeItem'>, now = Date.now()): Session | null {
  const token = storage.getItem(KEY);
  if (!token) return null;
  const s = decodeToken(token);
  if (!s || s.expiresAt <= now) {
    storage.removeItem(KEY);
    return null;
  }
  return s;
}

export function saveSession(storage: Pick<Storage, 'setItem'>, token: string): Session | null {
  const s = decodeToken(token);
  if (s) storage.setItem(KEY, token);
  return s;
}

export function clearSession(storage: Pick<Storage, 'removeItem'>): void {
  storage.removeItem(KEY);
}

export const SESSION_STORAGE_KEY = KEY;
