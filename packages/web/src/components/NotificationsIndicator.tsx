import { useCallback, useEffect, useRef, useState } from 'react';
import type { NotificationModel } from '../api/catalog.js';
import { useCatalogApi } from '../hooks/useCatalogApi.js';
import { formatDateTime } from '../lib/format.js';

const POLL_MS = 30_000;

/** The bell in the navigation: unread count (polled), a list on click, "mark all read". */
export function NotificationsIndicator() {
  const catalog = useCatalogApi();
  const [unread, setUnread] = useState(0);
  const [items, setItems] = useState<NotificationModel[]>([]);
  const [open, setOpen] = useState(false);
  const box = useRef<HTMLDivElement>(null);

  const load = useCallback(
    () => catalog.notifications().then((r) => {
      setUnread(r.unread);
      setItems(r.notifications);
    }, () => undefined),
    [catalog],
  );
  useEffect(() => {
    void load();
    const t = setInterval(() => void load(), POLL_MS);
    const onFocus = () => void load();
    window.addEventListener('focus', onFocus);
    return () => {
      clearInterval(t);
      window.removeEventListener('focus', onFocus);
    };
  }, [load]);

  useEffect(() => {
    if (!open) return;
    const onDoc = (e: MouseEvent) => {
      if (box.current && !box.current.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(false);
    document.addEventListener('mousedown', onDoc);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('mousedown', onDoc);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);

  const toggle = () => {
    if (!open) void load();
    setOpen(!open);
  };

  return (
    <div className="notifications" ref={box}>
      <button type="button" className="button button--quiet button--small" aria-expanded={open} aria-haspopup="true" onClick={toggle}
        aria-label={`Notifications, ${unread} unread`}>
        <svg className="button__icon" viewBox="0 0 20 20" aria-hidden="true">
          <path d="M5 14V9a5 5 0 0 1 10 0v5l1.5 1.5h-13zM8.5 17.5a1.6 1.6 0 0 0 3 0" />
        </svg>
        {unread > 0 ? <span className="notifications__count" data-testid="unread-count">{unread}</span> : null}
      </button>
      {open ? (
        <div className="notifications__panel card" role="region" aria-label="Notifications">
          {items.length === 0 ? (
            <p className="muted small">No notifications.</p>
          ) : (
            <ul className="notifications__list">
              {items.map((n) => (
                <li key={n.id} className={n.read ? 'notification' : 'notification notification--unread'}>
                  <p className="notification__title">{n.title}</p>
                  {n.body ? <p className="small">{n.body}</p> : null}
                  {n.created ? <p className="small muted">{formatDateTime(n.created)}</p> : null}
                </li>
              ))}
            </ul>
          )}
          {unread > 0 ? (
            <button type="button" className="button button--small" onClick={() => void catalog.markAllRead().then(load)}>
              Mark all read
            </button>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
