// notify.ts — getting the owner's attention when a customer replies during the
// human window: a system notification (when allowed) and a short chime made
// with Web Audio (no sound file to load). Browser-only; called by LiveProvider.

let audio: AudioContext | null = null;

/** Browsers only let a page make sound after a user gesture: call this from one (a click). */
export function unlockSound(): void {
  if (typeof window === 'undefined') return;
  const Ctor = window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
  if (!Ctor) return;
  audio ??= new Ctor();
  if (audio.state === 'suspended') void audio.resume();
}

export function playChime(): void {
  if (!audio || audio.state !== 'running') return;
  const t = audio.currentTime;
  for (const [i, freq] of [880, 1320].entries()) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, t + i * 0.15);
    gain.gain.exponentialRampToValueAtTime(0.2, t + i * 0.15 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + i * 0.15 + 0.25);
    osc.connect(gain).connect(audio.destination);
    osc.start(t + i * 0.15);
    osc.stop(t + i * 0.15 + 0.3);
  }
}

export function notificationsSupported(): boolean {
  return typeof window !== 'undefined' && 'Notification' in window;
}

export async function askNotificationPermission(): Promise<NotificationPermission | 'unsupported'> {
  if (!notificationsSupported()) return 'unsupported';
  if (Notification.permission !== 'default') return Notification.permission;
  return Notification.requestPermission();
}

export function showNotification(title: string, body: string, onClick: () => void): void {
  if (!notificationsSupported() || Notification.permission !== 'granted') return;
  const n = new Notification(title, { body, tag: 'nmc-reply', requireInteraction: false });
  n.onclick = () => { window.focus(); onClick(); n.close(); };
}
