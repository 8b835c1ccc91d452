'use client';
// CallRow.tsx — one call in the call log: when (date and time, the business's
// timezone), who called (name if known, else the number), what happened
// (answered, or missed and why) and what was done about it (the text decision
// in words, lib/calls.ts; where the text is), and the voicemail the caller
// left: its words and a player (our copy, lib/calls.ts voicemailWords). A tap
// opens the customer's conversation when there is one.
import Link from 'next/link';
import { dateWords, timeWords } from '../lib/appointments';
import { callDecision, callOutcome, voicemailWords } from '../lib/calls';
import { deliveryLabel, formatPhone } from '../lib/format';
import type { Call, Customer } from '../lib/types';
import { MediaFile } from './MediaFile';

interface Props { call: Call; customer: Customer | null; conversationId: string | null; timeZone?: string }

export function CallRow({ call: c, customer, conversationId, timeZone }: Props) {
  const who = customer?.name || formatPhone(customer?.phone ?? c.from) || 'Unknown caller';
  const decision = callDecision(c);
  const body = (
    <>
      <span className="call-top">
        <strong className="call-who">{who}</strong>
        <time className="call-time" dateTime={c.created_at}>{dateWords(c.created_at, timeZone)}, {timeWords(c.created_at, timeZone)}</time>
      </span>
      {customer?.name && <span className="hint">{formatPhone(customer.phone)}</span>}
      <span className={`call-outcome call-${c.status}`}>{callOutcome(c)}</span>
      {decision && (
        <span className="call-decision">
          {decision}{c.text?.status ? ` · text ${deliveryLabel(c.text.status).toLowerCase()}` : ''}
        </span>
      )}
    </>
  );
  return (
    <li className="call" data-call={c.id} data-decision={c.decision ?? ''}>
      {conversationId
        ? <Link className="call-link" href={`/conversations?c=${conversationId}`} aria-label={`${who}: ${callOutcome(c)}. ${decision} Open the conversation`}>{body}</Link>
        : <div className="call-link">{body}</div>}
      {c.voicemail && (
        <div className="call-voicemail" data-voicemail={c.voicemail.id}>
          <span className="call-voicemail-words">{voicemailWords(c.voicemail)}</span>
          {c.voicemail.audio_url && <MediaFile url={c.voicemail.audio_url} kind="audio" label={`Voicemail from ${who}`} />}
        </div>
      )}
    </li>
  );
}
