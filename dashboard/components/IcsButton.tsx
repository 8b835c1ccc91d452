'use client';
// IcsButton.tsx — an appointment as a calendar file (.ics) for the owner's own
// calendar: fetched with the session's token in the header (GET
// /api/appointments/{id}/ics), then saved from a Blob link — the token never
// goes in a URL.
import { useState } from 'react';
import { icsFileName } from '../lib/appointments';
import type { Appointment } from '../lib/types';
import { errorText } from './FormStatus';
import { useSession } from './SessionProvider';

export function IcsButton({ appointment: a, title, timeZone }: { appointment: Appointment; title: string; timeZone?: string }) {
  const { api } = useSession();
  const [error, setError] = useState<string | null>(null);

  async function download() {
    setError(null);
    try {
      const f = await api.appointmentIcs(a.id);
      const url = URL.createObjectURL(new Blob([f.text], { type: f.type }));
      const link = document.createElement('a');
      link.href = url;
      link.download = icsFileName(a, timeZone);
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (x) {
      setError(errorText(x));
    }
  }

  return (
    <>
      <button type="button" onClick={download} aria-label={`Add ${title} to your calendar (.ics file)`}>.ics</button>
      {error && <p className="form-status error" role="alert">{error}</p>}
    </>
  );
}
