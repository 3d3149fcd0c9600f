// Invites and roles in words, and the invite link: plain functions, tested without a browser.

import type { Invite } from '../../sync';
import type { Role, Visibility } from '../../sync/protocol';

/** How long a new invite link works; `null` = until it is revoked. */
export const EXPIRY_OPTIONS: { label: string; seconds: number | null }[] = [
  { label: '1 hour', seconds: 3_600 },
  { label: '1 day', seconds: 86_400 },
  { label: '7 days', seconds: 604_800 },
  { label: 'Never', seconds: null },
];
export const DEFAULT_EXPIRY_SECONDS = 604_800;
export const MAX_INVITE_USES = 100_000;

/** The link a person opens: the server answers with a path on its own origin. */
export function inviteLink(origin: string, url: string): string {
  if (/^https?:\/\//i.test(url)) return url;
  return `${origin.replace(/\/+$/, '')}${url.startsWith('/') ? url : `/${url}`}`;
}

/** "Most uses": empty = unlimited; otherwise a whole number from 1 to 100,000. */
export function parseMaxUses(text: string): { ok: true; value: number | null } | { ok: false; message: string } {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: true, value: null };
  if (!/^\d+$/.test(trimmed)) return { ok: false, message: 'Enter a whole number of uses, or leave it empty for no limit.' };
  const value = Number(trimmed);
  if (value < 1 || value > MAX_INVITE_USES) {
    return { ok: false, message: `Enter a number from 1 to ${MAX_INVITE_USES.toLocaleString('en-US')}, or leave it empty for no limit.` };
  }
  return { ok: true, value };
}

export const ROLE_NAMES: Record<Role, string> = { owner: 'Owner', editor: 'Editor', viewer: 'Viewer' };

/** What a role lets a person do, for the invite page and the members list. */
export function roleAbility(role: Role): string {
  switch (role) {
    case 'owner':
      return 'can read, write and manage the room';
    case 'editor':
      return 'can read and write notes';
    default:
      return 'can read the notes, but not change them';
  }
}

export function visibilityText(visibility: Visibility): string {
  switch (visibility) {
    case 'public':
      return 'public';
    case 'link':
      return 'anyone with the id';
    default:
      return 'private';
  }
}

const dateFormat = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});

/** "expires 3 Dec 2026, 10:00", "expired", "never expires". */
export function expiryText(expiresAt: string | null, now: number): string {
  if (expiresAt === null) return 'never expires';
  const at = Date.parse(expiresAt);
  if (Number.isNaN(at)) return `expires ${expiresAt}`;
  return at <= now ? 'expired' : `expires ${dateFormat.format(at)}`;
}

/** "1 of 5 uses", "2 uses, no limit", "1 of 1 use, used up". */
export function usesText(uses: number, maxUses: number | null): string {
  const n = uses.toLocaleString('en-US');
  if (maxUses === null) return `${n} ${uses === 1 ? 'use' : 'uses'}, no limit`;
  const text = `${n} of ${maxUses.toLocaleString('en-US')} ${maxUses === 1 ? 'use' : 'uses'}`;
  return uses >= maxUses ? `${text}, used up` : text;
}

/** One line per open invite: "Viewer · expires 3 Dec 2026, 10:00 · 0 of 5 uses". */
export function describeInvite(invite: Pick<Invite, 'role' | 'expires_at' | 'max_uses' | 'uses'>, now: number): string {
  return `${ROLE_NAMES[invite.role]} · ${expiryText(invite.expires_at, now)} · ${usesText(invite.uses, invite.max_uses)}`;
}
