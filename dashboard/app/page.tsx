'use client';
// page.tsx — "/": sends the visitor where they belong: log in, the onboarding
// wizard (until it is finished), or the conversations. The edge (and offline the
// service worker) answers other paths with this page too: an alert's link to a
// conversation (/conversations/<id>) goes on to its thread.
import { useEffect } from 'react';
import { useRouter } from 'next/navigation';
import { useSession } from '../components/SessionProvider';
import { alertLinkTarget } from '../lib/links';

export default function Home() {
  const { session, api } = useSession();
  const router = useRouter();
  useEffect(() => {
    if (session === undefined) return;
    if (session === null) { router.replace('/login'); return; }
    const conversations = alertLinkTarget(window.location.pathname) ?? '/conversations';
    api.me().then(({ user }) => router.replace(user.preferences?.onboarded ? conversations : '/onboarding'))
      .catch(() => router.replace('/login'));
  }, [session, api, router]);
  return <p className="page-loading">Loading…</p>;
}
