'use client';
// (shell)/layout.tsx — the screens with navigation (all but the wizard).
import { AppShell } from '../../../components/AppShell';

export default function ShellLayout({ children }: { children: React.ReactNode }) {
  return <AppShell>{children}</AppShell>;
}
