// Random ids for notes and clients: [A-Za-z0-9_-], as the protocol allows for note ids.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** `length` random characters of base64url (6 random bits each, from the platform's CSPRNG so
 *  two tabs never pick the same note id). */
export function randomId(length = 16): string {
  const bytes = new Uint8Array(length);
  globalThis.crypto.getRandomValues(bytes);
  let out = '';
  for (const b of bytes) out += ALPHABET[b & 63];
  return out;
}
