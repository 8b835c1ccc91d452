'use client';
// page.tsx — "/": sends the visitor where they belong: log in, the onboarding
// wizard (until it is finished), or the conversations.
import { useEffect } from 'react';
import { useRouter } from 'next/navigation';
import { useSession } from '../components/SessionProvider';

export default function Home() {
  const { session, api } = useSession();
  const router = useRouter();
  useEffect(() => {
    if (session === undefined) return;
    if (session === null) { router.replace('/login'); return; }
    api.me().then(({ user }) => router.replace(user.preferences?.onboarded ? '/conversations' : '/onboarding'))
      .catch(() => router.replace('/login'));
  }, [session, api, router]);
  return <p className="page-loading">Loading…</p>;
}
