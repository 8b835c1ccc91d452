// calls.ts — a call in the owner's words: what happened to it (answered, or
// missed and why: missed_reason) and what was done about it (the text
// decision, with the figures decision_reason gives, e.g. the repeat window).
// Pure; used by the call log (components/CallRow.tsx); unit-tested in
// test/calls.test.ts. The codes are the server's (sql/telephony/calls.sql).
import type { Call, Voicemail } from './types';

/** Why a call counts as missed (calls.missed_reason). */
export const MISSED_REASON: Record<string, string> = {
  'no-answer': 'nobody answered',
  busy: 'your line was busy',
  failed: 'the call could not be put through to you',
  canceled: 'the caller hung up while it rang',
  'not-bridged': 'the call was not connected to you',
  after_hours: 'after hours',
  no_forward_phone: 'no phone to ring (set a forward-to phone)',
  owner_phone: 'from your own phone',
  outage: 'taken while the system was down',
};

/** "45 s", "10 min", "2 h", "1 h 30 min", "2 days" — a span of seconds, rounded to what reads. */
export function spanWords(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86_400) {
    const h = Math.floor(s / 3600);
    const m = Math.round((s % 3600) / 60);
    return m === 0 || m === 60 ? `${m === 60 ? h + 1 : h} h` : `${h} h ${m} min`;
  }
  const d = Math.round(s / 86_400);
  return `${d} day${d === 1 ? '' : 's'}`;
}

/** Answered, ringing, or "Missed: why". */
export function callOutcome(c: Pick<Call, 'status' | 'missed_reason'>): string {
  switch (c.status) {
    case 'answered': return 'Answered';
    case 'forwarded': return 'Ringing your phone';
    case 'ringing': return 'Ringing';
    case 'missed': {
      const why = c.missed_reason ? MISSED_REASON[c.missed_reason] ?? c.missed_reason : null;
      return why ? `Missed: ${why}` : 'Missed';
    }
    default: return c.status;
  }
}

const seconds = (reason: string | null | undefined, re: RegExp): number | null => {
  const m = reason ? re.exec(reason) : null;
  return m ? Number(m[1]) : null;
};

/** What was done about the call: texted, or not texted and why, in words. '' while undecided. */
export function callDecision(c: Pick<Call, 'decision' | 'decision_reason'>): string {
  const reason = c.decision_reason ?? null;
  switch (c.decision) {
    case null:
    case undefined:
      return '';
    case 'texted':
      return 'Texted the greeting';
    case 'not_missed':
      return 'Not texted: the call was answered';
    case 'suppressed_repeat': {
      const window = seconds(reason, /repeat window (\d+) s/);
      const ago = seconds(reason, /greeting (\d+) s ago/);
      if (window === null) return 'Not texted: this number was texted a moment ago';
      return `Not texted: texted in the last ${spanWords(window)}${ago === null ? '' : ago < 45 ? ' (moments ago)' : ` (${spanWords(ago)} ago)`}`;
    }
    case 'suppressed_opted_out':
      return 'Not texted: the customer replied STOP';
    case 'suppressed_blocked':
      return 'Not texted: the number is on your block list';
    case 'suppressed_unreachable': {
      const detail = reason && /: (.+)$/.exec(reason)?.[1];
      return `Not texted: the number cannot receive texts${detail && detail !== 'unknown' ? ` (${detail})` : ''}`;
    }
    case 'suppressed_short_ring': {
      const rang = seconds(reason, /after (\d+) s/);
      const min = seconds(reason, /minimum ring time of (\d+) s/);
      return rang !== null && min !== null
        ? `Not texted: the caller hung up after ${spanWords(rang)}, before your minimum ring time of ${spanWords(min)}`
        : 'Not texted: the caller hung up too soon';
    }
    case 'suppressed_anonymous':
      return 'Not texted: no number to text back (hidden or not a phone number)';
    case 'suppressed_owner':
      return 'Not texted: the call came from your own phone';
    default:
      return reason ? `Not texted: ${reason}` : c.decision;
  }
}

/** A voicemail in words: its length and what was said ("Voicemail, 14 s: “…”"), or why there are no words yet. */
export function voicemailWords(v: Pick<Voicemail, 'duration_seconds' | 'transcript' | 'transcript_status' | 'audio_status'>): string {
  const head = `Voicemail${v.duration_seconds != null ? `, ${spanWords(v.duration_seconds)}` : ''}`;
  if (v.transcript) return `${head}: “${v.transcript}”`;
  if (v.transcript_status === 'pending') return `${head} (writing down the words…)`;
  if (v.audio_status === 'failed') return `${head} (the recording could not be fetched from Twilio)`;
  if (v.transcript_status === 'failed') return `${head} (the words could not be written down; play it)`;
  return head;
}
