// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render } from '@testing-library/react';
import { EditableField } from './EditableField';
import { FIELD_DEBOUNCE_MS } from './useDebouncedField';

function setup(value: string) {
  const commit = vi.fn<(value: string) => void>();
  const view = render(<EditableField field="title" label="Note title" value={value} onCommit={commit} />);
  const input = view.getByLabelText('Note title') as HTMLInputElement;
  const rerender = (next: string) =>
    view.rerender(<EditableField field="title" label="Note title" value={next} onCommit={commit} />);
  return { commit, input, rerender, unmount: view.unmount };
}

const type = (input: HTMLInputElement, text: string) => {
  for (const char of text) {
    fireEvent.change(input, { target: { value: input.value + char } });
  }
};

describe('EditableField', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => {
    cleanup();
    vi.useRealTimers();
  });

  it('shows every keystroke at once and sends one debounced update', () => {
    const { commit, input } = setup('Plan');
    fireEvent.focus(input);
    type(input, ' trip');
    expect(input.value).toBe('Plan trip');
    expect(commit).not.toHaveBeenCalled();
    act(() => vi.advanceTimersByTime(FIELD_DEBOUNCE_MS));
    expect(commit).toHaveBeenCalledTimes(1);
    expect(commit).toHaveBeenLastCalledWith('Plan trip');
  });

  it('keeps the local text while focused when a remote value arrives', () => {
    const { input, rerender } = setup('Plan');
    fireEvent.focus(input);
    type(input, '!');
    rerender('Remote edit');
    expect(input.value).toBe('Plan!');
  });

  it('flushes on blur, then shows the synced value', () => {
    const { commit, input, rerender } = setup('a');
    fireEvent.focus(input);
    type(input, 'bc');
    fireEvent.blur(input);
    expect(commit).toHaveBeenCalledWith('abc');
    rerender('abc');
    expect(input.value).toBe('abc');
    act(() => vi.advanceTimersByTime(FIELD_DEBOUNCE_MS * 2));
    expect(commit).toHaveBeenCalledTimes(1);
  });

  it('does not lose the last keystrokes when the note goes away mid-debounce', () => {
    const { commit, input, unmount } = setup('');
    fireEvent.focus(input);
    type(input, 'xyz');
    unmount();
    expect(commit).toHaveBeenCalledWith('xyz');
  });

  it('shows remote changes when not being edited', () => {
    const { input, rerender } = setup('one');
    rerender('two');
    expect(input.value).toBe('two');
  });

  describe('over the size the server takes', () => {
    const limit = 10;
    const measure = (text: string) => ({ bytes: new TextEncoder().encode(text).length, limit });
    function setupLimited(value: string) {
      const commit = vi.fn<(value: string) => void>();
      const view = render(
        <EditableField field="title" label="Note title" value={value} onCommit={commit} measure={measure} />,
      );
      return { commit, input: view.getByLabelText('Note title') as HTMLInputElement, view };
    }

    it('keeps the text in the field, sends nothing and says why in words', () => {
      const { commit, input, view } = setupLimited('ok');
      fireEvent.focus(input);
      fireEvent.change(input, { target: { value: 'ЯЯЯЯЯЯ' } }); // 12 bytes
      act(() => vi.advanceTimersByTime(FIELD_DEBOUNCE_MS));
      fireEvent.blur(input);
      expect(commit).not.toHaveBeenCalled();
      // Kept after the blur too, where the field would otherwise show the synced value.
      expect(input.value).toBe('ЯЯЯЯЯЯ');
      expect(input.getAttribute('aria-invalid')).toBe('true');
      const message = document.getElementById(input.getAttribute('aria-describedby') ?? '');
      expect(view.container.contains(message)).toBe(true);
      expect(message?.textContent).toMatch(/^This title is too long: 12 of 10 bytes — shorten it by 1 character to save it/);
    });

    it('sends the text once it is short enough, and the message goes', () => {
      const { commit, input } = setupLimited('ok');
      fireEvent.focus(input);
      fireEvent.change(input, { target: { value: 'ЯЯЯЯЯЯ' } });
      fireEvent.change(input, { target: { value: 'ЯЯЯЯЯ' } }); // exactly 10 bytes
      fireEvent.blur(input);
      expect(commit).toHaveBeenCalledTimes(1);
      expect(commit).toHaveBeenLastCalledWith('ЯЯЯЯЯ');
      expect(input.getAttribute('aria-invalid')).toBeNull();
      expect(input.getAttribute('aria-describedby')).toBeNull();
    });
  });
});
