import { createContext, useContext } from 'react';
import type { HubApi, Session } from './api/hub.js';

/** What every page gets: the logged-in user, the API, and client-side navigation. */
export interface AppContextValue {
  session: Session;
  api: HubApi;
  /** Goes to another page of this app without reloading (`replace` keeps history short). */
  navigate(to: string, opts?: { replace?: boolean }): void;
}

export const AppContext = createContext<AppContextValue | null>(null);

/** The app context; only valid below `<App>` once the session is known. */
export function useApp(): AppContextValue {
  const v = useContext(AppContext);
  if (!v) throw new Error('useApp outside of <AppContext.Provider>');
  return v;
}
