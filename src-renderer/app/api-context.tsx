import { createContext, useContext } from 'react';
import type { LayoverApi } from '../../src-main/api/layover-api.js';

export const ApiContext = createContext<LayoverApi | null>(null);

export function useApi(): LayoverApi {
  const api = useContext(ApiContext);
  if (!api) throw new Error('useApi outside <ApiContext.Provider>');
  return api;
}
