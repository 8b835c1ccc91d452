'use client';
// settings/page.tsx — everything the wizard set, and more, in sections: profile,
// alerts (this browser's, with the dashboard open and, by Web Push, closed; texts
// to the owner's phone), hours, closed days, voicemail, appointments (length, reminders),
// greeting, quick replies (saved texts for the composer), service area (ZIP codes
// and/or a radius), block list, the assistant, the number, the account (sign out everywhere).
import { AppointmentSettingsForm } from '../../../../components/AppointmentSettingsForm';
import { AssistantForm } from '../../../../components/AssistantForm';
import { BlockListForm } from '../../../../components/BlockListForm';
import { ClosuresForm } from '../../../../components/ClosuresForm';
import { AlertPhoneForm } from '../../../../components/AlertPhoneForm';
import { DeviceAlerts } from '../../../../components/DeviceAlerts';
import { EmergencyTextForm } from '../../../../components/EmergencyTextForm';
import { GreetingForm } from '../../../../components/GreetingForm';
import { HoursForm } from '../../../../components/HoursForm';
import { NumberPicker } from '../../../../components/NumberPicker';
import { QuickRepliesForm } from '../../../../components/QuickRepliesForm';
import { PreferencesForm } from '../../../../components/PreferencesForm';
import { ProfileForm } from '../../../../components/ProfileForm';
import { ServiceAreaForm } from '../../../../components/ServiceAreaForm';
import { SignOutEverywhere } from '../../../../components/SignOutEverywhere';
import { VoicemailForm } from '../../../../components/VoicemailForm';

const SECTIONS = [
  { id: 'profile', title: 'Business profile', body: <ProfileForm submitLabel="Save" /> },
  { id: 'alerts', title: 'Alerts', body: <><PreferencesForm /><DeviceAlerts /><EmergencyTextForm /><AlertPhoneForm /></> },
  { id: 'hours', title: 'Business hours', body: <HoursForm submitLabel="Save" /> },
  { id: 'closed', title: 'Closed days', body: <ClosuresForm /> },
  { id: 'voicemail', title: 'Voicemail', body: <VoicemailForm /> },
  { id: 'appointments', title: 'Appointments', body: <AppointmentSettingsForm /> },
  { id: 'greeting', title: 'Greeting text', body: <GreetingForm submitLabel="Save" /> },
  { id: 'quick-replies', title: 'Quick replies', body: <QuickRepliesForm /> },
  { id: 'area', title: 'Service area', body: <ServiceAreaForm /> },
  { id: 'blocked', title: 'Blocked numbers', body: <BlockListForm /> },
  { id: 'assistant', title: 'Assistant', body: <AssistantForm /> },
  { id: 'number', title: 'Texting number', body: <NumberPicker /> },
  { id: 'account', title: 'Account', body: <SignOutEverywhere /> },
];

export default function SettingsPage() {
  return (
    <div className="page settings">
      <h1>Settings</h1>
      <nav aria-label="Settings sections" className="toc">
        {SECTIONS.map((s) => <a key={s.id} href={`#${s.id}`}>{s.title}</a>)}
      </nav>
      {SECTIONS.map((s) => (
        <section key={s.id} id={s.id} className="card" aria-labelledby={`${s.id}-h`}>
          <h2 id={`${s.id}-h`}>{s.title}</h2>
          {s.body}
        </section>
      ))}
    </div>
  );
}
