import { useMemo } from 'react';
import { CatalogApi } from '../api/catalog.js';
import { useApp } from '../session.js';

/** The catalog/access API for the logged-in user. */
export function useCatalogApi(): CatalogApi {
  const { api } = useApp();
  return useMemo(() => new CatalogApi(api.client), [api]);
}
