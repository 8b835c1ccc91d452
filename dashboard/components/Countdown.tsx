'use client';
// Countdown.tsx — the seconds left in the human window, ticking once per
// visible change against the server's clock (lib/countdown.ts). Fixed-width
// digits so nothing around it moves as it counts.
import { useEffect, useState } from 'react';
import { countdown, msUntilNextTick } from '../lib/countdown';

export function Countdown({ deadline, serverNow, compact }: { deadline: string | null; serverNow: () => number; compact?: boolean }) {
  const [, setTick] = useState(0);
  const view = countdown(deadline, serverNow());
  useEffect(() => {
    const wait = msUntilNextTick(deadline, serverNow());
    if (wait === null) return;
    const t = setTimeout(() => setTick((n) => n + 1), wait + 5);
    return () => clearTimeout(t);
  });
  if (!view) return null;
  // On a phone the words after "left" drop out, so the thread's action bar stays one line.
  const text = compact ? view.label : view.expired ? 'AI answering' : <>{view.label} left<span className="wide-only"> to answer</span></>;
  return (
    <span className={`countdown${view.urgent ? ' urgent' : ''}`} data-seconds={view.seconds} aria-label={`${view.seconds} seconds left before the assistant answers`}>
      {text}
    </span>
  );
}
