// Client message ids: the idempotency key of a send (protocol.md: 1-64
// characters of A-Z a-z 0-9 - _ . :, unique per sender forever).

export function newClientId(): string {
  // randomUUID needs a secure context; plain http on a LAN address is not one.
  if (typeof crypto.randomUUID === 'function' && globalThis.isSecureContext !== false) return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function isValidClientId(id: string): boolean {
  return /^[A-Za-z0-9\-_.:]{1,64}$/.test(id);
}
