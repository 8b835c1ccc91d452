'use client';
// SessionProvider.tsx — who is logged in: the token (lib/session.ts), the API
// client bound to it, log in and log out. A 401 from the API or the feed, or a
// log-out in another tab, ends the session everywhere. Wraps the whole app (app/layout.tsx).
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react';
import { createApi, type Api } from '../lib/api';
import { clearSession, loadSession, saveSession, SESSION_STORAGE_KEY, type Session } from '../lib/session';

interface SessionContext {
  /** undefined while reading storage (first render), null when logged out. */
  session: Session | null | undefined;
  api: Api;
  logIn: (token: string) => void;
  logOut: (why?: string) => void;
  /** Why the last session ended, shown on the login page. */
  endedBecause: string | null;
}

const Ctx = createContext<SessionContext | null>(null);

export function SessionProvider({ children }: { children: React.ReactNode }) {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [endedBecause, setEndedBecause] = useState<string | null>(null);
  const tokenRef = useRef<string | null>(null);
  tokenRef.current = session?.token ?? null;

  const logOut = useCallback((why?: string) => {
    clearSession(window.localStorage);
    setEndedBecause(why ?? null);
    setSession(null);
  }, []);

  const api = useMemo(() => createApi({
    getToken: () => tokenRef.current,
    onUnauthorized: () => logOut('Your session ended. Please log in again.'),
  }), [logOut]);

  useEffect(() => {
    setSession(loadSession(window.localStorage));
    const onStorage = (e: StorageEvent) => {
      if (e.key === SESSION_STORAGE_KEY || e.key === null) setSession(loadSession(window.localStorage));
    };
    window.addEventListener('storage', onStorage);
    return () => window.removeEventListener('storage', onStorage);
  }, []);

  const logIn = useCallback((token: string) => {
    const s = saveSession(window.localStorage, token);
    tokenRef.current = s?.token ?? null;
    setEndedBecause(null);
    setSession(s);
  }, []);

  const value = useMemo(() => ({ session, api, logIn, logOut, endedBecause }), [session, api, logIn, logOut, endedBecause]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useSession(): SessionContext {
  const c = useContext(Ctx);
  if (!c) throw new Error('useSession outside SessionProvider');
  return c;
}
