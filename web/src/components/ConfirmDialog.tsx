// Asks before something that cannot be undone with one click (delete a room, hand it over,
// leave it). Focus starts on Cancel, the choice that changes nothing; a failure is shown in the
// dialog and the person may try again.

import { useId, useRef, useState, type ReactNode } from 'react';
import { Modal } from './Modal';

interface ConfirmDialogProps {
  title: ReactNode;
  children: ReactNode;
  confirmLabel: string;
  /** Resolves when done (the parent then closes the dialog); a rejection's message is shown. */
  onConfirm(): Promise<void>;
  onCancel(): void;
  danger?: boolean;
}

export function ConfirmDialog({ title, children, confirmLabel, onConfirm, onCancel, danger = false }: ConfirmDialogProps) {
  const cancel = useRef<HTMLButtonElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const textId = useId();

  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : 'Something went wrong. Please try again.');
      setBusy(false);
    }
  };

  return (
    <Modal title={title} onClose={onCancel} initialFocus={cancel} describedBy={textId} className="dialog-confirm">
      <div id={textId}>{children}</div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="dialog-actions">
        <button type="button" className={danger ? 'danger-solid' : 'primary'} onClick={() => void confirm()} disabled={busy}>
          {confirmLabel}
        </button>
        <button ref={cancel} type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </Modal>
  );
}
