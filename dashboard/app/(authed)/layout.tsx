'use client';
// (authed)/layout.tsx — every logged-in screen, the onboarding wizard included:
// guarded by the session and fed by one live connection that stays up while
// the owner moves between screens.
import { LiveProvider } from '../../components/LiveProvider';
import { RequireSession } from '../../components/RequireSession';

export default function AuthedLayout({ children }: { children: React.ReactNode }) {
  return (
    <RequireSession>
      <LiveProvider>{children}</LiveProvider>
    </RequireSession>
  );
}
