// A polite live region of short messages, optionally with one action (Undo).

export interface ToastItem {
  id: string;
  message: string;
  tone?: 'info' | 'error';
  action?: { label: string; run(): void };
}

export function Toasts({ items, onDismiss }: { items: ToastItem[]; onDismiss(id: string): void }) {
  return (
    <div className="toasts" aria-live="polite" role="region" aria-label="Notifications">
      {items.map((item) => (
        <div key={item.id} className={`toast toast-${item.tone ?? 'info'}`}>
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
