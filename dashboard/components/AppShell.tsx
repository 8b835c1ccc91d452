'use client';
// AppShell.tsx — the frame of the logged-in screens: the business name, the
// navigation (a bottom tab bar on phones, a top bar on desktops), the feed's
// connection bar, the sandbox banner, alerts, and log out.
import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { AlertList } from './AlertList';
import { ConnectionBanner } from './ConnectionBanner';
import { useLive } from './LiveProvider';
import { SandboxBanner } from './SandboxBanner';
import { useSession } from './SessionProvider';

const NAV = [
  { href: '/conversations', label: 'Conversations', short: 'Chats' },
  { href: '/leads', label: 'Leads', short: 'Leads' },
  { href: '/appointments', label: 'Appointments', short: 'Calendar' },
  { href: '/calls', label: 'Calls', short: 'Calls' },
  { href: '/settings', label: 'Settings', short: 'Settings' },
  { href: '/status', label: 'Status', short: 'Status' },
];

export function AppShell({ children }: { children: React.ReactNode }) {
  const { feedStatus, sandbox, business, state } = useLive();
  const { logOut } = useSession();
  const path = usePathname();
  const waiting = Object.values(state.conversations).filter((c) => c.state === 'open' && c.mode === 'human_window').length;
  return (
    <div className="shell">
      <a className="skip" href="#main">Skip to content</a>
      <header className="topbar">
        <span className="brand">{business?.name ?? 'NeverMissCall'}</span>
        <button type="button" className="link logout" onClick={() => logOut()}>Log out</button>
      </header>
      <nav className="nav" aria-label="Main">
        {NAV.map((n) => (
          <Link key={n.href} href={n.href} aria-label={n.label} aria-current={path?.startsWith(n.href) ? 'page' : undefined}>
            <span className="nav-long" aria-hidden="true">{n.label}</span>
            <span className="nav-short" aria-hidden="true">{n.short}</span>
            {n.href === '/conversations' && waiting > 0 && <span className="nav-count" aria-hidden="true">{waiting}</span>}
          </Link>
        ))}
      </nav>
      <ConnectionBanner status={feedStatus} />
      {sandbox && <SandboxBanner />}
      <AlertList />
      <main id="main" className="main">{children}</main>
    </div>
  );
}
