'use client';
// appointments/page.tsx — upcoming appointments as a list, or a day / week view
// in the business's timezone; cancel from either. Live from the feed.
import { useState } from 'react';
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
  const all = Object.values(state.appointments);
  const now = api.serverNow();
  const upcoming = all.filter((a) => a.status === 'booked' && Date.parse(a.ends_at) >= now).sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at));
  const dates = viewDates(start, view === 'week' ? 7 : 1);
  const byDay = groupByDay(all, dates, tz);

  return (
    <div className="page wide">
      <h1>Appointments</h1>
      <div className="segmented" role="group" aria-label="View">
        {(['upcoming', 'day', 'week'] as View[]).map((v) => (
          <button key={v} type="button" aria-pressed={view === v} onClick={() => setView(v)}>{v === 'upcoming' ? 'Upcoming' : v === 'day' ? 'Day' : 'Week'}</button>
        ))}
      </div>
      {view === 'upcoming' ? (
        upcoming.length === 0 ? <ListEmpty>No upcoming appointments.</ListEmpty> : (
          <ul className="appts">{upcoming.map((a) => (
            <AppointmentItem key={a.id} appointment={a} timeZone={tz} />
          ))}</ul>
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
                  <ul className="appts">{byDay[d].map((a) => <AppointmentItem key={a.id} appointment={a} timeZone={tz} />)}</ul>
                )}
              </section>
            ))}
          </div>
        </>
      )}
    </div>
  );
}
