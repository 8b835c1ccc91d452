// devices.ts — the device tokens this browser was given at login, one per
// email, kept in localStorage across logouts: with the right password a known
// device is let in even while someone guessing that email has it throttled.
const KEY = 'nmc.devices';
const MAX = 20;

type Store = Pick<Storage, 'getItem' | 'setItem'>;

function read(storage: Store): Record<string, string> {
  try {
    const v = JSON.parse(storage.getItem(KEY) ?? '{}');
    return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}

/** The device token this browser holds for an email, if any. */
export function deviceFor(storage: Store, email: string): string | null {
  const t = read(storage)[email.trim().toLowerCase()];
  return typeof t === 'string' ? t : null;
}

/** Keeps the token a login handed out (the newest MAX emails are kept). */
export function rememberDevice(storage: Store, email: string, token: string | undefined): void {
  if (!token) return;
  const all = read(storage);
  delete all[email.trim().toLowerCase()];
  all[email.trim().toLowerCase()] = token;
  const keys = Object.keys(all);
  for (const k of keys.slice(0, Math.max(0, keys.length - MAX))) delete all[k];
  storage.setItem(KEY, JSON.stringify(all));
}
