'use client';
// RequireSession.tsx — guards the logged-in screens: sends a visitor without a
// session to /login and renders nothing until the session is known.
import { useEffect } from 'react';
import { useRouter } from 'next/navigation';
import { useSession } from './SessionProvider';

export function RequireSession({ children }: { children: React.ReactNode }) {
  const { session } = useSession();
  const router = useRouter();
  useEffect(() => {
    if (session === null) router.replace('/login');
  }, [session, router]);
  if (!session) return <p className="page-loading" aria-live="polite">Loading…</p>;
  return <>{children}</>;
}
