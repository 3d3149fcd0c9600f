// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render } from '@testing-library/react';
import type { TextChange } from '../../sync/api';
import { applyTextOp, parseTextOp, type TextComponent } from '../../sync/textOp';
import { EditableField, type FieldBinding } from './EditableField';

/** A field's room: the text, the ops the field sent, and others' edits pushed to it. */
function fakeRoom(initial: string) {
  let text = initial;
  const listeners = new Set<(c: TextChange) => void>();
  const edits: (readonly TextComponent[])[] = [];
  let refuse = false;
  const apply = (ops: readonly TextComponent[]) => {
    const op = parseTextOp(ops);
    if (!op.ok) throw new Error(op.message);
    const r = applyTextOp(op.value, text);
    if (!r.ok) throw new Error(r.message);
    return { op: op.value, after: r.value };
  };
  const binding: FieldBinding = {
    edit(ops) {
      if (refuse) return false;
      text = apply(ops).after;
      edits.push(ops);
      return true;
    },
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    caret: vi.fn(),
    blur: vi.fn(),
    undo: vi.fn(),
    redo: vi.fn(),
  };
  return {
    binding,
    edits,
    get text() {
      return text;
    },
    refuse() {
      refuse = true;
    },
    /** Someone else's edit, as the room reports it. */
    remote(ops: readonly TextComponent[]) {
      const before = text;
      const { op, after } = apply(ops);
      text = after;
      for (const l of [...listeners]) l({ id: 'n', field: 'body', before, after, op });
    },
  };
}

function setup(initial: string, measure?: (text: string) => { bytes: number; limit: number }) {
  const room = fakeRoom(initial);
  const props = { field: 'body' as const, label: 'Note body', binding: room.binding, measure };
  const view = render(<EditableField {...props} value={room.text} />);
  const el = view.getByLabelText('Note body') as HTMLTextAreaElement;
  // The workspace re-renders with the room's text after every change.
  const sync = () => view.rerender(<EditableField {...props} value={room.text} />);
  const remote = (ops: readonly TextComponent[]) =>
    act(() => {
      room.remote(ops);
      sync();
    });
  const input = (next: string) => {
    fireEvent.change(el, { target: { value: next } });
    sync();
  };
  return { room, el, view, sync, remote, input };
}

describe('EditableField', () => {
  afterEach(() => cleanup());

  it('sends every input event at once as a text op', () => {
    const { room, el, input } = setup('Plan');
    el.focus();
    input('Plan ');
    input('Plan t');
    input('Plan tr');
    expect(room.edits).toEqual([[4, ' '], [5, 't'], [6, 'r']]);
    expect(el.value).toBe('Plan tr');
    expect(room.text).toBe('Plan tr');
  });

  it('applies others\u2019 edits into the focused field and keeps the caret where it belongs', () => {
    const { el, remote } = setup('hello world');
    el.focus();
    el.setSelectionRange(5, 5); // after "hello"
    remote([6, 'big ', 5]); // after the caret: it stays
    expect(el.value).toBe('hello big world');
    expect(el.selectionStart).toBe(5);
    remote(['Oh, ', 15]); // before the caret: it moves along
    expect(el.value).toBe('Oh, hello big world');
    expect([el.selectionStart, el.selectionEnd]).toEqual([9, 9]);
  });

  it('keeps a selection across others\u2019 edits, counting code points, not UTF-16 units', () => {
    const { el, remote } = setup('😀ab😀cd');
    el.focus();
    el.setSelectionRange(3, 6); // "b😀c": UTF-16 offsets 3..6
    remote(['👍🏽', 6]); // two code points, four UTF-16 units, at the start
    expect(el.value).toBe('👍🏽😀ab😀cd');
    expect([el.selectionStart, el.selectionEnd]).toEqual([7, 10]);
    remote([3, -1, 4]); // someone deletes the "a" before the selection
    expect(el.value).toBe('👍🏽😀b😀cd');
    expect([el.selectionStart, el.selectionEnd]).toEqual([6, 9]);
  });

  it('writes nothing on blur: others\u2019 text typed meanwhile stays', () => {
    const { room, el, input, remote } = setup('a');
    el.focus();
    input('ab');
    remote(['X', 2]);
    fireEvent.blur(el);
    expect(room.edits).toEqual([[1, 'b']]);
    expect(room.text).toBe('Xab');
    expect(el.value).toBe('Xab');
    expect(room.binding.blur).toHaveBeenCalled();
  });

  it('shows others\u2019 edits when not focused', () => {
    const { el, remote } = setup('one');
    remote([3, ' two']);
    expect(el.value).toBe('one two');
  });

  it('sends the browser\u2019s own undo and redo to the room instead', () => {
    const { room, el } = setup('abc');
    const undo = new InputEvent('beforeinput', { inputType: 'historyUndo', cancelable: true });
    el.dispatchEvent(undo);
    expect(undo.defaultPrevented).toBe(true);
    expect(room.binding.undo).toHaveBeenCalledTimes(1);
    el.dispatchEvent(new InputEvent('beforeinput', { inputType: 'historyRedo', cancelable: true }));
    expect(room.binding.redo).toHaveBeenCalledTimes(1);
  });

  it('reports the caret in code points', () => {
    const { room, el } = setup('😀x');
    el.focus();
    el.setSelectionRange(3, 3);
    fireEvent.select(el);
    expect(room.binding.caret).toHaveBeenLastCalledWith(2, 2);
  });

  it('shows the room\u2019s text again when the room refuses an edit (read-only now)', () => {
    const { room, el, input } = setup('abc');
    room.refuse();
    el.focus();
    input('abcd');
    expect(el.value).toBe('abc');
  });

  describe('over the size the server takes', () => {
    const limit = 10;
    const measure = (text: string) => ({ bytes: new TextEncoder().encode(text).length, limit });

    it('keeps the text in the field, sends nothing and says why in words', () => {
      const { room, el, input, view } = setup('ok', measure);
      el.focus();
      input('ЯЯЯЯЯЯ'); // 12 bytes
      fireEvent.blur(el);
      expect(room.edits).toEqual([]);
      expect(el.value).toBe('ЯЯЯЯЯЯ');
      expect(el.getAttribute('aria-invalid')).toBe('true');
      const message = document.getElementById(el.getAttribute('aria-describedby') ?? '');
      expect(view.container.contains(message)).toBe(true);
      expect(message?.textContent).toMatch(/^This body is too long: 12 of 10 bytes — shorten it by 1 character to save it/);
    });

    it('rebases others\u2019 edits into the kept text, and sends it once it is short enough', () => {
      const { room, el, input, remote } = setup('ok', measure);
      el.focus();
      input('okЯЯЯЯЯ'); // 12 bytes
      remote(['!', 2]);
      expect(el.value).toBe('!okЯЯЯЯЯ');
      expect(room.text).toBe('!ok');
      input('!okЯЯЯ'); // 9 bytes
      expect(room.text).toBe('!okЯЯЯ');
      expect(el.getAttribute('aria-invalid')).toBeNull();
    });
  });
});
