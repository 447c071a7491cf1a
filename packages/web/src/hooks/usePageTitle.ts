import { useEffect } from 'react';

/** Sets the document title to `<title> · EUCP Notebook`. */
export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · EUCP Notebook`;
  }, [title]);
}
