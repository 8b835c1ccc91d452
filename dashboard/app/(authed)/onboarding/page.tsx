'use client';
// onboarding/page.tsx — the first-run wizard: profile, hours, greeting, phone
// number, test call. Each step saves as it goes, so leaving halfway loses
// nothing; finishing marks the user onboarded (a preference) and opens the
// conversations.
import { useRouter } from 'next/navigation';
import { useEffect, useRef, useState } from 'react';
import { ConnectionBanner } from '../../../components/ConnectionBanner';
import { GreetingForm } from '../../../components/GreetingForm';
import { HoursForm } from '../../../components/HoursForm';
import { useLive } from '../../../components/LiveProvider';
import { NumberPicker } from '../../../components/NumberPicker';
import { ProfileForm } from '../../../components/ProfileForm';
import { SandboxBanner } from '../../../components/SandboxBanner';
import { useSession } from '../../../components/SessionProvider';
import { TestCall } from '../../../components/TestCall';
import { STEPS, WizardSteps } from '../../../components/WizardSteps';

export default function OnboardingPage() {
  const { api } = useSession();
  const { feedStatus, sandbox, setUser } = useLive();
  const router = useRouter();
  const [step, setStep] = useState(0);
  const [number, setNumber] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);

  // Move focus to the new step's title so keyboard and screen-reader users follow along.
  useEffect(() => { heading.current?.focus(); }, [step]);
  const next = () => setStep((s) => Math.min(s + 1, STEPS.length - 1));

  async function finish(conversationId: string | null) {
    const me = await api.patchMe({ preferences: { onboarded: true } }).catch(() => null);
    if (me) setUser(me.user);
    router.push(conversationId ? `/conversations?c=${conversationId}` : '/conversations');
  }

  return (
    <div className="wizard">
      <header className="topbar"><span className="brand">NeverMissCall · Set up</span></header>
      <ConnectionBanner status={feedStatus} />
      {sandbox && <SandboxBanner />}
      <main id="main" className="wizard-main">
        <WizardSteps current={step} />
        <h1 tabIndex={-1} ref={heading}>{STEPS[step]}</h1>
        {step === 0 && <ProfileForm submitLabel="Save and continue" onDone={next} />}
        {step === 1 && <HoursForm submitLabel="Save and continue" onDone={next} />}
        {step === 2 && <GreetingForm submitLabel="Save and continue" onDone={next} />}
        {step === 3 && <NumberPicker onDone={(n) => { setNumber(n.phone); next(); }} />}
        {step === 4 && <TestCall number={number} onFinish={finish} />}
        {step > 0 && <button type="button" className="link back-step" onClick={() => setStep(step - 1)}>← Back</button>}
      </main>
    </div>
  );
}
