// links.ts — where a tap on a customer's number or address goes: the phone's
// dialer (tel:, the E.164 number as stored) and a maps search for the address
// (the universal Google Maps URL, which phones open in their maps app); and
// where the link in an alert to the owner (texted or pushed) opens.

/** tel: link for an E.164 number, or null when there is nothing to dial. */
export function telHref(e164: string | null | undefined): string | null {
  if (!e164) return null;
  const digits = e164.replace(/[^\d+]/g, '');
  return /^\+?\d{3,15}$/.test(digits) ? `tel:${digits}` : null;
}

/** A maps search for a free-text address, or null when there is none. */
export function mapHref(address: string | null | undefined): string | null {
  const a = (address ?? '').trim();
  if (!a) return null;
  return `https://www.google.com/maps/search/?api=1&query=${encodeURIComponent(a)}`;
}

/** Alerts link a conversation as /conversations/<id> (nmc.owner_alert_link); the edge answers
 *  that path with the root page, which sends it on to the thread, /conversations?c=<id>. */
export function alertLinkTarget(pathname: string): string | null {
  const m = /^\/conversations\/([0-9A-Za-z-]+)\/?$/.exec(pathname); // ids are UUIDs
  return m ? `/conversations?c=${m[1]}` : null;
}
