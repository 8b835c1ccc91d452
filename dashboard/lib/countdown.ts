// countdown.ts — the human window's countdown: how long the owner has left to
// answer before the assistant does, from the conversation's deadline and the
// server's clock. Pure functions, used by components/Countdown.tsx.

export interface CountdownView {
  /** Whole seconds left, never negative. */
  seconds: number;
  /** "0:42" — fixed width for the digits the window can show. */
  label: string;
  expired: boolean;
  /** The last 15 seconds: shown in the alarm colour. */
  urgent: boolean;
}

export const URGENT_SECONDS = 15;

export function remainingMs(deadline: string | null | undefined, serverNow: number): number | null {
  if (!deadline) return null;
  const t = Date.parse(deadline);
  if (Number.isNaN(t)) return null;
  return Math.max(0, t - serverNow);
}

export function formatSeconds(total: number): string {
  const s = Math.max(0, Math.floor(total));
  const m = Math.floor(s / 60);
  const r = s % 60;
  return `${m}:${r.toString().padStart(2, '0')}`;
}

export function countdown(deadline: string | null | undefined, serverNow: number): CountdownView | null {
  const ms = remainingMs(deadline, serverNow);
  if (ms === null) return null;
  // Round up: "0:01" stays on screen until the deadline has really passed.
  const seconds = Math.ceil(ms / 1000);
  return { seconds, label: formatSeconds(seconds), expired: ms === 0, urgent: seconds <= URGENT_SECONDS };
}

/** Milliseconds until the label next changes, so a timer ticks once per visible change. */
export function msUntilNextTick(deadline: string | null | undefined, serverNow: number): number | null {
  const ms = remainingMs(deadline, serverNow);
  if (ms === null || ms === 0) return null;
  const frac = ms % 1000;
  return frac === 0 ? 1000 : frac;
}
