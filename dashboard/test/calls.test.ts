// calls.test.ts — every call outcome and text decision reads in plain English.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callDecision, callOutcome, MISSED_REASON, spanWords, voicemailWords } from '../lib/calls';

test('spans of seconds in words', () => {
  assert.equal(spanWords(45), '45 s');
  assert.equal(spanWords(600), '10 min');
  assert.equal(spanWords(3600), '1 h');
  assert.equal(spanWords(5400), '1 h 30 min');
  assert.equal(spanWords(7170), '2 h');
  assert.equal(spanWords(86_400), '1 day');
  assert.equal(spanWords(3 * 86_400), '3 days');
});

test('what happened to the call: answered, ringing, or missed and why', () => {
  assert.equal(callOutcome({ status: 'answered', missed_reason: null }), 'Answered');
  assert.equal(callOutcome({ status: 'forwarded' }), 'Ringing your phone');
  assert.equal(callOutcome({ status: 'ringing' }), 'Ringing');
  assert.equal(callOutcome({ status: 'missed', missed_reason: 'no-answer' }), 'Missed: nobody answered');
  assert.equal(callOutcome({ status: 'missed', missed_reason: 'busy' }), 'Missed: your line was busy');
  assert.equal(callOutcome({ status: 'missed', missed_reason: 'after_hours' }), 'Missed: after hours');
  assert.equal(callOutcome({ status: 'missed', missed_reason: 'no_forward_phone' }), 'Missed: no phone to ring (set a forward-to phone)');
  assert.equal(callOutcome({ status: 'missed', missed_reason: 'outage' }), 'Missed: taken while the system was down');
  assert.equal(callOutcome({ status: 'missed', missed_reason: null }), 'Missed');
  assert.equal(callOutcome({ status: 'missed', missed_reason: 'new-reason' }), 'Missed: new-reason', 'an unknown code passes through');
  for (const code of ['no-answer', 'busy', 'failed', 'canceled', 'not-bridged', 'after_hours', 'no_forward_phone', 'owner_phone', 'outage']) {
    assert.ok(MISSED_REASON[code], `${code} has words`);
  }
});

test('every text decision in words, with the figures its reason gives', () => {
  const d = (decision: string | null, decision_reason: string | null = null) => callDecision({ decision, decision_reason });
  assert.equal(d(null), '', 'not decided yet');
  assert.equal(d('texted', 'missed call: greeting sent'), 'Texted the greeting');
  assert.equal(d('not_missed', 'the call was answered'), 'Not texted: the call was answered');
  assert.equal(d('suppressed_repeat', 'this number got a greeting 120 s ago (repeat window 600 s)'),
    'Not texted: texted in the last 10 min (2 min ago)');
  assert.equal(d('suppressed_repeat', 'this number got a greeting 5 s ago (repeat window 3600 s)'), 'Not texted: texted in the last 1 h (moments ago)');
  assert.equal(d('suppressed_repeat', 'this number got a greeting 50 s ago (repeat window 3600 s)'), 'Not texted: texted in the last 1 h (50 s ago)');
  assert.equal(d('suppressed_repeat', null), 'Not texted: this number was texted a moment ago');
  assert.equal(d('suppressed_opted_out', 'the customer replied STOP'), 'Not texted: the customer replied STOP');
  assert.equal(d('suppressed_blocked', 'the number is on the block list'), 'Not texted: the number is on your block list');
  assert.equal(d('suppressed_unreachable', 'the number cannot receive texts: landline'), 'Not texted: the number cannot receive texts (landline)');
  assert.equal(d('suppressed_unreachable', 'the number cannot receive texts: unknown'), 'Not texted: the number cannot receive texts');
  assert.equal(d('suppressed_short_ring', 'the caller hung up after 3 s, before the minimum ring time of 8 s'),
    'Not texted: the caller hung up after 3 s, before your minimum ring time of 8 s');
  assert.equal(d('suppressed_short_ring', null), 'Not texted: the caller hung up too soon');
  assert.equal(d('suppressed_anonymous', "the caller's number (anonymous) cannot receive a text"),
    'Not texted: no number to text back (hidden or not a phone number)');
  assert.equal(d('suppressed_owner', "the call came from the owner's own phone"), 'Not texted: the call came from your own phone');
  assert.equal(d('suppressed_new_rule', 'a reason from a newer server'), 'Not texted: a reason from a newer server');
  assert.equal(d('suppressed_new_rule'), 'suppressed_new_rule');
});

test('a voicemail in words: length and what was said, or why no words yet', () => {
  const v = { duration_seconds: 14, transcript: null, transcript_status: 'none' as const, audio_status: 'stored' as const };
  assert.equal(voicemailWords(v), 'Voicemail, 14 s');
  assert.equal(voicemailWords({ ...v, transcript: 'Pipe burst, call me', transcript_status: 'done' }), 'Voicemail, 14 s: “Pipe burst, call me”');
  assert.equal(voicemailWords({ ...v, transcript_status: 'pending' }), 'Voicemail, 14 s (writing down the words…)');
  assert.equal(voicemailWords({ ...v, transcript_status: 'failed' }), 'Voicemail, 14 s (the words could not be written down; play it)');
  assert.equal(voicemailWords({ ...v, audio_status: 'failed' }), 'Voicemail, 14 s (the recording could not be fetched from Twilio)');
  assert.equal(voicemailWords({ ...v, duration_seconds: null }), 'Voicemail');
});
