// FormStatus.tsx — the line under a form that says it failed (with the API's
// message) or saved; a polite live region so it is announced without moving focus.
import { ApiError } from '../lib/api';

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  return 'Something went wrong. Please try again.';
}

export function FormStatus({ error, saved }: { error?: string | null; saved?: string | null }) {
  return (
    <p className={error ? 'form-status error' : 'form-status ok'} role={error ? 'alert' : 'status'} aria-live="polite">
      {error ?? saved ?? '\u00a0'}
    </p>
  );
}
