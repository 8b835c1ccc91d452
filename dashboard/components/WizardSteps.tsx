// WizardSteps.tsx — the onboarding wizard's progress: "Step 2 of 5 — Hours"
// with a list of the steps, the current one marked for screen readers.
export const STEPS = ['Your business', 'Hours', 'Greeting', 'Phone number', 'Test it'] as const;

export function WizardSteps({ current }: { current: number }) {
  return (
    <nav aria-label="Set-up steps" className="wizard-steps">
      <p className="hint">Step {current + 1} of {STEPS.length}</p>
      <ol>
        {STEPS.map((s, i) => (
          <li key={s} aria-current={i === current ? 'step' : undefined} data-done={i < current}>{s}</li>
        ))}
      </ol>
    </nav>
  );
}
