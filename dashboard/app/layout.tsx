// layout.tsx — the document around every page: language, viewport for phones,
// the stylesheet and the session. Everything below runs in the browser: the
// export has no server.
import type { Metadata, Viewport } from 'next';
import { SessionProvider } from '../components/SessionProvider';
import './globals.css';

export const metadata: Metadata = {
  title: 'NeverMissCall',
  description: 'Missed calls become texts, leads and booked jobs.',
};

export const viewport: Viewport = { width: 'device-width', initialScale: 1, themeColor: '#0b5fff' };

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>
        <SessionProvider>{children}</SessionProvider>
      </body>
    </html>
  );
}
