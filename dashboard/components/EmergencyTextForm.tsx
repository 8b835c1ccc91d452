'use client';
// EmergencyTextForm.tsx — whether a customer's text reporting danger is also
// texted to the owner's phone — the verified alert phone, else the forward-to
// phone (PATCH /api/business emergency_sms_to_owner, default on). Saved on each change, like the alerts above it.
import { formatPhone } from '../lib/format';
import { BusinessSwitch } from './BusinessSwitch';

export function EmergencyTextForm() {
  return (
    <BusinessSwitch field="emergency_sms_to_owner" group="Emergency texts" label="Text me when a customer reports an emergency"
      hint={(b) => b.forward_to_phone
        ? `A text to your phone, even when the dashboard is closed: to the alert phone once it is verified (below), until then to ${formatPhone(b.forward_to_phone)}.`
        : 'Add a forward-to phone in the business profile, or verify an alert phone below, to get these texts.'} />
  );
}
