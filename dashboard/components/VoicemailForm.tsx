'use client';
// VoicemailForm.tsx — whether a caller whose call was missed can leave a
// voicemail after hearing that a text is coming (PATCH /api/business
// voicemail_enabled, default on). The text goes out either way.
import { BusinessSwitch } from './BusinessSwitch';

export function VoicemailForm() {
  return (
    <BusinessSwitch field="voicemail_enabled" group="Voicemail" label="Let missed callers leave a voicemail"
      hint={() => 'After the message that a text is coming, the caller can speak for up to two minutes. You find the recording, and its words when an OpenAI key is set, in Calls and in the conversation.'} />
  );
}
