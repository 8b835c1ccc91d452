// SandboxBanner.tsx — says loudly that no real texts go out: the system has no
// Twilio credentials, numbers and texts are simulated.
export function SandboxBanner() {
  return (
    <div className="sandbox-banner" role="note">
      <strong>Sandbox mode</strong> — texts are simulated, never sent. Add Twilio credentials to go live.
    </div>
  );
}
