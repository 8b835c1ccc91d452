// layout.tsx — the document around every page: language, viewport for phones,
// the web app manifest and icons (public/), the stylesheet, the session and the
// service worker. Everything below runs in the browser: the export has no server.
import type { Metadata, Viewport } from 'next';
import { ServiceWorkerRegistration } from '../components/ServiceWorkerRegistration';
import { SessionProvider } from '../components/SessionProvider';
import './globals.css';

export const metadata: Metadata = {
  title: 'NeverMissCall',
  description: 'Missed calls become texts, leads and booked jobs.',
  manifest: '/manifest.webmanifest',
  icons: { icon: '/icons/icon-192.png', apple: '/icons/apple-touch-icon.png' },
  appleWebApp: { capable: true, title: 'NeverMissCall', statusBarStyle: 'default' },
};

export const viewport: Viewport = { width: 'device-width', initialScale: 1, themeColor: '#0b5fff' };

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>
        <SessionProvider>{children}</SessionProvider>
        <ServiceWorkerRegistration />
      </body>
    </html>
  );
}
