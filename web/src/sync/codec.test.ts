// Server frames are checked before they reach a replica; op sizes count UTF-8 bytes.

import { describe, expect, it } from 'vitest';
import { defaultLimits, limitsFromWelcome, parseOp, parseServerFrame, utf8Length } from './codec';

const note = {
  id: 'a',
  title: 't',
  body: '',
  is_important: false,
  is_completed: false,
  current_index: 1024,
  seq: 3,
  updated_at: '2026-01-01T00:00:00.000Z',
};
const roomInfo = { id: 'r1', name: 'R', visibility: 'link', role: 'viewer', active_user_count: 2, total_notes: 1 };

describe('parseServerFrame', () => {
  it('accepts well-formed frames', () => {
    expect(parseServerFrame(JSON.stringify({ type: 'snapshot', room: 'r1', seq: 3, room_info: roomInfo, notes: [note] }))).toEqual({
      type: 'snapshot',
      room: 'r1',
      seq: 3,
      room_info: roomInfo,
      notes: [note],
    });
    const op = { kind: 'move', id: 'a', current_index: 1.5e3 };
    expect(parseServerFrame(JSON.stringify({ type: 'op', room: 'r1', seq: 4, cid: 'c-1', user: 'u', at: 'now', op, extra: 1 }))).toEqual({
      type: 'op',
      room: 'r1',
      seq: 4,
      cid: 'c-1',
      user: 'u',
      at: 'now',
      op: { kind: 'move', id: 'a', current_index: 1500 },
    });
    expect(parseServerFrame('{"type":"error","code":"forbidden","room":"r1","message":"no"}')).toEqual({
      type: 'error',
      code: 'forbidden',
      room: 'r1',
      message: 'no',
    });
  });

  it.each([
    ['not JSON', '{"type":'],
    ['no type', '{"room":"r1"}'],
    ['unknown type', '{"type":"surprise"}'],
    ['op with a bad op', '{"type":"op","room":"r1","seq":4,"cid":"c","op":{"kind":"move","id":"a"}}'],
    ['op with a fractional seq', '{"type":"op","room":"r1","seq":4.5,"cid":"c","op":{"kind":"delete","id":"a"}}'],
    ['op with an infinite index', '{"type":"op","room":"r1","seq":4,"cid":"c","op":{"kind":"move","id":"a","current_index":1e400}}'],
    ['snapshot with a bad note', JSON.stringify({ type: 'snapshot', room: 'r1', seq: 1, room_info: roomInfo, notes: [{ ...note, id: 'a b' }] })],
    ['snapshot without room_info', JSON.stringify({ type: 'snapshot', room: 'r1', seq: 1, notes: [] })],
    ['resume without since', '{"type":"resume","room":"r1"}'],
  ])('drops %s', (_name, text) => {
    expect(parseServerFrame(text)).toBeNull();
  });

  it('reads the sharing frames: role, room_gone, public rooms, dashboard entries with a role', () => {
    expect(parseServerFrame('{"type":"role","room":"r1","role":"viewer"}')).toEqual({ type: 'role', room: 'r1', role: 'viewer' });
    expect(parseServerFrame('{"type":"role","room":"r1","role":"admin"}')).toBeNull();
    expect(parseServerFrame('{"type":"room_gone","room":"r1"}')).toEqual({ type: 'room_gone', room: 'r1' });
    expect(parseServerFrame('{"type":"room_gone"}')).toBeNull();
    const info = { ...roomInfo, visibility: 'public', public_role: 'editor', owner_id: 'u9' };
    const snap = parseServerFrame(JSON.stringify({ type: 'snapshot', room: 'r1', seq: 3, room_info: info, notes: [] }));
    expect(snap).toMatchObject({ room_info: { visibility: 'public', public_role: 'editor', owner_id: 'u9', role: 'viewer' } });
    const entry = (extra: object) => ({ id: 'r1', name: 'R', active_user_count: 1, total_notes: 0, ...extra });
    expect(parseServerFrame(JSON.stringify({ type: 'rooms', rooms: [entry({ visibility: 'public', role: null }), entry({ visibility: 'link', role: 'editor' }), entry({ role: 'none' }), entry({})] }))).toEqual({
      type: 'rooms',
      rooms: [entry({ visibility: 'public', role: null }), entry({ visibility: 'link', role: 'editor' }), entry({ role: null }), entry({})],
    });
  });

  it('does not apply client size limits to what the server accepted', () => {
    const big = 'x'.repeat(70_000);
    const frame = parseServerFrame(JSON.stringify({ type: 'op', room: 'r1', seq: 2, cid: 'c', user: 'u', at: 't', op: { kind: 'update', id: 'a', set: { body: big } } }));
    expect(frame?.type).toBe('op');
    expect(parseOp({ kind: 'update', id: 'a', set: { body: big } })).toMatchObject({ ok: false, code: 'too_large' });
  });
});

describe('utf8Length', () => {
  it('counts UTF-8 bytes, surrogate pairs as 4 and lone surrogates as 3', () => {
    expect(utf8Length('abc')).toBe(3);
    expect(utf8Length('é')).toBe(2);
    expect(utf8Length('€')).toBe(3);
    expect(utf8Length('😀')).toBe(4);
    expect(utf8Length('\ud800')).toBe(3);
    for (const s of ['plain', 'ééé', 'mixed € 😀 text', '\u07ff\u0800']) {
      expect(utf8Length(s)).toBe(new TextEncoder().encode(s).length);
    }
  });
});

describe('sizes in UTF-8 bytes, as the server counts them', () => {
  const encoded = (s: string) => new TextEncoder().encode(s).length;

  it.each([
    ['ASCII', 'Plan the trip', 13],
    ['Cyrillic (2 bytes a letter)', 'Я'.repeat(600), 1200],
    ['CJK (3 bytes a character)', '東京', 6],
    ['an emoji (4 bytes, two UTF-16 units)', '😀', 4],
    ['an emoji with a skin tone (two code points)', '👍🏽', 8],
    ['a letter with a combining accent', 'e\u0301', 3],
    ['Vietnamese with stacked marks', 'Việt', 6],
    ['a lone surrogate (sent as U+FFFD)', '\ud800x', 4],
  ])('%s', (_name, text, bytes) => {
    expect(utf8Length(text)).toBe(bytes);
    expect(utf8Length(text)).toBe(encoded(text));
  });

  it('a title over the limit in bytes is too large even when it has fewer letters', () => {
    const op = (title: string) => ({ kind: 'update', id: 'a', set: { title } });
    expect(parseOp(op('Я'.repeat(512))).ok).toBe(true);
    const over = parseOp(op('Я'.repeat(513)));
    expect(over.ok ? 'ok' : over.code).toBe('too_large');
  });
});

describe('welcome.limits', () => {
  const welcome = (extra: Record<string, unknown>) =>
    parseServerFrame(JSON.stringify({ type: 'welcome', protocol: 1, server: 's', user: { id: 'u', name: 'U' }, ...extra }));

  it('reads the advertised sizes and falls back to the defaults for the rest', () => {
    const frame = welcome({ limits: { title_bytes: 100, body_bytes: -5, frame_bytes: 1.5, other: 1 } });
    expect(frame).toMatchObject({ type: 'welcome', limits: { title_bytes: 100 } });
    const limits = limitsFromWelcome(frame?.type === 'welcome' ? frame.limits : undefined);
    expect(limits).toEqual({ ...defaultLimits, maxTitleBytes: 100 });
  });

  it('a welcome without limits keeps the defaults', () => {
    const frame = welcome({});
    expect(frame?.type === 'welcome' ? frame.limits : 'x').toBeUndefined();
    expect(limitsFromWelcome(undefined)).toEqual(defaultLimits);
  });
});
