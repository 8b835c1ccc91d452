// ContactLinks.tsx — a customer's phone as a tap-to-call link and an address as
// a map link (lib/links.ts), for the owner working from a phone.
import { formatPhone } from '../lib/format';
import { mapHref, telHref } from '../lib/links';

export function PhoneLink({ phone, className }: { phone: string | null | undefined; className?: string }) {
  const href = telHref(phone);
  if (!href) return null;
  return <a href={href} className={className} aria-label={`Call ${formatPhone(phone)}`}>{formatPhone(phone)}</a>;
}

export function AddressLink({ address, className }: { address: string | null | undefined; className?: string }) {
  const href = mapHref(address);
  if (!href) return null;
  return <a href={href} className={className} target="_blank" rel="noopener noreferrer" aria-label={`Map of ${address}`}>{address}</a>;
}
