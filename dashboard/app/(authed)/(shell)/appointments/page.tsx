'use client';
// appointments/page.tsx — the owner's schedule: upcoming appointments (date and
// time in the business's timezone), or a day / week view; book one by hand,
// move one (a new date and time, or a tap on a free time of the day), cancel
// one, download its calendar file — from the list or the views alike. What each
// change did (and whether the customer was texted) is said at the top. Live
// from the feed (appointment.created, .updated, .cancelled).
import { useState } from 'react';
import { AppointmentForm } from '../../../../components/AppointmentForm';
import { AppointmentItem } from '../../../../components/AppointmentItem';
import { ListEmpty } from '../../../../components/ListEmpty';
import { useLive } from '../../../../components/LiveProvider';
import { useSession } from '../../../../components/SessionProvider';
import { groupByDay, localDate, shiftDate, viewDates } from '../../../../lib/calendar';
import { dayLabel } from '../../../../lib/format';

type View = 'upcoming' | 'day' | 'week';

export default function AppointmentsPage() {
  const { state, business } = useLive();
  const { api } = useSession();
  const tz = business?.timezone;
  const [view, setView] = useState<View>('upcoming');
  const [start, setStart] = useState(() => localDate(Date.now(), tz));
  const [creating, setCreating] = useState(false);
  const [summary, setSummary] = useState<string | null>(null);

  const all = Object.values(state.appointments);
  const now = api.serverNow();
  const upcoming = all.filter((a) => a.status === 'booked' && Date.parse(a.ends_at) >= now).sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at));
  const dates = viewDates(start, view === 'week' ? 7 : 1);
  const byDay = groupByDay(all, dates, tz);
  const done = (s: string) => { setCreating(false); setSummary(s); };
  const item = (a: (typeof all)[number]) => <AppointmentItem key={a.id} appointment={a} timeZone={tz} onDone={done} />;

  return (
    <div className="page wide">
      <h1>Appointments</h1>
      <p className="form-status ok appt-summary" role="status" aria-live="polite">{summary ?? '\u00a0'}</p>
      {creating
        ? <AppointmentForm onDone={done} onClose={() => setCreating(false)} />
        : <button type="button" className="primary appt-new" onClick={() => { setSummary(null); setCreating(true); }}>New appointment</button>}
      <div className="segmented" role="group" aria-label="View">
        {(['upcoming', 'day', 'week'] as View[]).map((v) => (
          <button key={v} type="button" aria-pressed={view === v} onClick={() => setView(v)}>{v === 'upcoming' ? 'Upcoming' : v === 'day' ? 'Day' : 'Week'}</button>
        ))}
      </div>
      {view === 'upcoming' ? (
        upcoming.length === 0 ? <ListEmpty>No upcoming appointments.</ListEmpty> : (
          <ul className="appts appts-upcoming">{upcoming.map(item)}</ul>
        )
      ) : (
        <>
          <div className="cal-nav">
            <button type="button" onClick={() => setStart(shiftDate(start, view === 'week' ? -7 : -1))} aria-label="Earlier">←</button>
            <button type="button" onClick={() => setStart(localDate(Date.now(), tz))}>Today</button>
            <button type="button" onClick={() => setStart(shiftDate(start, view === 'week' ? 7 : 1))} aria-label="Later">→</button>
          </div>
          <div className={`cal cal-${view}`}>
            {dates.map((d) => (
              <section key={d} className="cal-day" aria-label={dayLabel(`${d}T12:00:00Z`, 'UTC')}>
                <h2>{dayLabel(`${d}T12:00:00Z`, 'UTC')}</h2>
                {byDay[d].length === 0 ? <p className="hint">Nothing booked</p> : (
                  <ul className="appts">{byDay[d].map(item)}</ul>
                )}
              </section>
            ))}
          </div>
        </>
      )}
    </div>
  );
}
