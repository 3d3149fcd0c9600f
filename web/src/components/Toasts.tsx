// A polite live region of short messages, optionally with one action (Undo). It comes right
// after the toolbar in the page's order (shown at the bottom), so the keyboard reaches it in a
// few Tabs; a message stays while the pointer is over it or the focus is in it.

export interface ToastItem {
  id: string;
  message: string;
  tone?: 'info' | 'error';
  action?: { label: string; run(): void };
}

export function Toasts({
  items,
  onDismiss,
  onHold,
  onRelease,
}: {
  items: ToastItem[];
  onDismiss(id: string): void;
  /** The pointer or the focus entered a notification: it stays. */
  onHold?(id: string): void;
  /** …and left it. */
  onRelease?(id: string): void;
}) {
  return (
    <div className="toasts" aria-live="polite" role="region" aria-label="Notifications">
      {items.map((item) => (
        <div
          key={item.id}
          className={`toast toast-${item.tone ?? 'info'}`}
          onMouseEnter={() => onHold?.(item.id)}
          onMouseLeave={(event) => {
            if (!event.currentTarget.contains(document.activeElement)) onRelease?.(item.id);
          }}
          onFocus={() => onHold?.(item.id)}
          onBlur={(event) => {
            const next = event.relatedTarget;
            if (!(next instanceof Node && event.currentTarget.contains(next)) && !event.currentTarget.matches(':hover')) {
              onRelease?.(item.id);
            }
          }}
        >
          <span>{item.message}</span>
          {item.action && (
            <button
              type="button"
              className="small"
              onClick={() => {
                item.action?.run();
                onDismiss(item.id);
              }}
            >
              {item.action.label}
            </button>
          )}
          <button
            type="button"
            className="small ghost"
            aria-label="Dismiss notification"
            onClick={() => onDismiss(item.id)}
          >
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
