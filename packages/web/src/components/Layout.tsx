import type { ReactNode } from 'react';
import { useApp } from '../session.js';
import { Link } from './Link.js';
import { NotificationsIndicator } from './NotificationsIndicator.js';

const NAV: ReadonlyArray<{ href: string; label: string; adminOnly?: boolean }> = [
  { href: '/hub/home', label: 'Home' },
  { href: '/hub/catalog', label: 'Catalog' },
  { href: '/hub/catalog/requests', label: 'Requests' },
  { href: '/hub/shares', label: 'My shares' },
  { href: '/hub/shares/with-me', label: 'Shared with me' },
  { href: '/hub/token', label: 'Tokens' },
  { href: '/hub/admin', label: 'Admin', adminOnly: true },
];

/** The frame of every page: skip link, header with navigation and log-out, main area. */
export function Layout({ path, children }: { path: string; children: ReactNode }) {
  const { session } = useApp();
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="topbar__inner">
          <Link href="/hub/home" className="brand">
            <Logo />
            <span>EUCP Notebook</span>
          </Link>
          <nav aria-label="Main" className="nav">
            <ul>
              {NAV.filter((n) => !n.adminOnly || session.admin).map((n) => (
                <li key={n.href}>
                  <Link href={n.href} aria-current={path.replace(/\/$/, '') === n.href ? 'page' : undefined}>
                    {n.label}
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
          <div className="topbar__user">
            <NotificationsIndicator />
            <span className="topbar__name" title="Logged in as">
              <UserIcon />
              {session.user}
              {session.admin ? <span className="tag">admin</span> : null}
            </span>
            <a className="button button--quiet button--small" href="/hub/logout">
              Log out
            </a>
          </div>
        </div>
      </header>
      <main id="main" className="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}

function Logo() {
  return (
    <svg className="brand__logo" viewBox="0 0 32 32" aria-hidden="true">
      <rect width="32" height="32" rx="7" fill="#0f5e78" />
      <path d="M6 20c4-6 8 2 12-3s6-4 8-2" fill="none" stroke="#fff" strokeWidth="2.5" strokeLinecap="round" />
      <circle cx="22" cy="10" r="3" fill="#f2c14e" />
    </svg>
  );
}

function UserIcon() {
  return (
    <svg className="topbar__icon" viewBox="0 0 20 20" aria-hidden="true">
      <circle cx="10" cy="7" r="3.5" />
      <path d="M3.5 17c.8-3.4 3.4-5 6.5-5s5.7 1.6 6.5 5" />
    </svg>
  );
}
