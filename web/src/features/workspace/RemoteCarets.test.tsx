// @vitest-environment jsdom
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render } from '@testing-library/react';
import { EditingList, RemoteCarets, caretColour } from './RemoteCarets';

const alice = { id: 'u-alice', name: 'Alice' };
const bob = { id: 'u-bob', name: 'Bob' };

afterEach(cleanup);

describe('RemoteCarets', () => {
  it('draws each caret at its code point offset, with the user\u2019s name and colour, hidden from assistive tech', () => {
    const view = render(
      <div>
        <textarea defaultValue="😀 hello world" />
        <RemoteCarets
          field="body"
          text="😀 hello world"
          carets={[
            { session: 's1', user: alice, note: 'n', field: 'body', anchor: 2, head: 7 },
            { session: 's2', user: bob, note: 'n', field: 'body', anchor: 13, head: 13 },
          ]}
        />
      </div>,
    );
    const layer = view.getByTestId('remote-carets');
    expect(layer.getAttribute('aria-hidden')).toBe('true');
    const marks = [...layer.querySelectorAll('.remote-caret')] as HTMLElement[];
    expect(marks.map((m) => m.dataset.user)).toEqual(['Alice', 'Bob']);
    // Alice selected "hello" (code points 2..7, after the emoji's two UTF-16 units).
    expect(layer.querySelector('.remote-selection')?.textContent).toBe('hello');
    expect(layer.textContent?.startsWith('😀 helloAlice world')).toBe(true);
    expect(marks[0]?.style.getPropertyValue('--caret-colour')).toBe(caretColour('u-alice'));
    expect(caretColour('u-alice')).not.toBe(caretColour('u-bob'));
  });

  it('says in words who is editing the note', () => {
    const one = render(<EditingList carets={[{ session: 's1', user: alice, note: 'n', field: 'body', anchor: 0, head: 0 }]} />);
    expect(one.getByTestId('editing-list').textContent).toBe('Alice is editing this note');
    cleanup();
    const two = render(
      <EditingList
        carets={[
          { session: 's1', user: alice, note: 'n', field: 'body', anchor: 0, head: 0 },
          { session: 's2', user: bob, note: 'n', field: 'title', anchor: 0, head: 0 },
          { session: 's3', user: alice, note: 'n', field: 'title', anchor: 0, head: 0 },
        ]}
      />,
    );
    expect(two.getByTestId('editing-list').textContent).toBe('Alice and Bob are editing this note');
  });
});
