import { describe, expect, it } from 'vitest';
import { describeInvite, expiryText, inviteLink, parseMaxUses, usesText } from './invites';

describe('invite links', () => {
  it('puts the path the server answers on the page origin', () => {
    expect(inviteLink('http://127.0.0.1:8080', '/invite/abc')).toBe('http://127.0.0.1:8080/invite/abc');
    expect(inviteLink('https://notes.example/', 'invite/abc')).toBe('https://notes.example/invite/abc');
    expect(inviteLink('https://notes.example', 'https://other.example/invite/x')).toBe('https://other.example/invite/x');
  });
});

describe('max uses', () => {
  it('takes empty as unlimited and whole numbers from 1 to 100,000', () => {
    expect(parseMaxUses('')).toEqual({ ok: true, value: null });
    expect(parseMaxUses(' 5 ')).toEqual({ ok: true, value: 5 });
    expect(parseMaxUses('100000')).toEqual({ ok: true, value: 100_000 });
    for (const bad of ['0', '100001', '2.5', '-1', 'ten']) {
      expect(parseMaxUses(bad).ok, bad).toBe(false);
    }
  });
});

describe('invite descriptions', () => {
  const now = Date.parse('2026-12-01T10:00:00Z');
  it('says when it expires, if ever, and how often it was used', () => {
    expect(expiryText(null, now)).toBe('never expires');
    expect(expiryText('2026-12-01T09:59:59Z', now)).toBe('expired');
    expect(expiryText('2026-12-08T10:00:00Z', now)).toMatch(/^expires 8 Dec 2026, \d\d:00$/);
    expect(usesText(0, null)).toBe('0 uses, no limit');
    expect(usesText(1, null)).toBe('1 use, no limit');
    expect(usesText(0, 1)).toBe('0 of 1 use');
    expect(usesText(1, 1)).toBe('1 of 1 use, used up');
    expect(usesText(2, 1000)).toBe('2 of 1,000 uses');
    expect(describeInvite({ role: 'viewer', expires_at: null, max_uses: 5, uses: 0 }, now)).toBe('Viewer · never expires · 0 of 5 uses');
  });
});
