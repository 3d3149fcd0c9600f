// Server frames are checked before they reach a replica; op sizes count UTF-8 bytes.

import { describe, expect, it } from 'vitest';
import { parseOp, parseServerFrame, utf8Length } from './codec';

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
